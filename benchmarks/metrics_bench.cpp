// Metrics (metrics.hpp): what a scrape costs, and what a registered cache's hit costs.
//   build/release/benchmarks/microbench --benchmark_filter='BM_Metrics'
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <gencache/gencache.hpp>
#include <gencache/metrics.hpp>

#if GENCACHE_HAVE_PROMETHEUS
#include <prometheus/text_serializer.h>
#include <gencache/prometheus.hpp>
#endif

#include "nav.hpp"

namespace {

// 100 caches with default options (each store sums its threads' counters and its shards'
// sizes under each shard's lock), each holding a few entries from a memoized wrapper; the
// cases' argument says whether the wrappers are registered too (/wrappers:1, 200 sources).
int square(int x) { return x * x; }
using squares = decltype(gencache::memoized(std::declval<gencache::cache&>(), &square, "squares"));

struct hundred_caches {
  std::vector<std::unique_ptr<gencache::cache>> caches;
  std::vector<std::unique_ptr<squares>> wrappers;
  gencache::metrics_registry registry;
  std::vector<gencache::metrics_registry::registration> registrations;

  /// With `wrappers`, each cache's wrapper is registered too (its 22 series, a histogram
  /// among them, besides the cache's 16).
  explicit hundred_caches(bool with_wrappers) {
    for (int i = 0; i < 100; ++i) {
      caches.push_back(std::make_unique<gencache::cache>());
      wrappers.push_back(std::make_unique<squares>(*caches.back(), &square, "squares"));
      for (int k = 0; k < 16; ++k) benchmark::DoNotOptimize((*wrappers.back())(k));
      registrations.push_back(registry.add("cache-" + std::to_string(i), *caches.back()));
      if (with_wrappers) {
        registrations.push_back(registry.add("squares-" + std::to_string(i), *wrappers.back()));
      }
    }
  }
};

// A scrape's gencache part: collecting 100 caches and 100 wrappers into families.
void BM_Metrics_Collect100(benchmark::State& state) {
  hundred_caches h(state.range(0) != 0);
  for (auto _ : state) benchmark::DoNotOptimize(h.registry.collect());
}
BENCHMARK(BM_Metrics_Collect100)
    ->ArgName("wrappers")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond);

// The same, written as Prometheus text (what a scrape returns).
void BM_Metrics_Text100(benchmark::State& state) {
  hundred_caches h(state.range(0) != 0);
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = h.registry.to_prometheus_text();
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Metrics_Text100)->ArgName("wrappers")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

#if GENCACHE_HAVE_PROMETHEUS
// The same scrape through the gencache::prometheus component: the collectable's families,
// then prometheus-cpp's own text serializer (what its exposer runs per scrape).
void BM_Metrics_PrometheusScrape100(benchmark::State& state) {
  hundred_caches h(state.range(0) != 0);
  const auto collectable = gencache::make_prometheus_collectable(h.registry);
  const prometheus::TextSerializer serializer;
  for (auto _ : state) {
    const std::string text = serializer.Serialize(collectable->Collect());
    benchmark::DoNotOptimize(text.data());
  }
}
BENCHMARK(BM_Metrics_PrometheusScrape100)
    ->ArgName("wrappers")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond);
#endif

// BM_Memoize_Hit's call on a cache and wrapper registered with a registry (/registered:1)
// and not (/registered:0): registration adds nothing to a hit, so the two should match.
void BM_Metrics_MemoizeHit(benchmark::State& state) {
  gencache::cache cache;
  auto cached = gencache::memoized(cache, &bench::render_nav, "project",
                                   gencache::gen("nav_portal:user_id", &bench::nav_args::user_id));
  gencache::metrics_registry registry;
  std::vector<gencache::metrics_registry::registration> registrations;
  if (state.range(0) != 0) {
    registrations.push_back(registry.add("cache", cache));
    registrations.push_back(registry.add("nav", cached));
  }
  const auto order = bench::nav_calls();
  for (const auto& c : order) benchmark::DoNotOptimize(cached(c));  // fill
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(cached(order[i++ & (bench::nav_keys - 1)]));
}
BENCHMARK(BM_Metrics_MemoizeHit)->ArgName("registered")->Arg(0)->Arg(1);

}  // namespace
