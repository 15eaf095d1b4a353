#pragma once
/// \file
/// The Cache facade: the direct interface (the seed's gen_cache.get/set/invalidate/delete)
/// over any store.
///
///     gencache::cache cache;                                   // in-process memory store
///     auto html = cache.get<std::string>({"nav", {"nav_portal:user_id", 53}}, "header");
///     if (!html) cache.set({"nav", {"nav_portal:user_id", 53}}, render(53), "header");
///     cache.invalidate({"nav_portal:user_id", 53});             // user 53's entries only
///
/// Keys are built from the *current* values of the generations named, then the key parts
/// (see key.hpp). To compute a value and store it race-free in one call, with concurrent
/// misses computing once (contract G3: a value computed before an invalidation lands under
/// the old generation and is never read):
///
///     auto html = cache.get_or_compute({"nav"}, gencache::expire_after{5min}, render, "header");
///
/// By hand, take the key first, compute, then set under that key:
///
///     auto key = cache.key({"nav"}, "header");   // reads generations now
///     auto html = cache.get_at<std::string>(key);  // the value under exactly this key
///     if (!html) cache.set(key, render(), std::chrono::minutes(5));
///
/// Thread-safety: every member function may be called from any number of threads at once.
/// Copies of a cache share its store.

#include <chrono>
#include <concepts>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <boost/container/small_vector.hpp>

#include "gencache/cache_key.hpp"
#include "gencache/detail/single_flight.hpp"
#include "gencache/generation.hpp"
#include "gencache/key.hpp"
#include "gencache/stats.hpp"
#include "gencache/status.hpp"
#include "gencache/store.hpp"

namespace gencache {

namespace detail {
/// The computations in flight, one table per result type for the process. A flight is keyed
/// by its owner (a store for the direct interface and the bound cache, a wrapper for the
/// memoizer) and its key, so owners never meet.
template <class R>
flight_table<R>& flights() {
  static flight_table<R> flights;
  return flights;
}
}  // namespace detail

/// The generations of one call, e.g. `{"nav", {"nav_portal:user_id", 53}}`. A key with no
/// key parts is valid; so is one with no generations.
using generation_list = std::initializer_list<generation_ref>;

namespace detail {
struct cache_access;
}  // namespace detail

/// The cache facade over `Store`. The in-process cache is `gencache::cache`
/// (memory_cache.hpp, in the memory component); over a remote store, `gencache::remote_cache`.
template <class Store>
class basic_cache {
 public:
  using store_type = Store;

  /// A cache over a new store with default options.
  basic_cache() : basic_cache(std::make_shared<Store>()) {}
  /// A cache over a store built from `options`.
  template <class Options>
  requires std::constructible_from<Store, Options>
  explicit basic_cache(Options&& options)
      : basic_cache(std::make_shared<Store>(std::forward<Options>(options))) {}
  /// A cache over a shared store. Throws std::invalid_argument if `store` is null.
  explicit basic_cache(std::shared_ptr<Store> store) : store_(std::move(store)) {
    static_assert(gencache::store<Store>, "gencache: Store does not model gencache::store");
    if (!store_) throw std::invalid_argument("gencache: basic_cache needs a store, got null");
  }

  /// Resolves a plain generation once; reading it through the handle is one atomic load.
  /// Pins the counter: it is never evicted while the store lives (so pin a fixed set of
  /// names, not one per user). Only on stores that can pin (the memory store).
  [[nodiscard]] generation_handle pin_generation(std::string_view spec) requires
      pinning_store<Store> {
    const generation_ref ref(spec);
    return generation_handle(std::string(spec), store_->pin_generation(ref.id()));
  }
  /// `pin_generation` where the store can pin this counter (a memory store, also behind
  /// any_store); nullopt where it cannot (a remote store), and the generation is read per use.
  [[nodiscard]] std::optional<generation_handle> try_pin_generation(std::string_view spec) {
    if constexpr (store_traits<Store>::may_pin) {
      const generation_ref ref(spec);
      if (const auto* counter = store_traits<Store>::try_pin(*store_, ref.id())) {
        return generation_handle(std::string(spec), *counter);
      }
    }
    return std::nullopt;
  }
  /// The old name of `pin_generation`, which hid that it pins.
  [[deprecated(
      "gencache: cache.generation(spec) is now "
      "cache.pin_generation(spec)")]] [[nodiscard]] generation_handle
  generation(std::string_view spec) requires pinning_store<Store> {
    return pin_generation(spec);
  }

  /// The current value of a generation (created with a fresh value if it has none).
  [[nodiscard]] std::uint64_t generation_value(const generation_ref& g) const {
    if (const auto* counter = g.pinned_counter()) return counter->load(std::memory_order_acquire);
    return store_->read_generation(g.id());
  }

  /// Builds the key of `parts` under the current values of `gens`.
  template <class... Parts>
  [[nodiscard]] cache_key key(generation_list gens, const Parts&... parts) const {
    return make_key(key_domain::direct, {}, {gens.begin(), gens.size()}, parts...);
  }
  /// The value stored under `gens` and `parts`; nullopt if not cached (an empty value that
  /// was cached is returned as such). Refreshes the entry's recency.
  template <class T, class... Parts>
  [[nodiscard]] std::optional<T> get(generation_list gens, const Parts&... parts) {
    return get_current<T>({gens.begin(), gens.size()}, parts...);
  }
  /// The value stored under `key` *as it was built*: the generation values it holds are
  /// those `key()` read, and an invalidation since then does not change what it names. So
  /// G1 holds from when the key was built, not from this call: use it right after `key()`
  /// (the race-free compute-and-store pattern), and `get(gens, parts...)` for a lookup that
  /// must see every invalidation before it. Refreshes the entry's recency.
  template <class T>
  [[nodiscard]] std::optional<T> get_at(const cache_key& key) {
    return store_->template get<T>(key.view());
  }
  /// Like `get_at`, without refreshing recency.
  template <class T>
  [[nodiscard]] std::optional<T> peek_at(const cache_key& key) {
    return store_->template peek<T>(key.view());
  }
  /// Not `get`: a key built earlier names the generation values it was built under, so a
  /// lookup through it does not see later invalidations. Say so with `get_at(key)`.
  template <class T>
  std::optional<T> get(const cache_key& key) = delete;

  /// Stores `value` under `gens` and `parts`, without expiry.
  template <class V, class... Parts>
  status set(generation_list gens, V&& value, const Parts&... parts) {
    return set(key(gens, parts...), std::forward<V>(value));
  }
  /// Stores `value` under `gens` and `parts`, expiring after `expiry.ttl` (positive, or
  /// std::invalid_argument): `cache.set({"nav"}, html, gencache::expire_after{5min}, "header")`.
  template <class V, class... Parts>
  status set(generation_list gens, V&& value, expire_after expiry, const Parts&... parts) {
    return set(key(gens, parts...), std::forward<V>(value), expiry.ttl);
  }

  /// The value under `gens` and `parts`; if there is none, `compute()`'s result, stored and
  /// returned. The race-free pattern in one call: the key is built (generations read)
  /// *before* computing, so a value computed across an invalidation lands under the old
  /// generation and is never read (G3). Concurrent misses of one key in this process
  /// compute once: the others wait for its result, or its exception, which is not stored
  /// (single flight). If a remote store could not read the generations, the value is
  /// computed and returned, not stored. A result the store refuses (too large) is returned
  /// all the same; the store counts the error. The result type is `compute()`'s, decayed.
  ///
  ///     auto html = cache.get_or_compute({"nav", {"nav_portal:user_id", 53}},
  ///                                      [] { return render(53); }, "header");
  template <class F, class... Parts>
  requires std::invocable<F&>
  auto get_or_compute(generation_list gens, F&& compute, const Parts&... parts) {
    return compute_if_absent({gens.begin(), gens.size()}, std::nullopt, compute, parts...);
  }
  /// `get_or_compute`, storing with an expiry.
  template <class F, class... Parts>
  requires std::invocable<F&>
  auto get_or_compute(generation_list gens, expire_after expiry, F&& compute,
                      const Parts&... parts) {
    detail::check_ttl(expiry.ttl);
    return compute_if_absent({gens.begin(), gens.size()}, expiry.ttl, compute, parts...);
  }
  /// Stores `value` under a key built earlier; `ttl`, if given, must be positive (the store
  /// throws std::invalid_argument otherwise).
  template <class V>
  status set(const cache_key& key, V&& value,
             std::optional<std::chrono::nanoseconds> ttl = std::nullopt) {
    return store_->set(key.view(), std::forward<V>(value), ttl);
  }

  /// Removes the entry under `gens` and `parts`; true if there was one.
  template <class... Parts>
  bool erase(generation_list gens, const Parts&... parts) {
    return erase(key(gens, parts...));
  }
  bool erase(const cache_key& key) { return store_->erase(key.view()); }

  /// Gives `g` a new, never-used value; every entry built under the old one becomes
  /// unreachable. O(1): touches only the counter. Returns the new value. On a remote store,
  /// throws `store_error` if the server did not confirm it (retry: the bump is idempotent
  /// in effect, since any new value invalidates).
  std::uint64_t invalidate(const generation_ref& g) { return store_->bump_generation(g.id()); }

  /// The readable form of a key, for logs:
  /// `direct("header") nav@1732498923123456789 nav_portal:user_id=53@1732498923123456790`.
  template <class... Parts>
  [[nodiscard]] std::string describe(generation_list gens, const Parts&... parts) const {
    std::string out = "direct";
    render_key_parts(out, parts...);
    for (const generation_ref& g : gens) {
      out += ' ';
      g.render(out);
      fmt::format_to(std::back_inserter(out), "@{}", generation_value(g));
    }
    return out;
  }

  /// The readable form of a key built earlier (see `gencache::describe(const cache_key&)`).
  [[nodiscard]] std::string describe(const cache_key& key) const { return gencache::describe(key); }

  [[nodiscard]] store_stats stats() const { return store_->stats(); }
  /// The store, for what only it offers (a memory store's `visit` or `flush`, any_store's
  /// `memory()` and `remote()`).
  [[nodiscard]] Store& store() const noexcept { return *store_; }

 private:
  // The front ends' plumbing (key requests, resolution, single flight), reached by the
  // bound cache and the memoizer through detail::cache_access, not part of the facade.
  friend struct detail::cache_access;

  /// Builds a key in any domain, resolving `gens` through `resolve`.
  template <class... Parts>
  [[nodiscard]] cache_key make_key(key_domain domain, std::string_view scope,
                                   std::span<const generation_ref> gens,
                                   const Parts&... parts) const {
    key_request request = make_request(domain, scope, gens, parts...);
    return std::move(resolve(request));
  }
  /// A request for the key of `parts` under `gens` (placeholders for their values).
  template <class... Parts>
  [[nodiscard]] static key_request make_request(key_domain domain, std::string_view scope,
                                                std::span<const generation_ref> gens,
                                                const Parts&... parts) {
    key_request request(domain, scope, gens.size());
    for (const generation_ref& g : gens) request.add_generation(g.id(), g.pinned_counter());
    request.key().add_parts(parts...);
    return request;
  }

  /// Reads the values of `request`'s generations into its key and finishes it. This is the
  /// one place that decides how generations are read, for every front end: a pinned counter
  /// by one load; otherwise a local store per counter, and a batching (remote) store all of
  /// them in one request, leaving them `unknown_generation` if it failed (such a key is
  /// never read or written).
  cache_key& resolve(key_request& request) const {
    if constexpr (store_traits<Store>::batches) {
      store_->resolve_generations(request);
    } else {
      detail::resolve_locally(*store_, request);
    }
    return request.key();
  }
  /// Resolves `request` and reads the value under its key: on a batching store, both in one
  /// round trip. The request's key then holds the generation values used, for a `set` of a
  /// computed value under them (G3). Refreshes the entry's recency.
  template <class T>
  [[nodiscard]] std::optional<T> lookup(key_request& request) {
    if constexpr (store_traits<Store>::batches) {
      return store_->template get_current<T>(request);
    } else {
      return get_at<T>(resolve(request));
    }
  }

  /// `get` for generations gathered at run time (what the bound cache uses).
  template <class T, class... Parts>
  [[nodiscard]] std::optional<T> get_current(std::span<const generation_ref> gens,
                                             const Parts&... parts) {
    key_request request = make_request(key_domain::direct, {}, gens, parts...);
    return lookup<T>(request);
  }
  /// `get_or_compute` for generations gathered at run time (what the bound cache uses).
  template <class F, class... Parts>
  requires std::invocable<F&>
  auto compute_if_absent(std::span<const generation_ref> gens,
                         std::optional<std::chrono::nanoseconds> ttl, F& compute,
                         const Parts&... parts) {
    using R = std::decay_t<std::invoke_result_t<F&>>;
    key_request request = make_request(key_domain::direct, {}, gens, parts...);
    if (std::optional<R> hit = lookup<R>(request)) return std::move(*hit);
    const cache_key& key = request.key();
    if (!key.resolved()) return R(compute());  // never written under unknown generations
    return compute_once<R>(
        store_.get(), key,
        [&] {
          R value = compute();
          (void)set(key, value, ttl);
          return value;
        },
        [] {});
  }

  /// Single flight for a miss of `key`, shared by get_or_compute and the memoizer: unless a
  /// flight of `owner` for `key` runs, re-checks the store (another thread may have stored
  /// the value since the miss), else runs `compute_and_store()`; a caller that finds a
  /// flight calls `on_join()` and gets the flight's result or exception
  /// (detail/single_flight.hpp).
  template <class R, class ComputeAndStore, class OnJoin>
  R compute_once(const void* owner, const cache_key& key, ComputeAndStore&& compute_and_store,
                 OnJoin&& on_join) {
    return detail::flights<R>().run(
        owner, key.bytes(), key.hash(),
        [&]() -> R {
          if (std::optional<R> stored = peek_at<R>(key)) return std::move(*stored);
          return compute_and_store();
        },
        on_join);
  }
  std::shared_ptr<Store> store_;
};

namespace detail {
/// The front ends' way into basic_cache's plumbing: the bound cache and the memoizer build
/// key requests, resolve them, look values up and share single flight through it.
struct cache_access {
  template <class Cache, class... Parts>
  static cache_key make_key(const Cache& cache, key_domain domain, std::string_view scope,
                            std::span<const generation_ref> gens, const Parts&... parts) {
    return cache.make_key(domain, scope, gens, parts...);
  }
  template <class Cache, class... Parts>
  static key_request make_request(key_domain domain, std::string_view scope,
                                  std::span<const generation_ref> gens, const Parts&... parts) {
    return Cache::make_request(domain, scope, gens, parts...);
  }
  template <class Cache>
  static cache_key& resolve(const Cache& cache, key_request& request) {
    return cache.resolve(request);
  }
  template <class T, class Cache>
  static std::optional<T> lookup(Cache& cache, key_request& request) {
    return cache.template lookup<T>(request);
  }
  template <class T, class Cache, class... Parts>
  static std::optional<T> get_current(Cache& cache, std::span<const generation_ref> gens,
                                      const Parts&... parts) {
    return cache.template get_current<T>(gens, parts...);
  }
  template <class Cache, class F, class... Parts>
  static auto compute_if_absent(Cache& cache, std::span<const generation_ref> gens,
                                std::optional<std::chrono::nanoseconds> ttl, F& compute,
                                const Parts&... parts) {
    return cache.compute_if_absent(gens, ttl, compute, parts...);
  }
  template <class R, class Cache, class ComputeAndStore, class OnJoin>
  static R compute_once(Cache& cache, const void* owner, const cache_key& key,
                        ComputeAndStore&& compute_and_store, OnJoin&& on_join) {
    return cache.template compute_once<R>(owner, key,
                                          std::forward<ComputeAndStore>(compute_and_store),
                                          std::forward<OnJoin>(on_join));
  }
};
}  // namespace detail

}  // namespace gencache
