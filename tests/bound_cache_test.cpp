#include <memory>
#include <string>

#include <catch2/catch.hpp>
#include <gencache/gencache.hpp>

TEST_CASE("bound_cache: the seed's CustomUseGenCache, in C++", "[bound_cache][seed]") {
  gencache::cache cache;
  gencache::bound_cache custom(cache, {"customgenz:user_id", "customgenz:blog_id"});
  const int blog_id = 17;
  const int key = 20'000;

  CHECK_FALSE(custom.get<std::string>({{"blog_id", blog_id}, {"user_id", 123}}, key));
  REQUIRE(custom.set({{"blog_id", blog_id}, {"user_id", 123}}, std::string("first"), key).ok());
  CHECK(custom.get<std::string>({{"user_id", 123}, {"blog_id", blog_id}}, key) == "first");
  custom.invalidate({{"user_id", 123}});
  CHECK_FALSE(custom.get<std::string>({{"blog_id", blog_id}, {"user_id", 123}}, key));

  REQUIRE(custom.set({{"blog_id", blog_id}, {"user_id", 123}}, std::string("again"), key).ok());
  CHECK(custom.erase({{"blog_id", blog_id}, {"user_id", 123}}, key));
  CHECK_FALSE(custom.get<std::string>({{"blog_id", blog_id}, {"user_id", 123}}, key));
}

TEST_CASE("bound_cache: invalidating a subset reaches exactly the matching generation",
          "[bound_cache][g1]") {
  gencache::cache cache;
  gencache::bound_cache custom(cache, {"project", "customgenz:user_id", "customgenz:blog_id"});
  REQUIRE(custom.set({{"blog_id", 1}, {"user_id", 10}}, 110).ok());
  REQUIRE(custom.set({{"blog_id", 1}, {"user_id", 20}}, 120).ok());
  REQUIRE(custom.set({{"blog_id", 2}, {"user_id", 10}}, 210).ok());

  custom.invalidate({{"user_id", 10}});
  CHECK_FALSE(custom.get<int>({{"blog_id", 1}, {"user_id", 10}}));
  CHECK_FALSE(custom.get<int>({{"blog_id", 2}, {"user_id", 10}}));
  CHECK(custom.get<int>({{"blog_id", 1}, {"user_id", 20}}) == 120);

  custom.invalidate({{"blog_id", 1}});
  CHECK_FALSE(custom.get<int>({{"blog_id", 1}, {"user_id", 20}}));

  REQUIRE(custom.set({{"blog_id", 3}, {"user_id", 30}}, 330).ok());
  cache.invalidate("project");  // plain generations are invalidated through the cache
  CHECK_FALSE(custom.get<int>({{"blog_id", 3}, {"user_id", 30}}));
}

TEST_CASE("bound_cache: shares entries with the direct interface", "[bound_cache]") {
  gencache::cache cache;
  gencache::bound_cache custom(cache, {"nav", "nav_portal:user_id"});
  REQUIRE(custom.set({{"user_id", 53}}, std::string("<html>"), "header").ok());
  CHECK(cache.get<std::string>({"nav", {"nav_portal:user_id", 53}}, "header") == "<html>");
  CHECK(custom.key({{"user_id", 53}}, "header") ==
        cache.key({"nav", {"nav_portal:user_id", 53}}, "header"));
}

TEST_CASE("bound_cache: missing, unknown and empty values are errors", "[bound_cache][errors]") {
  gencache::cache cache;
  gencache::bound_cache custom(cache, {"customgenz:user_id", "customgenz:blog_id"});
  CHECK_THROWS_WITH(custom.get<int>({{"user_id", 1}}), Catch::Contains("no value for 'blog_id'"));
  CHECK_THROWS_WITH(custom.get<int>({{"user_id", 1}, {"blog_id", 2}, {"usr_id", 3}}),
                    Catch::Contains("'usr_id' is not the parameter"));
  CHECK_THROWS_WITH(custom.invalidate({{"usr_id", 1}}), Catch::Contains("'usr_id'"));
  CHECK_THROWS_AS(custom.invalidate({}), std::invalid_argument);
  CHECK_THROWS_WITH(gencache::bound_cache(cache, {"a:user_id", "a:user_id"}),
                    Catch::Contains("bound twice"));
  CHECK_THROWS_AS(gencache::bound_cache(cache, {"bad:"}), std::invalid_argument);
}

TEST_CASE("bound_cache: get_or_compute, peek and set with an expiry", "[bound_cache][compute]") {
  using namespace std::chrono_literals;
  auto time = std::make_shared<gencache::fake_clock>();
  gencache::cache cache(gencache::memory_store_options{.clock = time});
  gencache::bound_cache custom(cache, {"project", "customgenz:user_id"});
  int calls = 0;
  auto load = [&] {
    ++calls;
    return std::string("profile");
  };
  CHECK(custom.get_or_compute({{"user_id", 7}}, load, "profile") == "profile");
  CHECK(custom.get_or_compute({{"user_id", 7}}, load, "profile") == "profile");
  CHECK(calls == 1);
  CHECK(custom.peek<std::string>({{"user_id", 7}}, "profile") == "profile");
  CHECK_FALSE(custom.peek<std::string>({{"user_id", 8}}, "profile"));
  // The direct interface sees the same entry.
  CHECK(cache.get<std::string>({"project", {"customgenz:user_id", 7}}, "profile") == "profile");

  REQUIRE(custom.set({{"user_id", 9}}, std::string("v"), gencache::expire_after{5s}, "k").ok());
  CHECK(custom.get<std::string>({{"user_id", 9}}, "k") == "v");
  time->advance(6s);
  CHECK_FALSE(custom.get<std::string>({{"user_id", 9}}, "k"));
  CHECK(custom.get_or_compute({{"user_id", 9}}, gencache::expire_after{5s}, load, "k") ==
        "profile");
  CHECK(calls == 2);
}

TEST_CASE("bound_cache: invalidate_plain bumps a bound plain generation", "[bound_cache]") {
  gencache::cache cache;
  gencache::bound_cache custom(cache, {"project", "customgenz:user_id"});
  REQUIRE(custom.set({{"user_id", 1}}, 10, "k").ok());
  REQUIRE(custom.set({{"user_id", 2}}, 20, "k").ok());
  const auto before = cache.generation_value("project");
  CHECK(custom.invalidate_plain("project") != before);
  CHECK_FALSE(custom.get<int>({{"user_id", 1}}, "k"));  // every user's entries
  CHECK_FALSE(custom.get<int>({{"user_id", 2}}, "k"));
  CHECK_THROWS_WITH(custom.invalidate_plain("customgenz:user_id"),
                    Catch::Contains("value-based") && Catch::Contains("{\"user_id\", value}"));
  CHECK_THROWS_WITH(custom.invalidate_plain("other"), Catch::Contains("not bound"));
}

namespace {
struct post_query {
  int blog_id;
  int page;
};
}  // namespace

TEST_CASE("bound_cache: wrap caches a function under the bound generations (the seed's wrap)",
          "[bound_cache][wrap]") {
  gencache::cache cache;
  gencache::bound_cache custom(cache, {"project", "blogz:user_id", "blogz:blog_id"});
  int loads = 0;
  auto posts = custom.wrap(
      "blog.posts",
      [&](int user_id, const post_query& q) {
        ++loads;
        return user_id * 1000 + q.blog_id * 10 + q.page;
      },
      gencache::param("user_id", gencache::arg<0>),
      gencache::param("blog_id", &post_query::blog_id));

  CHECK(posts(7, post_query{3, 1}) == 7031);
  CHECK(posts(7, post_query{3, 1}) == 7031);
  CHECK(posts(7, post_query{3, 2}) == 7032);  // another argument, another entry
  CHECK(posts(8, post_query{3, 1}) == 8031);
  CHECK(loads == 3);

  custom.invalidate({{"user_id", 7}});  // user 7's entries only
  CHECK(posts(7, post_query{3, 1}) == 7031);
  CHECK(posts(8, post_query{3, 1}) == 8031);
  CHECK(loads == 4);

  cache.invalidate({"blogz:blog_id", 3});  // the direct interface reaches them too
  CHECK(posts(8, post_query{3, 1}) == 8031);
  CHECK(loads == 5);
  custom.invalidate_plain("project");
  CHECK(posts(8, post_query{3, 1}) == 8031);
  CHECK(loads == 6);

  // Two wrapped functions with the same arguments are kept apart by their names.
  auto other = custom.wrap(
      "blog.count", [](int, const post_query&) { return -1; },
      gencache::param("user_id", gencache::arg<0>),
      gencache::param("blog_id", &post_query::blog_id));
  CHECK(other(8, post_query{3, 1}) == -1);
  const auto copy = posts;  // copies share the cache
  CHECK(copy(8, post_query{3, 1}) == 8031);
  CHECK(loads == 6);
}

TEST_CASE("bound_cache: wrap needs exactly one source per bound parameter",
          "[bound_cache][wrap][bad-input]") {
  gencache::cache cache;
  gencache::bound_cache custom(cache, {"project", "blogz:user_id"});
  const auto f = [](int user) { return user; };
  CHECK_THROWS_WITH(custom.wrap("f", f), Catch::Contains("gencache::param(\"user_id\", ...)"));
  CHECK_THROWS_WITH(custom.wrap("f", f, gencache::param("user_id", gencache::arg<0>),
                                gencache::param("user_id", gencache::arg<0>)),
                    Catch::Contains("exactly one"));
  CHECK_THROWS_WITH(custom.wrap("f", f, gencache::param("user_id", gencache::arg<0>),
                                gencache::param("blog_id", gencache::arg<0>)),
                    Catch::Contains("'blog_id' is not the parameter of any bound generation"));
}
