// Faults against real servers of the tests' own (support/server_process.hpp): a server that
// dies and comes back, one that was never there, and (memcached) a pool that loses a member.
// Whatever happens, memoized functions return correct values, failures are counted, nothing
// crashes or hangs past the timeouts, and service comes back by itself.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/fake_server.hpp"
#include "support/server_process.hpp"
#include "support/stores.hpp"
#include "support/tcp_proxy.hpp"
#include "support/watchdog.hpp"

using namespace std::chrono_literals;

namespace {

#ifdef GENCACHE_TEST_REDIS
constexpr auto kind = test::server_kind::redis;
constexpr const char* scheme = "redis";

std::shared_ptr<gencache::remote_store> make_store(
    const std::string& url, const std::shared_ptr<gencache::fake_clock>& time,
    std::size_t pool_size = 2, std::function<void(const gencache::status&)> on_error = {},
    std::chrono::milliseconds retry_after = 1s) {
  return gencache::make_redis_store(
      url,
      {.connection = {.command_timeout = 200ms,
                      .pool_size = pool_size,
                      .retry_after = retry_after,
                      .clock = time}},
      {.prefix = test::unique_prefix(), .on_error = std::move(on_error)});
}
#else
constexpr auto kind = test::server_kind::memcached;
constexpr const char* scheme = "memcached";

std::shared_ptr<gencache::remote_store> make_store(
    const std::string& url, const std::shared_ptr<gencache::fake_clock>& time,
    std::size_t pool_size = 2, std::function<void(const gencache::status&)> on_error = {},
    std::chrono::milliseconds retry_after = 1s) {
  return gencache::make_memcached_store(
      url,
      {.connection = {.command_timeout = 200ms,
                      .pool_size = pool_size,
                      .retry_after = retry_after,
                      .clock = time}},
      {.prefix = test::unique_prefix(), .on_error = std::move(on_error)});
}
#endif

/// The URL of a server listening on loopback port `port`.
std::string url_at(std::uint16_t port) { return fmt::format("{}://127.0.0.1:{}", scheme, port); }

/// Both back ends fail fast for `retry_after` (1 s here) on the store's clock: move it on,
/// and the next request tries the server again.
template <class Probe>
bool recovered(gencache::fake_clock& time, Probe probe) {
  time.advance(1s);
  return probe();
}

bool failing_fast(const std::string& message) {
  return message.find("failing fast") != std::string::npos;
}

/// Failures a store reported through `on_error`, from any thread.
struct failure_log {
  std::mutex mutex;
  std::vector<gencache::status> seen;
  std::function<void(const gencache::status&)> hook() {
    return [this](const gencache::status& s) {
      const std::lock_guard lock(mutex);
      seen.push_back(s);
    };
  }
};

/// The URL of a server that was there and is gone: its port refuses connections, so every
/// generation is unknown.
std::string gone_url() {
  const test::server_process gone(kind);
  return gone.url();
}

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
  // SIGSTOP: the server keeps its connections and its port but answers nothing. Every call
  // must end because a command timed out (or, on Redis, failed fast after one did), never by
  // waiting for the server: so every failure counted during the pause is a timeout. A call
  // that hung would never return (ctest's timeout would catch it); no clock is read here.
  test::server_process server(kind);
  auto time = std::make_shared<gencache::fake_clock>();
  failure_log failures;
  gencache::remote_cache cache(make_store(server.url(), time, 2, failures.hook()));
  int computes = 0;
  gencache::memoized twice(
      cache, [&computes](int x) { return ++computes, 2 * x; },
      gencache::gen("twice:x", gencache::arg<0>));
  for (int x = 0; x < 4; ++x) CHECK(twice(x) == 2 * x);  // cached
  REQUIRE(computes == 4);
  REQUIRE(failures.seen.empty());

  server.pause();
  for (int x = 0; x < 4; ++x)
    CHECK(twice(x) == 2 * x);  // computed: the cached copy cannot be reached
  CHECK(computes == 8);
  REQUIRE_FALSE(failures.seen.empty());
  for (const gencache::status& f : failures.seen) {
    INFO(f.message());
    CHECK(f.code() == gencache::errc::timeout);
  }
  // Not confirmed, so it may still happen when the server wakes up (memcached then reads
  // the command waiting in its socket): it names a value no check below relies on.
  try {
    (void)cache.invalidate({"twice:x", 99});
    FAIL("an invalidation the hung server never confirmed was reported as done");
  } catch (const gencache::store_error& e) {
    CHECK(e.error().code() == gencache::errc::timeout);
  }

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
  auto time = std::make_shared<gencache::fake_clock>();
  gencache::remote_cache cache(make_store(gone_url(), time));
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
  // The dead member's keys fail fast once one request on it has failed (its breaker).
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

  // The dead server's keys do not move to the survivors (G6: see the next test): storing
  // them fails, counted, and reading them misses; the survivors' keys are served as before.
  const std::uint64_t errors = cache.stats().errors;
  int stored = 0;
  for (int k = 0; k < keys; ++k) {
    if (cache.set({}, k, "key", k).ok()) {
      ++stored;
      CHECK(cache.get<int>({}, "key", k) == k);
    } else {
      CHECK_FALSE(cache.get<int>({}, "key", k));
    }
  }
  CHECK(stored == hits);
  CHECK(cache.stats().errors >= errors + 2 * static_cast<std::uint64_t>(keys - stored));
}

TEST_CASE("faults: a memcached member that comes back never undoes a confirmed invalidation (G6)",
          "[faults][pool][g6]") {
  test::server_process a(kind), b(kind);
  test::tcp_proxy to_a(a.port());
  const std::string url =
      fmt::format("memcached://127.0.0.1:{},127.0.0.1:{}", to_a.port(), b.port());
  auto time = std::make_shared<gencache::fake_clock>();
  const std::string prefix = test::unique_prefix();
  auto make = [&] {
    return gencache::make_memcached_store(url,
                                          {.connection = {.command_timeout = 200ms,
                                                          .pool_size = 1,
                                                          .retry_after = 1s,
                                                          .clock = time}},
                                          {.prefix = prefix});
  };
  gencache::remote_cache cache(make());
  constexpr int users = 40;
  for (int u = 0; u < users; ++u) {
    REQUIRE(cache.set({{"user:id", u}}, std::string("old"), "profile").ok());
  }

  // Member a goes away for a moment; every user's generation is invalidated meanwhile. Those
  // whose counter lives on a cannot be confirmed (they throw); the others are.
  to_a.refuse();
  std::vector<int> confirmed;
  int unconfirmed = 0;
  for (int u = 0; u < users; ++u) {
    try {
      cache.invalidate({"user:id", u});
      confirmed.push_back(u);
    } catch (const gencache::store_error&) {
      ++unconfirmed;
    }
  }
  CHECK(unconfirmed > 0);     // a owns some counters ...
  CHECK(!confirmed.empty());  // ... and b the others

  // a is back, holding every counter it had. No confirmed invalidation is undone: not for a
  // process that never saw a fail (a new store), nor for this one once a is in service again.
  to_a.accept();
  gencache::remote_cache other(make());
  for (const int u : confirmed) {
    INFO("user " << u);
    CHECK(other.get<std::string>({{"user:id", u}}, "profile") != "old");
  }
  REQUIRE(recovered(*time, [&] {
    return cache.set({{"probe:n", 1}}, 1, "probe").ok() &&
           cache.set({{"probe:n", 2}}, 1, "probe").ok();
  }));
  for (const int u : confirmed) {
    INFO("user " << u);
    CHECK(cache.get<std::string>({{"user:id", u}}, "profile") != "old");
  }
}
#endif

#ifdef GENCACHE_TEST_REDIS
TEST_CASE("faults: a Redis restarted from a snapshot never undoes a confirmed invalidation (G6)",
          "[faults][restart][g6]") {
  const auto dir = std::filesystem::temp_directory_path() / test::unique_prefix().substr(4);
  std::filesystem::create_directories(dir);
  {
    test::server_process server(kind, dir.string());
    auto time = std::make_shared<gencache::fake_clock>();
    const std::string prefix = test::unique_prefix();
    auto make = [&] {
      return gencache::make_redis_store(
          server.url(),
          {.connection = {.command_timeout = 200ms, .retry_after = 1s, .clock = time}},
          {.prefix = prefix});
    };
    gencache::remote_cache cache(make());
    constexpr int users = 20;
    for (int u = 0; u < users; ++u) {
      REQUIRE(cache.set({{"user:id", u}}, std::string("old"), "profile").ok());
    }
    REQUIRE(server.send("SAVE") == "+OK");  // the snapshot holds the old counters
    for (int u = 0; u < users; ++u) cache.invalidate({"user:id", u});
    for (int u = 0; u < users; ++u) {
      REQUIRE_FALSE(cache.get<std::string>({{"user:id", u}}, "profile"));
    }

    server.restart();  // kill -9, then start from the snapshot
    // The first request finds its pooled connection dead and trips the breaker.
    (void)cache.get<int>({"probe"}, "probe");
    REQUIRE(recovered(*time, [&] { return cache.set({"probe"}, 1, "probe").ok(); }));
    int stale = 0;
    for (int u = 0; u < users; ++u)
      stale += cache.get<std::string>({{"user:id", u}}, "profile") == "old";
    CHECK(stale == 0);
    gencache::remote_cache other(make());  // a process started afterwards
    for (int u = 0; u < users; ++u)
      stale += other.get<std::string>({{"user:id", u}}, "profile") == "old";
    CHECK(stale == 0);
    // The restart costs the cache, not correctness: values are stored and served again.
    REQUIRE(cache.set({{"user:id", 0}}, std::string("new"), "profile").ok());
    CHECK(other.get<std::string>({{"user:id", 0}}, "profile") == "new");
  }
  std::filesystem::remove_all(dir);
}
#endif

TEST_CASE("faults: during an outage, memoized calls for different users never share a result (G5)",
          "[faults][g5][concurrency]") {
  auto time = std::make_shared<gencache::fake_clock>();
  gencache::remote_cache cache(make_store(gone_url(), time));
  constexpr int threads = 8;
  std::atomic<int> computing{0};
  auto profile_of = [](int user) { return "profile of " + std::to_string(user); };
  std::function<std::uint64_t()> waits;  // set once the wrapper exists, before any call
  // Each computation waits until every call is either computing or waiting for another
  // call's computation, so that calls which wrongly shared a key would share its result.
  gencache::memoized profile(
      cache,
      [&](int user) {
        computing.fetch_add(1);
        for (long spins = 0; spins < 200'000'000; ++spins) {
          if (computing.load() + static_cast<int>(waits()) >= threads) break;
          std::this_thread::yield();
        }
        return profile_of(user);
      },
      gencache::gen("profile:user", gencache::arg<0>));
  waits = [&] { return profile.stats().waits; };
  std::latch start(threads);
  std::vector<std::string> got(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      start.arrive_and_wait();
      got[t] = profile(t);
    });
  }
  for (auto& t : pool) t.join();
  for (int t = 0; t < threads; ++t) CHECK(got[t] == profile_of(t));
  CHECK(profile.stats().computes == threads);
}

// retry_after has one meaning on both back ends (issue 26): after a request on a server (a
// memcached member) fails to connect, is dropped or times out, requests for it fail fast for
// exactly retry_after on the store's clock; then one request tries the server again. 0: every
// request tries it. Each test runs under a watchdog; none sleeps or reads a clock.

TEST_CASE("faults: after retry_after, one request probes a hung server while the others fail fast",
          "[faults][hung][breaker]") {
  test::server_process server(kind);
  auto time = std::make_shared<gencache::fake_clock>();
  std::mutex seen_mutex;
  std::vector<std::string> seen;
  gencache::remote_cache cache(make_store(server.url(), time, 4, [&](const gencache::status& s) {
    const std::lock_guard lock(seen_mutex);
    seen.push_back(s.message());
  }));
  REQUIRE(cache.set({}, 1, "warm").ok());  // connections are open
  server.pause();
  CHECK_FALSE(cache.get<int>({}, "warm"));  // times out: the breaker opens
  time->advance(1s);                        // ... and its retry_after is over
  seen.clear();

  constexpr int threads = 4;
  const int served = test::within(60s, "requests to a hung server", [&] {
    std::latch start(threads);
    std::vector<std::thread> pool;
    std::atomic<int> count{0};
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        start.arrive_and_wait();
        if (cache.get<int>({}, "warm")) count.fetch_add(1);
      });
    }
    for (auto& t : pool) t.join();
    return count.load();
  });
  CHECK(served == 0);
  server.resume();
  REQUIRE(seen.size() == threads);
  // One probe waited for its timeout; the others failed at once.
  CHECK(std::count_if(seen.begin(), seen.end(), failing_fast) == threads - 1);
}

TEST_CASE(
    "faults: retry_after 0: every request tries the server, the first one after it is back "
    "is served",
    "[faults][breaker][retry_after]") {
  // The fault repeats so that it cannot land, by chance, just before a wall-clock second
  // ends: libmemcached's own fail-fast lasted until the next one, even with retry_after 0.
  test::server_process server(kind);
  test::tcp_proxy proxy(server.port());
  auto time = std::make_shared<gencache::fake_clock>();
  failure_log failures;
  gencache::remote_cache cache(make_store(url_at(proxy.port()), time, 1, failures.hook(), 0ms));
  REQUIRE(cache.set({}, 0, "k").ok());
  struct round {
    bool refused_twice;  // both requests failed while the server refused
    bool served;         // the first request after it accepted again
  };
  const auto rounds = test::within(60s, "refuse and accept, five times", [&] {
    std::vector<round> out;
    for (int i = 1; i <= 5; ++i) {
      proxy.refuse();
      // The first request finds its connection closed; the second must connect, and is refused.
      const bool first = cache.set({}, i, "k").ok();
      const bool second = cache.set({}, i, "k").ok();
      proxy.accept();
      out.push_back({.refused_twice = !first && !second, .served = cache.set({}, i, "k").ok()});
    }
    return out;
  });
  for (std::size_t i = 0; i < rounds.size(); ++i) {
    INFO("round " << i + 1);
    CHECK(rounds[i].refused_twice);
    CHECK(rounds[i].served);
  }
  REQUIRE(failures.seen.size() == 2 * rounds.size());
  for (const gencache::status& f : failures.seen) {
    INFO(f.message());
    CHECK_FALSE(failing_fast(f.message()));  // each failure was a real try
  }
  CHECK(cache.get<int>({}, "k") == 5);
}

TEST_CASE("faults: retry_after: requests fail fast for exactly retry_after, then one tries again",
          "[faults][breaker][retry_after]") {
  test::server_process server(kind);
  test::tcp_proxy proxy(server.port());
  auto time = std::make_shared<gencache::fake_clock>();
  failure_log failures;
  gencache::remote_cache cache(make_store(url_at(proxy.port()), time, 2, failures.hook(), 3s));
  REQUIRE(cache.set({}, 0, "k").ok());  // a connection is open
  struct outcome {
    bool refused;       // while the server refused
    int fast_while_up;  // requests that failed although the server was back, in retry_after
    bool probe_served;  // the first request after retry_after
    bool then_served;
  };
  const outcome o = test::within(60s, "a fail-fast period on the store's clock", [&] {
    outcome r{};
    proxy.refuse();
    r.refused = !cache.set({}, 1, "k").ok() && !cache.set({}, 2, "k").ok();
    proxy.accept();
    for (const auto step :
         {0ns, std::chrono::nanoseconds(1s), std::chrono::nanoseconds(2s) - 1ns}) {
      time->advance(step);  // 0, 1 s and 3 s - 1 ns after the failure
      r.fast_while_up += cache.set({}, 3, "k").ok() ? 0 : 1;
    }
    time->advance(1ns);  // retry_after is over
    r.probe_served = cache.set({}, 4, "k").ok();
    r.then_served = cache.set({}, 5, "k").ok() && cache.get<int>({}, "k") == 5;
    return r;
  });
  CHECK(o.refused);
  CHECK(o.fast_while_up == 3);
  CHECK(o.probe_served);
  CHECK(o.then_served);
  // The first failure was a real try; every later one until retry_after was over failed fast.
  REQUIRE(failures.seen.size() == 5);
  CHECK_FALSE(failing_fast(failures.seen[0].message()));
  for (std::size_t i = 1; i < failures.seen.size(); ++i) {
    INFO(failures.seen[i].message());
    CHECK(failing_fast(failures.seen[i].message()));
  }
}

TEST_CASE(
    "faults: a server that accepts and then drops every connection is tried once per "
    "retry_after",
    "[faults][breaker][retry_after]") {
  test::fake_server dropping([](test::wire&) {});  // accepts, then closes at once
  auto time = std::make_shared<gencache::fake_clock>();
  gencache::remote_cache cache(make_store(url_at(dropping.port()), time, 4));
  struct attempts {
    std::size_t first;   // connections after 20 requests
    std::size_t second;  // after 20 more, retry_after later
    int served;
  };
  const attempts a = test::within(60s, "requests to a server that drops connections", [&] {
    attempts r{};
    for (int i = 0; i < 20; ++i) r.served += cache.set({}, i, "k").ok() ? 1 : 0;
    r.first = dropping.connections();
    time->advance(1s);
    for (int i = 0; i < 20; ++i) r.served += cache.get<int>({}, "k", i).has_value() ? 1 : 0;
    r.second = dropping.connections();
    return r;
  });
  CHECK(a.served == 0);
  CHECK(cache.stats().errors >= 40);
  CHECK(a.first == 1);
  CHECK(a.second == 2);
}

#ifdef GENCACHE_TEST_MEMCACHED
TEST_CASE("faults: a failing memcached member fails fast alone, also after a multi-get",
          "[faults][breaker][pool]") {
  // Member a is a real server; member b accepts and drops every connection. Each request on
  // b costs it a connection (counted), unless b is failing fast.
  test::server_process a(kind);
  test::fake_server b([](test::wire&) {});
  auto time = std::make_shared<gencache::fake_clock>();
  const auto backend = gencache::make_memcached_backend(
      fmt::format("memcached://127.0.0.1:{},127.0.0.1:{}", a.port(), b.port()),
      {.connection = {.command_timeout = 200ms, .pool_size = 2, .retry_after = 1s, .clock = time}});
  struct outcome {
    std::vector<std::string> on_a, on_b;  // keys served, keys failed
    std::size_t tried_b = 0;              // b's connections after the single gets
    bool multi_failed = false;            // a multi-get of a counter on a and one on b
    std::size_t tried_b_after_multi = 0;
    bool a_served_after = false;  // a's breaker stayed closed
    std::string b_after;          // b's is open again
    std::size_t tried_b_at_end = 0;
  };
  const outcome o = test::within(60s, "a pool with a member that drops connections", [&] {
    outcome r;
    for (int k = 0; k < 40; ++k) {
      const std::string key = "member:" + std::to_string(k);
      (backend->get(key) ? r.on_a : r.on_b).push_back(key);
    }
    r.tried_b = b.connections();
    if (r.on_a.empty() || r.on_b.empty()) return r;
    time->advance(1s);  // b may be tried again, once
    const std::string counters[] = {r.on_a[0], r.on_b[0]};
    const std::uint64_t fresh[] = {1000, 1001};
    std::uint64_t out[2] = {};
    r.multi_failed = !backend->read_generations(counters, fresh, out).ok();
    r.tried_b_after_multi = b.connections();
    r.a_served_after = backend->get(r.on_a[1 % r.on_a.size()]).has_value();
    const auto got = backend->get(r.on_b[0]);
    r.b_after = got ? "served" : got.error().message();
    r.tried_b_at_end = b.connections();
    return r;
  });
  REQUIRE_FALSE(o.on_a.empty());
  REQUIRE_FALSE(o.on_b.empty());
  CHECK(o.tried_b == 1);
  CHECK(o.multi_failed);
  CHECK(o.tried_b_after_multi == 2);
  CHECK(o.a_served_after);
  CHECK(failing_fast(o.b_after));
  CHECK(o.tried_b_at_end == 2);
}
#endif

#ifdef GENCACHE_TEST_REDIS
TEST_CASE("faults: after SCRIPT FLUSH, Redis scripts are loaded again and nothing fails",
          "[faults][redis]") {
  test::server_process server(kind);
  auto time = std::make_shared<gencache::fake_clock>();
  failure_log failures;
  gencache::remote_cache cache(make_store(server.url(), time, 1, failures.hook()));
  // Each step needs a script: the first read of new counters, then a bump.
  REQUIRE(cache.set({{"flush:user", 1}}, 10, "k").ok());
  REQUIRE(server.send("SCRIPT FLUSH") == "+OK");
  CHECK(cache.get<int>({{"flush:user", 2}}, "k") == std::nullopt);  // a new counter: the script
  CHECK_NOTHROW(cache.invalidate({"flush:user", 1}));
  REQUIRE(server.send("SCRIPT FLUSH") == "+OK");
  CHECK_NOTHROW(cache.invalidate({"flush:user", 1}));
  CHECK_FALSE(cache.get<int>({{"flush:user", 1}}, "k"));  // invalidated twice
  REQUIRE(cache.set({{"flush:user", 1}}, 11, "k").ok());
  CHECK(cache.get<int>({{"flush:user", 1}}, "k") == 11);
  std::string messages;  // INFO in a loop would go out of scope before the check
  for (const auto& f : failures.seen) messages += f.message() + "\n";
  INFO(messages);
  CHECK(failures.seen.empty());
  CHECK(cache.stats().errors == 0);
}

TEST_CASE("faults: a Redis that refuses us after connecting opens the breaker too",
          "[faults][breaker]") {
  test::server_process server(kind, {}, {"--requirepass", "not-given"});  // answers NOAUTH
  auto time = std::make_shared<gencache::fake_clock>();
  std::vector<std::string> seen;
  gencache::remote_cache cache(gencache::make_redis_store(
      server.url(), {.connection = {.command_timeout = 200ms, .retry_after = 1s, .clock = time}},
      {.prefix = test::unique_prefix(),
       .on_error = [&](const gencache::status& s) { seen.push_back(s.message()); }}));
  for (int i = 0; i < 20; ++i) CHECK_FALSE(cache.get<int>({}, "k", i));
  REQUIRE(seen.size() == 20);
  CHECK_THAT(seen[0], Catch::Contains("NOAUTH"));
  // One connection was tried; every later request failed fast.
  const auto fast = std::count_if(seen.begin(), seen.end(), [](const std::string& m) {
    return m.find("failing fast") != std::string::npos;
  });
  CHECK(fast == 19);
  CHECK(seen.back().find("not-given") == std::string::npos);
}
#endif
