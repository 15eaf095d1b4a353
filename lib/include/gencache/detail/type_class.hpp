#pragma once
// What kind of type a key part or a value is, decided once. The key encoding
// (key_encoding.hpp), the value codec (codec.hpp: write, read and fingerprint) and the value
// weight (value.hpp) each state their rules over this classification, one case per class,
// instead of each testing the same traits in its own order. Each consumer asks its own user
// hook first (key_fragment, value_codec, value_weight); a type without one falls back to its
// class, and the one hook every consumer shares, `gencache_fields`, makes a class of its own
// (`described`, below).

#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <ranges>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>

namespace gencache::detail {

template <class>
inline constexpr bool dependent_false = false;

template <class T, template <class...> class Template>
inline constexpr bool is_specialization_of = false;
template <template <class...> class Template, class... Args>
inline constexpr bool is_specialization_of<Template<Args...>, Template> = true;

template <class T>
concept char_type = std::same_as<T, char> || std::same_as<T, wchar_t> || std::same_as<T, char8_t> ||
    std::same_as<T, char16_t> || std::same_as<T, char32_t>;

template <class T>
struct is_duration : std::false_type {};
template <class Rep, class Period>
struct is_duration<std::chrono::duration<Rep, Period>> : std::true_type {};

template <class T>
struct is_std_array : std::false_type {};
template <class E, std::size_t N>
struct is_std_array<std::array<E, N>> : std::true_type {};

/// A range whose elements are of its own type (std::filesystem::path).
template <class T>
concept self_nested_range =
    std::ranges::forward_range<const T> && std::same_as<std::ranges::range_value_t<const T>, T>;

template <class T>
concept unordered_container = requires {
  typename T::hasher;
  typename T::key_equal;
};

}  // namespace gencache::detail

namespace gencache {

/// `Self` is `T` or `const T`: the parameter of a `gencache_fields` hook written once for
/// both (see detail::described). A plain `auto&` would not do: two classes of one
/// namespace would then define the same function template twice.
template <class Self, class T>
concept maybe_const = std::same_as<std::remove_const_t<Self>, T>;

}  // namespace gencache

namespace gencache::detail {

/// The user hook that keys, the value codec and the value weight all fall back to: a type
/// whose `gencache_fields(v)`, found by argument-dependent lookup, returns a tuple of
/// references to the fields that make up its value (`std::tie(v.id, v.name)`). Written once
/// as a constrained template friend, it serves const objects (keys, writing, weight) and
/// mutable ones (reading a value back from a remote store):
///
/// A hook that would also take classes derived from T (non-template, or `auto&` without
/// the constraint) is refused at compile time unless T is final.
///
///     class customer {
///       int id_; std::string region_;
///       friend auto gencache_fields(gencache::maybe_const<customer> auto& self) {
///         return std::tie(self.id_, self.region_);
///       }
///     };
template <class T>
concept has_fields_hook = requires(const T& v) {
  typename std::tuple_size<std::remove_cvref_t<decltype(gencache_fields(v))>>::type;
};
/// A class derived from T, to ask whether T's hook would take it too.
template <class T>
struct derived_probe : T {};
/// Whether the hook that applies to T also takes classes derived from T (a non-template
/// hook, or an unconstrained `auto&` one): a derived class would then pass for T, keyed,
/// stored and weighed by T's fields alone, its own left out. Such a hook is refused.
template <class T>
consteval bool loose_fields_hook() {
  if constexpr (std::is_class_v<T> && !std::is_final_v<T>) {
    return has_fields_hook<derived_probe<T>>;
  } else {
    return false;
  }
}
template <class T>
concept described = has_fields_hook<T>;
/// A described type whose fields can be assigned (the hook also takes a `T&` and ties
/// non-const references): the codec reads such a value back.
template <class Tuple>
inline constexpr bool ties_mutable_fields = false;
template <class... E>
inline constexpr bool ties_mutable_fields<std::tuple<E...>> =
    ((std::is_lvalue_reference_v<E> && !std::is_const_v<std::remove_reference_t<E>>)&&...);
template <class T>
concept described_mutably = described<T> && requires(T& v) {
  requires ties_mutable_fields<decltype(gencache_fields(v))>;
};

enum class type_class {
  described,  // has the gencache_fields hook (whatever else it is)
  boolean,
  character,  // char, wchar_t, char8_t, char16_t, char32_t
  integer,    // every other integral type
  floating,
  enumeration,
  c_string,     // const char*, char*
  pointer,      // any other pointer, a member pointer, std::nullptr_t
  char_array,   // char[N]
  string_like,  // converts to std::string_view (std::string, std::string_view, ...)
  nullopt,      // std::nullopt_t
  optional,
  shared_ptr,
  monostate,
  variant,
  duration,
  unordered,    // a hash container: its order is not canonical
  self_nested,  // a range of itself (std::filesystem::path)
  fixed_array,  // std::array
  range,        // any other forward range
  tuple_like,   // std::tuple_size is defined (std::pair, std::tuple)
  aggregate,    // any other aggregate, not a C array
  other,
};

/// The class of `T` (cv-qualifiers ignored): the first that fits, in the enum's order.
template <class T>
consteval type_class classify() {
  using U = std::remove_cv_t<T>;
  // One case per class: the branches are the classification.
  // NOLINTBEGIN(bugprone-branch-clone)
  if constexpr (std::is_void_v<U> || std::is_function_v<U>) {
    return type_class::other;
  } else if constexpr (described<U>) {
    static_assert(!loose_fields_hook<U>(),
                  "gencache: the gencache_fields hook that applies to this type also takes "
                  "classes derived from it, which would pass for it and lose their own fields. "
                  "Write it for exactly its class: `friend auto gencache_fields("
                  "gencache::maybe_const<T> auto& self) { return std::tie(self.a, self.b); }` "
                  "(or make the class final)");
    return type_class::described;
  } else if constexpr (std::same_as<U, bool>) {
    return type_class::boolean;
  } else if constexpr (char_type<U>) {
    return type_class::character;
  } else if constexpr (std::integral<U>) {
    return type_class::integer;
  } else if constexpr (std::floating_point<U>) {
    return type_class::floating;
  } else if constexpr (std::is_enum_v<U>) {
    return type_class::enumeration;
  } else if constexpr (std::same_as<U, const char*> || std::same_as<U, char*>) {
    return type_class::c_string;
  } else if constexpr (std::is_pointer_v<U> || std::is_member_pointer_v<U> ||
                       std::same_as<U, std::nullptr_t>) {
    return type_class::pointer;
  } else if constexpr (std::is_array_v<U> && std::same_as<std::remove_extent_t<U>, char>) {
    return type_class::char_array;
  } else if constexpr (std::convertible_to<const U&, std::string_view>) {
    return type_class::string_like;
  } else if constexpr (std::same_as<U, std::nullopt_t>) {
    return type_class::nullopt;
  } else if constexpr (is_specialization_of<U, std::optional>) {
    return type_class::optional;
  } else if constexpr (is_specialization_of<U, std::shared_ptr>) {
    return type_class::shared_ptr;
  } else if constexpr (std::same_as<U, std::monostate>) {
    return type_class::monostate;
  } else if constexpr (is_specialization_of<U, std::variant>) {
    return type_class::variant;
  } else if constexpr (is_duration<U>::value) {
    return type_class::duration;
  } else if constexpr (unordered_container<U>) {
    return type_class::unordered;
  } else if constexpr (self_nested_range<U>) {
    return type_class::self_nested;
  } else if constexpr (is_std_array<U>::value) {
    return type_class::fixed_array;
  } else if constexpr (std::ranges::forward_range<const U>) {
    return type_class::range;
  } else if constexpr (requires { std::tuple_size<U>::value; }) {
    return type_class::tuple_like;
  } else if constexpr (std::is_aggregate_v<U> && !std::is_array_v<U>) {
    return type_class::aggregate;
  } else {
    return type_class::other;
  }
  // NOLINTEND(bugprone-branch-clone)
}

template <class T>
inline constexpr type_class class_of = classify<T>();

}  // namespace gencache::detail
