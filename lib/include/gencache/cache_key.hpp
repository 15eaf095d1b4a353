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
/// The generation values sit at fixed offsets, so a key is built once with placeholders and
/// its generations filled in by whoever resolves them (`set_generation`): the cache for a
/// local store, the store itself for a remote one (in one round trip). A key knows its own
/// structure (`split()`), so a remote store names it on the server ("generation-free part +
/// current generation values") without parsing; `split_cache_key` takes apart bytes alone.
///
/// A `key_request` is what every front end hands to the cache: the key with placeholders,
/// and what each generation is (its id, and its pinned counter if it has one).

#include <atomic>
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
/// key can never address a memoized function's entry. `memoized_raw` keys hold a memoized
/// call's arguments as their object representation (see memoize.hpp); only stores that keep
/// keys in process see them.
enum class key_domain : char { direct = 'D', memoized = 'M', memoized_raw = 'R' };

/// A generation value no generation ever has: the placeholder of a generation not resolved
/// yet, or one that could not be read (a remote store was unreachable). Stores never read or
/// write under a key that holds it.
inline constexpr std::uint64_t unknown_generation = 0;

namespace detail {
/// The hash of a `memoized_raw` key, in three steps that a caller holding the key's fields
/// in registers computes without building its bytes: XXH3 of the head (domain, scope,
/// generation count; constant per memoized wrapper), then each generation's identity and
/// value folded in, then the arguments' bytes. The fold is a 64×64→128-bit multiply whose
/// halves are xored (wyhash's mixer); arguments up to 16 bytes are read as two overlapping
/// words, longer ones hashed with XXH3 seeded by the state and the secret below. Not XXH3 of the
/// whole key: the bytes it would read were written a moment before, one field at a time, and a wide
/// load across narrow stores stalls store forwarding. A multiplier xored with a value an attacker
/// may choose must not be predictable, or the product can be made zero for every key (hash
/// flooding): the factors are salted with a secret drawn once per process (these hashes never leave
/// the process: `R` keys live only in memory stores).
struct raw_hash_secret {
  std::uint64_t k0, k1, k2;
};
[[nodiscard]] raw_hash_secret draw_raw_hash_secret() noexcept;
/// The process's secret (std::random_device, drawn on first use).
[[nodiscard]] inline const raw_hash_secret& raw_hash_salt() noexcept {
  static const raw_hash_secret secret = draw_raw_hash_secret();
  return secret;
}
__extension__ using raw_hash_wide = unsigned __int128;  // GCC and Clang; no -Wpedantic noise
[[nodiscard]] inline std::uint64_t raw_hash_mix(std::uint64_t a, std::uint64_t b) noexcept {
  const raw_hash_wide product = static_cast<raw_hash_wide>(a) * b;
  return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}
[[nodiscard]] inline std::uint64_t raw_key_hash_generation(std::uint64_t state,
                                                           std::uint64_t identity,
                                                           std::uint64_t value) noexcept {
  const raw_hash_secret& salt = raw_hash_salt();
  return raw_hash_mix(state ^ identity ^ salt.k0, value ^ salt.k1);
}
/// Arguments over 16 bytes: out of line, so that the short case stays small enough to
/// inline into every hit.
[[nodiscard]] [[gnu::noinline]] inline std::uint64_t raw_key_hash_long(std::uint64_t state,
                                                                       const char* bytes,
                                                                       std::size_t size) noexcept {
  return XXH3_64bits_withSeed(bytes, size, state ^ raw_hash_salt().k0);
}
[[nodiscard]] [[gnu::always_inline]] inline std::uint64_t raw_key_hash_parts(
    std::uint64_t state, const char* bytes, std::size_t size) noexcept {
  if (size > 16) [[unlikely]]
    return raw_key_hash_long(state, bytes, size);
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  if (size >= 8) {
    std::memcpy(&first, bytes, 8);
    std::memcpy(&last, bytes + size - 8, 8);
  } else if (size >= 4) {
    std::uint32_t a = 0;
    std::uint32_t b = 0;
    std::memcpy(&a, bytes, 4);
    std::memcpy(&b, bytes + size - 4, 4);
    first = a;
    last = b;
  } else if (size > 0) {
    first = static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[0])) << 16 |
            static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[size / 2])) << 8 |
            static_cast<unsigned char>(bytes[size - 1]);
  }
  const raw_hash_secret& salt = raw_hash_salt();
  const std::uint64_t folded = raw_hash_mix(first ^ state ^ salt.k2, last ^ salt.k0 ^ size);
  return raw_hash_mix(folded ^ salt.k1, folded ^ salt.k2 ^ state);
}
}  // namespace detail

/// A fully built key: generation values read at build time, then the key parts. Build it
/// with `basic_cache::key`. Copyable; allocation-free up to 120 encoded bytes.
class cache_key {
 public:
  cache_key() = default;

  /// Starts a key: the domain, a scope within it (a memoized function's identity; empty for
  /// direct keys) and the number of generation values that follow.
  cache_key(key_domain domain, std::string_view scope, std::size_t generation_count) {
    if (scope.size() < 0x80 && generation_count < 0x80) {  // one-byte counts: one write
      bytes_.resize(4 + scope.size(), boost::container::default_init);
      char* out = bytes_.data();
      out[0] = static_cast<char>(domain);
      out[1] = static_cast<char>(detail::tag::string);
      out[2] = static_cast<char>(scope.size());
      if (!scope.empty()) std::memcpy(out + 3, scope.data(), scope.size());
      out[3 + scope.size()] = static_cast<char>(generation_count);
      scope_offset_ = 3;
    } else {
      bytes_.push_back(static_cast<char>(domain));
      detail::binary_sink sink(bytes_);
      sink.put(detail::tag::string);
      sink.varint(scope.size());
      scope_offset_ = static_cast<std::uint32_t>(bytes_.size());
      sink.raw(scope.data(), scope.size());
      sink.varint(generation_count);
    }
    scope_size_ = static_cast<std::uint32_t>(scope.size());
    generations_offset_ = static_cast<std::uint32_t>(bytes_.size());
    generation_count_ = static_cast<std::uint32_t>(generation_count);
  }
  /// Adds the next generation: its identity (`generation_ref::id().hash`) and its value
  /// (`unknown_generation` as a placeholder).
  void add_generation(std::uint64_t identity, std::uint64_t value) {
    const std::uint64_t both[2] = {boost::endian::native_to_little(identity),
                                   boost::endian::native_to_little(value)};
    const auto old = bytes_.size();
    bytes_.resize(old + sizeof both, boost::container::default_init);
    std::memcpy(bytes_.data() + old, both, sizeof both);
  }
  /// Replaces the value of generation `i` (already added), e.g. a placeholder; call `finish`
  /// afterwards.
  void set_generation(std::size_t i, std::uint64_t value) noexcept {
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
  /// Computes the key's hash: XXH3 of its bytes, but for a `memoized_raw` key, whose hash
  /// `detail::raw_key_hash` computes field by field (the memoizer's hit path computes the
  /// same from registers, without building the bytes).
  void finish() noexcept {
    if (bytes_.empty() || domain() != key_domain::memoized_raw) {
      hash_ = hash_bytes(bytes());
      return;
    }
    std::uint64_t h = hash_bytes({bytes_.data(), generations_offset_});
    for (std::size_t i = 0; i < generation_count_; ++i) {
      h = detail::raw_key_hash_generation(h, load_word(i * generation_stride), generation(i));
    }
    const std::size_t parts = generations_offset_ + generation_count_ * generation_stride;
    hash_ = detail::raw_key_hash_parts(h, bytes_.data() + parts, bytes_.size() - parts);
  }

  [[nodiscard]] std::string_view bytes() const noexcept { return {bytes_.data(), bytes_.size()}; }
  [[nodiscard]] key_domain domain() const noexcept { return static_cast<key_domain>(bytes_[0]); }
  /// The key's structure, read from what it was built with (no parsing). Valid while the
  /// key lives and is not changed.
  [[nodiscard]] struct split_key split() const noexcept;
  [[nodiscard]] std::uint64_t hash() const noexcept { return hash_; }
  [[nodiscard]] key_view view() const noexcept { return {bytes(), hash_}; }
  /// The number of generations the key names.
  [[nodiscard]] std::size_t generation_count() const noexcept { return generation_count_; }
  /// The value of generation `i` the key was built with (`i < generation_count()`).
  [[nodiscard]] std::uint64_t generation(std::size_t i) const noexcept {
    return load_word(i * generation_stride + sizeof(std::uint64_t));
  }
  /// The generation values the key was built with, in the order named.
  [[nodiscard]] boost::container::small_vector<std::uint64_t, 4> generations() const {
    boost::container::small_vector<std::uint64_t, 4> out;
    for (std::size_t i = 0; i < generation_count_; ++i) out.push_back(generation(i));
    return out;
  }
  /// True when every generation was resolved (none is `unknown_generation`).
  [[nodiscard]] bool resolved() const noexcept {
    for (std::size_t i = 0; i < generation_count_; ++i) {
      if (generation(i) == unknown_generation) return false;
    }
    return true;
  }
  friend bool operator==(const cache_key& a, const cache_key& b) noexcept {
    return a.bytes() == b.bytes();
  }

 private:
  /// The little-endian word at `offset` past the start of the generations.
  [[nodiscard]] std::uint64_t load_word(std::size_t offset) const noexcept {
    std::uint64_t v = 0;
    std::memcpy(&v, bytes_.data() + generations_offset_ + offset, sizeof v);
    return boost::endian::little_to_native(v);
  }

  key_bytes bytes_;  // the generation values live here only: generation(i) reads them
  std::uint64_t hash_ = 0;
  std::uint32_t scope_offset_ = 0;
  std::uint32_t scope_size_ = 0;
  std::uint32_t generations_offset_ = 0;
  std::uint32_t generation_count_ = 0;
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

inline split_key cache_key::split() const noexcept {
  split_key k;
  k.domain = domain();
  k.scope = bytes().substr(scope_offset_, scope_size_);
  k.generation_count = generation_count_;
  k.generation_bytes = bytes().substr(generations_offset_, generation_count_ * generation_stride);
  k.parts = bytes().substr(generations_offset_ + generation_count_ * generation_stride);
  return k;
}

/// The readable form of a key, for logs: its domain and parts, then each generation's
/// identity (16 hex digits of a hash: a key holds no names) and value, e.g.
/// `direct("header", 7) #3f2a…@1838… #91c0…@unknown`. A raw memoized key shows the size of
/// its argument bytes, which only its wrapper can read.
[[nodiscard]] std::string describe(const cache_key& key);

/// Takes apart bytes built by `cache_key`; nullopt if they are not a cache key's (or are a
/// `memoized_raw` key's, whose parts only their wrapper can read).
[[nodiscard]] std::optional<split_key> split_cache_key(std::string_view bytes) noexcept;

/// A key to resolve: the key with one placeholder per generation, and what each generation
/// is. Every front end (direct interface, bound cache, memoizer) builds one and hands it to
/// `basic_cache::resolve` or `basic_cache::lookup`, the one place that decides how a store's
/// generations are read. The ids are views: what they point to must outlive the request.
class key_request {
 public:
  key_request(key_domain domain, std::string_view scope, std::size_t generation_count)
      : key_(domain, scope, generation_count) {}
  /// Starts from a key that holds only its head (domain, scope, generation count), built
  /// once by a front end that makes many requests of the same shape.
  explicit key_request(const cache_key& head) : key_(head) {}

  /// Names the next generation: its counter's id in the store and, for a handle, the pinned
  /// counter (read with one load instead of asking the store).
  void add_generation(key_view id, const std::atomic<std::uint64_t>* pinned = nullptr) {
    key_.add_generation(id.hash, unknown_generation);
    generations_.emplace_back(id.bytes.data(), id.bytes.size(), id.hash, pinned);
  }
  /// The key, to append parts to (after every generation is added).
  [[nodiscard]] cache_key& key() noexcept { return key_; }
  [[nodiscard]] const cache_key& key() const noexcept { return key_; }
  [[nodiscard]] std::size_t generation_count() const noexcept { return generations_.size(); }
  /// Generation `i`'s counter id.
  [[nodiscard]] key_view id(std::size_t i) const noexcept { return generations_[i].id(); }
  /// Generation `i`'s pinned counter, or nullptr.
  [[nodiscard]] const std::atomic<std::uint64_t>* pinned(std::size_t i) const noexcept {
    return generations_[i].pinned;
  }
  /// The counter ids, in order (a copy: the store reads them as one span).
  [[nodiscard]] boost::container::small_vector<key_view, 4> ids() const {
    boost::container::small_vector<key_view, 4> out;
    for (const source& g : generations_) out.push_back(g.id());
    return out;
  }

 private:
  // Fields stored one by one (not a key_view copied whole): the copy of a struct just
  // built on the stack cost a store-forwarding stall per generation.
  struct source {
    source(const char* data, std::size_t size, std::uint64_t hash,
           const std::atomic<std::uint64_t>* counter) noexcept
        : id_bytes(data), id_size(size), id_hash(hash), pinned(counter) {}
    [[nodiscard]] key_view id() const noexcept { return {{id_bytes, id_size}, id_hash}; }
    const char* id_bytes;
    std::size_t id_size;
    std::uint64_t id_hash;
    const std::atomic<std::uint64_t>* pinned;
  };
  cache_key key_;
  boost::container::small_vector<source, 4> generations_;
};

}  // namespace gencache
