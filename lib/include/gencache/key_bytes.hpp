#pragma once
/// \file
/// What a key is to a store: its canonical bytes (`key_bytes`), a view of them with their
/// hash (`key_view`, `hash_bytes`), and the customization point that makes a user type a
/// key part (`key_fragment`). How key parts become bytes is key.hpp.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include <boost/container/small_vector.hpp>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL  // header-only, static symbols: no link dependency, no clashes
#endif
#include <xxhash.h>

namespace gencache {

/// Customization point: make a user type usable as a key part (and, in a memoized member
/// function, make the object part of the key). Specialize it with a static `append` that
/// hands the parts that identify the value to `out`:
///
///     template <> struct gencache::key_fragment<geo::point> {
///       static void append(auto& out, const geo::point& p) { out(p.x, p.y); }
///     };
///
/// A specialization takes precedence over the built-in rules (also for aggregates).
template <class T>
struct key_fragment;

/// Encoded key bytes. Keys up to 120 bytes stay inline: building them allocates nothing.
using key_bytes = boost::container::small_vector<char, 120>;

/// A key as stores see it: the canonical bytes and their hash.
struct key_view {
  std::string_view bytes;
  std::uint64_t hash = 0;
};

/// The 64-bit hash of key bytes: XXH3, inlined (the fastest of the hashes tried when it was
/// chosen; docs/design.md, "Keys").
[[nodiscard]] inline std::uint64_t hash_bytes(std::string_view bytes) noexcept {
  return XXH3_64bits(bytes.data(), bytes.size());
}

namespace detail {
/// Whether `size` bytes at `a` and `b` are equal, reading none outside them. From 4 to 32
/// bytes they are compared inline as a few overlapping words (4-byte words below 8 bytes,
/// 8-byte ones above): a hit compares a key's head, a generation id or a call's arguments,
/// and the call to memcmp cost more than the compare (docs/benchmarks.md, "Hit cost without
/// calls"). Shorter and longer runs go to memcmp.
[[nodiscard]] [[gnu::always_inline]] inline bool same_bytes(const char* a, const char* b,
                                                            std::size_t size) noexcept {
  const auto word = [](const char* p) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, sizeof w);
    return w;
  };
  if (size >= 8 && size <= 32) {
    std::uint64_t differ = (word(a) ^ word(b)) | (word(a + size - 8) ^ word(b + size - 8));
    if (size > 16) {
      differ |= (word(a + 8) ^ word(b + 8)) | (word(a + size - 16) ^ word(b + size - 16));
    }
    return differ == 0;
  }
  if (size >= 4 && size < 8) {
    const auto half = [](const char* p) {
      std::uint32_t w = 0;
      std::memcpy(&w, p, sizeof w);
      return w;
    };
    return ((half(a) ^ half(b)) | (half(a + size - 4) ^ half(b + size - 4))) == 0;
  }
  return size == 0 || std::memcmp(a, b, size) == 0;
}
/// Whether two byte strings are equal: the same size and the same bytes.
[[nodiscard]] [[gnu::always_inline]] inline bool same_bytes(std::string_view a,
                                                            std::string_view b) noexcept {
  // NOLINTNEXTLINE(bugprone-suspicious-stringview-data-usage): the sizes are equal, checked first
  return a.size() == b.size() && same_bytes(a.data(), b.data(), a.size());
}
/// Whether the `size` bytes of `view` from `offset` (which it holds) equal those at `b`:
/// `same_bytes` on a stored key's field, with no bounds check to keep out of line.
[[nodiscard]] [[gnu::always_inline]] inline bool same_bytes_at(std::string_view view,
                                                               std::size_t offset, const char* b,
                                                               std::size_t size) noexcept {
  return same_bytes(view.data() + offset, b, size);
}
}  // namespace detail

}  // namespace gencache
