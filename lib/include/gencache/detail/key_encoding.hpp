#pragma once
// The key encoding's machinery (key.hpp has the rules): varints, the binary sink (identity
// bytes) and the text sink (readable rendering), and how each kind of key part is appended
// to them. Also `key_writer`, what a `key_fragment` specialization receives.

#include <bit>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <limits>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include <fmt/format.h>
#include <boost/container/small_vector.hpp>
#include <boost/endian/conversion.hpp>
#include <boost/pfr/core.hpp>
#include <boost/pfr/tuple_size.hpp>

#include "gencache/detail/type_class.hpp"
#include "gencache/detail/type_name.hpp"
#include "gencache/key_bytes.hpp"

namespace gencache {

namespace detail {

/// LEB128: 7 bits a byte, low first, high bit set on all but the last. Shared by the key
/// encoding and the value codec.
template <class Buffer>
void append_varint(Buffer& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

/// Reads a varint from the front of `in` as `append_varint` writes it, and consumes it;
/// false (with `in` left anywhere) if the bytes end first, hold bits past 64 or a redundant
/// zero group. Shared by the key and value decoders.
[[nodiscard]] inline bool read_varint(std::string_view& in, std::uint64_t& v) noexcept {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    const auto byte = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    if (shift == 63 && byte > 1) return false;  // bits past 64
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return byte != 0 || shift == 0;  // overlong
  }
  return false;
}

enum class tag : std::uint8_t {
  boolean = 0x01,
  i8,
  i16,
  i32,
  i64,
  u8,
  u16,
  u32,
  u64,
  ch,
  wch,
  ch8,
  ch16,
  ch32,
  f32,
  f64,
  f80,
  string,
  null_string,
  none,
  some,
  monostate,
  variant,
  duration,
  enumeration,
  tuple,
  range,
  aggregate,
  custom_begin,
  custom_end,
};

/// The structured kinds a sink is told about; leaves are scalars and strings.
enum class kind : std::uint8_t {
  some,
  variant,
  duration,
  enumeration,
  tuple,
  range,
  aggregate,
  custom
};

/// An integer a key holds: 64 bits at most (no __int128).
template <class T>
concept key_integer = class_of<T>
== type_class::integer && sizeof(T) <= 8;

/// Binary sink: the canonical identity encoding.
class binary_sink {
 public:
  explicit binary_sink(key_bytes& out) noexcept : out_(out) {}

  void put(tag t) { out_.push_back(static_cast<char>(t)); }
  void raw(const void* p, std::size_t n) {
    if (n == 0) return;  // an empty string_view's data() may be null: memcpy must not see it
    const auto old = out_.size();
    out_.resize(old + n, boost::container::default_init);
    std::memcpy(out_.data() + old, p, n);
  }
  template <std::unsigned_integral U>
  void fixed(U v) {
    v = boost::endian::native_to_little(v);
    raw(&v, sizeof v);
  }
  void varint(std::uint64_t v) { append_varint(out_, v); }

  void boolean(bool b) {
    put(tag::boolean);
    out_.push_back(b ? 1 : 0);
  }
  template <key_integer I>
  void integer(I v) {
    using U = std::make_unsigned_t<I>;
    constexpr tag tags[2][4] = {{tag::u8, tag::u16, tag::u32, tag::u64},
                                {tag::i8, tag::i16, tag::i32, tag::i64}};
    static_assert(sizeof(I) <= 8, "gencache: 128-bit integers are not key parts yet");
    put(tags[std::is_signed_v<I>][std::countr_zero(sizeof(I))]);
    fixed(static_cast<U>(v));
  }
  template <char_type C>
  void character(C c) {
    if constexpr (std::same_as<C, char>)
      put(tag::ch);
    else if constexpr (std::same_as<C, wchar_t>)
      put(tag::wch);
    else if constexpr (std::same_as<C, char8_t>)
      put(tag::ch8);
    else if constexpr (std::same_as<C, char16_t>)
      put(tag::ch16);
    else
      put(tag::ch32);
    using U = std::conditional_t<sizeof(C) == 1, std::uint8_t,
                                 std::conditional_t<sizeof(C) == 2, std::uint16_t, std::uint32_t>>;
    fixed(static_cast<U>(c));
  }
  template <std::floating_point F>
  void floating(F v) {
    if constexpr (std::same_as<F, float>) {
      put(tag::f32);
      fixed(std::isnan(v) ? 0x7fc00000u : std::bit_cast<std::uint32_t>(v));
    } else if constexpr (std::same_as<F, double>) {
      put(tag::f64);
      fixed(std::isnan(v) ? 0x7ff8000000000000ull : std::bit_cast<std::uint64_t>(v));
    } else {
      put(tag::f80);
      if (std::isnan(v)) v = std::numeric_limits<F>::quiet_NaN();
      // x87 long double has 6 padding bytes of garbage: encode only the value bytes.
      constexpr std::size_t value_bytes = std::numeric_limits<F>::digits == 64 ? 10 : sizeof(F);
      unsigned char b[sizeof(F)];
      std::memcpy(b, &v, sizeof(F));
      raw(b, value_bytes);
    }
  }
  void string(std::string_view s) {
    put(tag::string);
    varint(s.size());
    raw(s.data(), s.size());
  }
  void null_string() { put(tag::null_string); }
  /// A disengaged optional, with its value type's fingerprint: optional<int>{} and
  /// optional<std::string>{} are different keys.
  void none(std::uint64_t value_type) {
    put(tag::none);
    fixed(value_type);
  }
  void monostate() { put(tag::monostate); }

  /// `count` is the element count (tuple, range, aggregate) or the alternative (variant).
  /// Named kinds carry their type's fingerprint, counted kinds their count; an empty range
  /// also carries its element type's fingerprint.
  void open(kind k, std::string_view /*type*/, std::uint64_t fingerprint, std::size_t count) {
    static constexpr tag tags[] = {tag::some,  tag::variant, tag::duration,  tag::enumeration,
                                   tag::tuple, tag::range,   tag::aggregate, tag::custom_begin};
    static_assert(std::size(tags) == static_cast<std::size_t>(kind::custom) + 1);
    put(tags[static_cast<std::size_t>(k)]);
    if (k == kind::duration || k == kind::enumeration || k == kind::aggregate ||
        k == kind::custom) {
      fixed(fingerprint);
    }
    if (k == kind::variant || k == kind::tuple || k == kind::range || k == kind::aggregate) {
      varint(count);
    }
    if (k == kind::range && count == 0) fixed(fingerprint);
  }
  // A custom fragment does not announce its part count, so it ends with a tag no part
  // starts with; everything else is prefix-free through its count.
  void close(kind k) {
    if (k == kind::custom) put(tag::custom_end);
  }
  void next() noexcept {}

 private:
  key_bytes& out_;
};

/// A float as key text: every NaN as "nan", and always visibly a float (1.0 must not read
/// as the integer 1). Shared by the text sink and render_key_bytes.
template <std::floating_point F>
void append_float_text(std::string& out, F v) {
  const auto start = out.size();
  if (std::isnan(v)) {
    out += "nan";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
    if (out.find_first_of(".en", start) == std::string::npos) out += ".0";
  }
}

/// Text sink: the readable rendering, fmt-formatted and escaped.
class text_sink {
 public:
  explicit text_sink(std::string& out) noexcept : out_(out) {}

  void boolean(bool b) { out_ += b ? "true" : "false"; }
  template <key_integer I>
  void integer(I v) {
    fmt::format_to(std::back_inserter(out_), "{}", v);
  }
  template <char_type C>
  void character(C c) {
    if constexpr (std::same_as<C, char>) {
      fmt::format_to(std::back_inserter(out_), "{:?}", c);
    } else {
      fmt::format_to(std::back_inserter(out_), "U+{:04X}", static_cast<std::uint32_t>(c));
    }
  }
  template <std::floating_point F>
  void floating(F v) {
    append_float_text(out_, v);
  }
  void string(std::string_view s) { fmt::format_to(std::back_inserter(out_), "{:?}", s); }
  void null_string() { out_ += "nullptr"; }
  void none(std::uint64_t /*value_type*/) { out_ += "nullopt"; }
  void monostate() { out_ += "monostate"; }

  void open(kind k, std::string_view type, std::uint64_t /*fingerprint*/, std::size_t count) {
    switch (k) {
      case kind::some:
        out_ += "some(";
        break;
      case kind::variant:
        fmt::format_to(std::back_inserter(out_), "variant#{}(", count);
        break;
      case kind::duration:
      case kind::enumeration:
        fmt::format_to(std::back_inserter(out_), "{}(", type);
        break;
      case kind::tuple:
        out_ += '(';
        break;
      case kind::range:
        out_ += '[';
        break;
      case kind::aggregate:
      case kind::custom:
        fmt::format_to(std::back_inserter(out_), "{}{{", type);
        break;
    }
  }
  void close(kind k) {
    switch (k) {
      case kind::range:
        out_ += ']';
        break;
      case kind::aggregate:
      case kind::custom:
        out_ += '}';
        break;
      default:
        out_ += ')';
        break;
    }
  }
  void next() {
    if (!out_.empty() && out_.back() != '(' && out_.back() != '[' && out_.back() != '{')
      out_ += ", ";
  }

 private:
  std::string& out_;
};

template <class Sink, class T>
void append_part(Sink& out, const T& v);

}  // namespace detail

/// What a `key_fragment` specialization receives: call it with the parts that identify the
/// value, `out(a, b, c)`, as often as needed.
template <class Sink>
class key_writer {
 public:
  explicit key_writer(Sink& sink) noexcept : sink_(sink) {}
  template <class... Parts>
  void operator()(const Parts&... parts) {
    (detail::append_part(sink_, parts), ...);
  }

 private:
  Sink& sink_;
};

namespace detail {

template <class T>
concept has_key_fragment = requires(key_writer<binary_sink>& w, const T& v) {
  key_fragment<T>::append(w, v);
};

/// Whether a memoized member function's object is keyed: its type says how (a key_fragment
/// or the gencache_fields hook). Other objects are not part of the key.
template <class T>
concept keyed_object = has_key_fragment<T> || described<T>;

/// A key part's canonical encoding: its key_fragment if it has one, else the rule of its
/// type class (type_class.hpp). Over ~60 lines on purpose: one short case per type class,
/// so that the encoding's rules read as one table.
template <class Sink, class T>
void append_part(Sink& out, const T& v) {
  using U = std::remove_cvref_t<T>;
  constexpr type_class c = class_of<U>;
  out.next();
  // One case per type class.
  // NOLINTBEGIN(bugprone-branch-clone)
  if constexpr (has_key_fragment<U>) {
    out.open(kind::custom, type_name<U>(), type_fingerprint<U>, 0);
    key_writer<Sink> writer(out);
    key_fragment<U>::append(writer, v);
    out.close(kind::custom);
  } else if constexpr (c == type_class::described) {
    // As an aggregate of the fields the hook names, under the type's own name.
    const auto fields = gencache_fields(v);
    using fields_type = std::remove_cvref_t<decltype(fields)>;
    out.open(kind::aggregate, type_name<U>(), type_fingerprint<U>, std::tuple_size_v<fields_type>);
    std::apply([&](const auto&... field) { (append_part(out, field), ...); }, fields);
    out.close(kind::aggregate);
  } else if constexpr (c == type_class::boolean) {
    out.boolean(v);
  } else if constexpr (c == type_class::character) {
    out.character(v);
  } else if constexpr (c == type_class::integer) {
    static_assert(key_integer<U>, "gencache: an integer wider than 64 bits is not a key part");
    out.integer(v);
  } else if constexpr (c == type_class::floating) {
    out.floating(v);
  } else if constexpr (c == type_class::enumeration) {
    out.open(kind::enumeration, type_name<U>(), type_fingerprint<U>, 1);
    append_part(out, static_cast<std::underlying_type_t<U>>(v));
    out.close(kind::enumeration);
  } else if constexpr (c == type_class::c_string) {
    if (v == nullptr) {
      out.null_string();
    } else {
      out.string(std::string_view(v));
    }
  } else if constexpr (c == type_class::char_array) {
    // A char array is a string up to its first NUL, never past its end.
    const auto n = std::char_traits<char>::find(v, std::extent_v<U>, '\0');
    out.string(std::string_view(v, n ? static_cast<std::size_t>(n - v) : std::extent_v<U>));
  } else if constexpr (c == type_class::string_like) {
    out.string(std::string_view(v));
  } else if constexpr (c == type_class::nullopt) {
    out.none(type_fingerprint<U>);
  } else if constexpr (c == type_class::optional) {
    if (!v) {
      out.none(type_fingerprint<typename U::value_type>);
    } else {
      out.open(kind::some, {}, 0, 1);
      append_part(out, *v);
      out.close(kind::some);
    }
  } else if constexpr (c == type_class::monostate) {
    out.monostate();
  } else if constexpr (c == type_class::variant) {
    if (v.valueless_by_exception()) {
      out.open(kind::variant, {}, 0, std::variant_npos);
      out.close(kind::variant);
    } else {
      out.open(kind::variant, {}, 0, v.index());
      std::visit([&](const auto& alt) { append_part(out, alt); }, v);
      out.close(kind::variant);
    }
  } else if constexpr (c == type_class::duration) {
    out.open(kind::duration, type_name<U>(), type_fingerprint<U>, 1);
    append_part(out, v.count());
    out.close(kind::duration);
  } else if constexpr (c == type_class::pointer) {
    static_assert(dependent_false<U>,
                  "gencache: a pointer is not a key part (it would key by address). Pass the "
                  "pointee, or specialize gencache::key_fragment for the pointer's owner.");
  } else if constexpr (c == type_class::unordered) {
    static_assert(dependent_false<U>,
                  "gencache: unordered containers are not key parts: their iteration order is "
                  "not canonical. Use a sorted std::vector or a std::map.");
  } else if constexpr (c == type_class::self_nested) {
    static_assert(dependent_false<U>,
                  "gencache: a range of itself (std::filesystem::path) is not a key part: its "
                  "elements would recurse forever. Pass path.native() or path.generic_string().");
  } else if constexpr (c == type_class::range || c == type_class::fixed_array) {
    using element = std::ranges::range_value_t<const U>;
    out.open(kind::range, {}, type_fingerprint<element>,
             static_cast<std::size_t>(std::ranges::distance(v)));
    for (auto&& e : v) {
      if constexpr (std::same_as<element, bool>) {
        append_part(out, static_cast<bool>(e));  // vector<bool> hands out proxies
      } else {
        append_part(out, e);
      }
    }
    out.close(kind::range);
  } else if constexpr (c == type_class::tuple_like) {
    out.open(kind::tuple, {}, 0, std::tuple_size_v<U>);
    std::apply([&](const auto&... e) { (append_part(out, e), ...); }, v);
    out.close(kind::tuple);
  } else if constexpr (c == type_class::aggregate) {
    out.open(kind::aggregate, type_name<U>(), type_fingerprint<U>, boost::pfr::tuple_size_v<U>);
    boost::pfr::for_each_field(v, [&](const auto& field) { append_part(out, field); });
    out.close(kind::aggregate);
  } else {
    static_assert(dependent_false<U>,
                  "gencache: this type is not a key part. Make it an aggregate (public fields, no "
                  "constructors), give it the hook `friend auto gencache_fields("
                  "gencache::maybe_const<T> auto& self) { return std::tie(self.a, self.b); }`, or "
                  "specialize gencache::key_fragment<T> "
                  "with `static void append(auto& out, const T& v) { out(v.a, v.b); }`.");
  }
  // NOLINTEND(bugprone-branch-clone)
}

}  // namespace detail

}  // namespace gencache
