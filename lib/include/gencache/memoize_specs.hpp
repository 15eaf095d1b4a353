#pragma once
/// \file
/// What a memoized function is told (memoize.hpp): which argument is which (`arg<I>`),
/// generations and exclusions (`gen`, `exclude`), options, statistics and the shared
/// switch. Included by memoize.hpp; a header that only declares options can include this
/// alone.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "gencache/stats.hpp"

namespace gencache {

/// Names the I-th argument of a call (0-based, not counting a member function's object).
template <std::size_t I>
struct arg_t {
  static constexpr std::size_t index = I;
};
template <std::size_t I>
inline constexpr arg_t<I> arg{};

/// One switch for many memoized functions (the seed's `ignore_if_setting_is_true`, which
/// named one setting for all wrappers): give it to each wrapper's options, then
/// `toggle.enable(false)` makes them all pass through, caching nothing, until it is enabled
/// again. Copies share the switch. Thread-safe; a wrapper reads it with one relaxed load.
///
///     gencache::memoize_toggle caching;   // on
///     gencache::memoized a(cache, &f, "g", gencache::memoize_options{.toggle = caching});
///     caching.enable(settings.cache_enabled);
class memoize_toggle {
 public:
  memoize_toggle() = default;
  void enable(bool on) noexcept { on_->store(on, std::memory_order_relaxed); }
  [[nodiscard]] bool enabled() const noexcept { return on_->load(std::memory_order_relaxed); }

 private:
  std::shared_ptr<std::atomic<bool>> on_ = std::make_shared<std::atomic<bool>>(true);
};

/// Options of a memoized function.
struct memoize_options {
  /// Entries expire after this long; none by default. Must be positive.
  std::optional<std::chrono::nanoseconds> ttl{};
  /// A stable name that replaces the source location in keys (needed for keys shared
  /// between programs, and for wrappers made at one location for several functions).
  std::string name{};
  /// Logs every miss, with the readable key, to `logger` (default: a line on stderr).
  bool log_misses = false;
  std::function<void(std::string_view)> logger{};
  /// Pass-through, caching nothing, when the environment variable GENCACHE_ENV is "local"
  /// (read once, when the wrapper is constructed).
  bool ignore_locally = false;
  /// Concurrent misses of one key run the function once; the other callers wait for it.
  bool single_flight = true;
  /// A switch shared with other wrappers: while it is off, this one passes through too.
  std::optional<memoize_toggle> toggle{};
};

/// Per-wrapper statistics.
struct memoize_stats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t computes = 0;    ///< calls of the wrapped function
  std::uint64_t waits = 0;       ///< misses that waited for another thread's computation
  std::uint64_t errors = 0;      ///< results the store refused (e.g. too large)
  std::uint64_t exceptions = 0;  ///< computations that threw
  /// How long each computation (a miss or a `refresh`) that returned a value took, on the
  /// steady clock; `load_durations.count()` + `exceptions` = `computes` once every
  /// computation has ended.
  duration_histogram load_durations{};

  [[nodiscard]] double hit_ratio() const noexcept {
    const auto calls = hits + misses;
    return calls == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(calls);
  }
};

namespace detail {

inline constexpr std::size_t any_arg = static_cast<std::size_t>(-1);

struct plain_gen_spec {
  std::string spec;
};
template <std::size_t I>
struct arg_gen_spec {
  static constexpr std::size_t index = I;
  std::string spec;
};
template <class T, class M, std::size_t I>
struct field_gen_spec {
  std::string spec;
  M T::*field;
};
template <std::size_t I>
struct excluded_arg {};
template <class T, class M, std::size_t I>
struct excluded_field {
  M T::*field;
};

template <class T, template <class, class, std::size_t> class Spec>
inline constexpr bool is_field_spec = false;
template <template <class, class, std::size_t> class Spec, class T, class M, std::size_t I>
inline constexpr bool is_field_spec<Spec<T, M, I>, Spec> = true;

template <class S>
inline constexpr bool is_arg_gen = false;
template <std::size_t I>
inline constexpr bool is_arg_gen<arg_gen_spec<I>> = true;
template <class S>
inline constexpr bool is_excluded_arg = false;
template <std::size_t I>
inline constexpr bool is_excluded_arg<excluded_arg<I>> = true;

template <class S>
inline constexpr bool is_plain_gen =
    std::is_same_v<S, plain_gen_spec> || std::is_convertible_v<const S&, std::string_view>;
template <class S>
inline constexpr bool is_gen = is_plain_gen<S> || is_arg_gen<S> || is_field_spec<S, field_gen_spec>;
template <class S>
inline constexpr bool is_known_spec =
    is_gen<S> || is_excluded_arg<S> || is_field_spec<S, excluded_field> ||
    std::is_same_v<S, memoize_options>;

/// Whether spec S leaves fields of argument I, of type T, out of the key.
template <class S, class T, std::size_t I>
inline constexpr bool masks_fields = false;
template <class U, class M, std::size_t J, class T, std::size_t I>
inline constexpr bool masks_fields<field_gen_spec<U, M, J>, T, I> = std::is_same_v<U, T> &&
                                                                    (J == any_arg || J == I);
template <class U, class M, std::size_t J, class T, std::size_t I>
inline constexpr bool masks_fields<excluded_field<U, M, J>, T, I> = std::is_same_v<U, T> &&
                                                                    (J == any_arg || J == I);

/// The struct type and argument index a field spec names.
template <class S>
struct field_spec_traits;
template <template <class, class, std::size_t> class Spec, class T, class M, std::size_t I>
struct field_spec_traits<Spec<T, M, I>> {
  using type = T;
  static constexpr std::size_t index = I;
};

template <class M>
void check_field_type() {
  static_assert(!std::is_function_v<M>,
                "gencache: name a data member (&T::field), not a member function");
}

}  // namespace detail

/// A plain generation: `gen("project")` (a bare "project" works too).
inline detail::plain_gen_spec gen(std::string spec) { return {std::move(spec)}; }
/// A value-based generation whose value is the I-th argument.
template <std::size_t I>
detail::arg_gen_spec<I> gen(std::string spec, arg_t<I>) {
  return {std::move(spec)};
}
/// A value-based generation whose value is a field of the (unique) parameter of type T.
template <class T, class M>
detail::field_gen_spec<T, M, detail::any_arg> gen(std::string spec, M T::*field) {
  detail::check_field_type<M>();
  return {std::move(spec), field};
}
/// A value-based generation whose value is a field of the I-th argument.
template <class T, class M, std::size_t I>
detail::field_gen_spec<T, M, I> gen(std::string spec, arg_t<I>, M T::*field) {
  detail::check_field_type<M>();
  return {std::move(spec), field};
}
/// Leaves the I-th argument out of the key.
template <std::size_t I>
detail::excluded_arg<I> exclude(arg_t<I>) {
  return {};
}
/// Leaves a field of the parameter of type T out of the key. T is an aggregate, or has the
/// gencache_fields hook (the field is then left out of the fields it names); for a T keyed
/// by a key_fragment, the wrapper does not compile.
template <class T, class M>
detail::excluded_field<T, M, detail::any_arg> exclude(M T::*field) {
  detail::check_field_type<M>();
  return {field};
}

}  // namespace gencache
