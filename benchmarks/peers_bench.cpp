// The peers gencache is measured against: the naive port of the seed,
// tbb::concurrent_lru_cache, Poco::LRUCache and RocksDB's LRU block cache (each where
// built), with the memory store alongside on the same workload.
//   build/release/benchmarks/microbench --benchmark_filter=BM_Peers
#include <cstdint>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>

#include "common.hpp"
#include "naive_port.hpp"
#include "nav.hpp"
#include "shootout/targets.hpp"

namespace {

// The naive port's memoized hit on BM_Memoize_Hit's calls.
void BM_Peers_NaivePortHit(benchmark::State& state) {
  bench::naive_port port(1'000'000);
  const auto order = bench::nav_calls();
  auto compute = [](int user, int page) { return bench::render_nav({user, page}); };
  for (const auto& c : order) bench::naive_memoized_call(port, c.user_id, c.page, compute);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& c = order[i++ & (bench::nav_keys - 1)];
    benchmark::DoNotOptimize(bench::naive_memoized_call(port, c.user_id, c.page, compute));
  }
}
BENCHMARK(BM_Peers_NaivePortHit);

// The shoot-out's stores (benchmarks/shootout/targets.hpp) on its read path only: memoized
// reads of 100-byte values under two generations, Zipf(0.99) over 100,000 items, all of
// which fit, warmed first. Thread 0 builds the store before the timed loop and drops it after.
std::unique_ptr<shootout::target> shared_target;

void BM_Peers_ZipfRead(benchmark::State& state, const char* store) {
  constexpr std::uint32_t users = bench::zipf_keys / shootout::options::keys_per_user;
  if (state.thread_index() == 0) {
    shootout::options o;
    o.keys = bench::zipf_keys;
    o.capacity_entries =
        std::size_t{2} * bench::zipf_keys;  // values and the peers' generation entries
    shared_target = shootout::make_target(store, o);
    for (std::uint32_t k = 0; k < bench::zipf_keys; ++k) {
      benchmark::DoNotOptimize(shared_target->read({k % users, k}));
    }
  }
  const auto stream = bench::zipf_stream(state.thread_index());
  std::size_t i = 0;
  for (auto _ : state) {
    const std::uint32_t k = stream[i++ & (bench::zipf_stream_length - 1)];
    benchmark::DoNotOptimize(shared_target->read({k % users, k}));
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    const auto counts = shared_target->counts();
    state.counters["hit_ratio"] =
        static_cast<double>(counts.hits) /
        static_cast<double>(std::max<std::uint64_t>(1, counts.hits + counts.misses));
    shared_target.reset();
  }
}
BENCHMARK_CAPTURE(BM_Peers_ZipfRead, memory, "memory")->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Peers_ZipfRead, naive, "naive")->Threads(1)->Threads(2)->UseRealTime();
#if GENCACHE_HAVE_TBB
BENCHMARK_CAPTURE(BM_Peers_ZipfRead, tbb_lru, "tbb-lru")->Threads(1)->Threads(2)->UseRealTime();
#endif
#if GENCACHE_HAVE_POCO
BENCHMARK_CAPTURE(BM_Peers_ZipfRead, poco_lru, "poco-lru")->Threads(1)->Threads(2)->UseRealTime();
#endif
#if GENCACHE_HAVE_ROCKSDB
BENCHMARK_CAPTURE(BM_Peers_ZipfRead, rocksdb_lru, "rocksdb-lru")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
#endif

}  // namespace
