#pragma once
/// \file
/// Key parts → one canonical, typed binary encoding (the key's identity), its 64-bit hash,
/// and a readable text rendering for logs.
///
/// Supported key parts, recursively: bool; integers (each width and signedness is its own
/// type); char types; float/double/long double; enums; `std::string`, `std::string_view`,
/// `const char*` and char arrays (all one "string" type: `f("a")` and `f(std::string("a"))`
/// share a key); `std::optional`, `std::nullopt`; `std::pair`, `std::tuple`; `std::variant`,
/// `std::monostate`; `std::chrono::duration`; forward ranges (vector, array, map, span, …);
/// aggregates through Boost.PFR field reflection; any type `T` with the `gencache_fields`
/// hook (`friend auto gencache_fields(gencache::maybe_const<T> auto& self) { return
/// std::tie(self.a, self.b); }`, found by argument-dependent lookup: keyed as an aggregate
/// of the fields it names under T's name; the value codec and the memory store's weight use
/// the same hook, see detail/type_class.hpp); and
/// any type with a `key_fragment` specialization, which comes first. Anything else —
/// pointers, unordered containers, std::filesystem::path, 128-bit integers, classes with
/// private state and no hook — fails to compile with a message that says what to do.
///
/// Encoding rules that matter to users:
/// - Injective: two different part lists never give the same bytes. Each part carries a type
///   tag, strings and ranges are length-prefixed, so ("a","bc") ≠ ("ab","c") and 1 ≠ 1u ≠ 1.0.
/// - Aggregates, enums and custom fragments carry a fingerprint of their type's name, so
///   `user_query{1,2}` and `page_query{1,2}` are different keys.
/// - Floating point: every NaN is one key (payload and sign ignored: they do not survive
///   arithmetic reliably); -0.0 and +0.0 are different keys (1/x, atan2 and signbit tell them
///   apart, so a memoized function may too). long double encodes only its 80 value bits.
/// - Unordered containers are rejected: their iteration order is not canonical, so equal
///   containers could give different keys. Use a sorted vector or std::map.
///
/// The text form ("(42, \"abc\", geo::point{1, 2})") is for people and logs: it is readable
/// and escaped, but the binary form is the identity.
///
/// Layout: key_bytes.hpp holds the key types and `key_fragment`; detail/key_encoding.hpp
/// the sinks, `key_writer` and the per-kind rules; this header the entry points.

#include <string>
#include <string_view>

#include "gencache/detail/key_encoding.hpp"
#include "gencache/key_bytes.hpp"

namespace gencache {

/// Appends the canonical encoding of `parts` to `out`. Allocation-free while `out` fits
/// inline. Thread-safe (pure).
template <class... Parts>
void encode_key_parts(key_bytes& out, const Parts&... parts) {
  detail::binary_sink sink(out);
  (detail::append_part(sink, parts), ...);
}

/// Appends the readable rendering of `parts` to `out`, as "(p1, p2, ...)".
template <class... Parts>
void render_key_parts(std::string& out, const Parts&... parts) {
  detail::text_sink sink(out);
  out += '(';
  (detail::append_part(sink, parts), ...);
  out += ')';
}

/// The readable rendering of bytes made by `encode_key_parts`, without the C++ types at hand
/// (remote stores name their keys with it): `(42, "a", {1, 2})`. Aggregates and custom
/// fragments read `{…}` and enums `enum(…)`, since only their types' fingerprints are in
/// the bytes. Bytes that are not an encoding render up to the damage, then `…`. Never throws
/// for bad input.
[[nodiscard]] std::string render_key_bytes(std::string_view encoded);

/// The readable rendering of `parts`: `render_key_parts(42, "a")` is `(42, "a")`.
template <class... Parts>
[[nodiscard]] std::string render_key_parts(const Parts&... parts) {
  std::string out;
  render_key_parts(out, parts...);
  return out;
}

}  // namespace gencache
