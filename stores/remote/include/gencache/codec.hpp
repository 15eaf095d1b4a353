#pragma once
/// \file
/// The value codec: values ↔ bytes, for stores outside the process (Redis, memcached).
///
/// Every encoded value starts with a header, so that bytes that are corrupt, truncated,
/// of another type, or written by someone else decode to an error, never to undefined
/// behaviour:
///
///     'g'  version(1)  type fingerprint (8, little-endian)  payload length (varint)  payload
///
/// Payload, recursively:
/// - bool, integers, chars, floating point, enums: fixed width, little-endian;
/// - strings: length + bytes;
/// - forward ranges that can be rebuilt (vector, deque, list, set, map, …): count + elements;
///   `std::array`: its elements;
/// - optional, pair, tuple, variant (index + alternative), chrono::duration (count);
/// - `std::shared_ptr<const T>`: presence + T (decoding makes a new shared object);
/// - aggregates: their fields in order, through Boost.PFR (also when trivially copyable:
///   padding never reaches the wire, and pointer fields are rejected at compile time);
/// - a type with the `gencache_fields` hook (key.hpp): the fields it names, in order; to
///   read it back, the hook must also take a `T&` and tie non-const fields, and T must be
///   default-constructible (the template friend key.hpp shows does both);
/// - a user type: specialize `gencache::value_codec<T>` (see below), which comes first.
///
/// Decoding checks every length against the bytes that remain before it allocates, so a
/// corrupt count cannot make it allocate more than the input's size in elements.
///
/// The type fingerprint hashes the type's name (the compiler's spelling of it) *and its
/// structure*: for every aggregate its field count and each field's fingerprint, recursively;
/// for containers, optionals, tuples and variants their elements'; the size and alignment of
/// every scalar and trivially copyable aggregate; and `value_version<T>` of each type. So
/// when two programs that share a remote store disagree about a type — a rolling deploy
/// that reordered, added or retyped fields — the reader gets a type mismatch (a miss plus a
/// counted error), never a misread. What a structure cannot show, such as two fields of the
/// same type swapped or a field whose meaning changed, needs a new `value_version<T>`.
/// Programs that share a store should be built with the same compiler family, or a value
/// written by one is a type mismatch for the other.

#include <array>
#include <bit>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include <fmt/format.h>
#include <boost/endian/conversion.hpp>
#include <boost/pfr/core.hpp>
#include <boost/pfr/tuple_size.hpp>

#include "gencache/detail/type_class.hpp"
#include "gencache/detail/type_name.hpp"
#include "gencache/key.hpp"
#include "gencache/status.hpp"

namespace gencache {

/// Customization point for types the codec does not know:
///
///     template <> struct gencache::value_codec<money> {
///       static void encode(gencache::value_writer& out, const money& m) {
///         out(m.cents(), m.currency());
///       }
///       static bool decode(gencache::value_reader& in, money& m) {
///         std::int64_t cents; std::string currency;
///         if (!in(cents, currency)) return false;
///         m = money(cents, currency);
///         return true;
///       }
///     };
///
/// `decode` receives a default-constructed T and returns false on bad input.
template <class T>
struct value_codec;

/// A version tag that is part of `T`'s fingerprint (see the file comment). Bump it when a
/// change of `T` that its structure does not show must turn old bytes into a type mismatch:
///
///     template <> inline constexpr std::uint64_t gencache::value_version<price_info> = 2;
template <class T>
inline constexpr std::uint64_t value_version = 0;

class value_writer;
class value_reader;

namespace detail {

inline constexpr char codec_magic = 'g';
// 2: the type fingerprint covers the structure (1 hashed the name only).
inline constexpr std::uint8_t codec_version = 2;

template <class T>
concept has_value_codec = requires(value_writer& w, value_reader& r, const T& c, T& m) {
  value_codec<T>::encode(w, c);
  { value_codec<T>::decode(r, m) } -> std::convertible_to<bool>;
};

template <class T>
concept rebuildable_range = std::ranges::forward_range<const T> && std::default_initializable<T> &&
    requires(T& c, std::ranges::range_value_t<T>&& v) {
  c.insert(c.end(), std::move(v));
};

/// How the codec writes, reads and fingerprints a type: its rules over the type class
/// (detail/type_class.hpp), decided here once for all three.
enum class codec_form {
  custom,     // value_codec<T>
  described,  // the fields gencache_fields names, in order
  pointer,    // refused: a pointer cannot leave the process
  boolean,    // one byte, 0 or 1
  enumeration,
  floating,  // IEEE bits, little-endian
  integer,   // little-endian, characters included
  text,      // length and bytes (read back only into std::string)
  optional,
  shared_ptr,
  variant,
  monostate,  // nothing
  duration,   // its count
  fixed_array,
  container,  // a range that can be rebuilt by inserting at its end: count and elements
  tuple_like,
  aggregate,  // its fields, through Boost.PFR
  unknown,    // refused: an aggregate, the gencache_fields hook or value_codec<T> is needed
};

template <class T>
consteval codec_form codec_form_of() {
  using U = std::remove_cv_t<T>;
  constexpr type_class c = class_of<U>;
  // One case per form.
  // NOLINTBEGIN(bugprone-branch-clone)
  if constexpr (has_value_codec<U>) {
    return codec_form::custom;
  } else if constexpr (c == type_class::described) {
    return codec_form::described;
  } else if constexpr (c == type_class::pointer || c == type_class::c_string) {
    return codec_form::pointer;
  } else if constexpr (c == type_class::boolean) {
    return codec_form::boolean;
  } else if constexpr (c == type_class::enumeration) {
    return codec_form::enumeration;
  } else if constexpr (c == type_class::floating) {
    return codec_form::floating;
  } else if constexpr (c == type_class::character || c == type_class::integer) {
    return codec_form::integer;
  } else if constexpr (c == type_class::char_array || c == type_class::string_like) {
    return codec_form::text;
  } else if constexpr (c == type_class::optional) {
    return codec_form::optional;
  } else if constexpr (c == type_class::shared_ptr) {
    return codec_form::shared_ptr;
  } else if constexpr (c == type_class::variant) {
    return codec_form::variant;
  } else if constexpr (c == type_class::monostate) {
    return codec_form::monostate;
  } else if constexpr (c == type_class::duration) {
    return codec_form::duration;
  } else if constexpr (c == type_class::fixed_array) {
    return codec_form::fixed_array;
  } else if constexpr ((c == type_class::range || c == type_class::unordered) &&
                       rebuildable_range<U>) {
    return codec_form::container;
  } else if constexpr (c == type_class::tuple_like) {
    return codec_form::tuple_like;
  } else if constexpr (c == type_class::aggregate) {
    return codec_form::aggregate;
  } else {
    return codec_form::unknown;
  }
  // NOLINTEND(bugprone-branch-clone)
}

template <class T>
inline constexpr codec_form codec_form_v = codec_form_of<T>();

/// The codec reads an element of a container, an optional, a shared_ptr or a variant into a
/// default-constructed one: a clear error for a type that has no default constructor.
template <class T>
consteval bool read_into_default() {
  static_assert(std::default_initializable<T>,
                "gencache: the codec reads this type inside a container, an optional, a "
                "shared_ptr or a variant into a default-constructed one: give it a default "
                "constructor, or specialize gencache::value_codec for the type that holds it");
  return true;
}

/// For a map's pair<const K, V>: decode into pair<K, V>.
template <class T>
struct decodable {
  using type = T;
};
template <class K, class V>
struct decodable<std::pair<const K, V>> {
  using type = std::pair<K, V>;
};

}  // namespace detail

/// Appends encoded values to a byte string.
class value_writer {
 public:
  explicit value_writer(std::string& out) noexcept : out_(out) {}

  template <class... Values>
  void operator()(const Values&... values) {
    (write(values), ...);
  }

  void raw(const void* p, std::size_t n) { out_.append(static_cast<const char*>(p), n); }
  void varint(std::uint64_t v) { detail::append_varint(out_, v); }

  template <class T>
  void write(const T& v);

 private:
  std::string& out_;
};

/// Reads encoded values from bytes; every read checks the bytes that remain.
class value_reader {
 public:
  explicit value_reader(std::string_view in) noexcept : in_(in) {}

  /// Reads each value in turn; false (and the reader is spent) at the first bad one.
  template <class... Values>
  [[nodiscard]] bool operator()(Values&... values) {
    return (read(values) && ...);
  }

  [[nodiscard]] bool raw(void* p, std::size_t n) noexcept {
    if (n > in_.size()) return fail();
    if (n != 0) std::memcpy(p, in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  /// A varint as the writer writes it: no redundant zero groups, no bits past 64.
  [[nodiscard]] bool varint(std::uint64_t& v) noexcept {
    return detail::read_varint(in_, v) || fail();
  }
  /// A count of elements, each at least one byte: more than the bytes left is corrupt.
  [[nodiscard]] bool count(std::size_t& n) noexcept {
    std::uint64_t v = 0;
    if (!varint(v) || v > in_.size()) return fail();
    n = static_cast<std::size_t>(v);
    return true;
  }
  [[nodiscard]] std::size_t remaining() const noexcept { return in_.size(); }

  template <class T>
  [[nodiscard]] bool read(T& v);

 private:
  template <class C>
  bool read_container(C& v);
  bool fail() noexcept {
    in_ = {};
    return false;
  }
  std::string_view in_;
};

template <class T>
void value_writer::write(const T& v) {
  using U = std::remove_cv_t<T>;
  using detail::codec_form;
  constexpr codec_form form = detail::codec_form_v<U>;
  if constexpr (form == codec_form::custom) {
    value_codec<U>::encode(*this, v);
  } else if constexpr (form == codec_form::described) {
    std::apply([&](const auto&... field) { (write(field), ...); }, gencache_fields(v));
  } else if constexpr (form == codec_form::pointer) {
    static_assert(detail::dependent_false<U>,
                  "gencache: a pointer cannot leave the process; store the pointee, or a "
                  "std::shared_ptr<const T>");
  } else if constexpr (form == codec_form::boolean) {
    out_.push_back(v ? 1 : 0);
  } else if constexpr (form == codec_form::enumeration) {
    write(static_cast<std::underlying_type_t<U>>(v));
  } else if constexpr (form == codec_form::floating) {
    static_assert(std::numeric_limits<U>::is_iec559 && sizeof(U) <= 8,
                  "gencache: long double has no portable wire form; store a double");
    using bits = std::conditional_t<sizeof(U) == 4, std::uint32_t, std::uint64_t>;
    write(std::bit_cast<bits>(v));
  } else if constexpr (form == codec_form::integer) {
    using unsigned_type = std::make_unsigned_t<U>;
    const auto le = boost::endian::native_to_little(static_cast<unsigned_type>(v));
    raw(&le, sizeof le);
  } else if constexpr (form == codec_form::text) {
    const std::string_view s(v);
    varint(s.size());
    raw(s.data(), s.size());
  } else if constexpr (form == codec_form::optional) {
    write(v.has_value());
    if (v) write(*v);
  } else if constexpr (form == codec_form::shared_ptr) {
    write(v != nullptr);
    if (v) write(*v);
  } else if constexpr (form == codec_form::variant) {
    varint(v.index());
    std::visit([&](const auto& alt) { write(alt); }, v);
  } else if constexpr (form == codec_form::monostate) {
  } else if constexpr (form == codec_form::duration) {
    write(v.count());
  } else if constexpr (form == codec_form::fixed_array) {
    for (const auto& e : v) write(e);
  } else if constexpr (form == codec_form::container) {
    varint(static_cast<std::uint64_t>(std::ranges::distance(v)));
    for (const auto& e : v) write(e);
  } else if constexpr (form == codec_form::tuple_like) {
    std::apply([&](const auto&... e) { (write(e), ...); }, v);
  } else if constexpr (form == codec_form::aggregate) {
    boost::pfr::for_each_field(v, [&](const auto& field) { write(field); });
  } else {
    static_assert(detail::dependent_false<U>,
                  "gencache: the codec does not know this type; make it an aggregate, give it "
                  "the gencache_fields hook (detail/type_class.hpp) or specialize "
                  "gencache::value_codec<T>");
  }
}

// Over ~60 lines on purpose, as `write`: one case per codec form, read beside each other.
template <class T>
bool value_reader::read(T& v) {
  using U = std::remove_cv_t<T>;
  using detail::codec_form;
  constexpr codec_form form = detail::codec_form_v<U>;
  if constexpr (form == codec_form::custom) {
    return value_codec<U>::decode(*this, v) || fail();
  } else if constexpr (form == codec_form::described) {
    static_assert(detail::described_mutably<U>,
                  "gencache: to read this type back, its gencache_fields must also take a T& and "
                  "tie non-const fields: write it once as `friend auto gencache_fields("
                  "gencache::maybe_const<T> auto& self) { return std::tie(self.a, self.b); }`");
    return std::apply([&](auto&... field) { return (read(field) && ...); }, gencache_fields(v));
  } else if constexpr (form == codec_form::boolean) {
    std::uint8_t b = 0;
    if (!raw(&b, 1) || b > 1) return fail();
    v = b == 1;
    return true;
  } else if constexpr (form == codec_form::enumeration) {
    std::underlying_type_t<U> u{};
    if (!read(u)) return false;
    v = static_cast<U>(u);
    return true;
  } else if constexpr (form == codec_form::floating) {
    using bits = std::conditional_t<sizeof(U) == 4, std::uint32_t, std::uint64_t>;
    bits b = 0;
    if (!read(b)) return false;
    v = std::bit_cast<U>(b);
    return true;
  } else if constexpr (form == codec_form::integer) {
    std::make_unsigned_t<U> le = 0;
    if (!raw(&le, sizeof le)) return false;
    v = static_cast<U>(boost::endian::little_to_native(le));
    return true;
  } else if constexpr (form == codec_form::text && std::same_as<U, std::string>) {
    std::size_t n = 0;
    if (!count(n)) return false;
    v.resize(n);
    return raw(v.data(), n);
  } else if constexpr (form == codec_form::optional) {
    static_assert(detail::read_into_default<typename U::value_type>());
    bool present = false;
    if (!read(present)) return false;
    if (!present) {
      v.reset();
      return true;
    }
    return read(v.emplace());
  } else if constexpr (form == codec_form::shared_ptr) {
    using element = std::remove_const_t<typename U::element_type>;
    static_assert(detail::read_into_default<element>());
    bool present = false;
    if (!read(present)) return false;
    if (!present) {
      v = nullptr;
      return true;
    }
    auto made = std::make_shared<element>();
    if (!read(*made)) return false;
    v = std::move(made);
    return true;
  } else if constexpr (form == codec_form::variant) {
    static_assert([]<std::size_t... I>(std::index_sequence<I...>) {
      return (detail::read_into_default<std::variant_alternative_t<I, U>>() && ...);
    }(std::make_index_sequence<std::variant_size_v<U>>{}));
    std::uint64_t index = 0;
    if (!varint(index) || index >= std::variant_size_v<U>) return fail();
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return ((index == I && read(v.template emplace<I>())) || ...);
    }
    (std::make_index_sequence<std::variant_size_v<U>>{}) || fail();
  } else if constexpr (form == codec_form::monostate) {
    return true;
  } else if constexpr (form == codec_form::duration) {
    typename U::rep count_value{};
    if (!read(count_value)) return false;
    v = U(count_value);
    return true;
  } else if constexpr (form == codec_form::fixed_array) {
    for (auto& e : v) {
      if (!read(e)) return false;
    }
    return true;
  } else if constexpr (form == codec_form::container) {
    return read_container(v);
  } else if constexpr (form == codec_form::tuple_like) {
    return std::apply([&](auto&... e) { return (read(e) && ...); }, v);
  } else if constexpr (form == codec_form::aggregate) {
    bool ok = true;
    boost::pfr::for_each_field(v, [&](auto& field) { ok = ok && read(field); });
    return ok;
  } else {
    static_assert(detail::dependent_false<U>,
                  "gencache: the codec does not know this type; make it an aggregate, give it "
                  "the gencache_fields hook (detail/type_class.hpp) or specialize "
                  "gencache::value_codec<T>");
  }
}

template <class C>
bool value_reader::read_container(C& v) {
  static_assert(
      detail::read_into_default<typename detail::decodable<std::ranges::range_value_t<C>>::type>());
  std::size_t n = 0;
  if (!count(n)) return false;
  v = C();
  for (std::size_t i = 0; i < n; ++i) {
    typename detail::decodable<std::ranges::range_value_t<C>>::type e{};
    if (!read(e)) return false;
    if constexpr (requires { typename C::key_type; }) {
      // Only as written: no duplicate keys, and sorted containers in ascending order.
      const auto size_before = v.size();
      const auto at = v.insert(v.end(), std::move(e));
      if (v.size() != size_before + 1) return fail();
      if constexpr (requires { v.key_comp(); }) {
        if (std::next(at) != v.end()) return fail();
      }
    } else {
      v.insert(v.end(), std::move(e));
    }
  }
  return true;
}

namespace detail {

constexpr std::uint64_t mix_fingerprint(std::uint64_t h, std::uint64_t v) noexcept {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 29);
}

/// The fingerprint of a value type: name, version and structure, as the file comment says.
/// `Depth` stops recursive types (a node holding a vector of nodes) from recursing forever.
template <class T, int Depth = 0>
consteval std::uint64_t value_fingerprint() {
  using U = std::remove_cv_t<T>;
  std::uint64_t h = mix_fingerprint(fnv1a(type_name<U>()), value_version<U>);
  if constexpr (std::is_trivially_copyable_v<U>) {
    h = mix_fingerprint(mix_fingerprint(h, sizeof(U)), alignof(U));
  }
  constexpr codec_form form = codec_form_v<U>;
  // One case per codec form; the forms without a structure of their own (scalars, text,
  // durations, custom codecs, refused types) are their name, version and size alone.
  // NOLINTNEXTLINE(bugprone-branch-clone): the deep case and those forms both return h
  if constexpr (Depth > 16) {
    return h;
  } else if constexpr (form == codec_form::optional) {
    return mix_fingerprint(h, value_fingerprint<typename U::value_type, Depth + 1>());
  } else if constexpr (form == codec_form::shared_ptr) {
    return mix_fingerprint(h, value_fingerprint<typename U::element_type, Depth + 1>());
  } else if constexpr (form == codec_form::variant) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((h = mix_fingerprint(h, value_fingerprint<std::variant_alternative_t<I, U>, Depth + 1>())),
       ...);
      return h;
    }
    (std::make_index_sequence<std::variant_size_v<U>>{});
  } else if constexpr (form == codec_form::fixed_array || form == codec_form::container) {
    return mix_fingerprint(h, value_fingerprint<std::ranges::range_value_t<U>, Depth + 1>());
  } else if constexpr (form == codec_form::tuple_like) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((h = mix_fingerprint(h, value_fingerprint<std::tuple_element_t<I, U>, Depth + 1>())), ...);
      return h;
    }
    (std::make_index_sequence<std::tuple_size_v<U>>{});
  } else if constexpr (form == codec_form::described) {
    using fields = std::remove_cvref_t<decltype(gencache_fields(std::declval<const U&>()))>;
    h = mix_fingerprint(h, std::tuple_size_v<fields>);
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((h = mix_fingerprint(
            h,
            value_fingerprint<std::remove_cvref_t<std::tuple_element_t<I, fields>>, Depth + 1>())),
       ...);
      return h;
    }
    (std::make_index_sequence<std::tuple_size_v<fields>>{});
  } else if constexpr (form == codec_form::aggregate || form == codec_form::monostate) {
    // std::monostate is an empty aggregate: no fields.
    h = mix_fingerprint(h, boost::pfr::tuple_size_v<U>);
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((h = mix_fingerprint(h, value_fingerprint<boost::pfr::tuple_element_t<I, U>, Depth + 1>())),
       ...);
      return h;
    }
    (std::make_index_sequence<boost::pfr::tuple_size_v<U>>{});
  } else {
    return h;
  }
}

/// Appends the header of a `T` whose payload is `payload_size` bytes: magic, format version,
/// type fingerprint, payload length.
template <class T>
void append_value_header(std::string& out, std::size_t payload_size) {
  out.push_back(codec_magic);
  out.push_back(static_cast<char>(codec_version));
  value_writer header(out);
  header.write(std::uint64_t{value_fingerprint<T>()});
  header.varint(payload_size);
}

}  // namespace detail

/// `value` encoded with its header.
template <class T>
[[nodiscard]] std::string encode_value(const T& value) {
  std::string payload;
  value_writer(payload).write(value);
  std::string out;
  out.reserve(payload.size() + 20);
  detail::append_value_header<T>(out, payload.size());
  out += payload;
  return out;
}

/// Decodes bytes written by `encode_value<T>`. Fails with errc::type_mismatch when they hold
/// another type, errc::serialization when they are corrupt, truncated, too long, or not
/// gencache's. Never throws for bad input (it may throw std::bad_alloc).
/// Only canonical bytes decode: a value decodes from exactly the bytes `encode_value` writes
/// for it (overlong varints, duplicate keys and out-of-order sorted containers are corrupt).
/// Unordered containers are the exception: any order of distinct keys decodes.
template <class T>
[[nodiscard]] status decode_value(std::string_view bytes, T& out) {
  static_assert(std::is_default_constructible_v<T>,
                "gencache: decoding builds the value from a default-constructed T");
  value_reader in(bytes);
  std::uint8_t magic = 0;
  std::uint8_t version = 0;
  if (!in(magic, version) || magic != static_cast<std::uint8_t>(detail::codec_magic)) {
    return {errc::serialization, "gencache: not a gencache value (bad header)"};
  }
  if (version != detail::codec_version) {
    return {errc::serialization, fmt::format("gencache: value format version {} is not {}", version,
                                             detail::codec_version)};
  }
  std::uint64_t fingerprint = 0;
  std::uint64_t length = 0;
  if (!in(fingerprint) || !in.varint(length)) {
    return {errc::serialization, "gencache: truncated value header"};
  }
  if (fingerprint != detail::value_fingerprint<T>()) {
    return {errc::type_mismatch,
            fmt::format("gencache: stored value is not a {}", detail::type_name<T>())};
  }
  if (length != in.remaining()) {
    return {errc::serialization, fmt::format("gencache: value payload is {} bytes, header says {}",
                                             in.remaining(), length)};
  }
  T value{};
  if (!in.read(value) || in.remaining() != 0) {
    return {errc::serialization, "gencache: corrupt value payload"};
  }
  out = std::move(value);
  return {};
}

}  // namespace gencache
