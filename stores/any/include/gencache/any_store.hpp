#pragma once
/// \file
/// A store chosen at run time, from a URL, and the one cache type over it, with every front
/// end (the bound cache, memoize). Link gencache::any.
///
///     // "memory://?max_entries=100000" in development, "redis://cache.internal:6379/2" in
///     // production: one configuration value, one type, no recompiling.
///     gencache::any_cache cache(gencache::make_store(config.cache_url));
///     gencache::memoized nav(cache, &render_nav, gencache::gen("nav:user_id", gencache::arg<0>));
///
/// `any_cache` is `basic_cache<any_store>`: the direct interface, `basic_bound_cache` and
/// `memoized` work over it exactly as over the statically typed caches, with the same code.
/// What differs:
/// - Values must be encodable by the codec (codec.hpp) even when the store is in process,
///   since the same code may run over a remote store: a type the codec does not know fails
///   to compile, not at run time in production.
/// - `cache.pin_generation(spec)` does not compile, since a remote store cannot pin;
///   `cache.try_pin_generation(spec)` pins over the memory store and gives nullopt over a
///   remote one. Memoized wrappers and bound caches pin their plain generations that way.
/// - A direct hit costs one predictable branch more than through the static type; a
///   memoized hit over the memory store takes the same key-free path as over the static
///   type (`memory()`, store_traits::field_store; docs/benchmarks.md has both ratios).
///
/// URLs. Query parameters set the store's options; each may appear once. Durations take a
/// unit (`ns`, `us`, `ms`, `s`, `min`), sizes an optional binary suffix (`KiB`, `MiB`,
/// `GiB`). An unknown scheme or parameter, a repeated one, or a bad value is
/// std::invalid_argument naming it. Messages never quote the user information (everything
/// between "://" and the last '@': Redis credentials, refused by the other schemes), nor the
/// query, nor a parameter name that is not a word; a quoted value is cut to 64 characters.
/// Reading a URL is linear in its length.
///
///     memory://[?max_entries=N&max_bytes=SIZE&shards=N&max_generations=N
///               &eviction=s3fifo|lru&lru_promotion_window=N]
///     redis://[user[:password]@]host[:port][/db][?OPTIONS]         (component redis)
///     redis+unix://[user[:password]@]/path/redis.sock[?db=N&OPTIONS]  (component redis)
///     redis-sentinel://[user[:password]@]host[:port][,host[:port]...]/master-name
///                      [?db=N&OPTIONS]                              (component redis)
///     memcached://host[:port][,host[:port]...][?OPTIONS]  (component memcached)
///
/// OPTIONS, for both servers: connect_timeout, command_timeout, retry_after (durations),
/// pool_size, max_value_size (sizes); Redis also max_key_size, username, password_env and
/// password_file (redis_store.hpp: the password itself goes in the user information); and the
/// remote store's prefix (percent-encoded where it holds '&', '=' or '%'), generation_cache_window
/// (duration) and generation_cache_size. Defaults and meanings are those of
/// `memory_store_options`, `redis_options`, `memcached_options` and `remote_store_options`.
/// A scheme whose store this build left out (GENCACHE_WITH_REDIS=OFF) is
/// std::invalid_argument saying so.
///
/// Thread-safety: as the store it holds; an any_store never changes after construction.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "gencache/bound_cache.hpp"
#include "gencache/cache.hpp"
#include "gencache/clock.hpp"
#include "gencache/memoize.hpp"
#include "gencache/memory_store.hpp"
#include "gencache/remote_store.hpp"
#include "gencache/store.hpp"

namespace gencache {

/// A memory store or a remote store, chosen at run time. Models `store` and
/// `batching_store` (over the memory store, "batching" resolves locally, one counter at a
/// time). Every operation is one branch on which store it holds, then the store's own.
class any_store {
 public:
  /// The store held in process, when it is one: memoized hits over it build no key
  /// (store_traits::field_store).
  using in_process_store = memory_store;

  /// Over an in-process store. Throws std::invalid_argument if `store` is null.
  explicit any_store(std::shared_ptr<memory_store> store)
      : memory_(std::move(store)), location_("memory://") {
    if (!memory_) throw std::invalid_argument("gencache: any_store needs a store, got null");
  }
  /// Over a remote store (Redis, memcached, or a backend of your own). Throws
  /// std::invalid_argument if `store` is null.
  explicit any_store(std::shared_ptr<remote_store> store) : remote_(std::move(store)) {
    if (!remote_) throw std::invalid_argument("gencache: any_store needs a store, got null");
    location_ = remote_->backend().location();
  }
  any_store(const any_store&) = default;
  any_store(any_store&&) noexcept = default;
  /// Not assignable: caches and memoized wrappers over it keep pointers to the store it
  /// holds, which never changes after construction.
  any_store& operator=(const any_store&) = delete;
  any_store& operator=(any_store&&) = delete;
  ~any_store() = default;

  template <class T>
  [[nodiscard]] std::optional<T> get(key_view key) {
    if (memory_) return memory_->get<T>(key);
    return remote_->get<T>(key);
  }
  template <class T>
  [[nodiscard]] std::optional<T> peek(key_view key) {
    if (memory_) return memory_->peek<T>(key);
    return remote_->peek<T>(key);
  }
  template <class T>
  [[nodiscard]] std::optional<T> get_current(key_request& request) {
    if (memory_) {
      detail::resolve_locally(*memory_, request);
      return memory_->get<T>(request.key().view());
    }
    return remote_->get_current<T>(request);
  }
  bool resolve_generations(key_request& request) {
    if (memory_) {
      detail::resolve_locally(*memory_, request);
      return true;
    }
    return remote_->resolve_generations(request);
  }

  template <class V>
  status set(key_view key, V&& value, std::optional<std::chrono::nanoseconds> ttl = std::nullopt) {
    // Both branches are compiled whichever store is held: a value type the codec cannot
    // encode is a compile error here rather than a failure in a remote deployment.
    if (memory_) return memory_->set(key, std::forward<V>(value), ttl);
    return remote_->set(key, std::forward<V>(value), ttl);
  }
  bool erase(key_view key) { return memory_ ? memory_->erase(key) : remote_->erase(key); }
  [[nodiscard]] std::uint64_t read_generation(key_view id) {
    return memory_ ? memory_->read_generation(id) : remote_->read_generation(id);
  }
  std::uint64_t bump_generation(key_view id) {
    return memory_ ? memory_->bump_generation(id) : remote_->bump_generation(id);
  }
  [[nodiscard]] store_stats stats() const { return memory_ ? memory_->stats() : remote_->stats(); }
  /// The memory store's pinned counter (memory_store::pin_generation); nullptr for a
  /// remote store. What the memoizer and the bound cache use for plain generations.
  [[nodiscard]] const std::atomic<std::uint64_t>* try_pin_generation(key_view id) {
    return memory_ ? &memory_->pin_generation(id) : nullptr;
  }

  /// Whether the store is in this process (the memory store): then memoized keys may hold
  /// raw argument bytes, as over the memory store itself.
  [[nodiscard]] bool resolves_locally() const noexcept { return memory_ != nullptr; }
  /// The store held: exactly one of these is non-null.
  [[nodiscard]] memory_store* memory() const noexcept { return memory_.get(); }
  [[nodiscard]] remote_store* remote() const noexcept { return remote_.get(); }
  /// Where it points, for messages: "memory://", or the backend's location (no options, no
  /// secrets).
  [[nodiscard]] const std::string& location() const noexcept { return location_; }

 private:
  std::shared_ptr<memory_store> memory_;
  std::shared_ptr<remote_store> remote_;
  std::string location_;
};

static_assert(batching_store<any_store>);

/// The cache over a store chosen at run time: `gencache::any_cache
/// cache(gencache::make_store(url));`
using any_cache = basic_cache<any_store>;

/// What a URL cannot carry: shared by whichever store `make_store` builds.
struct store_context {
  /// Time source for TTLs, the generation cache window and fail-fast periods; null = the
  /// steady clock.
  std::shared_ptr<const ::gencache::clock> clock{};
  /// Called with each failure of a remote store (remote_store_options::on_error); unused
  /// by the memory store, which does not fail that way.
  std::function<void(const status&)> on_error{};
};

/// The store `url` names, with the options its query parameters set (see the file
/// comment). Remote stores connect lazily: an unreachable server is not an error here but
/// a counted failure on use. Throws std::invalid_argument for a bad URL.
[[nodiscard]] std::shared_ptr<any_store> make_store(std::string_view url,
                                                    const store_context& context = {});

}  // namespace gencache
