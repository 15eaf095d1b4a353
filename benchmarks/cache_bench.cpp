// Single-thread costs of the direct interface against the raw flat-map floor.
//   build/release/benchmarks/cache_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <cstdint>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>
#include <gencache/gencache.hpp>

#include "floor.hpp"

namespace {

constexpr int key_count = 4096;  // a hot set that fits in cache, like a memoized hot path

struct query {
  int page;
  int size;
};

std::vector<int> shuffled_indices() {
  std::vector<int> v(key_count);
  for (int i = 0; i < key_count; ++i) v[static_cast<std::size_t>(i)] = i;
  std::shuffle(v.begin(), v.end(), std::mt19937(42));
  return v;
}

// The floor: a raw boost::unordered_flat_map find of a precomputed 64-bit key.
void BM_Cache_FlatMapFloor(benchmark::State& state) { bench::flat_map_floor(state, key_count); }
BENCHMARK(BM_Cache_FlatMapFloor);

// A direct get hit: one plain generation by name, one value-based generation, a string and
// a 2-field struct as key parts, an 8-byte value.
void BM_Cache_DirectGetHit(benchmark::State& state) {
  gencache::cache cache;
  const auto order = shuffled_indices();
  for (int i = 0; i < key_count; ++i) {
    (void)cache.set({"nav", {"nav_portal:user_id", i % 64}}, std::uint64_t(i), "header",
                    query{i, 20});
  }
  std::size_t i = 0;
  for (auto _ : state) {
    const int k = order[i++ & (key_count - 1)];
    benchmark::DoNotOptimize(
        cache.get<std::uint64_t>({"nav", {"nav_portal:user_id", k % 64}}, "header", query{k, 20}));
  }
  state.counters["hit_ratio"] = cache.stats().hit_ratio();
}
BENCHMARK(BM_Cache_DirectGetHit);

// The same hit with the plain generation resolved once to a handle (one atomic load).
void BM_Cache_DirectGetHitHandle(benchmark::State& state) {
  gencache::cache cache;
  const auto nav = cache.generation("nav");
  const auto order = shuffled_indices();
  for (int i = 0; i < key_count; ++i) {
    (void)cache.set({nav, {"nav_portal:user_id", i % 64}}, std::uint64_t(i), "header",
                    query{i, 20});
  }
  std::size_t i = 0;
  for (auto _ : state) {
    const int k = order[i++ & (key_count - 1)];
    benchmark::DoNotOptimize(
        cache.get<std::uint64_t>({nav, {"nav_portal:user_id", k % 64}}, "header", query{k, 20}));
  }
  state.counters["hit_ratio"] = cache.stats().hit_ratio();
}
BENCHMARK(BM_Cache_DirectGetHitHandle);

// A set that replaces an existing entry (the steady state of a warm cache).
void BM_Cache_DirectSet(benchmark::State& state) {
  gencache::cache cache;
  const auto order = shuffled_indices();
  std::size_t i = 0;
  for (auto _ : state) {
    const int k = order[i++ & (key_count - 1)];
    benchmark::DoNotOptimize(cache.set({"nav", {"nav_portal:user_id", k % 64}}, std::uint64_t(i),
                                       "header", query{k, 20}));
  }
}
BENCHMARK(BM_Cache_DirectSet);

// The store alone: a hit with a prebuilt key (no key building, no generation reads).
void BM_MemoryStore_GetHitPrebuiltKey(benchmark::State& state) {
  gencache::cache cache;
  std::vector<gencache::cache_key> keys;
  for (int i = 0; i < key_count; ++i) {
    keys.push_back(cache.key({"nav"}, "header", query{i, 20}));
    (void)cache.set(keys.back(), std::uint64_t(i));
  }
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache.get<std::uint64_t>(keys[i++ & (key_count - 1)]));
  }
}
BENCHMARK(BM_MemoryStore_GetHitPrebuiltKey);

// Building a key alone: generation reads, encoding and hashing.
void BM_Cache_BuildKey(benchmark::State& state) {
  gencache::cache cache;
  std::size_t i = 0;
  for (auto _ : state) {
    const int k = static_cast<int>(i++ & (key_count - 1));
    benchmark::DoNotOptimize(
        cache.key({"nav", {"nav_portal:user_id", k % 64}}, "header", query{k, 20}));
  }
}
BENCHMARK(BM_Cache_BuildKey);

}  // namespace
