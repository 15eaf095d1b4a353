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
#include "gencache/detail/type_class.hpp"
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
/// `store_traits<S>` (below) says which of these a store offers; the front ends ask it and
/// nothing else.
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
concept stored_as_string = class_of<std::remove_cvref_t<V>>
== type_class::c_string || class_of<std::remove_cvref_t<V>> == type_class::char_array ||
    std::same_as<std::remove_cvref_t<V>, std::string_view>;
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

namespace detail {
/// A store that finds an entry, and remembers a generation, by comparing fields instead of
/// building bytes (memory_store::get_hit, memory_store::remembered_generation and
/// existing_generation).
template <class S>
concept field_matching_store = requires(S& s, std::uint64_t hash, bool (*match)(std::string_view)) {
  { s.template get_hit<int>(hash, match) } -> std::same_as<std::optional<int>>;
  {
    s.remembered_generation(hash, std::size_t{}, match)
    } -> std::same_as<std::optional<std::uint64_t>>;
  {
    s.existing_generation(hash, std::size_t{}, match)
    } -> std::same_as<std::optional<std::uint64_t>>;
  s.prefetch(std::span<const std::uint64_t>(), S::prefetch_pass::entries);
  { s.generation_changes() } -> std::same_as<std::uint64_t>;
};

/// The store that serves S's key-free hits: S itself if it matches fields; the store a
/// run-time store may hold in process (`holds_field_store`: any_store's memory store);
/// else none (void).
template <class S>
struct field_store_for {
  using type = void;
};
template <class S>
requires field_matching_store<S>
struct field_store_for<S> {
  using type = S;
};
/// A run-time store that says it may hold a store in process which matches fields: its
/// `in_process_store` type, reached by `memory()` (null when it holds another store). Opt-in,
/// so that a store of the user's with a `memory()` of its own (a tier, a prefixing wrapper)
/// keeps its own hit path.
template <class S>
concept holds_field_store = !field_matching_store<S> &&
                            field_matching_store<typename S::in_process_store> && requires(S & s) {
  { s.memory() } -> std::same_as<typename S::in_process_store*>;
};
template <holds_field_store S>
struct field_store_for<S> {
  using type = typename S::in_process_store;
};
}  // namespace detail

/// What a store can do beyond the `store` concept: the one place that asks, for the cache,
/// the bound cache and the memoizer alike (moka's `policy()`, Caffeine's `Policy`). The
/// constants are decided at compile time from the store's type; the functions ask a store
/// object whose abilities are chosen at run time (`any_store`).
template <store S>
struct store_traits {
  /// Every counter can be pinned for the store's lifetime (`pin_generation`).
  static constexpr bool pins_every_generation = pinning_store<S>;
  /// Some store objects of this type can pin counters (`try_pin_generation`, any_store).
  static constexpr bool may_pin = pins_every_generation || requires(S & s, key_view id) {
    { s.try_pin_generation(id) } -> std::same_as<const std::atomic<std::uint64_t>*>;
  };
  /// Resolves a key's generations in one request, and reads the value with them.
  static constexpr bool batches = batching_store<S>;
  /// The store that finds memoized hits by comparing fields, with no key bytes: S itself
  /// (the memory store), the one a run-time store may hold in process (any_store's memory
  /// store), or void.
  using field_store = typename detail::field_store_for<S>::type;
  /// Some store objects of this type find memoized hits by comparing fields.
  static constexpr bool matches_fields = !std::is_void_v<field_store>;

  /// The counter `id`, pinned for the store's lifetime; null where `store` cannot pin it.
  static const std::atomic<std::uint64_t>* try_pin(S& store, key_view id) {
    if constexpr (pins_every_generation) {
      return &store.pin_generation(id);
    } else if constexpr (may_pin) {
      return store.try_pin_generation(id);
    } else {
      return nullptr;
    }
  }
  /// The store that finds `store`'s memoized hits by comparing fields: `store` itself, the
  /// store it holds in process, or null (a remote store behind any_store; no such ability).
  static auto* field_store_of(S& store) noexcept {
    if constexpr (!matches_fields) {
      return static_cast<void*>(nullptr);
    } else if constexpr (std::is_same_v<field_store, S>) {
      return &store;
    } else {
      return store.memory();
    }
  }
  /// Whether `store` reads generations in this process, one counter at a time (no round
  /// trip to batch): every store that does not batch, and any_store over a memory store.
  static bool resolves_locally(const S& store) noexcept {
    if constexpr (!batches) {
      return true;
    } else if constexpr (requires {
                           { store.resolves_locally() } -> std::same_as<bool>;
                         }) {
      return store.resolves_locally();
    } else {
      return false;
    }
  }
};

}  // namespace gencache
