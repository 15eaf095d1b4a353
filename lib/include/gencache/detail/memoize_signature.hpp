#pragma once
// The memoizer's compile-time machinery (memoize.hpp): a callable's signature, the
// parameter a field spec names, which arguments may be keyed by their bytes, and keys of
// aggregates with fields left out.

#include <array>
#include <cstddef>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>

#include <boost/pfr/core.hpp>
#include <boost/pfr/tuple_size.hpp>

#include "gencache/detail/type_class.hpp"
#include "gencache/detail/type_name.hpp"
#include "gencache/key.hpp"
#include "gencache/memoize_specs.hpp"

namespace gencache::detail {

template <class R, class Object, class... P>
struct signature {
  using result = R;
  using object = Object;  // void for free functions and function objects
  using params = std::tuple<P...>;
};

template <class F>
struct functor_signature;
template <class R, class L, class... P>
struct functor_signature<R (L::*)(P...) const> {
  using type = signature<R, void, P...>;
};
template <class R, class L, class... P>
struct functor_signature<R (L::*)(P...) const noexcept> {
  using type = signature<R, void, P...>;
};
template <class R, class L, class... P>
struct functor_signature<R (L::*)(P...)> {
  using type = signature<R, void, P...>;
};

template <class F>
struct signature_of {
  static_assert(
      requires { &F::operator(); },
      "gencache: memoized needs a function, member function, or function object with "
      "one non-template operator() (generic lambdas have no fixed parameter types)");
  using type = typename functor_signature<decltype(&F::operator())>::type;
};
template <class R, class... P>
struct signature_of<R (*)(P...)> {
  using type = signature<R, void, P...>;
};
template <class R, class... P>
struct signature_of<R (*)(P...) noexcept> {
  using type = signature<R, void, P...>;
};
template <class R, class C, class... P>
struct signature_of<R (C::*)(P...)> {
  using type = signature<R, C, P...>;
};
template <class R, class C, class... P>
struct signature_of<R (C::*)(P...) const> {
  using type = signature<R, const C, P...>;
};
template <class R, class C, class... P>
struct signature_of<R (C::*)(P...) noexcept> {
  using type = signature<R, C, P...>;
};
template <class R, class C, class... P>
struct signature_of<R (C::*)(P...) const noexcept> {
  using type = signature<R, const C, P...>;
};

/// Whether a parameter of type P holds a T: directly, or in an optional.
template <class P, class T>
inline constexpr bool holds = std::is_same_v<std::remove_cvref_t<P>, T> ||
                              std::is_same_v<std::remove_cvref_t<P>, std::optional<T>>;

/// The index of the unique parameter that holds a T (Index given: checks it does).
template <class T, std::size_t Index, class... P>
consteval std::size_t parameter_holding() {
  constexpr bool matches[] = {holds<P, T>..., false};
  if constexpr (Index != any_arg) {
    static_assert(Index < sizeof...(P), "gencache: gencache::arg<I> is past the last parameter");
    static_assert(matches[Index],
                  "gencache: the parameter named by gencache::arg<I> does not "
                  "hold the struct whose field the generation names");
    return Index;
  } else {
    constexpr std::size_t count = (std::size_t{0} + ... + (holds<P, T> ? 1 : 0));
    static_assert(count != 0,
                  "gencache: no parameter has the struct type whose field a generation or "
                  "exclusion names");
    static_assert(count < 2,
                  "gencache: several parameters have the struct type whose field a generation "
                  "or exclusion names: say which with gencache::arg<I>");
    if constexpr (count != 1) {
      return 0;  // reported above; no follow-on errors from a search past the end
    } else {
      std::size_t i = 0;
      while (!matches[i]) ++i;
      return i;
    }
  }
}

/// Whether a T is keyed by its object representation in a memoizer's raw keys, stated over
/// its type class (type_class.hpp): integers, chars, bool and enums, and aggregates of them
/// without padding (unique object
/// representation: equal values have equal bytes, and different values different bytes).
/// Floats, pointers, strings, optionals, ranges, custom fragments and types with the
/// gencache_fields hook are not.
template <class T>
consteval bool raw_representable() {
  constexpr type_class c = class_of<T>;
  // NOLINTNEXTLINE(bugprone-branch-clone): an if-constexpr ladder, one case per type class
  if constexpr (has_key_fragment<T>) {
    return false;
  } else if constexpr (c == type_class::boolean || c == type_class::character ||
                       c == type_class::integer || c == type_class::enumeration) {
    return true;
  } else if constexpr (c == type_class::aggregate && std::is_trivially_copyable_v<T> &&
                       std::has_unique_object_representations_v<T>) {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (raw_representable<boost::pfr::tuple_element_t<I, T>>() && ...);
    }
    (std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});
  } else {
    return false;  // the described class (the gencache_fields hook) among them
  }
}
template <class T>
concept raw_key_part = raw_representable<T>();

/// An aggregate argument with some fields left out of the key (they feed a generation or
/// are excluded). Encoded as its type's aggregate with only the fields kept.
template <class T, std::size_t N>
struct masked_aggregate {
  const T& value;
  std::array<const void*, N> skipped;

  [[nodiscard]] bool keeps(const void* field) const noexcept {
    for (const void* s : skipped) {
      if (s == field) return false;
    }
    return true;
  }
};

/// Whether an argument of type T can have fields left out of its key (by `exclude` or by
/// feeding a generation): a type with the gencache_fields hook, over the fields it names,
/// or an aggregate, over its fields (Boost.PFR).
template <class T>
inline constexpr bool maskable = class_of<T> == type_class::described || std::is_aggregate_v<T>;

/// Calls `f(field)` for each field a key holds of `v`: the hook's, or the aggregate's.
template <class T, class F>
void for_each_key_field(const T& v, F&& f) {
  if constexpr (class_of<T> == type_class::described) {
    const auto fields = gencache_fields(v);
    static_assert(
        []<class... E>(std::type_identity<std::tuple<E...>>) {
          return (std::is_lvalue_reference_v<E> && ...);
        }(std::type_identity<std::remove_cvref_t<decltype(fields)>>{}),
        "gencache: to leave a field of this type out of a key, its gencache_fields hook must "
        "return references to its fields (std::tie), not copies");
    std::apply([&](const auto&... field) { (f(field), ...); }, fields);
  } else {
    boost::pfr::for_each_field(v, f);
  }
}

template <class Sink, class T, std::size_t N>
void append_masked(Sink& out, const masked_aggregate<T, N>& m) {
  std::size_t kept = 0;
  for_each_key_field(m.value, [&](const auto& f) { kept += m.keeps(&f) ? 1 : 0; });
  out.next();
  out.open(kind::aggregate, type_name<T>(), type_fingerprint<T>, kept);
  for_each_key_field(m.value, [&](const auto& f) {
    if (m.keeps(&f)) append_part(out, f);
  });
  out.close(kind::aggregate);
}

inline bool environment_is_local() {
  // Read only: gencache never writes the environment.
  const char* env = std::getenv("GENCACHE_ENV");  // NOLINT(concurrency-mt-unsafe)
  return env != nullptr && std::string_view(env) == "local";
}

inline std::string_view file_basename(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace gencache::detail
