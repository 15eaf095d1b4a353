#pragma once
// The process's hash secret and the multiply-fold mixer of the hashes that never leave the
// process: raw memoized keys (cache_key.hpp) and generation ids fed an integer
// (generation.hpp). A multiplier xored with a value an attacker may choose must not be
// predictable, or the product can be made zero for every key (hash flooding): the factors
// are salted with a secret drawn once per process.

#include <cstdint>

namespace gencache::detail {

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

}  // namespace gencache::detail
