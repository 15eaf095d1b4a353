// What one memoized hit costs in instructions and data-cache misses, counted rather than
// timed: this VM exposes no hardware counters and its timings move by tens of percent, so
// scripts/hit-cost.sh runs this program under valgrind's cachegrind (a simulated 32 KiB L1d
// and a 2 MiB last level, this machine's L1d and L2) with one and with two timed passes and
// prints the difference per call (docs/benchmarks.md).
//
// The workload is `gencache-bench throughput`'s: its Zipf(0.99) stream over `keys` keys,
// each key's user of 16 keys feeding a value-based generation beside a plain one, every
// key cached by an untimed first pass.
//
//   build/release/benchmarks/hit_cost per-user|plain PASSES [keys]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include <gencache/gencache.hpp>

#include "simulate.hpp"

namespace {

std::uint64_t item_value(std::uint32_t key) { return std::uint64_t{key} * 2654435761U; }
int user_of(std::uint32_t key) { return static_cast<int>(key / 16); }

template <class Memoized>
std::uint64_t run(Memoized& item, const std::vector<std::uint32_t>& stream, int passes) {
  std::uint64_t sum = 0;
  for (const std::uint32_t key : stream) sum += item(user_of(key), key);  // fills
  for (int p = 0; p < passes; ++p) {
    for (const std::uint32_t key : stream) sum += item(user_of(key), key);
  }
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fputs("usage: hit_cost per-user|plain PASSES [keys]\n", stderr);
    return 2;
  }
  const std::string_view mode = argv[1];
  const int passes = std::atoi(argv[2]);
  const auto keys = static_cast<std::uint32_t>(argc > 3 ? std::atol(argv[3]) : 100'000);
  if (passes < 0 || keys == 0 || (mode != "per-user" && mode != "plain")) return 2;
  // The throughput side-by-side's stream (shootout::make_stream: Zipf draws over shuffled
  // keys), 1M draws.
  shootout::simulation stream_options;
  stream_options.keys = keys;
  stream_options.requests = 1'000'000;
  const std::vector<std::uint32_t> stream = shootout::make_stream(stream_options);
  gencache::cache cache(gencache::memory_store_options{.max_entries = std::size_t{keys} * 4,
                                                       .max_bytes = std::size_t{4} << 30});
  const auto compute = [](int, std::uint32_t key) { return item_value(key); };
  std::uint64_t sum = 0;
  if (mode == "per-user") {
    gencache::memoized item(cache, compute, "nav", gencache::gen("nav:user", gencache::arg<0>));
    sum = run(item, stream, passes);
  } else {
    gencache::memoized item(cache, compute, "nav");
    sum = run(item, stream, passes);
  }
  std::printf("%llu\n", static_cast<unsigned long long>(sum));
  return 0;
}
