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

#include "support/server_process.hpp"
#include "support/stores.hpp"
#include "support/tcp_proxy.hpp"

using namespace std::chrono_literals;

namespace {

#ifdef GENCACHE_TEST_REDIS
constexpr auto kind = test::server_kind::redis;

std::shared_ptr<gencache::remote_store> make_store(
    const std::string& url, const std::shared_ptr<gencache::fake_clock>& time,
    std::size_t pool_size = 2, std::function<void(const gencache::status&)> on_error = {}) {
  return gencache::make_redis_store(
      url, {.command_timeout = 200ms, .pool_size = pool_size, .retry_after = 1s, .clock = time},
      {.prefix = test::unique_prefix(), .on_error = std::move(on_error)});
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

std::shared_ptr<gencache::remote_store> make_store(
    const std::string& url, const std::shared_ptr<gencache::fake_clock>&, std::size_t pool_size = 2,
    std::function<void(const gencache::status&)> on_error = {}) {
  return gencache::make_memcached_store(
      url, {.command_timeout = 200ms, .pool_size = pool_size, .retry_after = 1s},
      {.prefix = test::unique_prefix(), .on_error = std::move(on_error)});
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
    return gencache::make_memcached_store(
        url, {.command_timeout = 200ms, .pool_size = 1, .retry_after = 1s}, {.prefix = prefix});
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
          server.url(), {.command_timeout = 200ms, .retry_after = 1s, .clock = time},
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

#ifdef GENCACHE_TEST_REDIS
TEST_CASE("faults: after retry_after, one request probes a hung Redis while the others fail fast",
          "[faults][hung][breaker]") {
  test::server_process server(kind);
  auto time = std::make_shared<gencache::fake_clock>();
  std::mutex seen_mutex;
  std::vector<std::string> seen;
  gencache::remote_cache cache(gencache::make_redis_store(
      server.url(), {.command_timeout = 200ms, .pool_size = 4, .retry_after = 1s, .clock = time},
      {.prefix = test::unique_prefix(), .on_error = [&](const gencache::status& s) {
         const std::lock_guard lock(seen_mutex);
         seen.push_back(s.message());
       }}));
  REQUIRE(cache.set({}, 1, "warm").ok());  // connections are open
  server.pause();
  CHECK_FALSE(cache.get<int>({}, "warm"));  // times out: the breaker opens
  time->advance(1s);                        // ... and its retry_after is over
  seen.clear();

  constexpr int threads = 4;
  std::latch start(threads);
  std::vector<std::thread> pool;
  std::atomic<int> served{0};  // Catch2 assertions are not thread-safe: counted, checked below
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      start.arrive_and_wait();
      if (cache.get<int>({}, "warm")) served.fetch_add(1);
    });
  }
  for (auto& t : pool) t.join();
  CHECK(served == 0);
  server.resume();
  REQUIRE(seen.size() == threads);
  // One probe waited for its timeout; the others failed at once.
  const auto fast = std::count_if(seen.begin(), seen.end(), [](const std::string& m) {
    return m.find("failing fast") != std::string::npos;
  });
  CHECK(fast == threads - 1);
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
      server.url(), {.command_timeout = 200ms, .retry_after = 1s, .clock = time},
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
