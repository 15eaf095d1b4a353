#pragma once
/// \file
/// How the memory store holds values in process, and how it weighs them for its byte bound.
///
/// - Trivially copyable values up to `inline_value_capacity` (32) bytes live inside the
///   entry: a hit copies them out with memcpy and allocates nothing.
/// - `std::shared_ptr<const T>` values are stored as that pointer: a hit hands out another
///   reference (one atomic increment), never a deep copy. Cache heavy objects this way.
/// - Any other copyable value (strings, vectors, maps, aggregates of those) is boxed once at
///   set time in a `std::shared_ptr<const T>`; a hit for `T` copies the object (what asking
///   for a `T` means), so ask for `std::shared_ptr<const T>` where copies are costly... and
///   store it as one.
///
/// Weight (for the byte bound) is sizeof plus the heap bytes a value owns, recursively:
/// string and vector elements (by size, not capacity); optionals and variants by their
/// engaged alternative; node-based containers (map, set, list, unordered_*) by their
/// elements plus `node_overhead` (32) bytes per element for the node's links; tuples and
/// aggregates by their fields; a shared_ptr by its pointee and control block. It is an
/// estimate of what the allocator hands out, not a measurement (allocator rounding and
/// spare capacity are not counted). Types that own memory some other way can specialize
/// `gencache::value_weight`.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include <boost/pfr/core.hpp>

#include "gencache/detail/type_name.hpp"
#include "gencache/key.hpp"

namespace gencache {

/// Customization point: `static std::size_t of(const T&)` giving the bytes a value holds.
template <class T>
struct value_weight;

inline constexpr std::size_t inline_value_capacity = 32;

namespace detail {

template <class T>
struct shared_const_ptr : std::false_type {};
template <class U>
struct shared_const_ptr<std::shared_ptr<const U>> : std::true_type {
  using element = U;
};

template <class T>
concept inline_value = std::is_trivially_copyable_v<T> && sizeof(T) <= inline_value_capacity &&
                       alignof(T) <= alignof(std::max_align_t);

template <class T>
concept flat_range = std::ranges::contiguous_range<const T> &&
    std::is_trivially_copyable_v<std::ranges::range_value_t<const T>>;

/// Per element of a node-based container: a red-black tree node's links and colour (32
/// bytes on 64-bit libstdc++), more than a list's (16) or a hash node's (8 + bucket).
inline constexpr std::size_t node_overhead = 32;

template <class T>
std::size_t weigh(const T& v) {
  if constexpr (requires { value_weight<T>::of(v); }) {
    return value_weight<T>::of(v);
  } else if constexpr (shared_const_ptr<T>::value) {
    constexpr std::size_t control_block = 16;
    return sizeof(T) + control_block + (v ? weigh(*v) : 0);
  } else if constexpr (std::is_trivially_copyable_v<T>) {
    return sizeof(T);
  } else if constexpr (is_specialization_of<T, std::optional>) {
    using V = typename T::value_type;
    return sizeof(T) + (v ? weigh(*v) - sizeof(V) : 0);
  } else if constexpr (is_specialization_of<T, std::variant>) {
    return sizeof(T) + std::visit(
                           [](const auto& alt) {
                             return weigh(alt) - sizeof(std::remove_cvref_t<decltype(alt)>);
                           },
                           v);
  } else if constexpr (self_nested_range<T>) {
    // A range of itself (std::filesystem::path): its elements are views of its own text.
    return sizeof(T) + std::ranges::size(v.native()) * sizeof(*v.native().data());
  } else if constexpr (flat_range<T>) {
    return sizeof(T) + std::ranges::size(v) * sizeof(std::ranges::range_value_t<const T>);
  } else if constexpr (std::ranges::contiguous_range<const T> || requires { v.capacity(); }) {
    std::size_t total = sizeof(T);
    for (const auto& e : v) total += weigh(e);
    return total;
  } else if constexpr (std::ranges::forward_range<const T>) {
    std::size_t total = sizeof(T);
    for (const auto& e : v) total += weigh(e) + node_overhead;
    return total;
  } else if constexpr (requires { std::tuple_size<T>::value; }) {
    return std::apply([](const auto&... e) { return (std::size_t{0} + ... + weigh(e)); }, v);
  } else if constexpr (std::is_aggregate_v<T>) {
    std::size_t total = 0;
    boost::pfr::for_each_field(v, [&](const auto& f) { total += weigh(f); });
    return total;
  } else {
    return sizeof(T);
  }
}

/// One value, inline or boxed, tagged with its type's fingerprint.
class value_slot {
 public:
  template <class V>
  static value_slot make(V&& value) {
    using T = std::remove_cvref_t<V>;
    value_slot slot;
    slot.type_ = type_fingerprint<T>;
    if constexpr (inline_value<T>) {
      std::memcpy(slot.inline_, std::addressof(value), sizeof(T));
    } else if constexpr (shared_const_ptr<T>::value) {
      slot.boxed_ = true;
      new (&slot.ptr_) std::shared_ptr<const void>(std::forward<V>(value));
    } else {
      static_assert(std::is_copy_constructible_v<T>,
                    "gencache: a value the memory store hands out by copy must be copyable; "
                    "store a std::shared_ptr<const T> instead");
      slot.boxed_ = true;
      new (&slot.ptr_)
          std::shared_ptr<const void>(std::make_shared<const T>(std::forward<V>(value)));
    }
    return slot;
  }

  value_slot(value_slot&& other) noexcept : type_(other.type_), boxed_(other.boxed_) {
    if (boxed_) {
      new (&ptr_) std::shared_ptr<const void>(std::move(other.ptr_));
    } else {
      std::memcpy(inline_, other.inline_, sizeof inline_);
    }
  }
  value_slot& operator=(value_slot&&) = delete;
  ~value_slot() {
    if (boxed_) ptr_.~shared_ptr();
  }

  [[nodiscard]] std::uint64_t type() const noexcept { return type_; }

  /// A copy of the value, of the type it was stored as (checked by the caller): inline
  /// bytes copied out, a `shared_ptr<const U>` copied (one reference more), a boxed value
  /// copied from its box (its reference count untouched).
  template <class T>
  [[nodiscard]] T copy() const {
    if constexpr (inline_value<T>) {
      struct bytes {
        unsigned char b[sizeof(T)];
      } raw;
      std::memcpy(raw.b, inline_, sizeof(T));
      return std::bit_cast<T>(raw);
    } else if constexpr (shared_const_ptr<T>::value) {
      return std::static_pointer_cast<const typename shared_const_ptr<T>::element>(ptr_);
    } else {
      return *static_cast<const T*>(ptr_.get());
    }
  }
  /// Calls f(const T&) on the value in place (an inline value on a copy of its bytes); for
  /// T = `shared_ptr<const U>`, f(const U*) with the stored pointer, without a reference.
  template <class T, class F>
  void visit(F& f) const {
    if constexpr (inline_value<T>) {
      const T value = copy<T>();
      f(value);
    } else if constexpr (shared_const_ptr<T>::value) {
      f(static_cast<const typename shared_const_ptr<T>::element*>(ptr_.get()));
    } else {
      f(*static_cast<const T*>(ptr_.get()));
    }
  }

 private:
  value_slot() noexcept {}

  std::uint64_t type_ = 0;
  bool boxed_ = false;
  union {
    alignas(std::max_align_t) unsigned char inline_[inline_value_capacity];
    std::shared_ptr<const void> ptr_;
  };
};

}  // namespace detail
}  // namespace gencache
