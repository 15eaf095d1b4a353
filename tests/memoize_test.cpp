#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <latch>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>
#include <gencache/any_store.hpp>
#include <gencache/gencache.hpp>
#include <gencache/remote_cache.hpp>

#include "support/fake_backend.hpp"
#include "support/watchdog.hpp"

using namespace std::chrono_literals;

namespace memotest {

std::atomic<int> foobar_calls{0};
int foobar(int user_id) {
  ++foobar_calls;
  return user_id * 2;
}

struct foobar_args {
  int something;
  bool another = false;
};
std::atomic<int> foobar2_calls{0};
std::string foobar2(const foobar_args& a) {
  ++foobar2_calls;
  return std::to_string(a.something) + (a.another ? "+" : "-");
}

struct nav_args {
  int user_id;
  int page;
  std::string trace_id;  // irrelevant to the result
};

class portal {
 public:
  explicit portal(int base) : base_(base) {}
  int score(int user_id) const {
    ++calls;
    return base_ + user_id;
  }
  static int twice(int x) { return 2 * x; }
  mutable std::atomic<int> calls{0};

 private:
  int base_;
};

class tenant {
 public:
  explicit tenant(std::string name) : name_(std::move(name)) {}
  std::string greet(int user_id) const { return name_ + ":" + std::to_string(user_id); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

struct big {
  std::vector<double> samples;
};

}  // namespace memotest

template <>
struct gencache::key_fragment<memotest::tenant> {
  static void append(auto& out, const memotest::tenant& t) { out(t.name()); }
};

using namespace memotest;

TEST_CASE("memoize: the seed's magic #1, value-based generations from arguments",
          "[memoize][seed]") {
  gencache::cache cache;
  gencache::memoized cached(cache, &foobar, "project_name",
                            gencache::gen("foo_per_user_id:user_id", gencache::arg<0>));
  foobar_calls = 0;
  CHECK(cached(53) == 106);
  CHECK(cached(999) == 1998);
  CHECK(cached(53) == 106);
  CHECK(foobar_calls == 2);

  cache.invalidate({"foo_per_user_id:user_id", 999});
  CHECK(cached(53) == 106);  // still cached
  CHECK(foobar_calls == 2);
  CHECK(cached(999) == 1998);  // invalidated: computed again
  CHECK(foobar_calls == 3);

  cache.invalidate("project_name");  // the plain generation drops both
  CHECK(cached(53) == 106);
  CHECK(cached(999) == 1998);
  CHECK(foobar_calls == 5);
}

TEST_CASE("memoize: a generation from a struct field, found by type", "[memoize][pfr]") {
  gencache::cache cache;
  std::atomic<int> calls{0};
  auto render = [&calls](const nav_args& a) {
    ++calls;
    return "nav " + std::to_string(a.user_id) + "/" + std::to_string(a.page);
  };
  gencache::memoized cached(cache, render, "nav",
                            gencache::gen("nav_portal:user_id", &nav_args::user_id),
                            gencache::exclude(&nav_args::trace_id));
  CHECK(cached({53, 1, "t1"}) == "nav 53/1");
  CHECK(cached({53, 1, "t2"}) == "nav 53/1");  // trace_id excluded: same key
  CHECK(cached({999, 1, "t3"}) == "nav 999/1");
  CHECK(calls == 2);
  cache.invalidate({"nav_portal:user_id", 53});
  CHECK(cached({999, 1, ""}) == "nav 999/1");
  CHECK(calls == 2);
  CHECK(cached({53, 1, ""}) == "nav 53/1");
  CHECK(calls == 3);
  // The same user under another generation name is another generation.
  cache.invalidate({"other_portal:user_id", 999});
  CHECK(cached({999, 1, ""}) == "nav 999/1");
  CHECK(calls == 3);
}

TEST_CASE("memoize: the seed's magic #2, every other argument is part of the key",
          "[memoize][seed]") {
  gencache::cache cache;
  gencache::memoized cached(cache, &foobar2, "whatever");
  foobar2_calls = 0;
  CHECK(cached({1}) == "1-");
  CHECK(cached({2}) == "2-");
  CHECK(cached({2, true}) == "2+");  // the another=True case is its own entry
  CHECK(cached({1}) == "1-");
  CHECK(cached({2, true}) == "2+");
  CHECK(foobar2_calls == 3);

  cache.invalidate("whatever");  // drops every argument combination
  CHECK(cached({1}) == "1-");
  CHECK(cached({2}) == "2-");
  CHECK(cached({2, true}) == "2+");
  CHECK(foobar2_calls == 6);
}

TEST_CASE("memoize: the seed's methods case, without Gotcha #1", "[memoize][seed]") {
  gencache::cache cache;
  gencache::memoized cached(cache, &portal::score,
                            gencache::gen("score:user_id", gencache::arg<0>));
  portal a(100);
  portal b(200);
  CHECK(cached(a, 1) == 101);
  CHECK(cached(a, 1) == 101);
  CHECK(a.calls == 1);
  // portal has no key fragment: the object is not part of the key (decided by type).
  CHECK(cached(b, 1) == 101);
  CHECK(b.calls == 0);

  // tenant has one: each object is its own key.
  gencache::memoized greet(cache, &tenant::greet, "greetings");
  CHECK(greet(tenant("acme"), 7) == "acme:7");
  CHECK(greet(tenant("initech"), 7) == "initech:7");

  // Static member functions are plain functions.
  gencache::memoized twice(cache, &portal::twice, "math");
  CHECK(twice(21) == 42);
  CHECK(twice.peek(21) == 42);
}

TEST_CASE("memoize: the key names the location, or a stable name", "[memoize][key]") {
  gencache::cache cache;
  gencache::memoized here(cache, &foobar, "g");
  gencache::memoized there(cache, &foobar, "g");  // another line: another scope
  foobar_calls = 0;
  CHECK(here(1) == 2);
  CHECK(there(1) == 2);
  CHECK(foobar_calls == 2);
  CHECK_THAT(here.describe(1), Catch::StartsWith("memo memoize_test.cpp:"));
  CHECK_THAT(here.describe(1), Catch::Contains("(1) g@"));
  CHECK(here.scope() != there.scope());

  gencache::memoized named_a(cache, &foobar, "g", gencache::memoize_options{.name = "foobar.v1"});
  gencache::memoized named_b(cache, &foobar, "g", gencache::memoize_options{.name = "foobar.v1"});
  CHECK(named_a(5) == 10);
  CHECK(named_b.peek(5) == 10);  // a stable name is shared
  CHECK_THAT(named_a.describe(5), Catch::StartsWith("memo foobar.v1(5)"));

  // Memoized keys never meet direct keys with the same generations and parts.
  CHECK_FALSE(cache.get<int>({"g"}, 5));
}

TEST_CASE("memoize: invalidate(args) erases exactly that entry, also before the first call",
          "[memoize]") {
  gencache::cache cache;
  gencache::memoized cached(cache, &foobar, "g");
  foobar_calls = 0;
  CHECK_FALSE(cached.invalidate(1));  // nothing yet, and no error
  CHECK(cached(1) == 2);
  CHECK(cached(2) == 4);
  CHECK(cached.invalidate(1));
  CHECK_FALSE(cached.peek(1));
  CHECK(cached.peek(2) == 4);
  CHECK(cached(1) == 2);
  CHECK(foobar_calls == 3);
}

TEST_CASE("memoize: erase(args) is the wrapper's invalidate(args): one entry, no generation bumped",
          "[memoize]") {
  gencache::cache cache;
  gencache::memoized cached(cache, &foobar, "g");
  gencache::memoized_function<int(int)> held = gencache::memoize(cache, &foobar, "g");
  const std::uint64_t before = cache.generation_value("g");
  CHECK_FALSE(cached.erase(1));  // nothing yet, and no error
  CHECK(cached(1) == 2);
  CHECK(cached(2) == 4);
  CHECK(held(1) == 2);
  CHECK(cached.erase(1));
  CHECK_FALSE(cached.erase(1));  // gone: the alias finds nothing either
  CHECK_FALSE(cached.invalidate(1));
  CHECK(cached.peek(2) == 4);
  CHECK(held.erase(1));
  CHECK_FALSE(held.invalidate(1));
  CHECK(cache.generation_value("g") == before);
}

TEST_CASE("memoize: refresh recomputes, peek never computes, enable switches caching",
          "[memoize]") {
  gencache::cache cache;
  int base = 0;
  gencache::memoized cached(
      cache, [&base](int x) { return base + x; }, "g");
  CHECK_FALSE(cached.peek(1));
  CHECK(cached(1) == 1);
  base = 10;
  CHECK(cached(1) == 1);  // cached
  CHECK(cached.refresh(1) == 11);
  CHECK(cached.peek(1) == 11);

  cached.enable(false);
  base = 20;
  CHECK(cached(1) == 21);       // pass-through
  CHECK(cached.peek(1) == 11);  // nothing was written
  CHECK_THAT(cached.describe(1), Catch::Contains("(1)"));
  cached.enable(true);
  CHECK(cached(1) == 11);
}

TEST_CASE("memoize: ignore_locally passes through when GENCACHE_ENV is local",
          "[memoize][options]") {
  gencache::cache cache;
  ::setenv("GENCACHE_ENV", "local", 1);
  gencache::memoized local(cache, &foobar, "g", gencache::memoize_options{.ignore_locally = true});
  gencache::memoized unaffected(cache, &foobar, "h");
  ::setenv("GENCACHE_ENV", "production", 1);
  gencache::memoized production(cache, &foobar, "g",
                                gencache::memoize_options{.ignore_locally = true});
  ::unsetenv("GENCACHE_ENV");
  CHECK_FALSE(local.enabled());
  CHECK(unaffected.enabled());
  CHECK(production.enabled());
  foobar_calls = 0;
  CHECK(local(1) == 2);
  CHECK(local(1) == 2);
  CHECK(foobar_calls == 2);
}

TEST_CASE("memoize: ttl expires entries on the injected clock", "[memoize][ttl]") {
  auto time = std::make_shared<gencache::fake_clock>();
  gencache::cache cache(gencache::memory_store_options{.clock = time});
  gencache::memoized cached(cache, &foobar, "g", gencache::memoize_options{.ttl = 1min});
  foobar_calls = 0;
  CHECK(cached(1) == 2);
  time->advance(59s);
  CHECK(cached(1) == 2);
  CHECK(foobar_calls == 1);
  time->advance(1s);
  CHECK(cached(1) == 2);
  CHECK(foobar_calls == 2);
  CHECK_THROWS_AS(gencache::memoized(cache, &foobar, "g", gencache::memoize_options{.ttl = 0s}),
                  std::invalid_argument);
}

TEST_CASE("memoize: log_misses writes the readable key to the logger", "[memoize][options]") {
  gencache::cache cache;
  std::vector<std::string> lines;
  gencache::memoized cached(
      cache, &foobar, "g", gencache::gen("per:user_id", gencache::arg<0>),
      gencache::memoize_options{.log_misses = true,
                                .logger = [&](std::string_view l) { lines.emplace_back(l); }});
  (void)cached(7);
  (void)cached(7);
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], Catch::StartsWith("gencache: miss memo memoize_test.cpp:"));
  CHECK_THAT(lines[0], Catch::Contains("() g@") && Catch::Contains(" per:user_id=7@"));
  // The argument that fed the generation is in the line: two users' misses read apart.
  (void)cached(8);
  REQUIRE(lines.size() == 2);
  CHECK_THAT(lines[1], Catch::Contains(" per:user_id=8@"));
}

TEST_CASE("memoize: exclude by position, and arguments used by generations stay out",
          "[memoize][options]") {
  gencache::cache cache;
  std::atomic<int> calls{0};
  auto f = [&calls](int user_id, const std::string& request_id, int x) {
    ++calls;
    return user_id + x + static_cast<int>(request_id.size()) * 0;
  };
  gencache::memoized cached(cache, f, gencache::gen("u:user_id", gencache::arg<0>),
                            gencache::exclude(gencache::arg<1>));
  CHECK(cached(1, "r1", 5) == 6);
  CHECK(cached(1, "r2", 5) == 6);
  CHECK(calls == 1);
  CHECK_THAT(cached.describe(1, "r3", 5), Catch::Contains("(5)"));
}

TEST_CASE("memoize: an empty optional holding a generation's field throws before the call",
          "[memoize][errors]") {
  gencache::cache cache;
  std::atomic<int> calls{0};
  auto f = [&calls](const std::optional<nav_args>& a) {
    ++calls;
    return a ? a->page : -1;
  };
  gencache::memoized cached(cache, f, gencache::gen("nav:user_id", &nav_args::user_id));
  CHECK(cached(nav_args{1, 2, ""}) == 2);
  CHECK_THROWS_WITH(cached(std::nullopt), Catch::Contains("empty optional"));
  CHECK(calls == 1);
  CHECK_THROWS_WITH(gencache::memoized(cache, f, "nav:user_id"),
                    Catch::Contains("name the argument that gives its value"));
  CHECK_THROWS_WITH(gencache::memoized(cache, &foobar, gencache::gen("plain", gencache::arg<0>)),
                    Catch::Contains("must name a parameter"));
}

TEST_CASE("memoize: refresh stores also while caching is off", "[memoize][options]") {
  gencache::cache cache;
  std::atomic<int> calls{0};
  gencache::memoized cached(
      cache, [&calls](int x) { return ++calls, 2 * x; }, "g");
  cached.enable(false);
  CHECK(cached.refresh(7) == 14);
  CHECK(cached.peek(7) == 14);
  cached.enable(true);
  CHECK(cached(7) == 14);
  CHECK(calls == 1);
}

TEST_CASE("memoize: exclusions and generations reach into an optional struct argument",
          "[memoize][options]") {
  gencache::cache cache;
  std::atomic<int> calls{0};
  auto f = [&calls](const std::optional<nav_args>& a) {
    ++calls;
    return a ? a->page : -1;
  };
  gencache::memoized cached(cache, f, gencache::gen("nav:user_id", &nav_args::user_id),
                            gencache::exclude(&nav_args::trace_id));
  CHECK(cached(nav_args{53, 1, "t1"}) == 1);
  CHECK(cached(nav_args{53, 1, "t2"}) == 1);  // trace_id excluded: same key
  CHECK(cached(nav_args{53, 1, "t3"}) == 1);
  CHECK(calls == 1);
  CHECK(cached(nav_args{53, 2, "t1"}) == 2);  // page is in the key
  CHECK(calls == 2);
  cache.invalidate({"nav:user_id", 53});
  CHECK(cached(nav_args{53, 1, "t4"}) == 1);
  CHECK(calls == 3);
  CHECK_THAT(cached.describe(nav_args{53, 1, "t9"}), !Catch::Contains("t9"));
}

TEST_CASE("memoize: heavy results returned as shared_ptr<const T> are shared, not copied",
          "[memoize][value]") {
  gencache::cache cache;
  auto load = [](int n) {
    return std::make_shared<const big>(big{std::vector<double>(static_cast<std::size_t>(n), 1.0)});
  };
  gencache::memoized cached(cache, load, "reports");
  const auto first = cached(1000);
  const auto second = cached(1000);
  CHECK(first.get() == second.get());
}

TEST_CASE("memoize: an exception reaches the caller, is not cached, and is retried",
          "[memoize][errors]") {
  gencache::cache cache;
  int calls = 0;
  bool fail = true;
  gencache::memoized cached(
      cache,
      [&](int x) {
        ++calls;
        if (fail) throw std::runtime_error("backend down");
        return x;
      },
      "g");
  CHECK_THROWS_WITH(cached(1), "backend down");
  fail = false;
  CHECK(cached(1) == 1);
  CHECK(calls == 2);
  CHECK(cached.stats().exceptions == 1);
}

TEST_CASE("memoize: concurrent misses of one key compute once and share the result",
          "[memoize][stampede][concurrency]") {
  constexpr int threads = 8;
  gencache::cache cache;
  std::atomic<int> calls{0};
  const gencache::memoized<gencache::memory_store, std::function<int(int)>, const char*>* self =
      nullptr;
  std::function<int(int)> slow = [&](int x) {
    ++calls;
    // Finish only once every other caller is waiting for this computation.
    while (self->stats().waits < threads - 1) std::this_thread::yield();
    return x * 10;
  };
  gencache::memoized cached(cache, slow, "g");
  self = &cached;
  std::latch start(threads);
  std::vector<int> results(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      start.arrive_and_wait();
      results[static_cast<std::size_t>(t)] = cached(4);
    });
  }
  for (auto& t : pool) t.join();
  CHECK(calls == 1);
  for (int r : results) CHECK(r == 40);
  const auto stats = cached.stats();
  CHECK(stats.computes == 1);
  CHECK(stats.waits == threads - 1);
  CHECK(stats.misses == threads);
}

TEST_CASE("memoize: every waiter sees the leader's exception, and a retry recomputes",
          "[memoize][stampede][concurrency]") {
  constexpr int threads = 6;
  gencache::cache cache;
  std::atomic<int> calls{0};
  std::atomic<bool> fail{true};
  const gencache::memoized<gencache::memory_store, std::function<int(int)>, const char*>* self =
      nullptr;
  std::function<int(int)> flaky = [&](int x) {
    ++calls;
    if (fail) {
      while (self->stats().waits < threads - 1) std::this_thread::yield();
      throw std::runtime_error("boom");
    }
    return x;
  };
  gencache::memoized cached(cache, flaky, "g");
  self = &cached;
  std::latch start(threads);
  std::atomic<int> saw_exception{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      start.arrive_and_wait();
      try {
        (void)cached(3);
      } catch (const std::runtime_error& e) {
        if (std::string(e.what()) == "boom") ++saw_exception;
      }
    });
  }
  for (auto& t : pool) t.join();
  CHECK(calls == 1);
  CHECK(saw_exception == threads);
  CHECK_FALSE(cached.peek(3));
  fail = false;
  CHECK(cached(3) == 3);
  CHECK(calls == 2);
}

namespace memotest {

/// A memory store whose `peek` (the single-flight leader's re-check) can throw or wait for
/// another thread's re-check, to see where the leader runs it.
class probing_store : public gencache::memory_store {
 public:
  std::atomic<int> throws_left{0};
  std::atomic<int> inside{0};
  std::atomic<bool> met{false};

  template <class T>
  std::optional<T> peek(gencache::key_view key) {
    if (throws_left.fetch_sub(1) > 0) throw std::runtime_error("peek failed");
    inside.fetch_add(1);
    for (long spins = 0; spins < 5'000'000 && !met.load(); ++spins) {
      if (inside.load() >= 2) met.store(true);  // both re-checks are running at once
      std::this_thread::yield();
    }
    inside.fetch_sub(1);
    return gencache::memory_store::peek<T>(key);
  }
};

}  // namespace memotest

TEST_CASE("memoize: a leader whose re-check throws leaves no flight behind",
          "[memoize][stampede]") {
  auto store = std::make_shared<memotest::probing_store>();
  store->met = true;  // no waiting in peek
  gencache::basic_cache<memotest::probing_store> cache(store);
  std::atomic<int> calls{0};
  gencache::memoized twice(
      cache, [&](int x) { return ++calls, 2 * x; }, "g");
  store->throws_left = 1;
  CHECK_THROWS_AS(twice(21), std::runtime_error);
  CHECK(twice(21) == 42);  // not std::future_error from a flight left behind
  CHECK(twice(21) == 42);
  CHECK(calls == 1);
}

TEST_CASE("memoize: leaders of different keys re-check the store at the same time",
          "[memoize][stampede][concurrency]") {
  auto store = std::make_shared<memotest::probing_store>();
  gencache::basic_cache<memotest::probing_store> cache(store);
  gencache::memoized twice(
      cache, [](int x) { return 2 * x; }, "g");
  std::latch start(2);
  std::vector<std::thread> threads;
  std::vector<int> got(2);
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      got[static_cast<std::size_t>(t)] = twice(t);
    });
  }
  for (auto& t : threads) t.join();
  CHECK(got == std::vector<int>{0, 2});
  // Each leader's re-check waited for the other's: under the flights mutex they could not
  // both have been inside at once.
  CHECK(store->met);
}

TEST_CASE("memoize: single_flight off computes every concurrent miss, and hit_ratio counts",
          "[memoize][stampede][concurrency]") {
  gencache::cache cache;
  std::atomic<int> calls{0};
  std::atomic<int> inside{0};
  constexpr int threads = 4;
  gencache::memoized cached(
      cache,
      [&](int x) {
        ++calls;
        inside.fetch_add(1);
        // Every caller computes: each waits until all are computing at once.
        for (long spins = 0; spins < 50'000'000 && inside.load() < threads; ++spins) {
          std::this_thread::yield();
        }
        return 2 * x;
      },
      "g", gencache::memoize_options{.single_flight = false});
  std::latch start(threads);
  std::vector<std::thread> pool;
  std::atomic<int> right{0};  // Catch2 assertions are not thread-safe: counted, checked below
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      start.arrive_and_wait();
      if (cached(21) == 42) right.fetch_add(1);
    });
  }
  for (auto& t : pool) t.join();
  CHECK(right == threads);
  CHECK(calls == threads);
  CHECK(cached.stats().waits == 0);
  CHECK(cached(21) == 42);  // now a hit
  const auto stats = cached.stats();
  CHECK(stats.hits == 1);
  CHECK(stats.misses == threads);
  CHECK(stats.hit_ratio() == Approx(1.0 / (threads + 1)));
}

TEST_CASE("memoize: gen(spec, arg<I>, &T::field) names the parameter among two of one type",
          "[memoize][generations]") {
  gencache::cache cache;
  std::atomic<int> calls{0};
  auto f = [&calls](const nav_args& viewer, const nav_args& owner) {
    ++calls;
    return viewer.page + owner.page;
  };
  gencache::memoized cached(cache, f,
                            gencache::gen("owner:user_id", gencache::arg<1>, &nav_args::user_id));
  CHECK(cached(nav_args{1, 1, ""}, nav_args{2, 10, ""}) == 11);
  CHECK(cached(nav_args{1, 1, ""}, nav_args{2, 10, ""}) == 11);
  CHECK(calls == 1);
  cache.invalidate({"owner:user_id", 1});  // the viewer's id: not this generation
  CHECK(cached(nav_args{1, 1, ""}, nav_args{2, 10, ""}) == 11);
  CHECK(calls == 1);
  cache.invalidate({"owner:user_id", 2});  // the owner's
  CHECK(cached(nav_args{1, 1, ""}, nav_args{2, 10, ""}) == 11);
  CHECK(calls == 2);
}

TEST_CASE("memoize: an optional argument feeds a generation with its engaged value",
          "[memoize][generations]") {
  gencache::cache cache;
  std::atomic<int> calls{0};
  gencache::memoized portal(
      cache, [&calls](std::optional<int> id) { return ++calls, id.value_or(-1); },
      gencache::gen("global:portal_id", gencache::arg<0>));
  CHECK(portal(42) == 42);
  CHECK(portal(42) == 42);
  CHECK(calls == 1);
  cache.invalidate({"global:portal_id", 42});  // the plain value reaches the optional's
  CHECK(portal(42) == 42);
  CHECK(calls == 2);
  CHECK_THAT(portal.describe(42), Catch::Contains("global:portal_id=42@"));
  CHECK_THROWS_WITH(portal(std::nullopt), Catch::Contains("empty optional"));
  CHECK(calls == 2);
  // The direct and bound interfaces read an optional the same way.
  CHECK(cache.key({{"global:portal_id", std::optional<int>(42)}}, "x") ==
        cache.key({{"global:portal_id", 42}}, "x"));
  CHECK_THROWS_AS(cache.key({{"global:portal_id", std::optional<int>()}}, "x"),
                  std::invalid_argument);
}

TEST_CASE("memoize: a function that calls itself with the same arguments does not wait for itself",
          "[memoize][stampede]") {
  gencache::cache cache;
  std::atomic<int> calls{0};
  std::function<int(int)> self;
  gencache::memoized recursive(
      cache,
      [&](int x) {
        ++calls;
        return calls == 1 ? self(x) + 1 : 2 * x;  // the first computation re-enters once
      },
      "g");
  self = [&](int x) { return recursive(x); };
  CHECK(recursive(21) == 43);
  CHECK(calls == 2);
  CHECK(recursive(21) == 43);  // the outer result was stored last
}

// ---- raw keys: arguments keyed by their bytes (issue 15) ------------------------------

namespace memotest {
enum class tier : std::uint8_t { free, paid };
struct id_pair {
  int a;
  int b;
};
struct padded {  // 3 padding bytes after `c`: not keyed by its bytes
  char c;
  int i;
};
struct with_float {
  int a;
  float f;
};
int sum(int a, int b) { return a + b; }
long sum_unsigned(unsigned a, unsigned b) { return static_cast<long>(a) + b + 1000; }
int first(const id_pair& p) { return p.a * 100 + p.b; }
int padded_value(const padded& p) { return p.c + p.i; }
}  // namespace memotest

TEST_CASE("memoize: raw keys are for types whose bytes are their value", "[memoize][raw]") {
  using gencache::detail::raw_key_part;
  STATIC_REQUIRE(raw_key_part<int>);
  STATIC_REQUIRE(raw_key_part<bool>);
  STATIC_REQUIRE(raw_key_part<char>);
  STATIC_REQUIRE(raw_key_part<tier>);
  STATIC_REQUIRE(raw_key_part<id_pair>);
  STATIC_REQUIRE_FALSE(raw_key_part<padded>);      // padding bytes are not the value
  STATIC_REQUIRE_FALSE(raw_key_part<with_float>);  // -0.0 == 0.0, NaN payloads
  STATIC_REQUIRE_FALSE(raw_key_part<double>);
  STATIC_REQUIRE_FALSE(raw_key_part<const int*>);  // rejected as a key part at all
  STATIC_REQUIRE_FALSE(raw_key_part<std::string>);
  STATIC_REQUIRE_FALSE(raw_key_part<std::optional<int>>);
  STATIC_REQUIRE_FALSE(raw_key_part<tenant>);  // has a key_fragment
}

namespace {
/// The caches whose memoized keys may be raw: the memory cache, and the store chosen at run
/// time when it holds a memory store (it decides at construction).
template <class Cache>
Cache make_local_cache() {
  if constexpr (std::is_same_v<Cache, gencache::any_cache>) {
    return Cache(gencache::make_store("memory://"));
  } else {
    return Cache();
  }
}
}  // namespace

TEMPLATE_TEST_CASE("memoize: raw keys of one name never meet across parameter types or masks",
                   "[memoize][raw][key]", gencache::cache, gencache::any_cache) {
  auto cache = make_local_cache<TestType>();
  const gencache::memoize_options same_name{.name = "shared.v1"};
  gencache::memoized signed_sum(cache, &sum, "g", same_name);
  gencache::memoized unsigned_sum(cache, &sum_unsigned, "g", same_name);
  CHECK(signed_sum(1, 2) == 3);
  CHECK(unsigned_sum(1u, 2u) == 1003);  // same bytes, other parameter types: its own entry
  CHECK(signed_sum(1, 2) == 3);

  // The same function and name, with different fields left out, are different layouts.
  gencache::memoized without_a(cache, &first, "g", gencache::exclude(&id_pair::a), same_name);
  gencache::memoized without_b(cache, &first, "g", gencache::exclude(&id_pair::b), same_name);
  CHECK(without_a(id_pair{1, 2}) == 102);
  CHECK(without_a(id_pair{9, 2}) == 102);  // a is left out: a hit
  // without_a holds an entry whose key bytes are the int 2 (b == 2); without_b's key for
  // a == 2 has the same bytes, and must not find it.
  CHECK(without_b(id_pair{2, 9}) == 209);
  CHECK(without_b(id_pair{2, 5}) == 209);  // b is left out: a hit on its own entry
  CHECK(without_a.stats().hits == 1);
  CHECK(without_b.stats().hits == 1);
}

namespace memotest {
struct name_pair {
  std::string a;
  std::string b;
};
std::string joined(const name_pair& p) { return p.a + "/" + p.b; }
std::string pair_of(const std::string& a, const std::string& b) { return a + "/" + b; }
std::string pair_of_views(std::string_view a, std::string_view b) {
  return std::string(a) + "|" + std::string(b);
}
}  // namespace memotest

namespace {
/// Caches whose memoized keys are canonical: strings as arguments on the memory store, and
/// any remote store (here the in-process fake server).
template <class Cache>
Cache make_canonical_cache() {
  if constexpr (std::is_same_v<Cache, gencache::remote_cache>) {
    return Cache(std::make_shared<gencache::remote_store>(std::make_shared<test::fake_backend>()));
  } else {
    return Cache();
  }
}
}  // namespace

TEMPLATE_TEST_CASE(
    "memoize: canonical keys of one name never meet across parameter types or "
    "masks (G5)",
    "[memoize][key][g5]", gencache::cache, gencache::remote_cache) {
  auto cache = make_canonical_cache<TestType>();
  const gencache::memoize_options same_name{.name = "shared.v1"};

  // Different fields left out: without_a keeps b == "x", without_b keeps a == "x". The
  // canonical encodings of the two kept parts are equal; the entries must not be.
  gencache::memoized without_a(cache, &joined, "g", gencache::exclude(&name_pair::a), same_name);
  gencache::memoized without_b(cache, &joined, "g", gencache::exclude(&name_pair::b), same_name);
  CHECK(without_a(name_pair{"1", "x"}) == "1/x");
  CHECK(without_b(name_pair{"x", "2"}) == "x/2");
  CHECK(without_a(name_pair{"9", "x"}) == "1/x");  // a is left out: a hit on its own entry
  CHECK(without_b(name_pair{"x", "9"}) == "x/2");
  CHECK(without_a.stats().hits == 1);
  CHECK(without_b.stats().hits == 1);

  // Different arguments left out.
  gencache::memoized without_0(cache, &pair_of, "g", gencache::exclude(gencache::arg<0>),
                               same_name);
  gencache::memoized without_1(cache, &pair_of, "g", gencache::exclude(gencache::arg<1>),
                               same_name);
  CHECK(without_0("1", "x") == "1/x");
  CHECK(without_1("x", "2") == "x/2");
  CHECK(without_1("x", "3") == "x/2");  // its own entry, not without_0's
  CHECK(without_1.stats().computes == 1);

  // Different parameter types whose values encode alike.
  gencache::memoized strings(cache, &pair_of, "g", same_name);
  gencache::memoized views(cache, &pair_of_views, "g", same_name);
  CHECK(strings("p", "q") == "p/q");
  CHECK(views("p", "q") == "p|q");
}

TEMPLATE_TEST_CASE("memoize: a raw-keyed value generation still separates users (G5)",
                   "[memoize][raw][g5]", gencache::cache, gencache::any_cache) {
  auto cache = make_local_cache<TestType>();
  std::atomic<int> calls{0};
  auto load = [&](const id_pair& p) {
    ++calls;
    return p.a * 1000 + p.b;
  };
  gencache::memoized cached(cache, load, "project", gencache::gen("load:user", &id_pair::a));
  CHECK(cached(id_pair{53, 1}) == 53001);
  CHECK(cached(id_pair{97, 1}) == 97001);  // a is not in the key parts; its generation is
  CHECK(cached(id_pair{53, 1}) == 53001);
  CHECK(calls == 2);
  cache.invalidate({"load:user", 53});  // the direct interface reaches the memoized entry
  CHECK(cached(id_pair{53, 1}) == 53001);
  CHECK(cached(id_pair{97, 1}) == 97001);
  CHECK(calls == 3);
  cache.invalidate({"load:user", std::uint64_t{97}});  // one generation whatever the int type
  CHECK(cached(id_pair{97, 1}) == 97001);
  CHECK(calls == 4);
}

TEMPLATE_TEST_CASE("memoize: arguments with padding are keyed by value, not by their bytes",
                   "[memoize][raw]", gencache::cache, gencache::any_cache) {
  auto cache = make_local_cache<TestType>();
  gencache::memoized cached(cache, &padded_value, "g");
  alignas(padded) unsigned char one[sizeof(padded)];
  alignas(padded) unsigned char two[sizeof(padded)];
  std::memset(one, 0x00, sizeof one);
  std::memset(two, 0xff, sizeof two);
  auto* a = new (one) padded{'x', 5};
  auto* b = new (two) padded{'x', 5};  // equal values, different padding bytes
  CHECK(cached(*a) == 'x' + 5);
  CHECK(cached(*b) == 'x' + 5);
  CHECK(cached.stats().hits == 1);
}

TEST_CASE("memoize: enum and bool arguments key by value", "[memoize][raw]") {
  gencache::cache cache;
  std::atomic<int> calls{0};
  auto price = [&](tier t, bool yearly) {
    ++calls;
    return (t == tier::paid ? 10 : 0) + (yearly ? 1 : 0);
  };
  gencache::memoized cached(cache, price, "pricing");
  CHECK(cached(tier::paid, true) == 11);
  CHECK(cached(tier::paid, false) == 10);
  CHECK(cached(tier::free, true) == 1);
  CHECK(cached(tier::paid, true) == 11);
  CHECK(calls == 3);
  CHECK_THAT(cached.describe(tier::paid, true), Catch::Contains("(memotest::tier(1), true)"));
}

TEST_CASE("memoize: a bare value-based spec says how to name its argument", "[memoize][errors]") {
  gencache::cache cache;
  // Not the direct interface's {"spec", value}: the memoizer takes the value from an argument.
  CHECK_THROWS_WITH(gencache::memoized(cache, &foobar, "project:user_id"),
                    Catch::Contains("gen(\"project:user_id\", gencache::arg<I>)") &&
                        Catch::Contains("&T::field") && !Catch::Contains("{\""));
  CHECK_THROWS_WITH(gencache::memoized(cache, &foobar, ""), Catch::Contains("cannot be empty"));
}

// ---- memoized_function: a wrapper held by value (issue 16) -----------------------------

namespace memotest {
class profile_service {
 public:
  explicit profile_service(gencache::cache cache)
      : render_(gencache::memoize(cache, &foobar2, "profiles",
                                  gencache::gen("profile:something", &foobar_args::something))) {}
  std::string render(const foobar_args& a) const { return render_(a); }
  const gencache::memoized_function<std::string(const foobar_args&)>& function() const {
    return render_;
  }

 private:
  gencache::memoized_function<std::string(const foobar_args&)> render_;
};
}  // namespace memotest

TEST_CASE("memoize: memoized_function holds a wrapper as a member, copyable and movable",
          "[memoize][holder]") {
  gencache::cache cache;
  foobar2_calls = 0;
  profile_service service(cache);
  CHECK(service.render({.something = 3}) == "3-");
  CHECK(service.render({.something = 3}) == "3-");
  CHECK(foobar2_calls == 1);

  auto copy = service.function();  // copies share the wrapper
  CHECK(copy({.something = 3}) == "3-");
  CHECK(copy.stats().hits == 2);
  CHECK(copy.peek({.something = 3}) == "3-");
  CHECK_THAT(copy.describe({.something = 3}), Catch::Contains("profile:something=3"));
  cache.invalidate({"profile:something", 3});
  CHECK_FALSE(copy.peek({.something = 3}));
  CHECK(copy.refresh({.something = 3}) == "3-");
  CHECK(copy.invalidate({.something = 3}));
  copy.enable(false);
  CHECK_FALSE(service.function().enabled());

  std::vector<gencache::memoized_function<int(int)>> functions;
  functions.emplace_back(gencache::memoize(cache, &foobar, "g"));
  functions.emplace_back(gencache::memoize(cache, &foobar, "g"));  // another line: own scope
  foobar_calls = 0;
  CHECK(functions[0](4) == 8);
  CHECK(functions[1](4) == 8);
  CHECK(foobar_calls == 2);
  auto moved = std::move(functions[0]);
  CHECK(moved(4) == 8);
  CHECK(foobar_calls == 2);

  gencache::memoized_function<int(int)> empty;
  CHECK_FALSE(empty);
  CHECK_THROWS_AS(empty(1), std::bad_function_call);
}

TEST_CASE("memoize: memoized_function over a member function takes the object first",
          "[memoize][holder]") {
  gencache::cache cache;
  const portal p(100);
  gencache::memoized_function<int(const portal&, int)> score =
      gencache::memoize(cache, &portal::score, "g");
  CHECK(score(p, 1) == 101);
  CHECK(score(p, 1) == 101);
  CHECK(p.calls == 1);
}

TEST_CASE("memoize: one toggle switches several wrappers", "[memoize][options]") {
  gencache::cache cache;
  gencache::memoize_toggle caching;
  const gencache::memoize_options shared{.toggle = caching};
  gencache::memoized a(cache, &foobar, "g", shared);
  gencache::memoized b(cache, &foobar, "h", shared);
  gencache::memoized c(cache, &foobar, "h");  // not on the toggle
  foobar_calls = 0;
  CHECK(a(1) == 2);
  CHECK(b(1) == 2);
  CHECK(c(1) == 2);
  caching.enable(false);
  CHECK_FALSE(a.enabled());
  CHECK_FALSE(b.enabled());
  CHECK(c.enabled());
  CHECK(a(1) == 2);  // passes through
  CHECK(b(1) == 2);
  CHECK(c(1) == 2);  // a hit
  CHECK(foobar_calls == 5);
  caching.enable(true);
  CHECK(a(1) == 2);  // hits again
  CHECK(foobar_calls == 5);
  a.enable(false);  // its own switch still works alone
  CHECK_FALSE(a.enabled());
  CHECK(b.enabled());
}

namespace memotest {
struct page_call {
  std::uint64_t user;
  std::int16_t page;
  std::int16_t lang;
  std::int32_t size;
};
std::atomic<int> page_calls{0};
std::uint64_t page_value(const page_call& c) {
  ++page_calls;
  return c.user * 7 + static_cast<std::uint64_t>(c.page) * 3 + static_cast<std::uint64_t>(c.size);
}
}  // namespace memotest

namespace memotest {
// The memory cache, or the cache over a store chosen at run time holding one: memoized hits
// take the key-free path over both.
template <class Cache>
Cache memory_cache() {
  if constexpr (std::is_same_v<Cache, gencache::any_cache>) {
    return Cache(gencache::make_store("memory://"));
  } else {
    return Cache();
  }
}
}  // namespace memotest

TEMPLATE_TEST_CASE(
    "memoize: hits found by their fields follow every invalidation, over many generations",
    "[memoize][hit_path][g1]", gencache::cache, gencache::any_cache) {
  using memotest::page_call;
  auto cache = memotest::memory_cache<TestType>();
  gencache::memoized cached(cache, &memotest::page_value, "pages",
                            gencache::gen("pages:user", &page_call::user),
                            gencache::exclude(&page_call::lang));
  REQUIRE(cached.key_free_hits());
  // More users than the per-thread generation cache has slots, values past int64's range.
  std::vector<std::uint64_t> users;
  for (std::uint64_t u = 0; u < 1000; ++u) users.push_back(u);
  users.push_back(std::numeric_limits<std::uint64_t>::max());
  users.push_back(std::uint64_t{1} << 63);
  memotest::page_calls = 0;
  for (int round = 0; round < 3; ++round) {
    for (const std::uint64_t u : users) {
      const page_call c{u, static_cast<std::int16_t>(u % 5), static_cast<std::int16_t>(round), -3};
      REQUIRE(cached(c) == memotest::page_value(c));
    }
  }
  // Each call above computed once per user (round 0), and `lang` is excluded; page_value in
  // the REQUIRE counts once per call.
  CHECK(memotest::page_calls == static_cast<int>(users.size()) * 4);
  CHECK(cached.stats().hits == users.size() * 2);

  memotest::page_calls = 0;
  cache.invalidate({"pages:user", std::numeric_limits<std::uint64_t>::max()});
  cache.invalidate({"pages:user", 7});
  for (const std::uint64_t u : users) (void)cached({u, static_cast<std::int16_t>(u % 5), 0, -3});
  CHECK(memotest::page_calls == 2);  // only the two users invalidated
  CHECK(
      cached.invalidate({7, 2, 9, -3}));  // the entry just recomputed, found by the canonical path
  CHECK_FALSE(cached.peek({7, 2, 0, -3}));
  memotest::page_calls = 0;
  CHECK(cached({7, 2, 1, -3}) == 7 * 7 + 6 - 3);
  CHECK(memotest::page_calls == 1);

  cache.invalidate("pages");  // the plain generation drops them all
  memotest::page_calls = 0;
  for (const std::uint64_t u : users) (void)cached({u, static_cast<std::int16_t>(u % 5), 0, -3});
  CHECK(memotest::page_calls == static_cast<int>(users.size()));
  CHECK(cache.stats().errors == 0);
}

TEMPLATE_TEST_CASE(
    "memoize: call_many returns what single calls return, in order, with their effects",
    "[memoize][hit_path][call_many]", gencache::cache, gencache::any_cache) {
  std::atomic<int> computed{0};
  const auto score = [&](int user, int item) {
    ++computed;
    return user * 1000 + item;
  };
  auto cache = memotest::memory_cache<TestType>();
  gencache::memoized cached(cache, score, "scores", gencache::gen("scores:user", gencache::arg<0>));
  REQUIRE(cached.key_free_hits());
  std::vector<std::tuple<int, int>> calls;
  for (int i = 0; i < 100; ++i) calls.emplace_back(i % 40 % 7, i % 40);  // repeats in a batch
  const std::vector<int> first = cached.call_many(calls);
  REQUIRE(first.size() == calls.size());
  for (std::size_t i = 0; i < calls.size(); ++i) {
    CHECK(first[i] == std::get<0>(calls[i]) * 1000 + std::get<1>(calls[i]));
  }
  const int distinct = computed;
  CHECK(distinct == 40);
  CHECK(cached.stats().hits + cached.stats().misses == calls.size());

  cache.invalidate({"scores:user", 3});
  computed = 0;
  std::vector<int> again(calls.size());
  CHECK(cached.call_many(calls, again.begin()) == again.end());
  CHECK(again == first);
  int user3 = 0;
  for (int i = 0; i < 40; ++i) user3 += (i % 7 == 3) ? 1 : 0;
  CHECK(computed == user3);  // only user 3's entries were computed again

  // A one-parameter function takes its arguments as elements; a disabled wrapper computes.
  gencache::memoized twice(
      cache, [](long v) { return v * 2; }, "twice");
  CHECK(twice.call_many(std::vector<int>{1, 2, 3}) == std::vector<long>{2, 4, 6});
  CHECK(twice.call_many(std::vector<int>{3}) == std::vector<long>{6});
  CHECK(twice.stats().hits == 1);
  twice.enable(false);
  CHECK(twice.call_many(std::vector<int>{5}) == std::vector<long>{10});
  CHECK(twice.stats().hits == 1);
  CHECK(cached.call_many(std::vector<std::tuple<int, int>>{}).empty());
}

TEST_CASE(
    "memoize: call_many reads the counters its thread does not remember together, and follows "
    "their invalidation",
    "[memoize][hit_path][call_many][g1]") {
  // Each batch below runs on a fresh thread, which remembers no counter: every per-user
  // generation of every call is read in the batch's own pass (more users than the
  // per-thread generation cache has slots). A value read wrong makes hits misses (computed
  // counts them); a stale one returns an old version.
  constexpr int users = 3000;
  std::vector<int> version(users + 1, 0);
  std::atomic<int> computed{0};
  const auto score = [&](int user, int item) {
    ++computed;
    return user * 100'000 + item * 10 + version[static_cast<std::size_t>(user)];
  };
  gencache::cache cache;
  gencache::memoized cached(cache, score, "scores", gencache::gen("scores:user", gencache::arg<0>));
  std::vector<std::tuple<int, int>> calls;
  for (int u = 0; u < users; ++u) calls.emplace_back(u, u % 9);
  const auto expected = [&] {
    std::vector<int> out;
    for (const auto& [u, i] : calls) out.push_back(u * 100'000 + i * 10 + version[u]);
    return out;
  };
  const auto batch_on_a_fresh_thread = [&] {
    std::vector<int> got;
    std::thread([&] { got = cached.call_many(calls); }).join();
    return got;
  };
  for (const auto& [u, i] : calls) (void)cached(u, i);  // fills, on this thread
  REQUIRE(computed == users);

  computed = 0;
  CHECK(batch_on_a_fresh_thread() == expected());
  CHECK(computed == 0);

  for (int u = 0; u < users; u += 7) {
    ++version[static_cast<std::size_t>(u)];
    cache.invalidate({"scores:user", u});
  }
  calls.emplace_back(users, 1);  // a user whose counter the batch creates
  computed = 0;
  CHECK(batch_on_a_fresh_thread() == expected());
  CHECK(computed == (users + 6) / 7 + 1);
  computed = 0;
  CHECK(batch_on_a_fresh_thread() == expected());
  CHECK(computed == 0);
  CHECK(cache.stats().errors == 0);
}

TEST_CASE(
    "memoize: call_many from a second hostile review: a counter evicted or bumped while its "
    "batch runs is read again",
    "[memoize][call_many][g1]") {
  // Reported: a batch probed with the value its thread remembered for a counter that a later
  // pass of the same batch had evicted (creating another), and with a value bumped by an
  // earlier call of the batch; single calls in order recompute both.
  SECTION("evicted by a counter the batch creates") {
    int computes = 0;
    const auto score = [&](int user, int item) { return user * 1000 + item * 10 + ++computes; };
    gencache::cache cache(gencache::memory_store_options{.shards = 1, .max_generations = 1});
    gencache::memoized cached(cache, score, "scores",
                              gencache::gen("scores:user", gencache::arg<0>));
    CHECK(cached(1, 0) == 1001);  // user 1's counter, remembered by this thread
    // User 2's counter, created in the batch, evicts user 1's: its entries are lost.
    CHECK(cached.call_many(std::vector<std::tuple<int, int>>{{2, 0}, {1, 0}}) ==
          std::vector<int>{2002, 1003});
    CHECK(computes == 3);
  }
  SECTION("bumped by an earlier call of the batch") {
    gencache::cache cache;
    int version = 0;
    const auto page = [&](int user) {
      if (user == 0) {
        ++version;
        cache.invalidate({"pages:user", 5});
      }
      return user * 100 + (user == 5 ? version : 0);
    };
    gencache::memoized cached(cache, page, "pages", gencache::gen("pages:user", gencache::arg<0>));
    CHECK(cached(5) == 500);
    CHECK(cached.call_many(std::vector<int>{0, 5}) == std::vector<int>{0, 501});
    CHECK(cached(5) == 501);
  }
}

TEST_CASE("memoize: a value-based generation's invalidation reaches every spec length",
          "[memoize][hit_path][call_many][g1]") {
  // Reported: specs whose encoded id prefix was 41 to 55 bytes long (39 to 53 characters)
  // were read from an unfilled id template, a counter that invalidate() never bumped.
  for (std::size_t length = 1; length <= 80; ++length) {
    const std::string spec = std::string(length, 'a') + ":user";
    INFO("spec of " << spec.size() << " characters");
    gencache::cache cache;
    int computes = 0;
    gencache::memoized cached(
        cache, [&](int user) { return user * 1000 + ++computes; }, "per_length",
        gencache::gen(spec, gencache::arg<0>));
    CHECK(cached(1) == 1001);
    cache.invalidate({spec, 1});
    CHECK(cached(1) == 1002);
    cache.invalidate({spec, 1});
    CHECK(cached.call_many(std::vector<int>{1, 1}) == std::vector<int>{1003, 1003});
  }
}

TEST_CASE("memoize: call_many on a remote store makes single calls", "[memoize][call_many]") {
  gencache::remote_cache cache(
      std::make_shared<gencache::remote_store>(std::make_shared<test::fake_backend>()));
  gencache::memoized cached(
      cache, [](int v) { return v + 1; }, "inc");
  CHECK(cached.call_many(std::vector<int>{1, 2, 1}) == std::vector<int>{2, 3, 2});
  CHECK(cached.stats().hits == 1);
}

namespace memotest {
std::atomic<int> batch_runs{0};
int by_optional_user(std::optional<int> user, int item) {
  ++batch_runs;
  return *user * 100 + item;
}
gencache::memoize_toggle batch_toggle;
int switches_off_at_zero(int v) {
  ++batch_runs;
  if (v == 0) batch_toggle.enable(false);
  return v + 1;
}
int sum_pair(std::tuple<int, int> p) { return std::get<0>(p) + std::get<1>(p); }
}  // namespace memotest

TEST_CASE(
    "memoize: call_many from a hostile review: a failing key, a switch turned off "
    "mid-batch, a tuple parameter",
    "[memoize][call_many]") {
  gencache::cache cache;
  SECTION("the calls before one whose key cannot be built run before it throws") {
    gencache::memoized cached(cache, &memotest::by_optional_user, "opt",
                              gencache::gen("opt:user", gencache::arg<0>));
    memotest::batch_runs = 0;
    const std::vector<std::tuple<std::optional<int>, int>> calls = {{1, 1}, {std::nullopt, 2}};
    CHECK_THROWS_AS(cached.call_many(calls), std::invalid_argument);
    CHECK(memotest::batch_runs == 1);
    CHECK(cached.peek(1, 1) == 101);
  }
  SECTION("a call that turns the shared switch off stops the cache for the calls after it") {
    memotest::batch_toggle.enable(true);
    gencache::memoized cached(cache, &memotest::switches_off_at_zero,
                              gencache::memoize_options{.toggle = memotest::batch_toggle});
    CHECK(cached(5) == 6);
    memotest::batch_runs = 0;
    CHECK(cached.call_many(std::vector<int>{0, 5}) == std::vector<int>{1, 6});
    CHECK(memotest::batch_runs == 2);  // 5 passed through, as a single call would
    memotest::batch_toggle.enable(true);
  }
  SECTION("a one-parameter function of a tuple takes tuples as its arguments") {
    gencache::memoized cached(cache, &memotest::sum_pair);
    CHECK(cached.call_many(std::vector<std::tuple<int, int>>{{1, 2}, {3, 4}, {1, 2}}) ==
          std::vector<int>{3, 7, 3});
    CHECK(cached.stats().hits == 1);
  }
}

TEST_CASE("memoize: call_many while another thread clears the store reads no freed table",
          "[memoize][call_many][concurrency]") {
  // A hostile review found prefetch() reading a replaced, freed table outside a read
  // section (ASan: heap-use-after-free): this runs that race for a bounded time.
  gencache::cache cache(gencache::memory_store_options{.shards = 1});
  gencache::memoized cached(
      cache, [](int v) { return v * 3; }, "race");
  std::vector<int> calls(16);
  for (int i = 0; i < 16; ++i) calls[static_cast<std::size_t>(i)] = i;
  const bool all_right = test::within(std::chrono::seconds(600), "call_many against clear", [&] {
    std::atomic<bool> stop{false};
    std::atomic<bool> wrong{false};
    std::vector<std::thread> callers;
    for (int t = 0; t < 2; ++t) {
      callers.emplace_back([&] {
        while (!stop.load()) {
          const std::vector<int> got = cached.call_many(calls);
          for (int i = 0; i < 16; ++i) {
            if (got[static_cast<std::size_t>(i)] != i * 3) wrong = true;
          }
        }
      });
    }
    for (int i = 0; i < 3000; ++i) {
      cache.store().clear();
      (void)cache.store().flush();
    }
    stop = true;
    for (auto& t : callers) t.join();
    return !wrong.load();
  });
  CHECK(all_right);
}
