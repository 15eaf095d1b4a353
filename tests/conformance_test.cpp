// The behaviour every store must have, written once and instantiated per store: this
// binary's stores are test::store_fixtures (memory and a fake remote in gencache_tests, redis
// and memcached in their own binaries, against real servers). A store cannot drift from the
// contract without one of these failing.

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "support/stores.hpp"

using namespace std::chrono_literals;

namespace {

template <class Fixture>
auto make_cache() {
  return gencache::basic_cache<typename Fixture::store_type>(Fixture::make());
}

struct order {
  std::int64_t id;
  std::string customer;
  std::vector<double> amounts;
  std::optional<std::string> note;
  friend bool operator==(const order&, const order&) = default;
};

}  // namespace

TEMPLATE_LIST_TEST_CASE("store: string views, literals and char pointers are stored as strings",
                        "[conformance]", test::store_fixtures) {
  auto cache = make_cache<TestType>();
  {
    std::string text = "from a view";
    REQUIRE(cache.set({"g"}, std::string_view(text), "view").ok());
    text.assign(text.size(), 'x');  // the view's bytes change, then go away
  }
  REQUIRE(cache.set({"g"}, "a literal", "literal").ok());
  const char* pointer = "a pointer";
  REQUIRE(cache.set({"g"}, pointer, "pointer").ok());
  CHECK(cache.template get<std::string>({"g"}, "view") == "from a view");
  CHECK(cache.template get<std::string>({"g"}, "literal") == "a literal");
  CHECK(cache.template get<std::string>({"g"}, "pointer") == "a pointer");
  CHECK(cache.stats().errors == 0);
}

TEMPLATE_LIST_TEST_CASE("store: values round-trip with their types", "[conformance]",
                        test::store_fixtures) {
  auto cache = make_cache<TestType>();
  REQUIRE(cache.set({"g"}, 42, "int").ok());
  REQUIRE(cache.set({"g"}, std::string("héllo\0world", 12), "string").ok());
  REQUIRE(cache.set({"g"}, std::vector<std::string>{"a", "", "c"}, "vector").ok());
  REQUIRE(cache.set({"g"}, std::map<int, std::string>{{1, "one"}, {2, "two"}}, "map").ok());
  const order o{7, "ada", {1.5, -0.0}, std::nullopt};
  REQUIRE(cache.set({"g"}, o, "aggregate").ok());
  REQUIRE(cache.set({"g"}, "literal", "literal").ok());

  CHECK(cache.template get<int>({"g"}, "int") == 42);
  CHECK(cache.template get<std::string>({"g"}, "string") == std::string("héllo\0world", 12));
  CHECK(cache.template get<std::vector<std::string>>({"g"}, "vector") ==
        std::vector<std::string>{"a", "", "c"});
  CHECK(cache.template get<std::map<int, std::string>>({"g"}, "map") ==
        std::map<int, std::string>{{1, "one"}, {2, "two"}});
  CHECK(cache.template get<order>({"g"}, "aggregate") == o);
  CHECK(cache.template get<std::string>({"g"}, "literal") == "literal");
  CHECK(cache.stats().hits == 6);
  CHECK(cache.stats().errors == 0);
}

TEMPLATE_LIST_TEST_CASE("store: an absent key misses, and a cached empty value hits",
                        "[conformance]", test::store_fixtures) {
  auto cache = make_cache<TestType>();
  CHECK_FALSE(cache.template get<std::string>({"g"}, "absent"));
  CHECK(cache.stats().misses == 1);
  REQUIRE(cache.set({"g"}, std::optional<int>{}, "empty").ok());
  const auto hit = cache.template get<std::optional<int>>({"g"}, "empty");
  REQUIRE(hit.has_value());
  CHECK_FALSE(hit->has_value());
}

TEMPLATE_LIST_TEST_CASE("store: erase removes exactly one entry", "[conformance]",
                        test::store_fixtures) {
  auto cache = make_cache<TestType>();
  REQUIRE(cache.set({"g"}, 1, "a").ok());
  REQUIRE(cache.set({"g"}, 2, "b").ok());
  CHECK(cache.erase({"g"}, "a"));
  CHECK_FALSE(cache.erase({"g"}, "a"));
  CHECK_FALSE(cache.template get<int>({"g"}, "a"));
  CHECK(cache.template get<int>({"g"}, "b") == 2);
}

TEMPLATE_LIST_TEST_CASE("store: invalidating a generation hides its entries and only them",
                        "[conformance][g1]", test::store_fixtures) {
  auto cache = make_cache<TestType>();
  REQUIRE(cache.set({"nav", {"nav:user_id", 53}}, std::string("53's"), "header").ok());
  REQUIRE(cache.set({"nav", {"nav:user_id", 999}}, std::string("999's"), "header").ok());
  REQUIRE(cache.set({"footer"}, std::string("footer"), "footer").ok());

  cache.invalidate({"nav:user_id", 999});
  CHECK(cache.template get<std::string>({"nav", {"nav:user_id", 53}}, "header") == "53's");
  CHECK_FALSE(cache.template get<std::string>({"nav", {"nav:user_id", 999}}, "header"));
  // 53 given as another integer type is the same generation value.
  CHECK(cache.template get<std::string>({"nav", {"nav:user_id", std::int64_t{53}}}, "header") ==
        "53's");

  cache.invalidate("nav");
  CHECK_FALSE(cache.template get<std::string>({"nav", {"nav:user_id", 53}}, "header"));
  CHECK(cache.template get<std::string>({"footer"}, "footer") == "footer");
  CHECK(cache.stats().invalidations == 2);
}

TEMPLATE_LIST_TEST_CASE("store: generation values are never 0 or 1 and every bump is new",
                        "[conformance][g2]", test::store_fixtures) {
  auto cache = make_cache<TestType>();
  std::set<std::uint64_t> seen;
  const std::uint64_t first = cache.generation_value({"counter"});
  CHECK(first > 1);
  CHECK(cache.generation_value({"counter"}) == first);  // stable until bumped
  seen.insert(first);
  for (int i = 0; i < 20; ++i) {
    const std::uint64_t bumped = cache.invalidate({"counter"});
    CHECK(bumped > 1);
    CHECK(cache.generation_value({"counter"}) == bumped);
    CHECK(seen.insert(bumped).second);
  }
  CHECK(cache.generation_value({"other:id", 1}) > 1);
}

TEMPLATE_LIST_TEST_CASE("store: a value computed before an invalidation is never read after it",
                        "[conformance][g3]", test::store_fixtures) {
  auto cache = make_cache<TestType>();
  const auto key = cache.key({"project"}, "report");  // generations read now
  cache.invalidate("project");                        // the data changes meanwhile
  REQUIRE(cache.set(key, std::string("stale report")).ok());
  CHECK_FALSE(cache.template get<std::string>({"project"}, "report"));
  CHECK(cache.template get_at<std::string>(key) == "stale report");  // only under the old key
}

TEMPLATE_LIST_TEST_CASE("store: a value read as another type is a miss and an error",
                        "[conformance]", test::store_fixtures) {
  auto cache = make_cache<TestType>();
  REQUIRE(cache.set({"g"}, 42, "typed").ok());
  CHECK_FALSE(cache.template get<std::string>({"g"}, "typed"));
  CHECK_FALSE(cache.template get<long>({"g"}, "typed"));
  CHECK(cache.stats().errors == 2);
  CHECK(cache.template get<int>({"g"}, "typed") == 42);  // still there for the right type
}

TEMPLATE_LIST_TEST_CASE("store: binary, whitespace and oversized keys stay distinct",
                        "[conformance][keys]", test::store_fixtures) {
  auto cache = make_cache<TestType>();
  constexpr char raw[] = "\0\x01\xff key\twith\nspaces\r";
  const std::string binary(raw, sizeof raw - 1);
  const std::string long_a = std::string(600, 'x') + "a";
  const std::string long_b = std::string(600, 'x') + "b";  // differs past any key limit
  const std::vector<std::string> parts = {binary, long_a, long_b, " ", "%20", "#", ""};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    INFO("part " << i);
    REQUIRE(cache.set({"g", {"keys:id", parts[i]}}, static_cast<int>(i), parts[i]).ok());
  }
  for (std::size_t i = 0; i < parts.size(); ++i) {
    INFO("part " << i);
    CHECK(cache.template get<int>({"g", {"keys:id", parts[i]}}, parts[i]) == static_cast<int>(i));
  }
  cache.invalidate({"keys:id", long_a});
  CHECK_FALSE(cache.template get<int>({"g", {"keys:id", long_a}}, long_a));
  CHECK(cache.template get<int>({"g", {"keys:id", long_b}}, long_b) == 2);
}

TEMPLATE_LIST_TEST_CASE("store: a value over the store's limit is refused, nothing stored",
                        "[conformance][bad-input]", test::store_fixtures) {
  auto cache = make_cache<TestType>();
  REQUIRE(cache.set({"g"}, std::string("small"), "big").ok());
  const gencache::status s = cache.set({"g"}, std::string(TestType::max_value + 64, 'v'), "big");
  CHECK(s.code() == gencache::errc::too_large);
  CHECK_THAT(s.message(), Catch::Contains("bytes"));
  // The refused set leaves the old value or none, never a damaged one.
  const auto after = cache.template get<std::string>({"g"}, "big");
  CHECK((!after || *after == "small"));
}

TEMPLATE_LIST_TEST_CASE("store: ttls must be positive, and a value is readable within its ttl",
                        "[conformance][ttl][bad-input]", test::store_fixtures) {
  auto cache = make_cache<TestType>();
  const auto key = cache.key({"g"}, "ttl");
  CHECK_THROWS_WITH(cache.set(key, 1, 0ns), Catch::Contains("ttl must be positive"));
  CHECK_THROWS_WITH(cache.set(key, 1, -1s), Catch::Contains("ttl must be positive"));
  REQUIRE(cache.set(key, 7, 1h).ok());
  CHECK(cache.template get_at<int>(key) == 7);
}

TEMPLATE_LIST_TEST_CASE("store: ttls at and past the store's limits keep the value readable",
                        "[conformance][ttl][bad-input]", test::store_fixtures) {
  auto cache = make_cache<TestType>();
  constexpr auto day = std::chrono::hours(24);
  const std::pair<const char*, std::chrono::nanoseconds> ttls[] = {
      {"30 days - 1 s", 30 * day - 1s},
      {"30 days", 30 * day},
      {"30 days + 1 s", 30 * day + 1s},
      {"100 years", 100 * 365 * day},
      {"nanoseconds::max()", std::chrono::nanoseconds::max()},
  };
  for (const auto& [name, ttl] : ttls) {
    INFO(name);
    const auto key = cache.key({"g"}, "long ttl", name);
    REQUIRE(cache.set(key, 7, ttl).ok());
    CHECK(cache.template get_at<int>(key) == 7);
  }
}

TEMPLATE_LIST_TEST_CASE("store: peek reads without counting a hit or a miss", "[conformance]",
                        test::store_fixtures) {
  auto cache = make_cache<TestType>();
  const auto key = cache.key({"g"}, "peek");
  CHECK_FALSE(cache.template peek_at<int>(key));
  REQUIRE(cache.set(key, 5).ok());
  CHECK(cache.template peek_at<int>(key) == 5);
  CHECK(cache.stats().hits == 0);
  CHECK(cache.stats().misses == 0);
}

namespace {
int square_calls = 0;
int square(int user_id, int x) {
  ++square_calls;
  return user_id * 1000 + x * x;
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("store: memoized calls hit, miss and invalidate per value",
                        "[conformance][memoize]", test::store_fixtures) {
  auto cache = make_cache<TestType>();
  square_calls = 0;
  gencache::memoized cached(cache, &square, "project",
                            gencache::gen("square:user_id", gencache::arg<0>));
  CHECK(cached(53, 3) == 53'009);
  CHECK(cached(53, 3) == 53'009);
  CHECK(cached(999, 3) == 999'009);
  CHECK(square_calls == 2);
  CHECK(cached.peek(53, 3) == 53'009);
  CHECK_THAT(cached.describe(53, 3), Catch::Contains("square:user_id=53@"));

  cache.invalidate({"square:user_id", 53});
  CHECK(cached(53, 3) == 53'009);
  CHECK(cached(999, 3) == 999'009);
  CHECK(square_calls == 3);

  CHECK(cached.invalidate(999, 3));  // erases exactly that entry
  CHECK(cached(999, 3) == 999'009);
  CHECK(square_calls == 4);
  CHECK(cached.stats().hits == 2);
  CHECK(cached.stats().errors == 0);
}

TEMPLATE_LIST_TEST_CASE("store: a bound cache remembers its generations", "[conformance][bound]",
                        test::store_fixtures) {
  auto cache = make_cache<TestType>();
  gencache::basic_bound_cache nav(cache, {"nav", "nav:user_id"});
  REQUIRE(nav.set({{"user_id", 1}}, std::string("one"), "header").ok());
  REQUIRE(nav.set({{"user_id", 2}}, std::string("two"), "header").ok());
  nav.invalidate({{"user_id", 1}});
  CHECK_FALSE(nav.template get<std::string>({{"user_id", 1}}, "header"));
  CHECK(nav.template get<std::string>({{"user_id", 2}}, "header") == "two");
}

TEMPLATE_LIST_TEST_CASE("store: get_or_compute stores once under the generations it read",
                        "[conformance][compute]", test::store_fixtures) {
  auto cache = make_cache<TestType>();
  const std::string user = test::unique_prefix();  // a generation of this run alone
  int calls = 0;
  auto render = [&] {
    ++calls;
    return std::string("html");
  };
  CHECK(cache.get_or_compute({"g", {"nav:user", user}}, render, "header") == "html");
  CHECK(cache.get_or_compute({"g", {"nav:user", user}}, render, "header") == "html");
  CHECK(calls == 1);
  CHECK(cache.template get<std::string>({"g", {"nav:user", user}}, "header") == "html");
  cache.invalidate({"nav:user", user});
  CHECK(cache.get_or_compute({"g", {"nav:user", user}}, render, "header") == "html");
  CHECK(calls == 2);
  CHECK(cache.stats().errors == 0);
}
