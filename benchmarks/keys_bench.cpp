// Building keys: generation reads, argument encoding and hashing, without a store lookup.
//   build/release/benchmarks/microbench --benchmark_filter=BM_Keys
#include <cstdint>
#include <string>

#include <benchmark/benchmark.h>
#include <gencache/gencache.hpp>

namespace {

constexpr int key_count = 4096;

struct query {
  int page;
  int size;
};

// Two generations (one plain by name, one value-based), a string and a 2-field struct.
void BM_Keys_Build(benchmark::State& state) {
  gencache::cache cache;
  std::size_t i = 0;
  for (auto _ : state) {
    const int k = static_cast<int>(i++ & (key_count - 1));
    benchmark::DoNotOptimize(
        cache.key({"nav", {"nav_portal:user_id", k % 64}}, "header", query{k, 20}));
  }
}
BENCHMARK(BM_Keys_Build);

// The same with the plain generation resolved once to a handle.
void BM_Keys_BuildHandle(benchmark::State& state) {
  gencache::cache cache;
  const auto nav = cache.pin_generation("nav");
  std::size_t i = 0;
  for (auto _ : state) {
    const int k = static_cast<int>(i++ & (key_count - 1));
    benchmark::DoNotOptimize(
        cache.key({nav, {"nav_portal:user_id", k % 64}}, "header", query{k, 20}));
  }
}
BENCHMARK(BM_Keys_BuildHandle);

// No generations: encoding and hashing of the parts alone.
void BM_Keys_BuildNoGenerations(benchmark::State& state) {
  gencache::cache cache;
  std::size_t i = 0;
  for (auto _ : state) {
    const int k = static_cast<int>(i++ & (key_count - 1));
    benchmark::DoNotOptimize(cache.key({}, "header", query{k, 20}));
  }
}
BENCHMARK(BM_Keys_BuildNoGenerations);

// A 100-byte string part: the cost that grows with the key's length.
void BM_Keys_BuildLongString(benchmark::State& state) {
  gencache::cache cache;
  const std::string path(100, 'p');
  for (auto _ : state) benchmark::DoNotOptimize(cache.key({"nav"}, path));
}
BENCHMARK(BM_Keys_BuildLongString);

}  // namespace
