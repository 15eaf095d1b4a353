// A memoized hit against the naive port and the flat-map floor (docs/benchmarks.md), one thread.
//   build/release/benchmarks/memoize_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>
#include <gencache/gencache.hpp>

#include "floor.hpp"
#include "naive_port.hpp"

namespace {

constexpr int key_count = 4096;
constexpr int users = 64;

struct nav_args {
  int user_id;
  int page;
};

std::uint64_t render_nav(const nav_args& a) {
  return static_cast<std::uint64_t>(a.user_id) * 1000 + static_cast<std::uint64_t>(a.page);
}

std::vector<nav_args> calls() {
  std::vector<nav_args> v;
  for (int i = 0; i < key_count; ++i) v.push_back({i % users, i / users});
  std::shuffle(v.begin(), v.end(), std::mt19937(42));
  return v;
}

void BM_FlatMapFloor(benchmark::State& state) { bench::flat_map_floor(state, key_count); }
BENCHMARK(BM_FlatMapFloor);

// 2 generations (plain "project", value-based from nav_args::user_id), a 2-field int
// argument struct, an 8-byte value.
void BM_MemoHit(benchmark::State& state) {
  gencache::cache cache;
  gencache::memoized cached(cache, &render_nav, "project",
                            gencache::gen("nav_portal:user_id", &nav_args::user_id));
  const auto order = calls();
  for (const auto& c : order) benchmark::DoNotOptimize(cached(c));  // fill
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(cached(order[i++ & (key_count - 1)]));
  const auto s = cached.stats();
  state.counters["hit_ratio"] =
      static_cast<double>(s.hits) / static_cast<double>(s.hits + s.misses);
}
BENCHMARK(BM_MemoHit);

void BM_NaivePortHit(benchmark::State& state) {
  bench::naive_port port(1'000'000);
  const auto order = calls();
  auto compute = [](int user, int page) { return render_nav({user, page}); };
  for (const auto& c : order) bench::naive_memoized_call(port, c.user_id, c.page, compute);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& c = order[i++ & (key_count - 1)];
    benchmark::DoNotOptimize(bench::naive_memoized_call(port, c.user_id, c.page, compute));
  }
}
BENCHMARK(BM_NaivePortHit);

}  // namespace
