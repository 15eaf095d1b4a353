// Metrics: the richer snapshots (evictions by cause, errors by kind, load durations) and the
// registry that turns them into Prometheus families (metrics.hpp).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <gencache/gencache.hpp>
#include <gencache/metrics.hpp>

#include "support/exposition.hpp"
#include "support/watchdog.hpp"

using namespace std::chrono_literals;

namespace {

std::atomic<int> calls{0};
int slow_square(int x) {
  ++calls;
  if (x < 0) throw std::runtime_error("negative");
  return x * x;
}

}  // namespace

TEST_CASE("metrics: duration buckets are 4^i microseconds, the last unbounded", "[metrics]") {
  using h = gencache::duration_histogram;
  CHECK(h::upper_bound(0) == 1us);
  CHECK(h::upper_bound(1) == 4us);
  CHECK(h::upper_bound(12) == std::chrono::microseconds(16'777'216));
  CHECK(h::upper_bound(13) == std::chrono::nanoseconds::max());
  CHECK(h::bucket_of(-5ns) == 0);
  CHECK(h::bucket_of(0ns) == 0);
  CHECK(h::bucket_of(1000ns) == 0);
  CHECK(h::bucket_of(1001ns) == 1);
  CHECK(h::bucket_of(4us) == 1);
  CHECK(h::bucket_of(4001ns) == 2);
  CHECK(h::bucket_of(16us) == 2);
  CHECK(h::bucket_of(std::chrono::microseconds(16'777'216)) == 12);
  CHECK(h::bucket_of(std::chrono::microseconds(16'777'217)) == 13);
  CHECK(h::bucket_of(std::chrono::hours(24 * 365)) == 13);
  CHECK(h::bucket_of(std::chrono::nanoseconds::max()) == 13);
  CHECK(h::upper_bound(~std::size_t{0}) == std::chrono::nanoseconds::max());
  for (std::size_t b = 0; b + 1 < h::bucket_count; ++b) {
    CHECK(h::bucket_of(h::upper_bound(b)) == b);
    CHECK(h::bucket_of(h::upper_bound(b) + 1ns) == b + 1);
  }
}

TEST_CASE("metrics: the memory store counts evictions by bound and errors by kind", "[metrics]") {
  SECTION("the entry bound") {
    gencache::cache cache(gencache::memory_store_options{.max_entries = 64, .shards = 1});
    for (int i = 0; i < 100; ++i) REQUIRE(cache.set({}, i, "k", i).ok());
    const gencache::store_stats s = cache.stats();
    CHECK(s.evictions == 36);
    CHECK(s.evictions_for_bytes == 0);
  }
  SECTION("the bytes bound") {
    gencache::cache cache(gencache::memory_store_options{
        .max_entries = 1000, .max_bytes = std::size_t{64} * 1024, .shards = 1});
    const std::string value(1024, 'v');
    for (int i = 0; i < 200; ++i) REQUIRE(cache.set({}, value, "k", i).ok());
    const gencache::store_stats s = cache.stats();
    CHECK(s.evictions > 100);
    CHECK(s.evictions_for_bytes == s.evictions);
  }
  SECTION("errors by kind") {
    gencache::cache cache(
        gencache::memory_store_options{.max_bytes = std::size_t{64} * 1024, .shards = 1});
    CHECK(cache.set({}, std::string(std::size_t{100} * 1024, 'x'), "big").code() ==
          gencache::errc::too_large);
    REQUIRE(cache.set({}, 7, "int").ok());
    CHECK_FALSE(cache.get<std::string>({}, "int"));
    const gencache::store_stats s = cache.stats();
    CHECK(s.errors == 2);
    CHECK(s.errors_of(gencache::errc::too_large) == 1);
    CHECK(s.errors_of(gencache::errc::type_mismatch) == 1);
    CHECK(s.errors_of(gencache::errc::timeout) == 0);
  }
}

TEST_CASE("metrics: a memoized wrapper times its successful loads", "[metrics]") {
  gencache::cache cache;
  gencache::memoized square(cache, &slow_square, "squares");
  CHECK(square(3) == 9);
  CHECK(square(3) == 9);
  CHECK(square(4) == 16);
  CHECK_THROWS_AS(square(-1), std::runtime_error);
  const gencache::memoize_stats s = square.stats();
  CHECK(s.computes == 3);
  CHECK(s.exceptions == 1);
  CHECK(s.load_durations.count() == 2);  // the one that threw is a failure, not timed
  CHECK(s.load_durations.sum >= 0ns);
}

TEST_CASE(
    "metrics: the registry exposes every series of a store and a wrapper, equal to "
    "stats()",
    "[metrics]") {
  gencache::cache cache(gencache::memory_store_options{.max_entries = 64, .shards = 1});
  gencache::memoized square(cache, &slow_square, "squares");
  gencache::metrics_registry registry;
  const auto cache_registration = registry.add("main \"cache\" \\ 1", cache);
  const auto square_registration = registry.add("square", square);
  CHECK(registry.size() == 2);

  for (int i = 0; i < 100; ++i) (void)cache.set({}, i, "k", i);
  CHECK(cache.get<int>({}, "k", 99) == 99);
  CHECK_FALSE(cache.get<int>({}, "k", 1000));
  cache.invalidate("g");
  CHECK(square(5) == 25);
  CHECK(square(5) == 25);
  CHECK_THROWS(square(-2));

  const test::exposition e = test::parse_exposition(registry.to_prometheus_text());
  const gencache::store_stats s = cache.stats();
  const gencache::memoize_stats m = square.stats();
  const std::string c = R"(cache="main \"cache\" \\ 1")";
  CHECK(e.value("cache_gets_total{" + c + ",result=\"hit\"}") == static_cast<double>(s.hits));
  CHECK(e.value("cache_gets_total{" + c + ",result=\"miss\"}") == static_cast<double>(s.misses));
  CHECK(e.value("cache_puts_total{" + c + "}") == static_cast<double>(s.sets));
  REQUIRE(s.evictions >= 36);
  CHECK(e.value("cache_evictions_total{" + c + ",cause=\"size\"}") ==
        static_cast<double>(s.evictions));
  CHECK(e.value("cache_evictions_total{" + c + ",cause=\"bytes\"}") == 0);
  CHECK(e.value("cache_evictions_total{" + c + ",cause=\"expiry\"}") == 0);
  CHECK(e.value("cache_size{" + c + "}") == static_cast<double>(s.entries));
  CHECK(e.value("gencache_size_bytes{" + c + "}") == static_cast<double>(s.bytes));
  CHECK(e.value("gencache_invalidations_total{" + c + "}") == 1);
  for (const char* kind : {"too_large", "type_mismatch", "timeout", "connection", "protocol",
                           "serialization", "busy"}) {
    CHECK(e.value("gencache_errors_total{" + c + ",kind=\"" + kind + "\"}") == 0);
  }

  const std::string w = R"(cache="square")";
  CHECK(e.value("cache_gets_total{" + w + ",result=\"hit\"}") == 1);
  CHECK(e.value("cache_gets_total{" + w + ",result=\"miss\"}") == 2);
  CHECK(e.value("cache_loads_total{" + w + ",result=\"success\"}") == 1);
  CHECK(e.value("cache_loads_total{" + w + ",result=\"failure\"}") == 1);
  CHECK(e.value("gencache_single_flight_joins_total{" + w + "}") == 0);
  CHECK(e.value("gencache_errors_total{" + w + ",kind=\"store_refused\"}") == 0);
  CHECK(e.value("cache_load_duration_seconds_count{" + w + "}") == 1);
  CHECK(e.value("cache_load_duration_seconds_bucket{" + w + ",le=\"+Inf\"}") == 1);
  CHECK(e.value("cache_load_duration_seconds_bucket{" + w + ",le=\"1e-06\"}") ==
        static_cast<double>(m.load_durations.counts[0]));
  CHECK(e.value("cache_load_duration_seconds_sum{" + w + "}") ==
        Approx(static_cast<double>(m.load_durations.sum.count()) / 1e9));
  // Buckets are cumulative and never decrease.
  double previous = 0;
  for (std::size_t b = 0; b + 1 < gencache::duration_histogram::bucket_count; ++b) {
    const double bound =
        static_cast<double>(gencache::duration_histogram::upper_bound(b).count()) / 1e9;
    const double count = e.value("cache_load_duration_seconds_bucket{" + w + ",le=\"" +
                                 fmt::format("{}", bound) + "\"}");
    CHECK(count >= previous);
    previous = count;
  }

  CHECK(e.types.at("cache_gets_total") == "counter");
  CHECK(e.types.at("cache_size") == "gauge");
  CHECK(e.types.at("cache_load_duration_seconds") == "histogram");
  CHECK(e.types.size() == 10);
  // A store's series and a wrapper's: 2 + 1 + 3 + 1 + 1 + 1 + 7, and 2 + 1 + 2 + 1 + 14 + 2.
  CHECK(e.series.size() == 16 + 22);
}

TEST_CASE("metrics: names are checked, registrations remove their source", "[metrics]") {
  gencache::cache a;
  gencache::cache b;
  gencache::metrics_registry registry;
  CHECK_THROWS_AS((void)registry.add("", a), std::invalid_argument);
  CHECK_THROWS_AS((void)registry.add("line\nbreak", a), std::invalid_argument);
  auto first = registry.add("a", a);
  CHECK_THROWS_WITH((void)registry.add("a", b), Catch::Contains("already registered"));
  CHECK(registry.size() == 1);
  {
    auto second = registry.add("b", b);
    CHECK(registry.size() == 2);
    gencache::metrics_registry::registration moved = std::move(second);
    CHECK_FALSE(second.active());  // NOLINT(bugprone-use-after-move): the moved-from state
    CHECK(moved.active());
    CHECK(registry.size() == 2);
  }
  CHECK(registry.size() == 1);
  CHECK(registry.to_prometheus_text().find("cache=\"b\"") == std::string::npos);
  first.reset();
  CHECK_FALSE(first.active());
  CHECK(registry.size() == 0);
  CHECK(registry.to_prometheus_text().empty());  // no sources: no families written
  auto again = registry.add("a", b);             // the name is free again
  CHECK(registry.size() == 1);
}

TEST_CASE("metrics: a registration may outlive its registry", "[metrics]") {
  gencache::cache cache;
  gencache::metrics_registry::registration kept;
  {
    gencache::metrics_registry registry;
    kept = registry.add("c", cache);
    CHECK(kept.active());
  }
  kept.reset();  // the registry is gone: nothing to remove, no crash
  CHECK_FALSE(kept.active());
}

namespace {
/// A source whose stats() collects the registry that reads it and removes registrations.
struct reentrant_source {
  gencache::metrics_registry* registry = nullptr;
  mutable gencache::metrics_registry::registration* victim = nullptr;
  mutable int depth = 0;
  [[nodiscard]] gencache::store_stats stats() const {
    if (depth++ == 0) {
      (void)registry->to_prometheus_text();  // nested collection on this thread
      if (victim != nullptr) victim->reset();
    }
    --depth;
    gencache::store_stats s;
    s.hits = 1;
    return s;
  }
};
}  // namespace

TEST_CASE("metrics: a source's stats() may collect the registry and remove registrations",
          "[metrics]") {
  const bool finished = test::within(60s, "reentrant collection", [] {
    gencache::metrics_registry registry;
    gencache::cache cache;
    reentrant_source source{&registry};
    auto self = registry.add("reentrant", source);
    auto other = registry.add("other", cache);
    source.victim = &other;  // removed while the collection runs: not read after
    const std::string text = registry.to_prometheus_text();
    source.victim = &self;  // removes itself while being read
    (void)registry.collect();
    return text.find("cache=\"other\"") == std::string::npos && registry.size() == 0;
  });
  CHECK(finished);
}

TEST_CASE("metrics: registering, removing and collecting from many threads at once",
          "[metrics][concurrency]") {
  const bool consistent = test::within(120s, "concurrent registry", [] {
    gencache::metrics_registry registry;
    constexpr int threads = 4;
    constexpr int rounds = 300;
    std::vector<std::unique_ptr<gencache::cache>> caches;
    for (int t = 0; t < threads; ++t) caches.push_back(std::make_unique<gencache::cache>());
    std::atomic<bool> stop{false};
    std::atomic<bool> bad{false};
    std::thread scraper([&] {
      while (!stop.load()) {
        const auto families = registry.collect();
        for (const auto& f : families) {
          // Every source contributes whole: a store's 2 gets series come in pairs.
          if (f.name == "cache_gets_total" && f.points.size() % 2 != 0) bad = true;
        }
      }
    });
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (int r = 0; r < rounds; ++r) {
          auto reg = registry.add("cache-" + std::to_string(t), *caches[t]);
          (void)caches[t]->set({}, r, "k", r);
          (void)caches[t]->get<int>({}, "k", r);
        }
      });
    }
    for (auto& w : workers) w.join();
    stop = true;
    scraper.join();
    return !bad.load() && registry.size() == 0;
  });
  CHECK(consistent);
}

TEST_CASE("metrics: a registered cache is a shared handle, an empty wrapper is left out",
          "[metrics]") {
  gencache::metrics_registry registry;
  auto cache = std::make_unique<gencache::cache>();
  REQUIRE(cache->set({}, 1, "k").ok());
  const auto registration = registry.add("moved", *cache);
  gencache::cache moved = std::move(*cache);  // the original is empty now
  cache.reset();
  CHECK(moved.get<int>({}, "k") == 1);
  const gencache::memoized_function<int(int)> empty;  // stats() throws bad_function_call
  const auto empty_registration = registry.add("empty", empty);
  const test::exposition e = test::parse_exposition(registry.to_prometheus_text());
  CHECK(e.value(R"(cache_gets_total{cache="moved",result="hit"})") == 1);
  CHECK(e.series.count(R"(cache_gets_total{cache="empty",result="hit"})") == 0);
}

TEST_CASE("metrics: names must be UTF-8, help texts and odd values are escaped", "[metrics]") {
  gencache::cache cache;
  gencache::metrics_registry registry;
  CHECK_THROWS_WITH((void)registry.add("caf\xe9", cache), Catch::Contains("UTF-8"));
  CHECK_THROWS_AS((void)registry.add("\xc0\xaf", cache), std::invalid_argument);      // overlong
  CHECK_THROWS_AS((void)registry.add("\xed\xa0\x80", cache), std::invalid_argument);  // surrogate
  CHECK_THROWS_AS((void)registry.add("\xf4\x90\x80\x80", cache), std::invalid_argument);
  CHECK_THROWS_AS((void)registry.add("\xe2\x82", cache), std::invalid_argument);  // cut short
  CHECK_THROWS_WITH((void)registry.add("next\xc2\x85line", cache), Catch::Contains("control"));
  const auto ok = registry.add("caf\xc3\xa9\xc2\xa0\xe2\x82\xac \xf0\x9f\x98\x80", cache);
  CHECK(ok.active());

  const std::vector<gencache::metric_family> families = {
      {"odd_values",
       "a \\ backslash\nand a newline",
       gencache::metric_type::gauge,
       {{{{"l", "x"}}, std::numeric_limits<double>::quiet_NaN()},
        {{{"l", "y"}}, -std::numeric_limits<double>::infinity()},
        {{{"l", "z"}}, 0.25}}}};
  CHECK(gencache::to_prometheus_text(families) ==
        "# HELP odd_values a \\\\ backslash\\nand a newline\n"
        "# TYPE odd_values gauge\n"
        "odd_values{l=\"x\"} NaN\n"
        "odd_values{l=\"y\"} -Inf\n"
        "odd_values{l=\"z\"} 0.25\n");
}
