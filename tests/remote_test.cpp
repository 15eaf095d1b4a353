// What only a shared server adds: several processes (here, several stores) on one server,
// names on the server, bytes that gencache did not write, and the local generation cache.
// Runs against test::remote_fixture: the real server in redis_tests and memcached_tests, an
// in-process fake one in gencache_tests (the tests that need a real server are left out there).

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "layout/layout.hpp"
#include "support/fake_server.hpp"
#include "support/stores.hpp"

using namespace std::chrono_literals;
using fixture = test::remote_fixture;

namespace {

gencache::key_view generation_id(const gencache::generation_ref& g) { return g.id(); }

int renders = 0;
std::string render(int user_id) {
  ++renders;
  return "page of " + std::to_string(user_id);
}

}  // namespace

TEST_CASE("remote: two caches over one server see each other's values and invalidations",
          "[remote][fleet]") {
  const std::string prefix = test::unique_prefix();
  gencache::remote_cache a(fixture::make({.prefix = prefix}));
  gencache::remote_cache b(fixture::make({.prefix = prefix}));

  REQUIRE(a.set({"nav", {"nav:user_id", 53}}, std::string("from a"), "header").ok());
  CHECK(b.get<std::string>({"nav", {"nav:user_id", 53}}, "header") == "from a");

  b.invalidate({"nav:user_id", 53});
  CHECK_FALSE(a.get<std::string>({"nav", {"nav:user_id", 53}}, "header"));

  // Memoized functions of two processes share entries too.
  renders = 0;
  gencache::memoized page_a(a, &render, gencache::gen("page:user_id", gencache::arg<0>),
                            gencache::memoize_options{.name = "render"});
  gencache::memoized page_b(b, &render, gencache::gen("page:user_id", gencache::arg<0>),
                            gencache::memoize_options{.name = "render"});
  CHECK(page_a(7) == "page of 7");
  CHECK(page_b(7) == "page of 7");
  CHECK(renders == 1);
  a.invalidate({"page:user_id", 7});
  CHECK(page_b(7) == "page of 7");
  CHECK(renders == 2);
}

TEST_CASE("remote: a deleted generation counter comes back with a new value (G2)", "[remote][g2]") {
  auto store = fixture::make();
  gencache::remote_cache cache(store);
  const gencache::generation_ref nav("nav");
  REQUIRE(cache.set({nav}, std::string("old"), "k").ok());
  const std::uint64_t before = cache.generation_value(nav);

  // Another client deletes the counter (or the server evicts it, or is flushed).
  REQUIRE(store->backend().erase(store->generation_key(generation_id(nav))).value());
  CHECK_FALSE(cache.get<std::string>({nav}, "k"));
  const std::uint64_t after = cache.generation_value(nav);
  CHECK(after != before);
  CHECK(after > 1);

  // The same with a bump racing the deletion: the bump recreates it fresh.
  REQUIRE(store->backend().erase(store->generation_key(generation_id(nav))).value());
  const std::uint64_t bumped = cache.invalidate(nav);
  CHECK(bumped != after);
  CHECK(bumped != after + 1);
}

TEST_CASE("remote: bytes gencache did not write are a miss and an error, never a value",
          "[remote][bad-input]") {
  auto store = fixture::make();
  gencache::remote_cache cache(store);
  const auto key = cache.key({"g"}, "victim");
  const std::string name = store->value_key(key.view()).value();
  REQUIRE(cache.set(key, std::string("good")).ok());
  const std::string good = store->backend().get(name).value().value();

  const std::vector<std::string> bad = {
      "",                                             // empty
      "hello, world",                                 // foreign
      good.substr(0, good.size() - 1),                // truncated
      good + "x",                                     // trailing garbage
      std::string(1, 'g') + std::string(40, '\xff'),  // a header that lies
  };
  std::uint64_t errors = cache.stats().errors;
  for (const std::string& bytes : bad) {
    INFO("stored bytes: " << bytes.size());
    REQUIRE(store->backend().set(name, bytes, std::nullopt).ok());
    CHECK_FALSE(cache.get_at<std::string>(key));
    CHECK(cache.stats().errors == ++errors);
  }
  // A corrupt generation counter is an error too, and nothing is served under it.
  const gencache::generation_ref g("g");
  REQUIRE(store->backend().set(store->generation_key(g.id()), "not a number", std::nullopt).ok());
  CHECK_FALSE(cache.get<std::string>({g}, "victim"));
  CHECK(cache.stats().errors > errors);
  CHECK(cache.set({g}, std::string("x"), "victim").code() != gencache::errc::ok);
}

TEST_CASE("remote: names on the server are readable and fit the server's limits",
          "[remote][keys]") {
  auto store = fixture::make({.prefix = "app:"});
  gencache::remote_cache cache(store);
  const auto key = cache.key({"nav", {"nav:user_id", 53}}, "header", 7);
  const std::string name = store->value_key(key.view()).value();
  CHECK(name.starts_with("app:D(\"header\",%207)#"));
  CHECK_THAT(name,
             Catch::Contains(fmt::format("@{}@{}", key.generations()[0], key.generations()[1])));
  const gencache::generation_ref user("nav:user_id", 53);
  CHECK(store->generation_key(user.id()).starts_with("app:g(\"nav:user_id\",%2053)#"));

  const std::string huge(5000, ' ');
  const auto long_key = cache.key({"a", "b", "c", "d"}, huge, std::string("\x01\x02", 2));
  const std::string long_name = store->value_key(long_key.view()).value();
  CHECK(long_name.size() <= store->backend().max_key_size());
  CHECK(std::none_of(long_name.begin(), long_name.end(),
                     [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }));
}

TEST_CASE("remote: a bad prefix or option is an exception at construction", "[remote][bad-input]") {
  CHECK_THROWS_WITH(fixture::make({.prefix = std::string(1000, 'p')}),
                    Catch::Contains("leaves no room"));
  CHECK_THROWS_WITH(fixture::make({.generation_cache_window = -1ms}),
                    Catch::Contains("must not be negative"));
  CHECK_THROWS_AS(gencache::remote_store(nullptr), std::invalid_argument);
}

#if defined(GENCACHE_TEST_REDIS) || defined(GENCACHE_TEST_MEMCACHED)
TEST_CASE("remote: zero or negative timeouts, pools and sizes are rejected, naming the option",
          "[remote][bad-input]") {
  const std::string url = fixture::url();
#ifdef GENCACHE_TEST_REDIS
  const auto make = [&](const gencache::redis_options& o) {
    return gencache::make_redis_store(url, o);
  };
  const std::string options = "redis_options::";
#else
  const auto make = [&](const gencache::memcached_options& o) {
    return gencache::make_memcached_store(url, o);
  };
  const std::string options = "memcached_options::";
#endif
  CHECK_THROWS_WITH(make({.connection = {.connect_timeout = 0ms}}),
                    Catch::Contains(options + "connection.connect_timeout"));
  CHECK_THROWS_WITH(
      make({.connection = {.command_timeout = -5ms}}),
      Catch::Contains(options + "connection.command_timeout") && Catch::Contains("-5ms"));
  // A timeout that would overflow a deadline ("no timeout") is refused, not undefined.
  CHECK_THROWS_WITH(make({.connection = {.command_timeout = std::chrono::milliseconds::max()}}),
                    Catch::Contains(options + "connection.command_timeout"));
  CHECK_THROWS_WITH(make({.connection = {.connect_timeout = std::chrono::hours(25)}}),
                    Catch::Contains("at most 24h"));
  CHECK_NOTHROW(make({.connection = {.command_timeout = std::chrono::hours(24)}}));
  CHECK_THROWS_WITH(make({.connection = {.retry_after = -1ms}}),
                    Catch::Contains(options + "connection.retry_after"));
  CHECK_THROWS_WITH(make({.connection = {.pool_size = 0}}),
                    Catch::Contains(options + "connection.pool_size"));
  CHECK_THROWS_WITH(make({.max_value_size = 0}), Catch::Contains(options + "max_value_size"));
  // Both back ends take the same rules: retry_after 0 means no fail-fast period (memcached
  // rejected it while Redis took it).
  CHECK_NOTHROW(make({.connection = {.retry_after = 0ms}}));
}

TEST_CASE("remote: max_value_size is bounded at construction, so its reply limit cannot wrap",
          "[remote][bad-input]") {
  const std::string url = fixture::url();
#ifdef GENCACHE_TEST_REDIS
  const auto make = [&](std::size_t size) {
    return gencache::make_redis_store(url, {.max_value_size = size});
  };
  const std::string message = "redis_options::max_value_size must be in [1, 512 MiB]";
  const std::size_t largest = std::size_t{512} << 20;
#else
  const auto make = [&](std::size_t size) {
    return gencache::make_memcached_store(url, {.max_value_size = size});
  };
  const std::string message = "memcached_options::max_value_size must be in [1, 1 GiB]";
  const std::size_t largest = std::size_t{1} << 30;  // memcached_largest_value
#endif
  for (const std::size_t size : {SIZE_MAX, SIZE_MAX - 1024, largest + 1}) {
    INFO(size);
    CHECK_THROWS_WITH(make(size),
                      Catch::Contains(message) && Catch::Contains(std::to_string(size)));
  }
  CHECK_NOTHROW(make(largest));
}
#endif

TEST_CASE("remote: the local generation cache is stale for at most its window",
          "[remote][window]") {
  const std::string prefix = test::unique_prefix();
  auto time = std::make_shared<gencache::fake_clock>();
  // Two processes: `reader` remembers generations for 100 ms, `writer` is strict.
  gencache::remote_cache reader(
      fixture::make({.prefix = prefix, .generation_cache_window = 100ms, .clock = time}));
  gencache::remote_cache writer(fixture::make({.prefix = prefix}));

  REQUIRE(writer.set({"nav"}, std::string("v1"), "k").ok());
  CHECK(reader.get<std::string>({"nav"}, "k") == "v1");  // reads and remembers "nav"
  writer.invalidate("nav");
  REQUIRE(writer.set({"nav"}, std::string("v2"), "k").ok());

  time->advance(99ms);  // within the window: the reader may still use the old generation
  CHECK(reader.get<std::string>({"nav"}, "k") == "v1");
  time->advance(1ms);  // the window has passed: it must see the invalidation
  CHECK(reader.get<std::string>({"nav"}, "k") == "v2");

  // The reader's own invalidations are seen at once, whatever the window.
  reader.invalidate("nav");
  CHECK_FALSE(reader.get<std::string>({"nav"}, "k"));
}

TEST_CASE("remote: a remembered generation is only a guess, checked in the same request",
          "[remote][fleet]") {
  const std::string prefix = test::unique_prefix();
  // `a` guesses from what it saw last; `b` invalidates behind its back; `strict` never
  // remembers anything.
  auto a_store = fixture::make({.prefix = prefix});
  gencache::remote_cache a(a_store);
  gencache::remote_cache b(fixture::make({.prefix = prefix}));
  gencache::remote_cache strict(fixture::make({.prefix = prefix, .generation_cache_size = 0}));

  REQUIRE(a.set({"nav", {"nav:user_id", 1}}, std::string("v1"), "k").ok());
  CHECK(a.get<std::string>({"nav", {"nav:user_id", 1}}, "k") == "v1");  // a right guess

  b.invalidate({"nav:user_id", 1});
  REQUIRE(b.set({"nav", {"nav:user_id", 1}}, std::string("v2"), "k").ok());
  CHECK(a.get<std::string>({"nav", {"nav:user_id", 1}}, "k") == "v2");  // a wrong guess
  CHECK(strict.get<std::string>({"nav", {"nav:user_id", 1}}, "k") == "v2");

  // A counter deleted behind a's back: the guess finds it missing, and the read recreates
  // it with a new value, under which nothing is stored yet (G2).
  REQUIRE(
      a_store->backend().erase(a_store->generation_key(generation_id({"nav:user_id", 1}))).value());
  CHECK_FALSE(a.get<std::string>({"nav", {"nav:user_id", 1}}, "k"));
  CHECK_FALSE(strict.get<std::string>({"nav", {"nav:user_id", 1}}, "k"));
  CHECK(a.stats().errors == 0);
}

// ---- G5: a value is only returned for the exact key it was stored under ------------------

TEST_CASE("remote: counters created in one request never make two users' keys meet (G5)",
          "[remote][g5]") {
  auto store = fixture::make();
  gencache::remote_cache cache(store);
  // One request creates both counters.
  CHECK_FALSE(cache.get<std::string>({{"user:id", 1}, {"user:id", 2}}, "both"));
  CHECK(cache.generation_value({"user:id", 1}) != cache.generation_value({"user:id", 2}));

  REQUIRE(cache.set({{"user:id", 1}}, std::string("profile of 1"), "profile").ok());
  CHECK_FALSE(cache.get<std::string>({{"user:id", 2}}, "profile"));
  CHECK(cache.get<std::string>({{"user:id", 1}}, "profile") == "profile of 1");

  // The same through memoized calls.
  gencache::memoized profile(
      cache, [](int user) { return "profile of " + std::to_string(user); },
      gencache::gen("member:id", gencache::arg<0>), gencache::memoize_options{.name = "profile"});
  CHECK_FALSE(cache.get<std::string>({{"member:id", 1}, {"member:id", 2}}, "both"));
  CHECK(profile(1) == "profile of 1");
  CHECK(profile(2) == "profile of 2");
  CHECK(profile(1) == "profile of 1");
}

TEST_CASE("remote: equal counter values of two generations never make their keys meet (G5)",
          "[remote][g5]") {
  auto store = fixture::make();
  gencache::remote_cache cache(store);
  const gencache::generation_ref one("user:id", 1);
  const gencache::generation_ref two("user:id", 2);
  // Two counters whose values lie one bump apart, as two counters created at about the
  // same time can: set on the server directly rather than by hundreds of invalidations.
  REQUIRE(store->backend().set(store->generation_key(one.id()), "1000", std::nullopt).ok());
  REQUIRE(store->backend().set(store->generation_key(two.id()), "999", std::nullopt).ok());
  REQUIRE(cache.generation_value(one) == 1000);
  REQUIRE(cache.set({one}, std::string("profile of 1"), "profile").ok());

  REQUIRE(cache.invalidate(two) == 1000);  // now both counters hold 1000
  CHECK_FALSE(cache.get<std::string>({two}, "profile"));
  CHECK_FALSE(cache.get<std::string>({{"user:id", 2}}, "profile"));
  CHECK(cache.get<std::string>({one}, "profile") == "profile of 1");

  // A plain and a value-based generation at the same value, in the same key position.
  const gencache::generation_ref plain("catalog");
  REQUIRE(store->backend().set(store->generation_key(plain.id()), "1000", std::nullopt).ok());
  CHECK_FALSE(cache.get<std::string>({plain}, "profile"));
}

TEST_CASE("remote: a value type whose layout changed is a counted miss, never a misread",
          "[remote][fingerprint]") {
  auto store = fixture::make();
  gencache::remote_cache cache(store);
  REQUIRE(layout::store_v1(cache, {.cents = 1999, .quantity = 3}, "price").ok());
  const auto v1 = layout::read_v1(cache, "price");
  REQUIRE(v1);
  CHECK((v1->cents == 1999 && v1->quantity == 3));

  const std::uint64_t errors = cache.stats().errors;
  CHECK_FALSE(layout::read_v2(cache, "price"));  // the fields were swapped in version 2
  CHECK(cache.stats().errors == errors + 1);

  // Memoized: version 2 computes its own result instead of misreading version 1's.
  const layout::price p{.cents = 250, .quantity = 7};
  const auto by_v1 = layout::memoized_v1(cache, p);
  CHECK((by_v1.cents == 250 && by_v1.quantity == 7));
  const auto by_v2 = layout::memoized_v2(cache, p);
  CHECK((by_v2.cents == 250 && by_v2.quantity == 7));
  CHECK(cache.stats().errors > errors + 1);
}

TEST_CASE("remote: on_error hears each failure, and a hook that throws changes nothing",
          "[remote][errors]") {
  std::vector<gencache::errc> seen;
  auto store = fixture::make({.on_error = [&](const gencache::status& s) {
    seen.push_back(s.code());
    throw std::runtime_error("a hook that throws");
  }});
  gencache::remote_cache cache(store);
  const auto key = cache.key({"g"}, "k");
  const auto name = store->value_key(key.view());
  REQUIRE(name);
  REQUIRE(store->backend().set(name.value(), "not a gencache value", std::nullopt).ok());
  CHECK_FALSE(cache.get<int>({"g"}, "k"));
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == gencache::errc::serialization);
  CHECK(cache.stats().errors == 1);
}

TEST_CASE("remote: a full generation cache forgets its guesses and stays correct",
          "[remote][generation_cache]") {
  gencache::remote_cache cache(fixture::make({.generation_cache_size = 2}));
  for (int round = 0; round < 3; ++round) {
    for (int user = 0; user < 5; ++user) {
      REQUIRE(cache.set({{"user:id", user}}, user * 10 + round, "v").ok());
    }
    for (int user = 0; user < 5; ++user) {
      CHECK(cache.get<int>({{"user:id", user}}, "v") == user * 10 + round);
    }
    cache.invalidate({"user:id", round});
    CHECK_FALSE(cache.get<int>({{"user:id", round}}, "v"));
  }
  CHECK(cache.stats().errors == 0);
}

#ifdef GENCACHE_TEST_REDIS
TEST_CASE("remote: a Redis URL's database number is used", "[remote][redis]") {
  const std::string prefix = test::unique_prefix();
  gencache::remote_cache db0(gencache::make_redis_store(fixture::url(), {}, {.prefix = prefix}));
  gencache::remote_cache db3(
      gencache::make_redis_store(fixture::url() + "/3", {}, {.prefix = prefix}));
  REQUIRE(db3.set({}, 3, "where").ok());
  REQUIRE(db0.set({}, 0, "where").ok());
  CHECK(db3.get<int>({}, "where") == 3);
  CHECK(db0.get<int>({}, "where") == 0);
}
#endif

TEST_CASE("remote: a key that names one new counter twice is stored and read back",
          "[remote][g5]") {
  gencache::remote_cache cache(fixture::make());
  // The first use creates the counter, in the request that names it twice.
  const auto key = cache.key({{"pair:user", 5}, {"pair:user", 5}}, "both");
  REQUIRE(key.resolved());
  CHECK(key.generations()[0] == key.generations()[1]);
  REQUIRE(cache.set(key, 1).ok());
  CHECK(cache.get<int>({{"pair:user", 5}, {"pair:user", 5}}, "both") == 1);
}

#if defined(GENCACHE_TEST_REDIS) || defined(GENCACHE_TEST_MEMCACHED)
TEST_CASE("remote: every kind of failure reaches on_error with its own errc", "[remote][errors]") {
  std::vector<gencache::errc> seen;
  const auto hear = [&](const gencache::status& s) { seen.push_back(s.code()); };
  auto store = fixture::make({.on_error = hear});
  gencache::remote_cache cache(store);

  // too_large: a value over the store's limit, refused before anything is sent.
  CHECK(cache.set({"g"}, std::string(fixture::max_value + 1, 'x'), "big").code() ==
        gencache::errc::too_large);
  // type_mismatch: a value read as another type.
  REQUIRE(cache.set({"g"}, 42, "int").ok());
  CHECK_FALSE(cache.get<std::string>({"g"}, "int"));
  // serialization: bytes gencache did not write.
  const auto key = cache.key({"g"}, "foreign");
  REQUIRE(store->backend().set(store->value_key(key.view()).value(), "foreign", std::nullopt).ok());
  CHECK_FALSE(cache.get<int>({"g"}, "foreign"));
  // protocol: a counter that holds something else.
  const gencache::generation_ref bad("bad");
  REQUIRE(store->backend().set(store->generation_key(bad.id()), "nonsense", std::nullopt).ok());
  CHECK_FALSE(cache.get<int>({bad}, "k"));
  // connection: a server that is not there.
  gencache::remote_cache gone(fixture::make_unreachable({.on_error = hear}));
  CHECK_FALSE(gone.get<int>({"g"}, "k"));
  // timeout: a server that accepts and never answers.
  test::fake_server silent([](test::wire& w) {
    while (w.read_exactly(1)) {
    }
  });
  gencache::remote_cache hung(
      fixture::make_at(fmt::format("127.0.0.1:{}", silent.port()), {.on_error = hear}));
  CHECK_FALSE(hung.get<int>({"g"}, "k"));

  using gencache::errc;
  for (const errc code : {errc::too_large, errc::type_mismatch, errc::serialization, errc::protocol,
                          errc::connection, errc::timeout}) {
    INFO("errc::" << gencache::to_string(code));
    CHECK(std::count(seen.begin(), seen.end(), code) >= 1);
  }
}
#endif

namespace {

/// A backend that counts the requests (round trips) made through it.
class counting_backend final : public gencache::remote_backend {
 public:
  explicit counting_backend(std::shared_ptr<gencache::remote_backend> inner)
      : inner_(std::move(inner)) {}
  int requests = 0;

  const std::string& location() const noexcept override { return inner_->location(); }
  std::size_t max_key_size() const noexcept override { return inner_->max_key_size(); }
  std::size_t max_value_size() const noexcept override { return inner_->max_value_size(); }
  gencache::result<std::optional<std::string>> get(std::string_view key) override {
    ++requests;
    return inner_->get(key);
  }
  gencache::status set(std::string_view key, std::string_view value,
                       std::optional<std::chrono::nanoseconds> ttl) override {
    ++requests;
    return inner_->set(key, value, ttl);
  }
  gencache::result<bool> erase(std::string_view key) override {
    ++requests;
    return inner_->erase(key);
  }
  gencache::status read_generations(std::span<const std::string> keys,
                                    std::span<const std::uint64_t> fresh,
                                    std::span<std::uint64_t> out) override {
    ++requests;
    return inner_->read_generations(keys, fresh, out);
  }
  gencache::result<std::uint64_t> bump_generation(std::string_view key,
                                                  std::uint64_t fresh) override {
    ++requests;
    return inner_->bump_generation(key, fresh);
  }
  gencache::result<std::optional<std::string>> get_current(
      std::span<const std::string> keys, std::span<const std::uint64_t> fresh,
      std::span<std::uint64_t> out, std::string_view value_key_base) override {
    ++requests;
    return inner_->get_current(keys, fresh, out, value_key_base);
  }
  gencache::result<guarded_value> get_if_current(std::span<const std::string> keys,
                                                 std::span<const std::uint64_t> expected,
                                                 std::string_view name) override {
    ++requests;
    return inner_->get_if_current(keys, expected, name);
  }

 private:
  std::shared_ptr<gencache::remote_backend> inner_;
};

}  // namespace

TEST_CASE("remote: a bound cache's get is one request, like the cache's", "[remote][bound]") {
  auto counter = std::make_shared<counting_backend>(fixture::make_backend());
  gencache::remote_cache cache(std::make_shared<gencache::remote_store>(
      counter, gencache::remote_store_options{.prefix = test::unique_prefix()}));
  gencache::basic_bound_cache nav(cache, {"nav", "nav:user_id"});
  REQUIRE(nav.set({{"user_id", 53}}, std::string("header"), "h").ok());
  REQUIRE(nav.get<std::string>({{"user_id", 53}}, "h") == "header");  // counters now known
  counter->requests = 0;
  CHECK(nav.get<std::string>({{"user_id", 53}}, "h") == "header");
  CHECK(counter->requests == 1);
  counter->requests = 0;
  CHECK(cache.get<std::string>({"nav", {"nav:user_id", 53}}, "h") == "header");
  CHECK(counter->requests == 1);
}

TEST_CASE("remote: through the store chosen at run time, gets stay one request", "[remote][any]") {
  auto counter = std::make_shared<counting_backend>(fixture::make_backend());
  gencache::any_cache cache(
      std::make_shared<gencache::any_store>(std::make_shared<gencache::remote_store>(
          counter, gencache::remote_store_options{.prefix = test::unique_prefix()})));
  gencache::basic_bound_cache nav(cache, {"nav", "nav:user_id"});
  REQUIRE(nav.set({{"user_id", 53}}, std::string("header"), "h").ok());
  REQUIRE(nav.get<std::string>({{"user_id", 53}}, "h") == "header");  // counters now known
  counter->requests = 0;
  CHECK(nav.get<std::string>({{"user_id", 53}}, "h") == "header");
  CHECK(cache.get<std::string>({"nav", {"nav:user_id", 53}}, "h") == "header");
  CHECK(counter->requests == 2);

  gencache::memoized page(
      cache, [](int user) { return user * 2; }, gencache::gen("page:user_id", gencache::arg<0>));
  REQUIRE(page(4) == 8);
  REQUIRE(page(4) == 8);
  counter->requests = 0;
  CHECK(page(4) == 8);
  CHECK(counter->requests == 1);
  CHECK(page.stats().hits == 2);
}

TEST_CASE("remote: get_or_compute on an unreachable server computes, returns, stores nothing",
          "[remote][compute][failure]") {
  gencache::remote_cache cache(test::remote_fixture::make_unreachable());
  int calls = 0;
  auto render = [&] {
    ++calls;
    return std::string("html");
  };
  CHECK(cache.get_or_compute({"g", {"nav:user", 1}}, render, "header") == "html");
  CHECK(cache.get_or_compute({"g", {"nav:user", 1}}, render, "header") == "html");
  CHECK(calls == 2);  // nothing could be stored, nor read
  CHECK(cache.stats().errors > 0);
}
