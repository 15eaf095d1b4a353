// Values, options, TTL with an injected clock, and statistics.
// Built and run by CMake (ctest -R example_values).
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gencache/gencache.hpp>

struct report {
  std::vector<double> series;
};

int main() {
  using namespace std::chrono_literals;
  auto time = std::make_shared<gencache::fake_clock>();
  gencache::cache cache(gencache::memory_store_options{
      .max_entries = 100'000,
      .max_bytes = 64 << 20,
      .clock = time,
  });

  // Small trivially copyable values live inline: a hit is a memcpy, no allocation.
  cache.set({"rates"}, 1.0825, "EUR/USD");

  // Heavy values: store a shared_ptr<const T>; a hit shares it, never deep-copies it.
  auto big = std::make_shared<const report>(report{std::vector<double>(10'000, 0.5)});
  cache.set(cache.key({"reports"}, "q3"), big, 1h);
  const auto shared = cache.get<std::shared_ptr<const report>>({"reports"}, "q3");
  fmt::print("same object: {}\n", shared && shared->get() == big.get());

  time->advance(2h);  // past the ttl
  fmt::print("after 2h: cached={}\n",
             cache.get<std::shared_ptr<const report>>({"reports"}, "q3").has_value());

  const auto s = cache.stats();
  fmt::print("hits {} misses {} expirations {} entries {} bytes {} hit ratio {:.2f}\n", s.hits,
             s.misses, s.expirations, s.entries, s.bytes, s.hit_ratio());
}
