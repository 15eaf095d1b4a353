#pragma once
// What the micro-benchmarks share: the floor every hit is compared with, and Zipf hot sets.
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/unordered/unordered_flat_map.hpp>

#include "shootout/workload.hpp"

namespace bench {

/// The floor (docs/benchmarks.md): a raw boost::unordered_flat_map find of a precomputed 64-bit
/// key, over a hot set of `keys` entries (a power of two).
inline void flat_map_floor(benchmark::State& state, std::size_t keys) {
  boost::unordered_flat_map<std::uint64_t, std::uint64_t> map;
  std::vector<std::uint64_t> order;
  std::mt19937_64 rng(1);
  for (std::size_t i = 0; i < keys; ++i) {
    order.push_back(rng());
    map.emplace(order.back(), i);
  }
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(map.find(order[i++ & (keys - 1)])->second);
}

/// The direct-get cases' hot set: `direct_keys` entries under {"nav", {"nav_portal:user_id",
/// i % 64}}, "header", query{i, 20}, read in a fixed shuffled order.
inline constexpr int direct_keys = 4096;  // fits in cache, like a memoized hot path
struct query {
  int page;
  int size;
};
inline std::vector<int> shuffled_direct_keys() {
  std::vector<int> v(direct_keys);
  for (int i = 0; i < direct_keys; ++i) v[static_cast<std::size_t>(i)] = i;
  std::shuffle(v.begin(), v.end(), std::mt19937(42));
  return v;
}

/// The multi-threaded cases' hot set: Zipf(0.99) over `zipf_keys` keys, as the shoot-out's
/// default workload.
inline constexpr std::uint32_t zipf_keys = 100'000;
inline constexpr std::size_t zipf_stream_length = std::size_t{1} << 16;  // replayed in a loop

/// Keys 0..zipf_keys-1 drawn from Zipf(0.99) for the thread `index`. Ranks are spread over
/// the key space by a fixed permutation, so hot keys do not share a store shard by accident.
inline std::vector<std::uint32_t> zipf_stream(int index) {
  std::vector<std::uint32_t> permutation(zipf_keys);
  for (std::uint32_t k = 0; k < zipf_keys; ++k) permutation[k] = k;
  std::shuffle(permutation.begin(), permutation.end(), std::mt19937_64(7));
  shootout::zipf_distribution zipf(zipf_keys, 0.99);
  std::mt19937_64 rng(1000 + static_cast<std::uint64_t>(index));
  std::vector<std::uint32_t> stream(zipf_stream_length);
  for (auto& k : stream) k = permutation[zipf(rng) - 1];
  return stream;
}

/// Issue 14's workload 3: Zipf(0.99) over 1M keys, 8M draws, drawn once; ranks spread
/// over the keys by a fixed permutation. Run against a store of 100k entries, after
/// `capacity_warm_draws` untimed draws.
inline const std::vector<std::uint32_t>& capacity_stream() {
  static const std::vector<std::uint32_t> stream = [] {
    constexpr std::uint32_t keys = 1'000'000;
    std::vector<std::uint32_t> permutation(keys);
    for (std::uint32_t k = 0; k < keys; ++k) permutation[k] = k;
    std::shuffle(permutation.begin(), permutation.end(), std::mt19937_64(7));
    shootout::zipf_distribution zipf(keys, 0.99);
    std::mt19937_64 rng(2024);
    std::vector<std::uint32_t> out(std::size_t{8} << 20);
    for (auto& k : out) k = permutation[zipf(rng) - 1];
    return out;
  }();
  return stream;
}
inline constexpr std::size_t capacity_warm_draws = std::size_t{2} << 20;

}  // namespace bench
