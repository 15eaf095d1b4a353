// Faults against real servers of the tests' own (support/server_process.hpp): a server that
// dies and comes back, one that was never there, and (memcached) a pool that loses a member.
// Whatever happens, memoized functions return correct values, failures are counted, nothing
// crashes or hangs past the timeouts, and service comes back by itself.

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "support/server_process.hpp"
#include "support/stores.hpp"

using namespace std::chrono_literals;

namespace {

#ifdef GENCACHE_TEST_REDIS
constexpr auto kind = test::server_kind::redis;

std::shared_ptr<gencache::remote_store> make_store(
    const std::string& url, const std::shared_ptr<gencache::fake_clock>& time,
    std::size_t pool_size = 2) {
  return gencache::make_redis_store(
      url, {.command_timeout = 200ms, .pool_size = pool_size, .retry_after = 1s, .clock = time},
      {.prefix = test::unique_prefix()});
}

/// Redis fails fast for `retry_after` on the store's clock: move it on, and the next request
/// tries the server again.
template <class Probe>
bool recovered(gencache::fake_clock& time, Probe probe) {
  time.advance(1s);
  return probe();
}
#else
constexpr auto kind = test::server_kind::memcached;

std::shared_ptr<gencache::remote_store> make_store(const std::string& url,
                                                   const std::shared_ptr<gencache::fake_clock>&,
                                                   std::size_t pool_size = 2) {
  return gencache::make_memcached_store(
      url, {.command_timeout = 200ms, .pool_size = pool_size, .retry_after = 1s},
      {.prefix = test::unique_prefix()});
}

/// libmemcached retries an ejected server after its retry timeout, on its own wall clock,
/// which cannot be injected: probe until it has (a liveness bound, not a timing assertion).
template <class Probe>
bool recovered(gencache::fake_clock&, Probe probe) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (probe()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}
#endif

}  // namespace

TEST_CASE("faults: a server that dies costs misses and errors, then service comes back",
          "[faults]") {
  test::server_process server(kind);
  auto time = std::make_shared<gencache::fake_clock>();
  auto store = make_store(server.url(), time);
  gencache::remote_cache cache(store);
  int computes = 0;
  gencache::memoized twice(
      cache, [&computes](int x) { return ++computes, 2 * x; },
      gencache::gen("twice:x", gencache::arg<0>));
  CHECK(twice(1) == 2);
  CHECK(twice(1) == 2);
  CHECK(computes == 1);
  CHECK(cache.stats().errors == 0);

  server.stop();
  for (int x = 0; x < 5; ++x) CHECK(twice(x) == 2 * x);  // computed, not cached
  CHECK(computes == 6);
  CHECK(cache.stats().errors > 0);
  CHECK_FALSE(cache.get<int>({"g"}, "anything"));
  CHECK_FALSE(cache.set({"g"}, 1, "anything").ok());
  // An invalidation that did not happen must not pass unnoticed.
  CHECK_THROWS_AS(cache.invalidate({"twice:x", 1}), gencache::store_error);

  server.restart();
  REQUIRE(recovered(*time, [&] { return cache.set({"probe"}, 1, "probe").ok(); }));
  const std::uint64_t errors = cache.stats().errors;
  const int before = computes;
  CHECK(twice(1) == 2);  // the restarted server is empty: computed once more ...
  CHECK(twice(1) == 2);  // ... and cached again
  CHECK(computes == before + 1);
  CHECK(cache.stats().errors == errors);
  CHECK_NOTHROW(cache.invalidate({"twice:x", 1}));
}

TEST_CASE("faults: a hung server costs timeouts, not a hang, and service comes back",
          "[faults][hung]") {
  // SIGSTOP: the server keeps its connections and its port but answers nothing, so every
  // command waits for its timeout (200 ms here). A call makes at most a few commands (read
  // the generations, the value, store the result), each bounded by its timeout, and Redis
  // fails fast after the first failure. So no call may take more than a few timeouts; the
  // bound below is generous and only tells a timeout from a hang.
  constexpr auto hang_bound = 5s;
  test::server_process server(kind);
  auto time = std::make_shared<gencache::fake_clock>();
  gencache::remote_cache cache(make_store(server.url(), time));
  int computes = 0;
  gencache::memoized twice(
      cache, [&computes](int x) { return ++computes, 2 * x; },
      gencache::gen("twice:x", gencache::arg<0>));
  for (int x = 0; x < 4; ++x) CHECK(twice(x) == 2 * x);  // cached
  REQUIRE(computes == 4);

  server.pause();
  std::chrono::steady_clock::duration slowest{};
  for (int x = 0; x < 4; ++x) {
    const auto started = std::chrono::steady_clock::now();
    CHECK(twice(x) == 2 * x);  // computed: the cached copy cannot be reached
    slowest = std::max(slowest, std::chrono::steady_clock::now() - started);
  }
  CHECK(computes == 8);
  CHECK(slowest < hang_bound);
  CHECK(cache.stats().errors > 0);
  // Not confirmed, so it may still happen when the server wakes up (memcached then reads
  // the command waiting in its socket): it names a value no check below relies on.
  const auto started = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(cache.invalidate({"twice:x", 99}), gencache::store_error);
  CHECK(std::chrono::steady_clock::now() - started < hang_bound);

  server.resume();
  REQUIRE(recovered(*time, [&] { return cache.set({"probe"}, 1, "probe").ok(); }));
  // The values cached before the pause are still there: the server only slept.
  const int before = computes;
  for (int x = 0; x < 4; ++x) CHECK(twice(x) == 2 * x);
  CHECK(computes == before);
  CHECK_NOTHROW(cache.invalidate({"twice:x", 1}));
  CHECK(twice(1) == 2);
  CHECK(computes == before + 1);
}

TEST_CASE("faults: a server that was never there is a counted failure, never a crash", "[faults]") {
  std::string url;
  {
    test::server_process gone(kind);
    url = gone.url();
  }  // stopped: the port refuses connections
  auto time = std::make_shared<gencache::fake_clock>();
  gencache::remote_cache cache(make_store(url, time));
  int computes = 0;
  gencache::memoized twice(
      cache, [&computes](int x) { return ++computes, 2 * x; }, "twice");
  CHECK(twice(21) == 42);
  CHECK(twice(21) == 42);
  CHECK(computes == 2);
  CHECK(cache.stats().errors >= 2);
  CHECK(cache.stats().hits == 0);
  CHECK_THROWS_AS(cache.invalidate("twice"), gencache::store_error);
}

#ifdef GENCACHE_TEST_MEMCACHED
TEST_CASE("faults: a memcached pool with one of three servers down keeps serving",
          "[faults][pool]") {
  test::server_process a(kind), b(kind), c(kind);
  auto time = std::make_shared<gencache::fake_clock>();
  // One client handle, so the ejection it learns serves every later request.
  gencache::remote_cache cache(
      make_store(fmt::format("memcached://127.0.0.1:{},127.0.0.1:{},127.0.0.1:{}", a.port(),
                             b.port(), c.port()),
                 time, 1));
  // No generation: this is about where values live, and the generation's own counter may
  // be on the server that dies.
  constexpr int keys = 300;
  for (int k = 0; k < keys; ++k) REQUIRE(cache.set({}, k, "key", k).ok());
  for (int k = 0; k < keys; ++k) REQUIRE(cache.get<int>({}, "key", k) == k);

  b.stop();
  int hits = 0;
  for (int k = 0; k < keys; ++k) {
    if (const auto v = cache.get<int>({}, "key", k)) {
      CHECK(*v == k);
      ++hits;
    }
  }
  // Consistent hashing: the survivors' keys (about two thirds) stay where they were, and
  // are served; the dead server's are lost.
  CHECK(hits >= keys / 3);
  CHECK(hits < keys);
  CHECK(cache.stats().errors >= 1);

  // Ejected, the dead server's keys go to the two survivors.
  for (int k = 0; k < keys; ++k) CHECK(cache.set({}, k, "key", k).ok());
  for (int k = 0; k < keys; ++k) CHECK(cache.get<int>({}, "key", k) == k);
}
#endif
