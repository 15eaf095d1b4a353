#pragma once
/// \file
/// How the memory store holds values in process, and how it weighs them for its byte bound.
///
/// - A value lives in its entry's allocation, after the key at its own alignment, in its size
///   (trivially copyable ones, std::string, std::vector, std::shared_ptr, aggregates of any
///   size): one allocation per entry. A hit copies the value out of the entry (a trivially
///   copyable value: a memcpy, no allocation).
/// - A type aligned to more than 16 bytes lives in one heap copy that the entry points to; a
///   hit copies from it.
/// - `std::shared_ptr<const T>` values are held as that pointer: a hit hands out another
///   reference (one atomic increment), never a deep copy. Cache heavy objects this way, or
///   read them in place with `memory_store::visit`.
/// - A value is read back only as the exact type it was stored as: the store tags it with
///   the address of a per-type variable, so two types that share a name (in anonymous
///   namespaces of two files, or two lambdas) never pass for each other. Another type is a
///   counted miss.
/// - A value's destructor must not throw: a type whose destructor is `noexcept(false)` is
///   rejected at compile time, and one that throws anyway terminates the program.
///
/// Weight (for the byte bound) is sizeof plus the heap bytes a value owns, recursively:
/// string and vector elements (by size, not capacity); optionals and variants by their
/// engaged alternative; node-based containers (map, set, list, unordered_*) by their
/// elements plus `node_overhead` (32) bytes per element for the node's links; tuples and
/// aggregates by their fields; a shared_ptr (to const or not) by its pointee's static type
/// and control block, through at most `detail::max_pointee_depth` (8) shared pointers (a
/// cycle or a long chain counts its first links only; `shared_ptr<void>` and
/// `shared_ptr<U[]>` count the pointer alone). `set` reads the pointee to weigh it: another
/// thread must not modify it meanwhile (store `shared_ptr<const U>` for shared state). It is an
/// estimate of what the allocator hands out, not a measurement (allocator rounding and
/// spare capacity are not counted). A type with the `gencache_fields` hook (key.hpp) weighs
/// its size plus what the fields it names hold beyond theirs. Types that own memory some
/// other way can specialize `gencache::value_weight`.

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

#include "gencache/detail/type_class.hpp"
#include "gencache/detail/type_name.hpp"
#include "gencache/key.hpp"

namespace gencache {

/// Customization point: `static std::size_t of(const T&)` giving the bytes a value holds.
template <class T>
struct value_weight;

/// Since 0.2 every value aligned to at most 16 lives in its entry, whatever its size; kept for
/// source compatibility (it was the largest value held in place).
inline constexpr std::size_t inline_value_capacity = 32;

namespace detail {

template <class T>
struct shared_const_ptr : std::false_type {};
template <class U>
struct shared_const_ptr<std::shared_ptr<const U>> : std::true_type {
  using element = U;
};

template <class T>
concept flat_range = std::ranges::contiguous_range<const T> &&
    std::is_trivially_copyable_v<std::ranges::range_value_t<const T>>;

/// Per element of a node-based container: a red-black tree node's links and colour (32
/// bytes on 64-bit libstdc++), more than a list's (16) or a hash node's (8 + bucket).
inline constexpr std::size_t node_overhead = 32;

/// How many shared pointers deep `weigh` follows pointees: a cycle (a node that points back
/// at its parent) or a long chain counts only its first links, and a graph that shares
/// nodes is walked in bounded time.
inline constexpr int max_pointee_depth = 8;
inline thread_local int pointee_depth = 0;

template <class T>
std::size_t weigh_elements(const T& v);

/// The weight every value of type T has, known without the value (a trivially copyable type
/// `weigh` takes by its size: no `value_weight` of its own, not a shared pointer), else 0:
/// an entry of such a type need not store its weight.
template <class T>
inline constexpr std::size_t fixed_weight = [] {
  if constexpr (!requires(const T& v) { value_weight<T>::of(v); } &&
                class_of<T> != type_class::shared_ptr && std::is_trivially_copyable_v<T>) {
    return sizeof(T);
  } else {
    return std::size_t{0};
  }
}();

/// The bytes `v` holds: its value_weight if it has one, else the rule of its type class
/// (detail/type_class.hpp) — a trivially copyable value its size, a container its elements
/// (contiguous or node-based), a structure its members.
template <class T>
std::size_t weigh(const T& v) {
  constexpr type_class c = class_of<T>;
  // One case per type class.
  // NOLINTBEGIN(bugprone-branch-clone)
  if constexpr (requires { value_weight<T>::of(v); }) {
    return value_weight<T>::of(v);
  } else if constexpr (c == type_class::shared_ptr) {
    constexpr std::size_t control_block = 16;
    std::size_t total = sizeof(T) + control_block;
    // shared_ptr<void> and shared_ptr<U[]> have no pointee to weigh.
    if constexpr (requires { weigh(*v); }) {
      if (v && pointee_depth < max_pointee_depth) {
        ++pointee_depth;
        struct leave {
          ~leave() { --pointee_depth; }
        } on_exit;
        total += weigh(*v);
      }
    }
    return total;
  } else if constexpr (fixed_weight<T> != 0) {  // trivially copyable: one rule for both
    return fixed_weight<T>;
  } else if constexpr (c == type_class::described) {
    // The object, plus what the fields the hook names hold beyond their own size.
    return std::apply(
        [](const auto&... f) {
          return (sizeof(T) + ... + (weigh(f) - sizeof(std::remove_cvref_t<decltype(f)>)));
        },
        gencache_fields(v));
  } else if constexpr (c == type_class::optional) {
    using V = typename T::value_type;
    return sizeof(T) + (v ? weigh(*v) - sizeof(V) : 0);
  } else if constexpr (c == type_class::variant) {
    return sizeof(T) + std::visit(
                           [](const auto& alt) {
                             return weigh(alt) - sizeof(std::remove_cvref_t<decltype(alt)>);
                           },
                           v);
  } else if constexpr (c == type_class::self_nested) {
    // A range of itself (std::filesystem::path): its elements are views of its own text.
    return sizeof(T) + std::ranges::size(v.native()) * sizeof(*v.native().data());
  } else if constexpr (std::ranges::forward_range<const T>) {
    // Text, ranges, arrays and hash containers alike: by how their elements are held.
    return sizeof(T) + weigh_elements(v);
  } else if constexpr (c == type_class::tuple_like) {
    return std::apply([](const auto&... e) { return (std::size_t{0} + ... + weigh(e)); }, v);
  } else if constexpr (c == type_class::aggregate) {
    std::size_t total = 0;
    boost::pfr::for_each_field(v, [&](const auto& f) { total += weigh(f); });
    return total;
  } else {
    return sizeof(T);
  }
  // NOLINTEND(bugprone-branch-clone)
}

/// The elements of a range: their bytes alone when they are flat and contiguous, each one
/// weighed when contiguous (or a deque-like `capacity()` holder), plus a node per element
/// otherwise.
template <class T>
std::size_t weigh_elements(const T& v) {
  if constexpr (flat_range<T>) {
    return std::ranges::size(v) * sizeof(std::ranges::range_value_t<const T>);
  } else {
    constexpr bool contiguous = std::ranges::contiguous_range<const T> || requires {
      v.capacity();
    };
    std::size_t total = 0;
    for (const auto& e : v) total += weigh(e) + (contiguous ? 0 : node_overhead);
    return total;
  }
}

/// Values held inside their entry's allocation, right after its key: every type aligned to
/// at most 16, the alignment `operator new` gives (std::string, std::vector,
/// std::shared_ptr, aggregates of any size). An over-aligned type is held behind a pointer
/// to a heap copy.
template <class T>
concept in_place_value = alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__;

/// What an entry knows of its value's type without knowing the type: how its bytes are laid
/// out after the key, its weight if every value of the type has the same (`fixed_weight`),
/// and how to destroy it. One per type; its address is the type's in-process identity
/// (`type_id`).
struct value_kind {
  std::size_t alignment;
  std::size_t size;                         // of the bytes held after the key
  std::size_t fixed_weight;                 // 0 if values of the type weigh differently
  void (*destroy)(void* storage) noexcept;  // null for a trivially destructible one in place
};

template <class T>
struct value_kind_of {
  static constexpr std::size_t alignment = in_place_value<T> ? alignof(T) : alignof(const T*);
  static constexpr std::size_t size = in_place_value<T> ? sizeof(T) : sizeof(const T*);
  static void destroy(void* storage) noexcept {
    if constexpr (in_place_value<T>) {
      std::launder(static_cast<T*>(storage))->~T();
    } else {
      const T* held = nullptr;
      std::memcpy(static_cast<void*>(&held), storage, sizeof(const T*));
      delete held;
    }
  }
  // Mutable, so that no linker folds the kinds of two types with the same layout.
  static inline constinit value_kind kind{
      alignment, size, fixed_weight<T>,
      in_place_value<T>&& std::is_trivially_destructible_v<T> ? nullptr : &destroy};
};

/// The in-process identity of a stored value's type: the address of its kind. Exact where
/// names are not (types of two anonymous namespaces, lambdas).
template <class T>
inline const void* const type_id = &value_kind_of<T>::kind;

/// One value's type, and the means to build, read and destroy it in storage its entry
/// provides (`value_kind_of<T>::size` bytes aligned to `alignment`, after the key): held
/// in place, or behind a pointer to a heap copy (see `in_place_value`). Built once, inside
/// its entry; never moved or copied. Readers only read it, so it needs no reference count:
/// the memory store frees it after every read section that could see it has ended.
class value_slot {
 public:
  value_slot() noexcept = default;
  value_slot(const value_slot&) = delete;
  value_slot& operator=(const value_slot&) = delete;
  ~value_slot() = default;

  /// Builds `value` in `storage`; the slot must be empty. Throws what T's constructor throws
  /// (the slot stays empty).
  template <class V>
  void emplace(void* storage, V&& value) {
    using T = std::remove_cvref_t<V>;
    static_assert(std::is_copy_constructible_v<T>,
                  "gencache: a value the memory store hands out by copy must be copyable; "
                  "store a std::shared_ptr<const T> instead");
    static_assert(std::is_nothrow_destructible_v<T>,
                  "gencache: a stored value's destructor must not throw (it runs after the "
                  "value was removed, on another thread, where nobody could catch it)");
    if constexpr (in_place_value<T>) {
      new (storage) T(std::forward<V>(value));
    } else {
      const T* heap = new T(std::forward<V>(value));
      std::memcpy(storage, static_cast<const void*>(&heap), sizeof(const T*));
    }
    kind_ = &value_kind_of<T>::kind;
  }

  [[nodiscard]] const void* type() const noexcept { return kind_; }
  [[nodiscard]] std::size_t alignment() const noexcept { return kind_->alignment; }
  [[nodiscard]] std::size_t size() const noexcept { return kind_->size; }
  [[nodiscard]] std::size_t fixed_weight() const noexcept { return kind_->fixed_weight; }

  /// The value in `storage`, of the type it was stored as (checked by the caller).
  template <class T>
  [[nodiscard]] static const T& get(const void* storage) noexcept {
    if constexpr (in_place_value<T>) {
      return *std::launder(static_cast<const T*>(storage));
    } else {
      const T* held = nullptr;
      std::memcpy(static_cast<void*>(&held), storage, sizeof(const T*));
      return *held;
    }
  }

  /// Destroys the value in `storage`; one must have been built (`type()` not null).
  void destroy(void* storage) const noexcept {
    if (kind_->destroy != nullptr) kind_->destroy(storage);
  }

 private:
  const value_kind* kind_ = nullptr;
};

}  // namespace detail
}  // namespace gencache
