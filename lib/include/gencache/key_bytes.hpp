#pragma once
/// \file
/// What a key is to a store: its canonical bytes (`key_bytes`), a view of them with their
/// hash (`key_view`, `hash_bytes`), and the customization point that makes a user type a
/// key part (`key_fragment`). How key parts become bytes is key.hpp.

#include <cstdint>
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

}  // namespace gencache
