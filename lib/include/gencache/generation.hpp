#pragma once
/// \file
/// Generations: named counters whose current value is part of every key built with them.
/// Invalidating a generation gives it a new value, so every entry built under the old value
/// is never looked up again (contracts G1–G4 in docs/design.md).
///
/// A generation is named by a *spec*:
/// - plain, `"project"`: one counter;
/// - value-based, `"nav_portal:user_id"`: one counter per value of the parameter `user_id`,
///   so invalidating user 53 leaves user 999's entries cached. The whole spec is the name:
///   `"nav_portal:user_id"` and `"foo:user_id"` for the same user are different generations.
///
/// Generation values are compared by value, not by C++ type, for integers: user 53 given as
/// `int` and as `std::int64_t` is the same generation (invalidating one must reach the
/// other). Strings compare by content whatever their string type. Other value types (enums,
/// aggregates, …) are encoded like key parts, type included.

#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "gencache/key.hpp"

namespace gencache {

namespace detail {

/// Next value of the process-wide generation source: unique across every generation of the
/// process and increasing; seeded from the wall clock in nanoseconds so that values do not
/// repeat across restarts either (G2). Thread-safe, lock-free.
[[nodiscard]] std::uint64_t next_generation_value() noexcept;

[[noreturn]] void throw_bad_generation_spec(std::string_view spec);

/// The parameter of a value-based spec ("user_id" for "nav_portal:user_id"), empty for a
/// plain one. Throws std::invalid_argument for an empty spec, name or parameter.
[[nodiscard]] inline std::string_view parse_generation_spec(std::string_view spec) {
  const auto colon = spec.rfind(':');
  if (spec.empty() || colon == 0 || (colon != std::string_view::npos && colon + 1 == spec.size())) {
    throw_bad_generation_spec(spec);
  }
  return colon == std::string_view::npos ? std::string_view() : spec.substr(colon + 1);
}

/// An optional that gives a generation its value: its engaged value; an empty one throws
/// std::invalid_argument, naming the generation.
template <class V>
const auto& engaged_generation_value(const V& value, std::string_view spec) {
  if constexpr (is_specialization_of<V, std::optional>) {
    if (!value) {
      throw std::invalid_argument("gencache: generation '" + std::string(spec) +
                                  "' takes its value from an empty optional");
    }
    return engaged_generation_value(*value, spec);
  } else {
    return value;
  }
}

/// An integer generation value's encoding: every integer type as std::int64_t when it fits
/// (so `int` 53 and `std::uint64_t` 53 are one generation), else as std::uint64_t; the same
/// bytes `encode_key_parts` gives those types. Built in registers: the memoizer hashes it
/// without reading back bytes just written.
struct integer_generation_bytes {
  char bytes[9];
  char tag;
  std::uint64_t little;  // the value bytes, as one word
};
template <key_integer V>
[[nodiscard]] integer_generation_bytes encode_integer_generation_value(V value) noexcept {
  bool fits_signed = true;
  if constexpr (std::is_unsigned_v<V>) {
    fits_signed = value <= static_cast<std::make_unsigned_t<std::int64_t>>(
                               std::numeric_limits<std::int64_t>::max());
  }
  integer_generation_bytes out;
  out.tag = static_cast<char>(fits_signed ? tag::i64 : tag::u64);
  out.little = boost::endian::native_to_little(
      fits_signed ? static_cast<std::uint64_t>(static_cast<std::int64_t>(value))
                  : static_cast<std::uint64_t>(value));
  out.bytes[0] = out.tag;
  std::memcpy(out.bytes + 1, &out.little, sizeof out.little);
  return out;
}

/// Appends the encoding of a generation value, normalized as the file comment says. Callers
/// pass optionals through `engaged_generation_value` first.
template <class V>
void encode_generation_value(key_bytes& out, const V& value) {
  if constexpr (key_integer<V>) {
    const integer_generation_bytes encoded = encode_integer_generation_value(value);
    out.insert(out.end(), encoded.bytes, encoded.bytes + sizeof encoded.bytes);
  } else {
    encode_key_parts(out, value);
  }
}

/// The identity of one generation (its counter's key): spec, then the encoded value if any.
inline void encode_generation_id(key_bytes& out, std::string_view spec,
                                 std::string_view encoded_value) {
  encode_key_parts(out, spec);
  out.insert(out.end(), encoded_value.begin(), encoded_value.end());
}

/// The hash of a generation's id (`encode_generation_id`): the hash of the encoded spec,
/// and for a value-based generation the encoded value's bytes hashed with it as the seed.
/// So a front end that names one spec many times (the memoizer, the bound cache) hashes the
/// spec once and mixes in only the value per call, and every front end agrees on the hash.
///
/// An integer value (encoded as its tag and 8 bytes, see `encode_integer_generation_value`)
/// hashes its 8 value bytes with the tag mixed into the seed: the memoizer computes that
/// from a register, without reading back a 9-byte encoding written a moment before (a load
/// that spans two stores stalls store forwarding). These hashes are generations'
/// identities in keys, which remote stores name values by: every process must compute the
/// same ones (no per-process salt; tests/generation_test.cpp holds known values).
///
/// Flattened: XXH3's entry point dispatches on the length, which is constant here, and the
/// compiler does not inline it on its own (a call and its dispatch cost more than the hash
/// of 8 bytes; docs/benchmarks.md, "Hit cost without calls").
[[nodiscard]] [[gnu::flatten]] inline std::uint64_t integer_generation_id_hash(
    std::uint64_t encoded_spec_hash, char tag_byte, std::uint64_t little) noexcept {
  return XXH3_64bits_withSeed(&little, sizeof little,
                              encoded_spec_hash ^ static_cast<std::uint8_t>(tag_byte));
}
[[nodiscard]] inline std::uint64_t generation_id_hash(std::uint64_t encoded_spec_hash,
                                                      std::string_view encoded_value) noexcept {
  if (encoded_value.empty()) return encoded_spec_hash;
  if (encoded_value.size() == 9 && (encoded_value[0] == static_cast<char>(tag::i64) ||
                                    encoded_value[0] == static_cast<char>(tag::u64))) {
    std::uint64_t little = 0;
    std::memcpy(&little, encoded_value.data() + 1, sizeof little);
    return integer_generation_id_hash(encoded_spec_hash, encoded_value[0], little);
  }
  return XXH3_64bits_withSeed(encoded_value.data(), encoded_value.size(), encoded_spec_hash);
}

/// Builds the id of generation `spec` into `out` (the encoded spec, then what
/// `append_value(out)` appends: the encoded value) and returns its hash.
template <class AppendValue>
std::uint64_t build_generation_id(key_bytes& out, std::string_view spec,
                                  AppendValue&& append_value) {
  encode_key_parts(out, spec);
  const std::size_t spec_size = out.size();
  const std::uint64_t spec_hash = hash_bytes({out.data(), spec_size});
  std::forward<AppendValue>(append_value)(out);
  return generation_id_hash(spec_hash, {out.data() + spec_size, out.size() - spec_size});
}

/// Appends a generation value's readable form: `53`, `"eu"` (a part list without its
/// parentheses).
template <class V>
void render_generation_value(std::string& out, const V& value) {
  if constexpr (is_specialization_of<V, std::optional>) {
    if (value) render_generation_value(out, *value);
    return;
  }
  std::string parts;
  render_key_parts(parts, value);
  out.append(parts, 1, parts.size() - 2);
}

template <class V>
void render_value(std::string& out, const void* value) {
  render_generation_value(out, *static_cast<const V*>(value));
}

}  // namespace detail

/// A plain generation resolved once to its counter, so that reading it costs one atomic
/// load. Get one from `cache.pin_generation("project")`. The counter is pinned in its store (never
/// evicted) and stays valid as long as the store lives. Copyable; thread-safe to read.
class generation_handle {
 public:
  generation_handle(std::string spec, const std::atomic<std::uint64_t>& counter)
      : spec_(std::move(spec)), counter_(&counter) {
    detail::encode_generation_id(id_, spec_, {});
    hash_ = hash_bytes({id_.data(), id_.size()});
  }

  [[nodiscard]] const std::string& spec() const noexcept { return spec_; }
  /// The current value (one acquire load).
  [[nodiscard]] std::uint64_t value() const noexcept {
    return counter_->load(std::memory_order_acquire);
  }
  [[nodiscard]] key_view id() const noexcept { return {{id_.data(), id_.size()}, hash_}; }
  [[nodiscard]] const std::atomic<std::uint64_t>& counter() const noexcept { return *counter_; }

 private:
  std::string spec_;
  key_bytes id_;
  std::uint64_t hash_ = 0;
  const std::atomic<std::uint64_t>* counter_;
};

/// One generation as a call names it: `"project"`, `{"nav_portal:user_id", 53}`, or a
/// `generation_handle`. A view, like `std::string_view`: build it in the call that uses it.
/// Construction throws std::invalid_argument when a value-based spec has no value or a plain
/// one has a value. Allocation-free for specs and values that encode in 120 bytes.
class generation_ref {
 public:
  generation_ref(const char* spec) : generation_ref(std::string_view(spec)) {}
  generation_ref(const std::string& spec) : generation_ref(std::string_view(spec)) {}
  generation_ref(std::string_view spec) : spec_(spec) {
    if (!detail::parse_generation_spec(spec).empty()) {
      throw std::invalid_argument("gencache: generation '" + std::string(spec) +
                                  "' is value-based: give it a value, {\"" + std::string(spec) +
                                  "\", value}");
    }
    detail::encode_generation_id(id_, spec, {});
    hash_ = hash_bytes({id_.data(), id_.size()});
  }
  template <class V>
  generation_ref(std::string_view spec, const V& value)
      : spec_(spec), value_(&value), render_value_(&detail::render_value<V>) {
    if (detail::parse_generation_spec(spec).empty()) {
      throw std::invalid_argument("gencache: generation '" + std::string(spec) +
                                  "' is plain and takes no value; name its parameter, e.g. '" +
                                  std::string(spec) + ":user_id'");
    }
    hash_ = detail::build_generation_id(id_, spec, [&](key_bytes& out) {
      detail::encode_generation_value(out, detail::engaged_generation_value(value, spec));
    });
  }
  generation_ref(const generation_handle& handle) noexcept
      : spec_(handle.spec()), counter_(&handle.counter()) {
    const auto id = handle.id();
    id_.assign(id.bytes.begin(), id.bytes.end());
    hash_ = id.hash;
  }

  /// Value-based generation from an already encoded value (see `named_value`).
  struct encoded_t {};
  generation_ref(encoded_t, std::string_view spec, std::string_view encoded_value,
                 const void* value, void (*render_value)(std::string&, const void*))
      : spec_(spec), value_(value), render_value_(render_value) {
    hash_ = detail::build_generation_id(id_, spec, [&](key_bytes& out) {
      out.insert(out.end(), encoded_value.begin(), encoded_value.end());
    });
  }

  [[nodiscard]] std::string_view spec() const noexcept { return spec_; }
  /// The counter's identity in its store.
  [[nodiscard]] key_view id() const noexcept { return {{id_.data(), id_.size()}, hash_}; }
  /// The pinned counter of a handle, else nullptr.
  [[nodiscard]] const std::atomic<std::uint64_t>* pinned_counter() const noexcept {
    return counter_;
  }
  /// Appends "project" or "nav_portal:user_id=53".
  void render(std::string& out) const {
    out += spec_;
    if (render_value_ != nullptr) {
      out += '=';
      render_value_(out, value_);
    }
  }

 private:
  std::string_view spec_;
  key_bytes id_;
  std::uint64_t hash_ = 0;
  const std::atomic<std::uint64_t>* counter_ = nullptr;
  const void* value_ = nullptr;
  void (*render_value_)(std::string&, const void*) = nullptr;
};

}  // namespace gencache
