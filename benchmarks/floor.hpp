#pragma once
// The floor every hit is compared with (docs/benchmarks.md): a raw boost::unordered_flat_map find
// of a precomputed 64-bit key, over a hot set of `keys` entries (a power of two).
#include <benchmark/benchmark.h>
#include <boost/unordered/unordered_flat_map.hpp>

#include <cstdint>
#include <random>
#include <vector>

namespace bench {

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

}  // namespace bench
