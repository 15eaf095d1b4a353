// Remote stores against their raw clients, on the same server with the same settings:
// a generational get (2 generations, all hits) against a plain GET of the same value.
//   GENCACHE_REDIS_URL=redis://127.0.0.1:6390 GENCACHE_MEMCACHED_URL=memcached://127.0.0.1:11290
//   build/release/benchmarks/remote_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
// Without a URL, that store's cases report an error and are skipped.
#include <sys/time.h>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <gencache/bound_cache.hpp>
#include <gencache/remote_cache.hpp>
#include <gencache/store_url.hpp>
#if GENCACHE_HAVE_REDIS
#include <hiredis/hiredis.h>
#include <gencache/redis_store.hpp>
#endif
#if GENCACHE_HAVE_MEMCACHED
#include <libmemcached/memcached.h>
#include <gencache/memcached_store.hpp>
#endif

namespace {

using namespace std::chrono_literals;

constexpr int key_count = 256;
const std::string payload(100, 'x');  // a 100-byte rendered fragment

std::string env(const char* name) {
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before any thread
  return v == nullptr ? std::string() : std::string(v);
}

// Fills a cache with key_count entries and returns the server names of their values, so a
// raw client can GET exactly the bytes a generational get reads.
std::vector<std::string> fill(gencache::remote_cache& cache) {
  std::vector<std::string> names;
  for (int k = 0; k < key_count; ++k) {
    const auto key = cache.key({"nav", {"nav:user_id", k}}, "header", k);
    if (!cache.set(key, payload).ok()) return {};
    names.push_back(cache.store().value_key(key.view()).value());
  }
  return names;
}

template <class Store>
void generational_get(benchmark::State& state, const std::shared_ptr<Store>& store) {
  gencache::remote_cache cache(store);
  if (fill(cache).empty()) return state.SkipWithError("the server did not take the values");
  int k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache.get<std::string>({"nav", {"nav:user_id", k}}, "header", k));
    k = (k + 1) % key_count;
  }
  state.counters["hit_ratio"] = cache.stats().hit_ratio();
  state.counters["errors"] = static_cast<double>(cache.stats().errors);
}

// The same reads through a bound cache that binds both generations: one round trip too
// (issue 15), so it should cost what generational_get costs.
template <class Store>
void bound_get(benchmark::State& state, const std::shared_ptr<Store>& store) {
  gencache::remote_cache cache(store);
  if (fill(cache).empty()) return state.SkipWithError("the server did not take the values");
  gencache::basic_bound_cache<gencache::remote_store> bound(cache, {"nav", "nav:user_id"});
  int k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(bound.get<std::string>({{"user_id", k}}, "header", k));
    k = (k + 1) % key_count;
  }
  state.counters["hit_ratio"] = cache.stats().hit_ratio();
  state.counters["errors"] = static_cast<double>(cache.stats().errors);
}

// ---- Redis -------------------------------------------------------------------------------
#if GENCACHE_HAVE_REDIS

std::shared_ptr<gencache::remote_store> redis_store(gencache::remote_store_options options = {}) {
  return gencache::make_redis_store(env("GENCACHE_REDIS_URL"), {}, std::move(options));
}

void BM_Redis_RawGet(benchmark::State& state) {
  if (env("GENCACHE_REDIS_URL").empty()) return state.SkipWithError("GENCACHE_REDIS_URL unset");
  gencache::remote_cache cache(redis_store());
  const auto names = fill(cache);
  const auto url = gencache::parse_redis_url(env("GENCACHE_REDIS_URL"));
  const gencache::redis_options defaults;
  const timeval connect{
      0, static_cast<suseconds_t>(defaults.connection.connect_timeout.count() * 1000)};
  const timeval command{
      0, static_cast<suseconds_t>(defaults.connection.command_timeout.count() * 1000)};
  redisContext* c = redisConnectWithTimeout(url.server.host.c_str(), url.server.port, connect);
  if (c == nullptr || c->err != 0 || names.empty()) return state.SkipWithError("no redis");
  redisSetTimeout(c, command);
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& name = names[i++ % names.size()];
    auto* r = static_cast<redisReply*>(redisCommand(c, "GET %b", name.data(), name.size()));
    benchmark::DoNotOptimize(r);
    freeReplyObject(r);
  }
  redisFree(c);
}
BENCHMARK(BM_Redis_RawGet)->UseRealTime();

// MGET of both generations pipelined with a GET of the name they had last time: one round
// trip, two plain commands.
void BM_Redis_GetGen(benchmark::State& state) {
  if (env("GENCACHE_REDIS_URL").empty()) return state.SkipWithError("GENCACHE_REDIS_URL unset");
  generational_get(state, redis_store());
}
BENCHMARK(BM_Redis_GetGen)->UseRealTime();

void BM_Redis_BoundGet(benchmark::State& state) {
  if (env("GENCACHE_REDIS_URL").empty()) return state.SkipWithError("GENCACHE_REDIS_URL unset");
  bound_get(state, redis_store());
}
BENCHMARK(BM_Redis_BoundGet)->UseRealTime();

// No generation values remembered, not even as guesses: one EVALSHA reads both generations,
// builds the name and GETs the value (what the first read of a generation costs).
void BM_Redis_GetGenScript(benchmark::State& state) {
  if (env("GENCACHE_REDIS_URL").empty()) return state.SkipWithError("GENCACHE_REDIS_URL unset");
  generational_get(state, redis_store({.generation_cache_size = 0}));
}
BENCHMARK(BM_Redis_GetGenScript)->UseRealTime();

// Generations remembered for 1 s: a plain GET.
void BM_Redis_GetGenWindow(benchmark::State& state) {
  if (env("GENCACHE_REDIS_URL").empty()) return state.SkipWithError("GENCACHE_REDIS_URL unset");
  generational_get(state, redis_store({.generation_cache_window = 1s}));
}
BENCHMARK(BM_Redis_GetGenWindow)->UseRealTime();
#endif  // GENCACHE_HAVE_REDIS

// ---- memcached ---------------------------------------------------------------------------
#if GENCACHE_HAVE_MEMCACHED

std::shared_ptr<gencache::remote_store> memcached_store(
    gencache::remote_store_options options = {}) {
  return gencache::make_memcached_store(env("GENCACHE_MEMCACHED_URL"), {}, std::move(options));
}

void BM_Memcached_RawGet(benchmark::State& state) {
  if (env("GENCACHE_MEMCACHED_URL").empty()) {
    return state.SkipWithError("GENCACHE_MEMCACHED_URL unset");
  }
  gencache::remote_cache cache(memcached_store());
  const auto names = fill(cache);
  if (names.empty()) return state.SkipWithError("no memcached");
  // The backend's settings: binary protocol, ketama, no-delay, the same servers.
  memcached_st* m = memcached_create(nullptr);
  memcached_behavior_set(m, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
  memcached_behavior_set(m, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                         MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
  memcached_behavior_set(m, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
  memcached_behavior_set(m, MEMCACHED_BEHAVIOR_NO_BLOCK, 1);
  for (const auto& s : gencache::parse_memcached_url(env("GENCACHE_MEMCACHED_URL")).servers) {
    memcached_server_add(m, s.host.c_str(), s.port);
  }
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& name = names[i++ % names.size()];
    std::size_t length = 0;
    std::uint32_t flags = 0;
    memcached_return_t rc{};
    char* v = memcached_get(m, name.data(), name.size(), &length, &flags, &rc);
    benchmark::DoNotOptimize(v);
    std::free(v);
  }
  memcached_free(m);
}
BENCHMARK(BM_Memcached_RawGet)->UseRealTime();

// One multi-get of both generations and the name they had last time.
void BM_Memcached_GetGen(benchmark::State& state) {
  if (env("GENCACHE_MEMCACHED_URL").empty()) {
    return state.SkipWithError("GENCACHE_MEMCACHED_URL unset");
  }
  generational_get(state, memcached_store());
}
BENCHMARK(BM_Memcached_GetGen)->UseRealTime();

void BM_Memcached_BoundGet(benchmark::State& state) {
  if (env("GENCACHE_MEMCACHED_URL").empty()) {
    return state.SkipWithError("GENCACHE_MEMCACHED_URL unset");
  }
  bound_get(state, memcached_store());
}
BENCHMARK(BM_Memcached_BoundGet)->UseRealTime();

// No generation values remembered: a multi-get of the generations, then a get of the value
// (what the first read of a generation costs).
void BM_Memcached_GetGenTwoTrips(benchmark::State& state) {
  if (env("GENCACHE_MEMCACHED_URL").empty()) {
    return state.SkipWithError("GENCACHE_MEMCACHED_URL unset");
  }
  generational_get(state, memcached_store({.generation_cache_size = 0}));
}
BENCHMARK(BM_Memcached_GetGenTwoTrips)->UseRealTime();

// Generations remembered for 1 s: one get.
void BM_Memcached_GetGenWindow(benchmark::State& state) {
  if (env("GENCACHE_MEMCACHED_URL").empty()) {
    return state.SkipWithError("GENCACHE_MEMCACHED_URL unset");
  }
  generational_get(state, memcached_store({.generation_cache_window = 1s}));
}
BENCHMARK(BM_Memcached_GetGenWindow)->UseRealTime();
#endif  // GENCACHE_HAVE_MEMCACHED

}  // namespace
