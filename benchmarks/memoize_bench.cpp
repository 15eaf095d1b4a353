// Memoized calls over the memory store: a single-thread hit (compared with the naive port and
// the floor in docs/benchmarks.md), and a Zipf hot set called by 1 and 2 threads.
//   build/release/benchmarks/microbench --benchmark_filter='BM_Memoize|BM_Peers_NaivePortHit'
#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>
#include <gencache/gencache.hpp>

#include "common.hpp"
#include "nav.hpp"

namespace {

auto make_nav_memo(gencache::cache& cache) {
  return gencache::memoized(cache, &bench::render_nav, "project",
                            gencache::gen("nav_portal:user_id", &bench::nav_args::user_id));
}

// 2 generations (plain "project", value-based from nav_args::user_id), a 2-field int
// argument struct, an 8-byte value.
void BM_Memoize_Hit(benchmark::State& state) {
  gencache::cache cache;
  auto cached = make_nav_memo(cache);
  const auto order = bench::nav_calls();
  for (const auto& c : order) benchmark::DoNotOptimize(cached(c));  // fill
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(cached(order[i++ & (bench::nav_keys - 1)]));
  state.counters["hit_ratio"] = cached.stats().hit_ratio();
}
BENCHMARK(BM_Memoize_Hit);

// One wrapper shared by the threads of a case; thread 0 builds it before the timed loop and
// drops it after (Google Benchmark's barriers keep the other threads out meanwhile).
struct zipf_memo {
  gencache::cache cache;
  decltype(make_nav_memo(cache)) memo = make_nav_memo(cache);
};
std::unique_ptr<zipf_memo> shared_memo;

bench::nav_args zipf_call(std::uint32_t key) {
  return {static_cast<int>(key / 16), static_cast<int>(key % 16)};  // 16 calls per user
}

// The whole memoized path on Zipf(0.99) over 100,000 calls, warmed so that reads hit: keys
// built from arguments and generations, generation reads, store lookup, statistics.
void BM_Memoize_Zipf(benchmark::State& state) {
  if (state.thread_index() == 0) {
    shared_memo = std::make_unique<zipf_memo>();
    for (std::uint32_t k = 0; k < bench::zipf_keys; ++k) {
      benchmark::DoNotOptimize(shared_memo->memo(zipf_call(k)));
    }
  }
  const auto stream = bench::zipf_stream(state.thread_index());
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        shared_memo->memo(zipf_call(stream[i++ & (bench::zipf_stream_length - 1)])));
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    state.counters["hit_ratio"] = shared_memo->memo.stats().hit_ratio();
    shared_memo.reset();
  }
}
BENCHMARK(BM_Memoize_Zipf)->Threads(1)->Threads(2)->UseRealTime();

// Issue 15's target 3: BM_MemoryStore_ZipfCapacity/lru:0 (1M keys, 100k entries, S3-FIFO)
// as memoized calls: the same generations (plain "nav", "nav:user" over 1,000 values), the
// key parts in a 2-field struct, an 8-byte value; a miss computes and stores.
struct item_call {
  int user;
  std::uint32_t item;
};
std::uint64_t load_item(const item_call& c) { return c.item; }

void BM_Memoize_ZipfCapacity(benchmark::State& state) {
  const auto& stream = bench::capacity_stream();
  gencache::cache cache(
      gencache::memory_store_options{.max_entries = 100'000, .max_bytes = std::size_t{1} << 30});
  gencache::memoized cached(cache, &load_item, "nav", gencache::gen("nav:user", &item_call::user));
  const auto call = [&](std::uint32_t k) {
    return cached(item_call{static_cast<int>(k % 1000), k});
  };
  for (std::size_t i = 0; i < bench::capacity_warm_draws; ++i) {
    benchmark::DoNotOptimize(call(stream[i]));
  }
  const auto before = cached.stats();
  std::size_t i = bench::capacity_warm_draws;
  for (auto _ : state) {
    benchmark::DoNotOptimize(call(stream[i]));
    if (++i == stream.size()) i = bench::capacity_warm_draws;
  }
  const auto after = cached.stats();
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_ratio"] =
      static_cast<double>(after.hits - before.hits) /
      static_cast<double>(after.hits + after.misses - before.hits - before.misses);
}
BENCHMARK(BM_Memoize_ZipfCapacity)->MinTime(2.0);

}  // namespace
