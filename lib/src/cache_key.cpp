// The process's secret salt of raw memoized keys' hashes (cache_key.hpp).
#include "gencache/cache_key.hpp"

#include <chrono>
#include <random>

namespace gencache::detail {

raw_hash_secret draw_raw_hash_secret() noexcept {
  std::uint64_t words[3] = {};
  try {
    std::random_device device;
    for (std::uint64_t& w : words) w = (std::uint64_t{device()} << 32) ^ device();
  } catch (...) {  // no entropy source: the clock and an address (ASLR) still vary per run
    const auto now =
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    const auto address = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&words));
    std::seed_seq seeds{now, now >> 32, address, address >> 32};
    std::mt19937_64 fallback(seeds);
    for (std::uint64_t& w : words) w = fallback();
  }
  // Never zero.
  return {words[0] | 1, words[1] | 1, words[2] | 1};
}

}  // namespace gencache::detail
