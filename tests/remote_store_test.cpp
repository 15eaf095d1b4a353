// remote_store's own failure handling, on an in-process fake server with injected faults
// (support/fake_backend.hpp): runs in every preset, no server needed. The same store against
// real servers, and servers that misbehave on the wire, are in remote_test.cpp, fault_test.cpp
// and hostile_test.cpp.

#include <memory>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include <gencache/remote_cache.hpp>

#include "support/stores.hpp"

namespace {

struct fake_cache {
  std::shared_ptr<test::fake_backend> server = std::make_shared<test::fake_backend>();
  std::shared_ptr<gencache::remote_store> store = make();
  gencache::remote_cache cache{store};

  std::shared_ptr<gencache::remote_store> make(gencache::remote_store_options options = {}) const {
    options.prefix = "t:";
    return std::make_shared<gencache::remote_store>(server, std::move(options));
  }
};

}  // namespace

TEST_CASE("fake remote: failed calls are counted misses and failed writes, then the store recovers",
          "[remote][faults]") {
  fake_cache f;
  auto& cache = f.cache;
  REQUIRE(cache.set({"nav"}, std::string("header"), "h").ok());

  f.server->fail_next(1);
  CHECK_FALSE(cache.get<std::string>({"nav"}, "h"));
  CHECK(cache.stats().errors == 1);
  CHECK(cache.get<std::string>({"nav"}, "h") == "header");

  f.server->fail_next(1, gencache::errc::timeout);
  CHECK(cache.set({"nav"}, std::string("other"), "h").code() != gencache::errc::ok);
  CHECK(cache.stats().errors == 2);
  CHECK(cache.get<std::string>({"nav"}, "h") == "header");  // the failed write changed nothing

  f.server->fail_next(1);
  CHECK_FALSE(cache.erase({"nav"}, "h"));
  CHECK(cache.stats().errors == 3);
  CHECK(cache.get<std::string>({"nav"}, "h") == "header");
}

TEST_CASE("fake remote: an invalidation the server did not confirm throws, and a retry holds (G6)",
          "[remote][faults][g6]") {
  fake_cache f;
  auto& cache = f.cache;
  const gencache::generation_ref user("nav:user_id", 53);
  REQUIRE(cache.set({"nav", user}, std::string("old"), "h").ok());

  f.server->fail_next(1);
  CHECK_THROWS_AS(cache.invalidate(user), gencache::store_error);
  // Not confirmed, and indeed not done: the old value is still the current one.
  CHECK(cache.get<std::string>({"nav", user}, "h") == "old");

  cache.invalidate(user);
  for (int i = 0; i < 3; ++i) {  // strict reads, then guesses: never the old value again
    CHECK_FALSE(cache.get<std::string>({"nav", user}, "h"));
  }
}

TEST_CASE("fake remote: while the server fails, get_or_compute computes and stores nothing",
          "[remote][faults][compute][g5]") {
  fake_cache f;
  auto& cache = f.cache;
  int computes = 0;
  const auto render = [&] { return "page " + std::to_string(++computes); };

  f.server->fail_always(true);
  CHECK(cache.get_or_compute({"page", {"page:user", 1}}, render, "p") == "page 1");
  CHECK(cache.get_or_compute({"page", {"page:user", 1}}, render, "p") == "page 2");
  const std::size_t calls_in_outage = f.server->calls();
  f.server->fail_always(false);

  // Nothing was written under the unknown generations: the first call after computes.
  CHECK(cache.get_or_compute({"page", {"page:user", 1}}, render, "p") == "page 3");
  CHECK(cache.get_or_compute({"page", {"page:user", 1}}, render, "p") == "page 3");
  CHECK(calls_in_outage == 2);  // one failed generation read per call, no write attempted
  CHECK(cache.stats().errors == 2);
}

TEST_CASE("fake remote: a forgotten counter loses its entries, on the strict and the guessing path",
          "[remote][faults][g2]") {
  fake_cache f;
  auto& cache = f.cache;
  const gencache::generation_ref nav("nav");
  REQUIRE(cache.set({nav}, std::string("old"), "h").ok());
  REQUIRE(cache.get<std::string>({nav}, "h") == "old");  // the counter is now remembered
  const std::uint64_t before = cache.generation_value(nav);

  REQUIRE(f.server->forget(f.store->generation_key(nav.id())));
  // The remembered value is only a guess; the server no longer holds it, so the read falls
  // back to creating the counter afresh and misses.
  CHECK_FALSE(cache.get<std::string>({nav}, "h"));
  const std::uint64_t after = cache.generation_value(nav);
  CHECK(after != before);
  CHECK(after != before + 1);
  CHECK(cache.stats().errors == 0);  // an evicted counter is not an error
}

TEST_CASE("fake remote: a corrupt value or counter is a counted miss, never a value",
          "[remote][faults][bad-input]") {
  fake_cache f;
  auto& cache = f.cache;
  const auto key = cache.key({"g"}, "k");
  REQUIRE(cache.set(key, std::string("value")).ok());
  REQUIRE(f.server->corrupt(f.store->value_key(key.view()).value()));
  CHECK_FALSE(cache.get_at<std::string>(key));
  CHECK(cache.stats().errors == 1);
  REQUIRE(cache.set(key, std::string("value")).ok());  // written again, read again
  CHECK(cache.get_at<std::string>(key) == "value");

  const gencache::generation_ref g("g");
  REQUIRE(f.server->corrupt(f.store->generation_key(g.id())));
  CHECK_FALSE(cache.get<std::string>({g}, "k"));
  CHECK(cache.stats().errors == 2);
  CHECK_THROWS_AS(cache.invalidate(g), gencache::store_error);
}

TEST_CASE(
    "fake remote: a read that fails between another process's invalidation and the next "
    "read serves nothing stale (G1)",
    "[remote][faults][g1]") {
  fake_cache f;
  gencache::remote_cache& reader = f.cache;
  gencache::remote_cache writer(f.make());
  const gencache::generation_ref user("u:id", 9);
  REQUIRE(writer.set({user}, std::string("old"), "k").ok());
  REQUIRE(reader.get<std::string>({user}, "k") == "old");  // reader now guesses its counter

  writer.invalidate(user);
  f.server->fail_next(1);
  CHECK_FALSE(reader.get<std::string>({user}, "k"));  // failed: a miss, not the old value
  CHECK_FALSE(reader.get<std::string>({user}, "k"));  // the guess is checked, and is stale
  REQUIRE(writer.set({user}, std::string("new"), "k").ok());
  CHECK(reader.get<std::string>({user}, "k") == "new");
  CHECK(reader.stats().errors == 1);
}
