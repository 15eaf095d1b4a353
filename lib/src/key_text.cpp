// Reading canonical key bytes back: the text rendering of encoded parts (for remote key
// names and logs) and the layout of a cache key. Both walk bytes the encoders in key.hpp
// and cache_key.hpp wrote, and treat anything else as damage, never as a reason to read
// out of bounds.

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <boost/endian/conversion.hpp>

#include "gencache/cache_key.hpp"
#include "gencache/key.hpp"

namespace gencache {

namespace {

using detail::tag;

class cursor {
 public:
  explicit cursor(std::string_view in) noexcept : in_(in) {}

  [[nodiscard]] bool empty() const noexcept { return in_.empty(); }
  bool byte(std::uint8_t& b) noexcept {
    if (in_.empty()) return false;
    b = static_cast<std::uint8_t>(in_.front());
    in_.remove_prefix(1);
    return true;
  }
  bool take(std::size_t n, std::string_view& out) noexcept {
    if (n > in_.size()) return false;
    out = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  template <class U>
  bool fixed(U& v) noexcept {
    std::string_view b;
    if (!take(sizeof(U), b)) return false;
    std::memcpy(&v, b.data(), sizeof(U));  // NOLINT(bugprone-suspicious-stringview-data-usage)
    v = boost::endian::little_to_native(v);
    return true;
  }
  bool varint(std::uint64_t& v) noexcept { return detail::read_varint(in_, v); }
  [[nodiscard]] std::string_view rest() const noexcept { return in_; }

 private:
  std::string_view in_;
};

/// Renders one part; false at damage. Depth is bounded so hostile bytes cannot exhaust the
/// stack.
class renderer {
 public:
  renderer(cursor& in, std::string& out) noexcept : in_(in), out_(out) {}

  // Over ~60 lines on purpose: one case per tag of the encoding, the grammar in one place.
  bool part(int depth = 0) {
    if (depth > 64) return false;
    std::uint8_t t = 0;
    if (!in_.byte(t)) return false;
    switch (static_cast<tag>(t)) {
      case tag::boolean: {
        std::uint8_t b = 0;
        if (!in_.byte(b) || b > 1) return false;
        out_ += b ? "true" : "false";
        return true;
      }
      case tag::i8:
        return integer<std::int8_t>();
      case tag::i16:
        return integer<std::int16_t>();
      case tag::i32:
        return integer<std::int32_t>();
      case tag::i64:
        return integer<std::int64_t>();
      case tag::u8:
        return integer<std::uint8_t>();
      case tag::u16:
        return integer<std::uint16_t>();
      case tag::u32:
        return integer<std::uint32_t>();
      case tag::u64:
        return integer<std::uint64_t>();
      case tag::ch: {
        std::uint8_t c = 0;
        if (!in_.byte(c)) return false;
        fmt::format_to(std::back_inserter(out_), "{:?}", static_cast<char>(c));
        return true;
      }
      case tag::wch:
        return wide<std::uint32_t>();
      case tag::ch8:
        return wide<std::uint8_t>();
      case tag::ch16:
        return wide<std::uint16_t>();
      case tag::ch32:
        return wide<std::uint32_t>();
      case tag::f32:
        return floating<std::uint32_t, float>();
      case tag::f64:
        return floating<std::uint64_t, double>();
      case tag::f80: {
        std::string_view b;
        if (!in_.take(10, b)) return false;
        out_ += "f80(";
        for (const char c : b) fmt::format_to(std::back_inserter(out_), "{:02x}", c & 0xff);
        out_ += ')';
        return true;
      }
      case tag::string: {
        std::uint64_t n = 0;
        std::string_view s;
        if (!in_.varint(n) || !in_.take(n, s)) return false;
        fmt::format_to(std::back_inserter(out_), "{:?}", s);
        return true;
      }
      case tag::null_string:
        out_ += "nullptr";
        return true;
      case tag::none: {
        std::uint64_t fingerprint = 0;
        out_ += "nullopt";
        return in_.fixed(fingerprint);
      }
      case tag::some:
        return wrapped("some(", ")", 1, depth);
      case tag::monostate:
        out_ += "monostate";
        return true;
      case tag::variant: {
        std::uint64_t index = 0;
        if (!in_.varint(index)) return false;
        if (index == static_cast<std::uint64_t>(std::variant_npos)) {
          out_ += "variant#valueless()";
          return true;
        }
        return wrapped(fmt::format("variant#{}(", index), ")", 1, depth);
      }
      case tag::duration:
        return named("duration(", ")", 1, depth);
      case tag::enumeration:
        return named("enum(", ")", 1, depth);
      case tag::tuple:
        return counted("(", ")", depth, false);
      case tag::range:
        return counted("[", "]", depth, true);
      case tag::aggregate: {
        std::uint64_t fingerprint = 0;
        return in_.fixed(fingerprint) && counted("{", "}", depth, false);
      }
      case tag::custom_begin: {
        std::uint64_t fingerprint = 0;
        if (!in_.fixed(fingerprint)) return false;
        out_ += '{';
        for (bool first = true;; first = false) {
          if (in_.rest().empty()) return false;
          if (static_cast<tag>(in_.rest().front()) == tag::custom_end) {
            std::uint8_t end = 0;
            (void)in_.byte(end);
            out_ += '}';
            return true;
          }
          if (!first) out_ += ", ";
          if (!part(depth + 1)) return false;
        }
      }
      case tag::custom_end:
        return false;
    }
    return false;
  }

 private:
  template <class I>
  bool integer() {
    std::make_unsigned_t<I> u = 0;
    if (!in_.fixed(u)) return false;
    fmt::format_to(std::back_inserter(out_), "{}", static_cast<I>(u));
    return true;
  }
  template <class U>
  bool wide() {
    U c = 0;
    if (!in_.fixed(c)) return false;
    fmt::format_to(std::back_inserter(out_), "U+{:04X}", static_cast<std::uint32_t>(c));
    return true;
  }
  template <class U, class F>
  bool floating() {
    U bits = 0;
    if (!in_.fixed(bits)) return false;
    detail::append_float_text(out_, std::bit_cast<F>(bits));
    return true;
  }
  bool wrapped(std::string_view open, std::string_view close, int parts, int depth) {
    out_ += open;
    for (int i = 0; i < parts; ++i) {
      if (!part(depth + 1)) return false;
    }
    out_ += close;
    return true;
  }
  bool named(std::string_view open, std::string_view close, int parts, int depth) {
    std::uint64_t fingerprint = 0;
    return in_.fixed(fingerprint) && wrapped(open, close, parts, depth);
  }
  bool counted(std::string_view open, std::string_view close, int depth, bool range) {
    std::uint64_t n = 0;
    if (!in_.varint(n)) return false;
    if (range && n == 0) {
      std::uint64_t element_type = 0;
      if (!in_.fixed(element_type)) return false;
    }
    out_ += open;
    for (std::uint64_t i = 0; i < n; ++i) {
      if (i != 0) out_ += ", ";
      if (!part(depth + 1)) return false;  // each part takes a byte: a huge n ends here
    }
    out_ += close;
    return true;
  }

  cursor& in_;
  std::string& out_;
};

}  // namespace

std::string render_key_bytes(std::string_view encoded) {
  std::string out = "(";
  cursor in(encoded);
  renderer r(in, out);
  for (bool first = true; !in.empty(); first = false) {
    if (!first) out += ", ";
    if (!r.part()) {
      out += "…";
      return out;
    }
  }
  out += ')';
  return out;
}

std::string describe(const cache_key& key) {
  const split_key k = key.split();
  std::string out;
  switch (k.domain) {
    case key_domain::direct:
      out = "direct";
      break;
    case key_domain::memoized:
      out = "memo";
      break;
    case key_domain::memoized_raw:
      out = "memo-raw";
      break;
  }
  if (k.domain == key_domain::memoized_raw) {
    fmt::format_to(std::back_inserter(out), "({} bytes)", k.parts.size());
  } else {
    out += render_key_bytes(k.parts);
  }
  for (std::size_t i = 0; i < k.generation_count; ++i) {
    fmt::format_to(std::back_inserter(out), " #{:016x}@", k.identity(i));
    if (k.generation(i) == unknown_generation) {
      out += "unknown";
    } else {
      fmt::format_to(std::back_inserter(out), "{}", k.generation(i));
    }
  }
  return out;
}

std::optional<split_key> split_cache_key(std::string_view bytes) noexcept {
  cursor in(bytes);
  split_key k;
  std::uint8_t domain = 0;
  std::uint8_t string_tag = 0;
  std::uint64_t scope_size = 0;
  std::uint64_t count = 0;
  if (!in.byte(domain) || (domain != 'D' && domain != 'M')) return std::nullopt;
  if (!in.byte(string_tag) || static_cast<tag>(string_tag) != tag::string) return std::nullopt;
  if (!in.varint(scope_size) || !in.take(scope_size, k.scope)) return std::nullopt;
  constexpr std::size_t stride = cache_key::generation_stride;
  if (!in.varint(count) || count > in.rest().size() / stride) return std::nullopt;
  if (!in.take(count * stride, k.generation_bytes)) return std::nullopt;
  k.domain = static_cast<key_domain>(domain);
  k.generation_count = count;
  k.parts = in.rest();
  return k;
}

}  // namespace gencache
