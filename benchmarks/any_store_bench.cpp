// The store chosen at run time (any_store.hpp) against the statically typed cache, over the
// same memory store options, in the same run: the cost of choosing the store from a URL.
// Argument 0 is `gencache::cache` (static dispatch, raw memoized keys, pinned plain
// generations), 1 is `gencache::any_cache` from make_store("memory://").
//   build/release/benchmarks/microbench --benchmark_filter=BM_AnyStore
#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <gencache/any_store.hpp>
#include <gencache/gencache.hpp>

#include "common.hpp"
#include "nav.hpp"

namespace {

constexpr int key_count = bench::direct_keys;
using bench::query;
const auto shuffled_indices = bench::shuffled_direct_keys;

template <class Cache>
void direct_get_hit(benchmark::State& state, Cache cache) {
  for (int i = 0; i < key_count; ++i) {
    (void)cache.set({"nav", {"nav_portal:user_id", i % 64}}, std::uint64_t(i), "header",
                    query{i, 20});
  }
  const auto order = shuffled_indices();
  std::size_t i = 0;
  for (auto _ : state) {
    const int k = order[i++ & (key_count - 1)];
    benchmark::DoNotOptimize(cache.template get<std::uint64_t>(
        {"nav", {"nav_portal:user_id", k % 64}}, "header", query{k, 20}));
  }
  state.counters["hit_ratio"] = cache.stats().hit_ratio();
}

/// Runs `body(state, cache)` over the cache that argument 0 names.
template <class Body>
void on_cache_of_argument(benchmark::State& state, Body body) {
  if (state.range(0) == 0) {
    body(state, gencache::cache());
  } else {
    body(state, gencache::any_cache(gencache::make_store("memory://")));
  }
}

// A direct get hit, as BM_MemoryStore_CacheGetHit.
void BM_AnyStore_CacheGetHit(benchmark::State& state) {
  on_cache_of_argument(state, [](auto& s, auto cache) { direct_get_hit(s, std::move(cache)); });
}
BENCHMARK(BM_AnyStore_CacheGetHit)->ArgName("any")->Arg(0)->Arg(1);

template <class Cache>
void memoize_hit(benchmark::State& state, Cache cache) {
  auto cached = gencache::memoized(std::move(cache), &bench::render_nav, "project",
                                   gencache::gen("nav_portal:user_id", &bench::nav_args::user_id));
  const auto order = bench::nav_calls();
  for (const auto& c : order) benchmark::DoNotOptimize(cached(c));  // fill
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(cached(order[i++ & (bench::nav_keys - 1)]));
  state.counters["hit_ratio"] = cached.stats().hit_ratio();
}

// A memoized hit, as BM_Memoize_Hit.
void BM_AnyStore_MemoizeHit(benchmark::State& state) {
  on_cache_of_argument(state, [](auto& s, auto cache) { memoize_hit(s, std::move(cache)); });
}
BENCHMARK(BM_AnyStore_MemoizeHit)->ArgName("any")->Arg(0)->Arg(1);

}  // namespace
