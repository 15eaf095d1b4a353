// The memory store and the direct interface over it: single-thread costs against the floor,
// and a Zipf hot set read by 1 and 2 threads (scaling and shard contention).
//   build/release/benchmarks/microbench --benchmark_filter=BM_MemoryStore
#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include <benchmark/benchmark.h>
#include <gencache/gencache.hpp>

#include "common.hpp"

namespace {

constexpr int key_count = bench::direct_keys;
using bench::query;
const auto shuffled_indices = bench::shuffled_direct_keys;

// The floor: a raw boost::unordered_flat_map find of a precomputed 64-bit key.
void BM_MemoryStore_FlatMapFloor(benchmark::State& state) {
  bench::flat_map_floor(state, key_count);
}
BENCHMARK(BM_MemoryStore_FlatMapFloor);

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
    benchmark::DoNotOptimize(cache.get_at<std::uint64_t>(keys[i++ & (key_count - 1)]));
  }
}
BENCHMARK(BM_MemoryStore_GetHitPrebuiltKey);

// A direct get hit: one plain generation by name, one value-based generation, a string and
// a 2-field struct as key parts, an 8-byte value.
/// A cache holding `key_count` entries under {"nav", {"nav_portal:user_id", i % 64}}.
void fill(gencache::cache& cache) {
  for (int i = 0; i < key_count; ++i) {
    (void)cache.set({"nav", {"nav_portal:user_id", i % 64}}, std::uint64_t(i), "header",
                    query{i, 20});
  }
}

void BM_MemoryStore_CacheGetHit(benchmark::State& state) {
  gencache::cache cache;
  const auto order = shuffled_indices();
  fill(cache);
  std::size_t i = 0;
  for (auto _ : state) {
    const int k = order[i++ & (key_count - 1)];
    benchmark::DoNotOptimize(
        cache.get<std::uint64_t>({"nav", {"nav_portal:user_id", k % 64}}, "header", query{k, 20}));
  }
  state.counters["hit_ratio"] = cache.stats().hit_ratio();
}
BENCHMARK(BM_MemoryStore_CacheGetHit);

// The same hits while the same thread bumps an unrelated value-based generation every 16
// calls (a trading server bumping other symbols). Compare with BM_MemoryStore_CacheGetHit
// in the same run: an unrelated bump should not make hits re-read their generations.
void BM_MemoryStore_CacheGetHitUnrelatedBumps(benchmark::State& state) {
  gencache::cache cache;
  const auto order = shuffled_indices();
  fill(cache);
  std::size_t i = 0;
  for (auto _ : state) {
    const int k = order[i & (key_count - 1)];
    if (++i % 16 == 0) cache.invalidate({"symbol:id", static_cast<int>(i / 16 % 4096)});
    benchmark::DoNotOptimize(
        cache.get<std::uint64_t>({"nav", {"nav_portal:user_id", k % 64}}, "header", query{k, 20}));
  }
  state.counters["hit_ratio"] = cache.stats().hit_ratio();
}
BENCHMARK(BM_MemoryStore_CacheGetHitUnrelatedBumps);

// The same hit with the plain generation resolved once to a handle (one atomic load).
void BM_MemoryStore_CacheGetHitHandle(benchmark::State& state) {
  gencache::cache cache;
  const auto nav = cache.pin_generation("nav");
  const auto order = shuffled_indices();
  fill(cache);  // the handle names the same counter
  std::size_t i = 0;
  for (auto _ : state) {
    const int k = order[i++ & (key_count - 1)];
    benchmark::DoNotOptimize(
        cache.get<std::uint64_t>({nav, {"nav_portal:user_id", k % 64}}, "header", query{k, 20}));
  }
  state.counters["hit_ratio"] = cache.stats().hit_ratio();
}
BENCHMARK(BM_MemoryStore_CacheGetHitHandle);

// A set that replaces an existing entry (the steady state of a warm cache).
void BM_MemoryStore_CacheSet(benchmark::State& state) {
  gencache::cache cache;
  const auto order = shuffled_indices();
  std::size_t i = 0;
  for (auto _ : state) {
    const int k = order[i++ & (key_count - 1)];
    benchmark::DoNotOptimize(cache.set({"nav", {"nav_portal:user_id", k % 64}}, std::uint64_t(i),
                                       "header", query{k, 20}));
  }
}
BENCHMARK(BM_MemoryStore_CacheSet);

// ---- Zipf hot set, 1 and 2 threads ---------------------------------------------------------

// What 2 threads can gain at all on this machine: a shared, read-only flat map of 64-bit
// keys read on the same Zipf streams. Nothing is written, so nothing is contended.
boost::unordered_flat_map<std::uint64_t, std::uint64_t> shared_floor;

void BM_MemoryStore_ZipfFloor(benchmark::State& state) {
  if (state.thread_index() == 0) {
    for (std::uint64_t k = 0; k < bench::zipf_keys; ++k)
      shared_floor.emplace(k * 0x9E3779B97F4A7C15u, k);
  }
  const auto stream = bench::zipf_stream(state.thread_index());
  std::size_t i = 0;
  for (auto _ : state) {
    const std::uint64_t k = stream[i++ & (bench::zipf_stream_length - 1)];
    benchmark::DoNotOptimize(shared_floor.find(k * 0x9E3779B97F4A7C15u)->second);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) shared_floor.clear();
}
BENCHMARK(BM_MemoryStore_ZipfFloor)->Threads(1)->Threads(2)->UseRealTime();

// One store shared by the threads of a case. Thread 0 builds it before the timed loop and
// drops it after; Google Benchmark holds every thread at a barrier on entering and leaving
// the loop, so no thread sees it half-built or gone.
struct zipf_store {
  gencache::cache cache;
  std::vector<gencache::cache_key> keys;

  explicit zipf_store(std::size_t shards)
      : cache(std::make_shared<gencache::memory_store>(
            gencache::memory_store_options{.shards = shards})) {
    keys.reserve(bench::zipf_keys);
    for (std::uint32_t k = 0; k < bench::zipf_keys; ++k) {
      keys.push_back(cache.key({"nav"}, "item", k));
      (void)cache.set(keys.back(), std::uint64_t{k});
    }
  }
};
std::unique_ptr<zipf_store> shared_store;

// Reads of prebuilt keys, all hits: the store's lookup, LRU promotion and shard locks.
// `write_percent` of the operations replace the value instead. The argument is the shard
// count (0: the default).
void zipf_case(benchmark::State& state, unsigned write_percent) {
  if (state.thread_index() == 0) {
    shared_store = std::make_unique<zipf_store>(static_cast<std::size_t>(state.range(0)));
  }
  const auto stream = bench::zipf_stream(state.thread_index());
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& key = shared_store->keys[stream[i & (bench::zipf_stream_length - 1)]];
    if (i % 100 < write_percent) {
      benchmark::DoNotOptimize(shared_store->cache.set(key, std::uint64_t{i}));
    } else {
      benchmark::DoNotOptimize(shared_store->cache.get_at<std::uint64_t>(key));
    }
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    state.counters["hit_ratio"] = shared_store->cache.stats().hit_ratio();
    shared_store.reset();
  }
}

void BM_MemoryStore_ZipfGet(benchmark::State& state) { zipf_case(state, 0); }
BENCHMARK(BM_MemoryStore_ZipfGet)
    ->ArgName("shards")
    ->Arg(0)
    ->Arg(8)
    ->Arg(512)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

void BM_MemoryStore_ZipfMixed(benchmark::State& state) { zipf_case(state, 5); }
BENCHMARK(BM_MemoryStore_ZipfMixed)
    ->ArgName("shards")
    ->Arg(0)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

// ---- Eviction: 1M keys, capacity 100k (issue 14's workload 3) -----------------------------

// Zipf(0.99) over 1M keys (bench::capacity_stream). A call is the direct `cache.get` under
// two generations (one plain, one value-based over 1,000 values); a miss sets. The store
// holds 100k entries; the first 2M draws warm it up untimed. Argument: 0 = S3-FIFO, 1 = LRU.
// BM_Memoize_ZipfCapacity runs the same calls through a memoized function.
void BM_MemoryStore_ZipfCapacity(benchmark::State& state) {
  const auto& stream = bench::capacity_stream();
  gencache::cache cache(gencache::memory_store_options{
      .max_entries = 100'000,
      .max_bytes = std::size_t{1} << 30,
      .eviction = state.range(0) == 0 ? gencache::eviction_policy::s3fifo
                                      : gencache::eviction_policy::lru});
  const auto call = [&](std::uint32_t k) {
    const gencache::generation_list gens = {"nav", {"nav:user", static_cast<int>(k % 1000)}};
    if (!cache.get<std::uint64_t>(gens, "item", k))
      (void)cache.set(gens, std::uint64_t{k}, "item", k);
  };
  constexpr std::size_t warm = bench::capacity_warm_draws;
  for (std::size_t i = 0; i < warm; ++i) call(stream[i]);
  const auto before = cache.stats();
  std::size_t i = warm;
  for (auto _ : state) {
    call(stream[i]);
    if (++i == stream.size()) i = warm;
  }
  const auto after = cache.stats();
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_ratio"] =
      static_cast<double>(after.hits - before.hits) /
      static_cast<double>(after.hits + after.misses - before.hits - before.misses);
  state.SetLabel(state.range(0) == 0 ? "s3fifo" : "lru");
}
BENCHMARK(BM_MemoryStore_ZipfCapacity)->ArgName("lru")->Arg(0)->Arg(1)->MinTime(2.0);

// ---- 1M keys, all cached (issue 14's workload 2) ------------------------------------------

// The direct `cache.get` under the same two generations over the same 1M-key Zipf(0.99)
// stream, with room for every key (a miss sets: after the first pass, all hits). Thread t
// starts its pass at draw t × 4M. Thread 0 builds the cache before the timed loop.
std::unique_ptr<gencache::cache> all_cached;

void BM_MemoryStore_ZipfAllCached1M(benchmark::State& state) {
  const auto& stream = bench::capacity_stream();
  if (state.thread_index() == 0) {
    all_cached = std::make_unique<gencache::cache>(gencache::memory_store_options{
        .max_entries = 4'000'000, .max_bytes = std::size_t{2} << 30});
    for (std::uint32_t k = 0; k < 1'000'000; ++k) {
      const gencache::generation_list gens = {"nav", {"nav:user", static_cast<int>(k % 1000)}};
      (void)all_cached->set(gens, std::uint64_t{k}, "item", k);
    }
  }
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * (stream.size() / 2);
  for (auto _ : state) {
    const std::uint32_t k = stream[i];
    const gencache::generation_list gens = {"nav", {"nav:user", static_cast<int>(k % 1000)}};
    if (!all_cached->get<std::uint64_t>(gens, "item", k)) {
      (void)all_cached->set(gens, std::uint64_t{k}, "item", k);
    }
    if (++i == stream.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    state.counters["hit_ratio"] = all_cached->stats().hit_ratio();
    all_cached.reset();
  }
}
BENCHMARK(BM_MemoryStore_ZipfAllCached1M)->Threads(1)->Threads(2)->UseRealTime()->MinTime(1.0);

// Short-lived threads (issue 25): each iteration starts a thread that makes 4 gets and 2 sets
// and exits, so a thread's first use of the store (statistics block, liburcu registration)
// and its exit (the block going back) are on the clock. The control does the same against a
// mutex and a std::unordered_map; compare the two in one run.
constexpr int short_thread_keys = 1024;

void BM_MemoryStore_ShortLivedThread(benchmark::State& state) {
  gencache::cache cache;
  for (int k = 0; k < short_thread_keys; ++k) (void)cache.set({"nav"}, std::uint64_t(k), "t", k);
  int next = 0;
  for (auto _ : state) {
    const int base = next++;
    std::thread([&cache, base] {
      for (int j = 0; j < 4; ++j) {
        benchmark::DoNotOptimize(
            cache.get<std::uint64_t>({"nav"}, "t", (base + j) % short_thread_keys));
      }
      for (int j = 0; j < 2; ++j) {
        (void)cache.set({"nav"}, std::uint64_t(base), "t", (base * 7 + j) % short_thread_keys);
      }
    }).join();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MemoryStore_ShortLivedThread)->UseRealTime();

void BM_MemoryStore_ShortLivedThreadMutexMapControl(benchmark::State& state) {
  std::mutex mutex;
  std::unordered_map<int, std::uint64_t> map;
  for (int k = 0; k < short_thread_keys; ++k) map[k] = std::uint64_t(k);
  int next = 0;
  for (auto _ : state) {
    const int base = next++;
    std::thread([&mutex, &map, base] {
      for (int j = 0; j < 4; ++j) {
        const std::lock_guard lock(mutex);
        const auto it = map.find((base + j) % short_thread_keys);
        benchmark::DoNotOptimize(it == map.end() ? std::uint64_t{0} : it->second);
      }
      for (int j = 0; j < 2; ++j) {
        const std::lock_guard lock(mutex);
        map[(base * 7 + j) % short_thread_keys] = std::uint64_t(base);
      }
    }).join();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MemoryStore_ShortLivedThreadMutexMapControl)->UseRealTime();

}  // namespace
