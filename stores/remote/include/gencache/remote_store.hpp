#pragma once
/// \file
/// Stores outside the process (Redis, memcached) behind one class. A `remote_store` holds a
/// `remote_backend` — bytes in, bytes out, one implementation per kind of server, in its own
/// library (gencache::redis, gencache::memcached) — and does everything else once: naming
/// keys on the server, the value codec, generations, error counting, and the opt-in local
/// generation cache.
///
/// \code
/// #include <gencache/redis_store.hpp>
/// gencache::remote_cache cache(gencache::make_redis_store("redis://127.0.0.1:6379"));
/// gencache::memoized nav(cache, &render_nav, gencache::gen("nav:user_id", gencache::arg<0>));
/// \endcode
///
/// Failure model. Servers fail, and a cache must not take its host down with them:
/// - reads (`get`, `peek`, generation reads) that fail count an error and return "absent",
///   so the caller computes the value; a key whose generations could not be read holds
///   `unknown_generation`, and nothing is read or written under it;
/// - writes that fail count an error and return a `status` saying why;
/// - an invalidation that fails throws `store_error`: the server may hold the old generation,
///   and only the caller can decide to retry or to alert — a lost invalidation would serve
///   stale values once the server is reachable again.
/// Every failure also goes to `remote_store_options::on_error`, if set. No call waits longer
/// than the backend's timeouts.
///
/// Names on the server (see remote_key.hpp for the escaping and shortening):
/// - a value: `PREFIX` + `D(parts)` (direct) or `M:xxxxxxxx(parts)` (memoized; 8 hex digits
///   of the hash of the function's scope) + `#` + hash of the key without its generation
///   values (but with the generations' identities), then `@` + each generation value in
///   decimal;
/// - a generation: `PREFIX` + `g("spec", value)` + `#` + hash of its identity.
/// Generation values live on the server as decimal integers in [2, 2^63); a missing one is
/// created with a fresh value (wall-clock microseconds × 1024 + random bits, never 0 or 1)
/// and a bump is atomic on the server: old + 1, or a fresh value if the counter is gone.
/// So G1–G4 (docs/design.md) hold across every process that shares the server, and a
/// deleted or evicted counter never comes back with a value it had before (G2): that would
/// need more than 1024 bumps per microsecond.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/container/small_vector.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include "gencache/cache_key.hpp"
#include "gencache/clock.hpp"
#include "gencache/codec.hpp"
#include "gencache/detail/striped_counter.hpp"
#include "gencache/key.hpp"
#include "gencache/result.hpp"
#include "gencache/stats.hpp"
#include "gencache/status.hpp"
#include "gencache/store.hpp"

namespace gencache {

/// One kind of server. Implementations (make_redis_backend, make_memcached_backend) are
/// thread-safe, report I/O failures as statuses rather than exceptions, and return within
/// their configured timeouts.
class remote_backend {
 public:
  virtual ~remote_backend() = default;

  /// Where it points, e.g. "redis://127.0.0.1:6390/0", for messages.
  [[nodiscard]] virtual const std::string& location() const noexcept = 0;
  /// The longest key and value the server accepts.
  [[nodiscard]] virtual std::size_t max_key_size() const noexcept = 0;
  [[nodiscard]] virtual std::size_t max_value_size() const noexcept = 0;

  /// The bytes under `key`, or nullopt if there are none.
  virtual result<std::optional<std::string>> get(std::string_view key) = 0;
  /// Stores `value` under `key`, expiring after `ttl` if given.
  virtual status set(std::string_view key, std::string_view value,
                     std::optional<std::chrono::nanoseconds> ttl) = 0;
  /// Removes `key`; true if it was there.
  virtual result<bool> erase(std::string_view key) = 0;
  /// The counters under `keys` into `out`. A missing counter `keys[i]` is created with
  /// `fresh[i]`, atomically: if another client creates it first, its value is the one
  /// returned.
  virtual status read_generations(std::span<const std::string> keys,
                                  std::span<const std::uint64_t> fresh,
                                  std::span<std::uint64_t> out) = 0;
  /// Atomically gives the counter under `key` its value + 1, or `fresh` if it has none;
  /// returns the new value.
  virtual result<std::uint64_t> bump_generation(std::string_view key, std::uint64_t fresh) = 0;
  /// `read_generations`, then `get` of `value_key_base` followed by "@<decimal value>" for
  /// each counter. The default does exactly that; backends that can do it in one round trip
  /// override it.
  virtual result<std::optional<std::string>> get_current(std::span<const std::string> keys,
                                                         std::span<const std::uint64_t> fresh,
                                                         std::span<std::uint64_t> out,
                                                         std::string_view value_key_base);

  /// What `get_if_current` saw.
  struct guarded_value {
    bool current = false;              ///< every counter held its expected value
    std::optional<std::string> value;  ///< the value under the name; only if `current`
  };
  /// In one round trip, the counters under `keys` and the value under `name` (a value key
  /// built from `expected`, the values last seen). The value is returned only if every
  /// counter still holds its expected value, so a read that starts after an invalidation
  /// completed never sees the old generation's value. Missing counters are not created
  /// (a stale guess then falls back to `get_current`).
  virtual result<guarded_value> get_if_current(std::span<const std::string> keys,
                                               std::span<const std::uint64_t> expected,
                                               std::string_view name) = 0;
};

/// Options of a `remote_store`, validated at construction (std::invalid_argument).
struct remote_store_options {
  /// Prepended to every name on the server, so that applications sharing a server never
  /// meet. Escaped like the rest of the key; must leave room in the server's key limit.
  std::string prefix = "gc:";
  /// Generation values read from the server are reused for this long before it is asked
  /// again: a generational get then costs one plain GET. 0 (the default) is strict: every
  /// read asks the server, and G1 holds. With a window W > 0, G1 weakens to: a read that
  /// starts more than W after an invalidation (by any process) completed does not see values
  /// stored under the old generation; this process's own invalidations are seen at once.
  /// (Symfony's knownTagVersionsTtl.)
  std::chrono::nanoseconds generation_cache_window{0};
  /// At most this many generation values are remembered; when full, all are forgotten.
  /// Without a window they are only guesses: a generational get sends the counters and the
  /// value they name in one request and keeps the value only if the guess was right.
  std::size_t generation_cache_size = 65536;
  /// Time source of the generation cache window; null = the steady clock.
  std::shared_ptr<const ::gencache::clock> clock{};
  /// Called with each failure, on the calling thread (e.g. to log or rate-limit alerts).
  /// It must not throw.
  std::function<void(const status&)> on_error{};
};

namespace detail {
/// A fresh generation value for a shared server: wall-clock microseconds × 1024 plus 10
/// random bits, increasing within the process. Thread-safe.
[[nodiscard]] std::uint64_t next_fleet_generation_value() noexcept;
/// The failure of a server's generation counter `key` that holds `text`, not a value
/// gencache wrote (errc::protocol; the text is cut to 40 characters and escaped).
[[nodiscard]] status foreign_counter(std::string_view location, std::string_view key,
                                     std::string_view text);
/// A counter's decimal text as a value; nullopt unless it is a canonical decimal in
/// [2, 2^63) (what gencache writes), so foreign or corrupt counters are detected.
[[nodiscard]] std::optional<std::uint64_t> parse_generation_text(std::string_view text) noexcept;
}  // namespace detail

/// A store on a server, shared by every process that points at it. Models `store`, and
/// `batching_store`: a key's generations are resolved in one request, and on Redis a
/// generational get is one round trip. Thread-safe; as concurrent as its backend's pool.
class remote_store {
 public:
  using options_type = remote_store_options;

  /// Throws std::invalid_argument for a null backend or options it cannot honour.
  explicit remote_store(std::shared_ptr<remote_backend> backend, remote_store_options options = {});
  remote_store(const remote_store&) = delete;
  remote_store& operator=(const remote_store&) = delete;

  /// The value under `key`; nullopt if absent, expired, unreadable (corrupt, another type:
  /// counted as errors), or if the server failed (counted).
  template <class T>
  [[nodiscard]] std::optional<T> get(key_view key) {
    return decode<T>(fetch(key), true);
  }
  /// Like `get`, without counting hits and misses (the server may still refresh recency).
  template <class T>
  [[nodiscard]] std::optional<T> peek(key_view key) {
    return decode<T>(fetch(key), false);
  }
  /// Resolves the generations of `request` and reads the value under its key, in one round
  /// trip where the backend can; the key then holds the values used, for a following `set`
  /// (G3). On failure the generations stay unknown.
  template <class T>
  [[nodiscard]] std::optional<T> get_current(key_request& request) {
    const auto ids = request.ids();
    return decode<T>(fetch_current(request.key(), {ids.data(), ids.size()}), true);
  }

  /// Stores `value` (anything the codec encodes; string literals as std::string). Fails with
  /// errc::too_large for values over the server's limit, or with the server's failure.
  /// Throws std::invalid_argument for a ttl that is not positive.
  template <class V>
  status set(key_view key, V&& value, std::optional<std::chrono::nanoseconds> ttl = std::nullopt) {
    if constexpr (detail::stored_as_string<V>) {
      return set(key, std::string(value), ttl);
    } else {
      detail::check_ttl(ttl);
      return store_bytes(key, encode_value(value), ttl);
    }
  }
  /// Removes the entry under `key`; true if there was one (false also on failure, counted).
  bool erase(key_view key);

  /// The counter's value, created fresh if absent; `unknown_generation` if the server failed.
  [[nodiscard]] std::uint64_t read_generation(key_view id);
  /// Fills generation `i` of the request's key with the value of counter `request.ids()[i]`,
  /// in one request, and finishes the key; false (generations left unknown) if the server
  /// failed.
  bool resolve_generations(key_request& request);
  /// Gives the counter a new value on the server and returns it. Throws store_error if the
  /// server did not confirm it (see the file comment).
  std::uint64_t bump_generation(key_view id);

  /// Hits, misses, sets, invalidations and errors (by kind) seen by this process. Entries,
  /// bytes, evictions and expirations are the server's business and stay 0: ask the server
  /// (INFO, stats).
  [[nodiscard]] store_stats stats() const;

  /// The name of a value on the server (errc::too_large if its generations leave no room
  /// in the server's key limit; errc::connection if one is unknown).
  [[nodiscard]] result<std::string> value_key(key_view key) const;
  /// The name of a generation counter on the server.
  [[nodiscard]] std::string generation_key(key_view id) const;
  [[nodiscard]] remote_backend& backend() const noexcept { return *backend_; }
  [[nodiscard]] const remote_store_options& options() const noexcept { return options_; }

 private:
  struct text_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return hash_bytes(s); }
  };
  struct remembered {
    std::uint64_t value;
    std::chrono::nanoseconds read_at;
  };

  template <class T>
  std::optional<T> decode(result<std::optional<std::string>> fetched, bool count) {
    if (!fetched) {
      if (count) misses_.increment();
      return std::nullopt;  // the failure was counted where it happened
    }
    if (!fetched.value()) {
      if (count) misses_.increment();
      return std::nullopt;
    }
    T value{};
    if (status s = decode_value(*fetched.value(), value); !s.ok()) {
      if (count) misses_.increment();
      fail(s);
      return std::nullopt;
    }
    if (count) hits_.increment();
    return value;
  }

  result<std::optional<std::string>> fetch(key_view key);
  result<std::optional<std::string>> fetch_current(cache_key& key, std::span<const key_view> ids);
  status store_bytes(key_view key, const std::string& bytes,
                     std::optional<std::chrono::nanoseconds> ttl);
  /// Resolves `ids` into `out` (local window first, then one request); counts a failure.
  status resolve(std::span<const key_view> ids, std::span<std::uint64_t> out);
  /// What the generation cache knows of an id: nothing, a value to check with the server
  /// (a guess), or one read within the window.
  enum class recalled { no, guess, trusted };
  using recollection = boost::container::small_vector<recalled, 4>;
  /// Under one lock, for every id: what is known (`how`), and its value into `out` if any.
  void recall(std::span<const key_view> ids, std::span<std::uint64_t> out, std::span<recalled> how);
  /// Under one lock: `values[i]` as read at `read_at` for `ids[i]`.
  void remember(std::span<const key_view> ids, std::span<const std::uint64_t> values,
                std::chrono::nanoseconds read_at);
  result<std::string> value_key_base(const split_key& key) const;
  void fail(const status& s);

  std::shared_ptr<remote_backend> backend_;
  remote_store_options options_;
  std::shared_ptr<const ::gencache::clock> clock_;

  mutable std::mutex remembered_mutex_;
  boost::unordered_flat_map<std::string, remembered, text_hash, std::equal_to<>> remembered_;

  detail::striped_counter hits_, misses_, sets_, invalidations_;
  std::array<detail::striped_counter, errc_count> errors_by_kind_;  // errors: their sum
};

static_assert(batching_store<remote_store>);

}  // namespace gencache
