#pragma once
/// \file
/// A fully built cache key, as every store sees it. Layout of its canonical bytes:
///
///     domain(1)  scope (string part)  generation count (varint)
///     per generation: identity (8 bytes LE)  value (8 bytes LE)
///     parts
///
/// A generation's *identity* is the 64-bit hash of its id (spec and, for a value-based
/// generation, its value), so two keys meet only if they name the same generations, each
/// at the same value (contract G5): equal counter values of two different generations never
/// make two keys equal, and neither do two unknown values during an outage.
/// The generation values sit at fixed offsets, so a store that resolves generations itself
/// (a remote store, in one round trip) can build the key with placeholders and fill them in
/// (`set_generation`); and a remote store can take a key apart again (`split_cache_key`) to
/// name it on the server as "generation-free part + current generation values".

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include <boost/container/small_vector.hpp>
#include <boost/endian/conversion.hpp>

#include "gencache/key.hpp"

namespace gencache {

/// Which front end built a key. Keys of different domains never compare equal, so a direct
/// key can never address a memoized function's entry.
enum class key_domain : char { direct = 'D', memoized = 'M' };

/// A generation value no generation ever has: the placeholder of a generation not resolved
/// yet, or one that could not be read (a remote store was unreachable). Stores never read or
/// write under a key that holds it.
inline constexpr std::uint64_t unknown_generation = 0;

/// A fully built key: generation values read at build time, then the key parts. Build it
/// with `basic_cache::key`. Copyable; allocation-free up to 120 encoded bytes.
class cache_key {
 public:
  cache_key() = default;

  /// Starts a key: the domain, a scope within it (a memoized function's identity; empty for
  /// direct keys) and the number of generation values that follow.
  cache_key(key_domain domain, std::string_view scope, std::size_t generation_count) {
    bytes_.push_back(static_cast<char>(domain));
    detail::binary_sink sink(bytes_);
    sink.string(scope);
    sink.varint(generation_count);
    generations_offset_ = static_cast<std::uint32_t>(bytes_.size());
  }
  /// Adds the next generation: its identity (`generation_ref::id().hash`) and its value
  /// (`unknown_generation` as a placeholder).
  void add_generation(std::uint64_t identity, std::uint64_t value) {
    generations_.push_back(value);
    detail::binary_sink sink(bytes_);
    sink.fixed(identity);
    sink.fixed(value);
  }
  /// Replaces the value of generation `i` (already added), e.g. a placeholder; call `finish`
  /// afterwards.
  void set_generation(std::size_t i, std::uint64_t value) noexcept {
    generations_[i] = value;
    value = boost::endian::native_to_little(value);
    std::memcpy(bytes_.data() + generations_offset_ + i * generation_stride + sizeof value, &value,
                sizeof value);
  }
  /// Bytes per generation in the canonical form: identity, then value.
  static constexpr std::size_t generation_stride = 16;
  template <class... Parts>
  void add_parts(const Parts&... parts) {
    encode_key_parts(bytes_, parts...);
  }
  /// Appends parts through `emit(detail::binary_sink&)`, for front ends that encode parts
  /// selectively (the memoizer skips fields).
  template <class Emit>
  void append_with(Emit&& emit) {
    detail::binary_sink sink(bytes_);
    std::forward<Emit>(emit)(sink);
  }
  void finish() noexcept { hash_ = hash_bytes(bytes()); }

  [[nodiscard]] std::string_view bytes() const noexcept { return {bytes_.data(), bytes_.size()}; }
  [[nodiscard]] std::uint64_t hash() const noexcept { return hash_; }
  [[nodiscard]] key_view view() const noexcept { return {bytes(), hash_}; }
  /// The generation values the key was built with, in the order named.
  [[nodiscard]] std::span<const std::uint64_t> generations() const noexcept {
    return {generations_.data(), generations_.size()};
  }
  /// True when every generation was resolved (none is `unknown_generation`).
  [[nodiscard]] bool resolved() const noexcept {
    for (const std::uint64_t g : generations_) {
      if (g == unknown_generation) return false;
    }
    return true;
  }
  friend bool operator==(const cache_key& a, const cache_key& b) noexcept {
    return a.bytes() == b.bytes();
  }

 private:
  key_bytes bytes_;
  boost::container::small_vector<std::uint64_t, 4> generations_;
  std::uint64_t hash_ = 0;
  std::uint32_t generations_offset_ = 0;
};

/// A cache key's bytes taken apart: domain and scope, the generations (identity and value
/// of each), and the encoded key parts.
struct split_key {
  key_domain domain{};
  std::string_view scope;
  std::size_t generation_count = 0;
  std::string_view generation_bytes;  // generation_count × (identity, value), little-endian
  std::string_view parts;

  /// The value of generation `i`.
  [[nodiscard]] std::uint64_t generation(std::size_t i) const noexcept {
    return load(i * cache_key::generation_stride + 8);
  }
  /// The identity (hash of the id) of generation `i`.
  [[nodiscard]] std::uint64_t identity(std::size_t i) const noexcept {
    return load(i * cache_key::generation_stride);
  }

 private:
  [[nodiscard]] std::uint64_t load(std::size_t offset) const noexcept {
    std::uint64_t v = 0;
    std::memcpy(&v, generation_bytes.data() + offset, sizeof v);
    return boost::endian::little_to_native(v);
  }
};

/// Takes apart bytes built by `cache_key`; nullopt if they are not a cache key's.
[[nodiscard]] std::optional<split_key> split_cache_key(std::string_view bytes) noexcept;

}  // namespace gencache
