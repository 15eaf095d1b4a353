#pragma once
/// \file
/// What the Cache needs from a store. The memory store meets it directly (static dispatch:
/// a hit is inlined into the caller); remote stores meet it too.

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

#include "gencache/cache_key.hpp"
#include "gencache/key.hpp"
#include "gencache/stats.hpp"
#include "gencache/status.hpp"

namespace gencache {

/// A store of values under canonical keys, plus the generation counters keys embed.
///
/// - `get<T>(key)` / `peek<T>(key)`: the value, or nullopt when absent, expired or of another
///   type (`get` counts that as an error; `peek` counts nothing). `peek` does not refresh
///   recency.
/// - `set(key, value, ttl)`: stores; a `status` says why not (e.g. too large). A ttl that
///   is not positive throws std::invalid_argument (`detail::check_ttl`).
/// - `erase(key)`: true if an entry was removed.
/// - `read_generation(id)`: the counter's value, created with a never-used value if absent.
/// - `bump_generation(id)`: gives the counter a never-used value and returns it.
/// - `stats()`: a snapshot.
/// Stores may also offer `pin_generation(id)`, returning a counter that stays valid for the
/// store's lifetime, so that plain generations cost one atomic load to read
/// (`pinning_store`); or resolve all of a key's generations in one request and fetch its
/// value in the same round trip (`batching_store`: remote stores, where a request costs far
/// more than the work).
namespace detail {
/// A ttl, when given, must be positive: std::invalid_argument otherwise.
inline void check_ttl(const std::optional<std::chrono::nanoseconds>& ttl) {
  if (ttl && ttl->count() <= 0) {
    throw std::invalid_argument(
        fmt::format("gencache: ttl must be positive, got {}ns", ttl->count()));
  }
}
}  // namespace detail

namespace detail {
/// Values that stores keep as a std::string: string literals, char pointers and
/// std::string_view (a view would dangle once the caller's text goes away).
template <class V>
concept stored_as_string =
    std::is_array_v<std::remove_cvref_t<V>> || std::is_same_v < std::decay_t<V>,
const char* > || std::is_same_v<std::decay_t<V>, char*> ||
    std::is_same_v<std::remove_cvref_t<V>, std::string_view>;
}  // namespace detail

/// An expiry for a value stored through the facades: `gencache::expire_after{5min}`. A type
/// of its own, not a duration, because a duration is a valid key part: in
/// `cache.set({"nav"}, html, gencache::expire_after{5min}, "header")` it cannot be mistaken
/// for one. Must be positive (std::invalid_argument when used otherwise).
struct expire_after {
  std::chrono::nanoseconds ttl;
};

template <class S>
concept store = requires(S& s, const S& cs, key_view k, std::uint64_t v,
                         std::optional<std::chrono::nanoseconds> ttl) {
  { s.template get<std::uint64_t>(k) } -> std::same_as<std::optional<std::uint64_t>>;
  { s.template peek<std::uint64_t>(k) } -> std::same_as<std::optional<std::uint64_t>>;
  { s.set(k, v, ttl) } -> std::same_as<status>;
  { s.erase(k) } -> std::same_as<bool>;
  { s.read_generation(k) } -> std::same_as<std::uint64_t>;
  { s.bump_generation(k) } -> std::same_as<std::uint64_t>;
  { cs.stats() } -> std::same_as<store_stats>;
};

template <class S>
concept pinning_store = store<S> && requires(S& s, key_view k) {
  { s.pin_generation(k) } -> std::same_as<const std::atomic<std::uint64_t>&>;
};

/// Resolves a key's generations in one go: `resolve_generations(request)` fills generation
/// `i` of the request's key from the counter `request.ids()[i]` and finishes the key (false,
/// leaving them `unknown_generation`, on failure), and `get_current<T>(request)` does that
/// and reads the value, in one round trip where the server allows.
namespace detail {
/// Reads the values of `request`'s generations into its key, one counter at a time (a
/// pinned one by one load), and finishes the key: how a store in this process resolves.
template <store S>
void resolve_locally(S& store, key_request& request) {
  cache_key& key = request.key();
  for (std::size_t i = 0; i < request.generation_count(); ++i) {
    const std::atomic<std::uint64_t>* pinned = request.pinned(i);
    key.set_generation(i, pinned != nullptr ? pinned->load(std::memory_order_acquire)
                                            : store.read_generation(request.id(i)));
  }
  key.finish();
}
}  // namespace detail

template <class S>
concept batching_store = store<S> && requires(S& s, key_request& request) {
  { s.resolve_generations(request) } -> std::same_as<bool>;
  { s.template get_current<std::uint64_t>(request) } -> std::same_as<std::optional<std::uint64_t>>;
};

}  // namespace gencache
