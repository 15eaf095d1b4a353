#pragma once
// A memoized wrapper's compile-time plan: from the callable's parameters and the specs,
// which argument feeds which generation, which arguments and fields are keyed, whether the
// keys can hold the arguments' raw bytes, and how many bytes those take. Decided once per
// wrapper type, with no state; memoize.hpp's wrapper asks it.

#include <cstddef>
#include <cstring>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "gencache/detail/memoize_signature.hpp"
#include "gencache/key.hpp"
#include "gencache/memoize_specs.hpp"

namespace gencache::detail {

/// The type of the argument value that feeds value-based generation spec S (void for other
/// specs, and for an index past the parameters, which check_spec reports).
template <class S, class Params>
struct fed_value_type {
  using type = void;
};
template <std::size_t I, class... P>
struct fed_value_type<arg_gen_spec<I>, std::tuple<P...>> {
  using type =
      std::remove_cvref_t<std::tuple_element_t<(I < sizeof...(P) ? I : 0), std::tuple<P..., void>>>;
};
template <class T, class M, std::size_t I, class Params>
struct fed_value_type<field_gen_spec<T, M, I>, Params> {
  using type = M;
};
template <class V>
struct without_optional {
  using type = V;
};
template <class V>
struct without_optional<std::optional<V>> {
  using type = typename without_optional<V>::type;
};
/// Whether value-based generation S takes an integer (or an optional one): its id is then
/// compared and hashed from registers on the hit path.
template <class S, class Params>
inline constexpr bool fed_by_integer =
    key_integer<typename without_optional<typename fed_value_type<S, Params>::type>::type>;

/// A fixed buffer with binary_sink's `raw`, for a call's raw argument bytes on the hit path.
template <std::size_t Capacity>
struct raw_argument_buffer {
  void raw(const void* p, std::size_t n) noexcept {
    if (n == 0) return;
    std::memcpy(bytes + size, p, n);
    size += n;
  }
  alignas(8) char bytes[Capacity == 0 ? 1 : Capacity];
  std::size_t size = 0;
};

/// The plan of a wrapper of a callable taking `Params` (a std::tuple of its parameter
/// types) on `Object` (void for a free function) with `Specs`.
template <class Params, class Object, class... Specs>
struct memo_plan {
  static constexpr std::size_t generation_count = (std::size_t{0} + ... + (is_gen<Specs> ? 1 : 0));
  static constexpr std::size_t options_count =
      (std::size_t{0} + ... + (std::is_same_v<Specs, memoize_options> ? 1 : 0));
  static constexpr std::size_t parameter_count = std::tuple_size_v<Params>;

  /// Compile-time check that spec S names a parameter the callable has.
  template <class S>
  static constexpr void check_spec() {
    if constexpr (is_field_spec<S, field_gen_spec> || is_field_spec<S, excluded_field>) {
      using traits = field_spec_traits<S>;
      static_assert(!is_field_spec<S, excluded_field> || maskable<typename traits::type>,
                    "gencache: exclude(&T::field) leaves a field out of T's key, which needs T "
                    "to be an aggregate or to have the gencache_fields hook; a type keyed by a "
                    "key_fragment decides its key itself");
      [[maybe_unused]] constexpr std::size_t i = []<std::size_t... J>(std::index_sequence<J...>) {
        return parameter_holding<typename traits::type, traits::index,
                                 std::tuple_element_t<J, Params>...>();
      }
      (std::make_index_sequence<parameter_count>{});
    } else if constexpr (is_arg_gen<S> || is_excluded_arg<S>) {
      static_assert(index_of<S>() < parameter_count,
                    "gencache: gencache::arg<I> is past the last parameter");
    }
  }
  template <class S>
  static constexpr std::size_t index_of() {
    return []<std::size_t I, template <std::size_t> class Spec>(std::type_identity<Spec<I>>) {
      return I;
    }(std::type_identity<S>{});
  }

  /// Whether argument I is left out of the key whole (it feeds a generation, or is excluded).
  template <std::size_t I>
  static constexpr bool argument_left_out() {
    return ((std::is_same_v<Specs, arg_gen_spec<I>> || std::is_same_v<Specs, excluded_arg<I>>) ||
            ...);
  }
  /// How many specs leave out a field of argument I, of type T.
  template <class T, std::size_t I>
  static constexpr std::size_t mask_count() {
    return (std::size_t{0} + ... + (masks_fields<Specs, T, I> ? 1 : 0));
  }

  /// Whether argument I is keyed by its bytes: left out, or raw-representable (masked
  /// aggregates keep whole raw fields).
  template <std::size_t I>
  static constexpr bool argument_is_raw() {
    using T = std::remove_cvref_t<std::tuple_element_t<I, Params>>;
    return argument_left_out<I>() || raw_key_part<T>;
  }
  /// Raw keys are possible when every argument (and the object, if keyed) is raw: then a
  /// call hashes the arguments' bytes with the generation values once, with no canonical
  /// encoding. Whether they are used depends on the store too (remote stores keep
  /// canonical keys: they name entries readably).
  static constexpr bool raw_eligible = [] {
    bool object_keyed = false;
    if constexpr (!std::is_void_v<Object>) {
      object_keyed = keyed_object<std::remove_const_t<Object>>;
    }
    return !object_keyed&&[]<std::size_t... I>(std::index_sequence<I...>) {
      return (argument_is_raw<I>() && ...);
    }
    (std::make_index_sequence<parameter_count>{});
  }();

  /// Upper bound of a call's raw argument bytes.
  static constexpr std::size_t raw_arguments_bound = [] {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (std::size_t{0} + ... +
              (argument_left_out<I>()
                   ? 0
                   : sizeof(std::remove_cvref_t<std::tuple_element_t<I, Params>>)));
    }
    (std::make_index_sequence<parameter_count>{});
  }();

  /// Whether calls can hit without building key bytes on a store that matches fields:
  /// raw keys, a generation count that fits one byte, at most 64 bytes of arguments, and
  /// every value-based generation fed an integer.
  static constexpr bool field_hits_eligible = [] {
    if constexpr (!raw_eligible) {
      return false;
    } else {
      return generation_count < 0x80 && raw_arguments_bound <= 64 &&
             ((!is_gen<Specs> || is_plain_gen<Specs> || fed_by_integer<Specs, Params>)&&...);
    }
  }();
};

}  // namespace gencache::detail
