#include <memory>
#include <optional>
#include <set>
#include <string>

#include <catch2/catch.hpp>
#include <gencache/gencache.hpp>

using namespace std::chrono_literals;

TEST_CASE("cache: the seed's direct methods, in C++", "[cache][seed]") {
  // html = gen_cache.get(('nav', 'nav_portal:user_id'), user_id=1)
  // gen_cache.set('<html>', ('nav', 'nav_portal:user_id'), user_id=1)
  // gen_cache.invalidate(('nav', 'nav_portal:user_id'), user_id=1)
  gencache::cache cache;
  CHECK_FALSE(cache.get<std::string>({"nav", {"nav_portal:user_id", 1}}));
  REQUIRE(cache.set({"nav", {"nav_portal:user_id", 1}}, std::string("<html>")).ok());
  CHECK(cache.get<std::string>({"nav", {"nav_portal:user_id", 1}}) == "<html>");
  cache.invalidate({"nav_portal:user_id", 1});
  CHECK_FALSE(cache.get<std::string>({"nav", {"nav_portal:user_id", 1}}));
}

TEST_CASE("cache: get tells 'not cached' from a cached empty value", "[cache]") {
  gencache::cache cache;
  CHECK_FALSE(cache.get<std::string>({"g"}, "empty").has_value());
  REQUIRE(cache.set({"g"}, std::string(), "empty").ok());
  const auto hit = cache.get<std::string>({"g"}, "empty");
  REQUIRE(hit.has_value());
  CHECK(hit->empty());

  REQUIRE(cache.set({"g"}, std::optional<int>{}, "nothing").ok());
  const auto nothing = cache.get<std::optional<int>>({"g"}, "nothing");
  REQUIRE(nothing.has_value());       // cached ...
  CHECK_FALSE(nothing->has_value());  // ... and the cached value is empty
}

TEST_CASE("cache: invalidating a plain generation drops every key built with it", "[cache][g1]") {
  gencache::cache cache;
  for (int page = 0; page < 5; ++page) {
    REQUIRE(cache.set({"whatever", {"other:user_id", page}}, page, "page", page).ok());
  }
  REQUIRE(cache.set({"unrelated"}, 1, "page").ok());
  cache.invalidate("whatever");
  for (int page = 0; page < 5; ++page) {
    CHECK_FALSE(cache.get<int>({"whatever", {"other:user_id", page}}, "page", page));
  }
  CHECK(cache.get<int>({"unrelated"}, "page") == 1);
}

TEST_CASE("cache: invalidating one value of a value-based generation keeps the others",
          "[cache][g1]") {
  gencache::cache cache;
  REQUIRE(cache.set({"project", {"foo_per_user_id:user_id", 53}}, 53, "foobar").ok());
  REQUIRE(cache.set({"project", {"foo_per_user_id:user_id", 999}}, 999, "foobar").ok());
  cache.invalidate({"foo_per_user_id:user_id", 999});
  CHECK(cache.get<int>({"project", {"foo_per_user_id:user_id", 53}}, "foobar") == 53);
  CHECK_FALSE(cache.get<int>({"project", {"foo_per_user_id:user_id", 999}}, "foobar"));
  // Another generation with the same parameter name is another generation.
  REQUIRE(cache.set({{"bar_per_user_id:user_id", 53}}, 1).ok());
  cache.invalidate({"foo_per_user_id:user_id", 53});
  CHECK(cache.get<int>({{"bar_per_user_id:user_id", 53}}) == 1);
}

TEST_CASE("cache: keys with no parts, or no generations, are valid and distinct", "[cache]") {
  gencache::cache cache;
  REQUIRE(cache.set({"g"}, 1).ok());
  REQUIRE(cache.set({}, 2).ok());
  REQUIRE(cache.set({}, 3, "part").ok());
  CHECK(cache.get<int>({"g"}) == 1);
  CHECK(cache.get<int>({}) == 2);
  CHECK(cache.get<int>({}, "part") == 3);
  CHECK(cache.key({"g"}) != cache.key({}));
  CHECK(cache.key({"g", "h"}) != cache.key({"h", "g"}));
}

TEST_CASE("cache: erase removes exactly one entry", "[cache]") {
  gencache::cache cache;
  REQUIRE(cache.set({"g"}, 1, "a").ok());
  REQUIRE(cache.set({"g"}, 2, "b").ok());
  CHECK(cache.erase({"g"}, "a"));
  CHECK_FALSE(cache.erase({"g"}, "a"));
  CHECK_FALSE(cache.get<int>({"g"}, "a"));
  CHECK(cache.get<int>({"g"}, "b") == 2);
}

TEST_CASE("cache: direct keys never equal memoized keys", "[cache][key]") {
  gencache::cache cache;
  const auto direct = cache.key({"g"}, 1, "x");
  const gencache::generation_ref gens[] = {"g"};
  const auto memoized = gencache::detail::cache_access::make_key(
      cache, gencache::key_domain::memoized, "", gens, 1, "x");
  CHECK(direct.bytes().front() == 'D');
  CHECK(memoized.bytes().front() == 'M');
  CHECK(direct != memoized);
  CHECK(direct == gencache::detail::cache_access::make_key(cache, gencache::key_domain::direct, "",
                                                           gens, 1, "x"));
}

TEST_CASE("cache: a value computed before an invalidation is never read after it (G3)",
          "[cache][g3]") {
  gencache::cache cache;
  const auto key = cache.key({"catalog"}, "item", 7);  // generations read before computing
  cache.invalidate("catalog");                         // data changes meanwhile
  REQUIRE(cache.set(key, std::string("stale"), 1min).ok());
  CHECK_FALSE(cache.get<std::string>({"catalog"}, "item", 7));
  CHECK(cache.get_at<std::string>(key) == "stale");  // it landed under the old generation
  CHECK(key.generations().size() == 1);
  CHECK(key.generations()[0] != cache.generation_value("catalog"));
}

template <class Cache>
concept reads_prebuilt_keys_with_get = requires(Cache& c, const gencache::cache_key& k) {
  c.template get<int>(k);
};

TEST_CASE("cache: a prebuilt key is read with get_at, and get(key) does not compile (G1)",
          "[cache][g1]") {
  // A key names the generation values it was built under. Read as `get`, it would look like
  // a lookup that starts now and yet miss every invalidation since it was built.
  static_assert(!reads_prebuilt_keys_with_get<gencache::cache>);
  gencache::cache cache;
  const auto key = cache.key({"g"}, 1);
  REQUIRE(cache.set(key, 5).ok());
  cache.invalidate("g");
  CHECK_FALSE(cache.get<int>({"g"}, 1));  // a lookup after the invalidation
  CHECK(cache.get_at<int>(key) == 5);     // the key as built, as documented
}

TEST_CASE("cache: ttl on set, with an injected clock", "[cache][ttl]") {
  auto time = std::make_shared<gencache::fake_clock>();
  gencache::cache cache(gencache::memory_store_options{.clock = time});
  REQUIRE(cache.set(cache.key({"g"}, "k"), 5, 30s).ok());
  time->advance(29s);
  CHECK(cache.get<int>({"g"}, "k") == 5);
  time->advance(1s);
  CHECK_FALSE(cache.get<int>({"g"}, "k"));
  CHECK_THROWS_AS(cache.set(cache.key({"g"}, "k"), 5, 0s), std::invalid_argument);
}

TEST_CASE("cache: describe renders the key for people", "[cache][text]") {
  gencache::cache cache;
  const auto nav = cache.generation_value("nav");
  const auto user = cache.generation_value({"nav_portal:user_id", 53});
  CHECK(cache.describe({"nav", {"nav_portal:user_id", 53}}, "header", 2) ==
        fmt::format(R"(direct("header", 2) nav@{} nav_portal:user_id=53@{})", nav, user));
}

TEST_CASE("cache: copies share the store, and a null store is rejected", "[cache]") {
  gencache::cache a;
  gencache::cache b = a;
  REQUIRE(a.set({"g"}, 1).ok());
  CHECK(b.get<int>({"g"}) == 1);
  CHECK(&a.store() == &b.store());
  CHECK_THROWS_AS(gencache::cache(std::shared_ptr<gencache::memory_store>()),
                  std::invalid_argument);
}

TEST_CASE("cache: a key knows its structure, as split_cache_key reads it from the bytes",
          "[cache][key]") {
  gencache::cache cache;
  const gencache::generation_ref gens[] = {"g", {"per:user", 53}};
  const std::string long_scope(200, 's');  // a two-byte length prefix
  for (const std::string_view scope :
       {std::string_view(), std::string_view("scope"), std::string_view(long_scope)}) {
    const auto key = gencache::detail::cache_access::make_key(cache, gencache::key_domain::memoized,
                                                              scope, gens, 1, "x");
    const gencache::split_key known = key.split();
    const auto parsed = gencache::split_cache_key(key.bytes());
    REQUIRE(parsed);
    CHECK(known.domain == gencache::key_domain::memoized);
    CHECK(known.scope == scope);
    CHECK(known.scope == parsed->scope);
    CHECK(known.generation_count == 2);
    CHECK(known.generation_bytes == parsed->generation_bytes);
    CHECK(known.parts == parsed->parts);
    CHECK(known.generation(0) == key.generations()[0]);
    CHECK(known.identity(1) == gens[1].id().hash);
  }
}

TEST_CASE("cache: a key request resolves pinned, stored and unknown generations in one place",
          "[cache][key]") {
  gencache::cache cache;
  const auto project = cache.pin_generation("project");
  const gencache::generation_ref gens[] = {project, {"per:user", 7}};
  gencache::key_request request = gencache::detail::cache_access::make_request<gencache::cache>(
      gencache::key_domain::direct, {}, gens, "x");
  CHECK(request.generation_count() == 2);
  CHECK(request.pinned(0) == &project.counter());
  CHECK(request.pinned(1) == nullptr);
  CHECK_FALSE(request.key().resolved());  // placeholders until resolved
  const gencache::cache_key& key = gencache::detail::cache_access::resolve(cache, request);
  CHECK(key.resolved());
  CHECK(key == cache.key({project, {"per:user", 7}}, "x"));
  CHECK(key.generations()[0] == project.value());
  CHECK(key.generations()[1] == cache.generation_value({"per:user", 7}));
}

TEST_CASE("cache: get_or_compute computes once, stores, and honours G3", "[cache][compute]") {
  gencache::cache cache;
  int calls = 0;
  auto render = [&] {
    ++calls;
    return std::string("html");
  };
  CHECK(cache.get_or_compute({"nav", {"nav:user_id", 53}}, render, "header") == "html");
  CHECK(cache.get_or_compute({"nav", {"nav:user_id", 53}}, render, "header") == "html");
  CHECK(calls == 1);
  CHECK(cache.get<std::string>({"nav", {"nav:user_id", 53}}, "header") == "html");
  // The same entry as the direct set/get, and a new computation after an invalidation.
  cache.invalidate({"nav:user_id", 53});
  CHECK(cache.get_or_compute({"nav", {"nav:user_id", 53}}, render, "header") == "html");
  CHECK(calls == 2);

  // G3: a computation that races an invalidation stores under the generation it read.
  auto across = [&] {
    cache.invalidate("nav");  // lands while computing
    return std::string("old");
  };
  CHECK(cache.get_or_compute({"nav"}, across, "footer") == "old");
  CHECK_FALSE(cache.get<std::string>({"nav"}, "footer"));  // never read after the bump
}

TEST_CASE("cache: get_or_compute's exception is not stored, and expiry applies",
          "[cache][compute][ttl]") {
  auto time = std::make_shared<gencache::fake_clock>();
  gencache::cache cache(gencache::memory_store_options{.clock = time});
  CHECK_THROWS_WITH(cache.get_or_compute({"g"}, []() -> int { throw std::runtime_error("boom"); }),
                    "boom");
  CHECK_FALSE(cache.get<int>({"g"}));
  CHECK(cache.get_or_compute(
            {"g"}, gencache::expire_after{10s}, [] { return 7; }, "k") == 7);
  CHECK(cache.get<int>({"g"}, "k") == 7);
  time->advance(11s);
  CHECK_FALSE(cache.get<int>({"g"}, "k"));
  CHECK_THROWS_AS(cache.get_or_compute({"g"}, gencache::expire_after{0s}, [] { return 1; }),
                  std::invalid_argument);
}

TEST_CASE("cache: set with expire_after, which is never a key part", "[cache][ttl]") {
  auto time = std::make_shared<gencache::fake_clock>();
  gencache::cache cache(gencache::memory_store_options{.clock = time});
  REQUIRE(cache.set({"g"}, std::string("v"), gencache::expire_after{5s}, "k").ok());
  CHECK(cache.get<std::string>({"g"}, "k") == "v");  // the key has only "k"
  time->advance(6s);
  CHECK_FALSE(cache.get<std::string>({"g"}, "k"));
  // A duration given as a part stays a part.
  REQUIRE(cache.set({"g"}, std::string("w"), std::chrono::seconds(5)).ok());
  CHECK(cache.get<std::string>({"g"}, std::chrono::seconds(5)) == "w");
  CHECK_THROWS_AS(cache.set({"g"}, 1, gencache::expire_after{-1s}), std::invalid_argument);
}

TEST_CASE("cache: describe(key) renders a key built earlier, generations by identity and value",
          "[cache][key]") {
  gencache::cache cache;
  const auto key = cache.key({"nav", {"nav:user_id", 53}}, "header", 7);
  const std::string text = cache.describe(key);
  CHECK_THAT(text,
             Catch::Matches(R"(direct\("header", 7\) #[0-9a-f]{16}@[0-9]+ #[0-9a-f]{16}@[0-9]+)"));
  CHECK_THAT(text, Catch::Contains(fmt::format("@{}", key.generation(1))));
  CHECK(text == gencache::describe(key));
  // Other users' keys differ in the identity of their value-based generation.
  const auto other = cache.key({"nav", {"nav:user_id", 54}}, "header", 7);
  CHECK(cache.describe(other).substr(0, 40) == text.substr(0, 40));
  CHECK(cache.describe(other) != text);
  // A key with no generations and no parts.
  CHECK(cache.describe(cache.key({})) == "direct()");
}

TEST_CASE("cache_key: a raw memoized key's hash is the field-by-field hash the hit path computes",
          "[cache][hit_path]") {
  const std::string scope(16, '\x5a');
  for (const std::size_t argument_bytes : {0, 1, 3, 4, 7, 8, 9, 16, 17, 40}) {
    gencache::cache_key key(gencache::key_domain::memoized_raw, scope, 2);
    key.add_generation(0x1111, 0);
    key.add_generation(0x2222, 0);
    key.set_generation(0, 17);
    key.set_generation(1, 23);
    std::string arguments;
    for (std::size_t i = 0; i < argument_bytes; ++i) arguments += static_cast<char>(i * 37 + 1);
    key.append_with([&](auto& sink) { sink.raw(arguments.data(), arguments.size()); });
    key.finish();
    const gencache::cache_key head(gencache::key_domain::memoized_raw, scope, 2);
    std::uint64_t expected = gencache::hash_bytes(head.bytes());
    expected = gencache::detail::raw_key_hash_generation(expected, 0x1111, 17);
    expected = gencache::detail::raw_key_hash_generation(expected, 0x2222, 23);
    expected = gencache::detail::raw_key_hash_parts(expected, arguments.data(), arguments.size());
    CHECK(key.hash() == expected);
    // A direct key keeps XXH3 of its bytes.
    gencache::cache_key direct(gencache::key_domain::direct, {}, 0);
    direct.finish();
    CHECK(direct.hash() == gencache::hash_bytes(direct.bytes()));
  }
}

TEST_CASE("cache_key: chosen argument values cannot make raw keys' hashes alike",
          "[cache][hit_path]") {
  // A hostile review: with public constants, a last word equal to k0 ^ 16 zeroed one factor
  // of the fold, and every key of 16 argument bytes hashed alike (hash flooding). The
  // factors are salted per process now; the words below were that attack's.
  constexpr std::uint64_t old_k0 = 0xa0761d6478bd642fULL;
  constexpr std::uint64_t old_k1 = 0xe7037ed1a0b428dbULL;
  std::set<std::uint64_t> parts_hashes;
  std::set<std::uint64_t> generation_hashes;
  for (std::uint64_t first = 0; first < 1000; ++first) {
    const std::uint64_t words[2] = {first, old_k0 ^ 16};
    parts_hashes.insert(gencache::detail::raw_key_hash_parts(
        first * 7919, reinterpret_cast<const char*>(words), sizeof words));
    generation_hashes.insert(gencache::detail::raw_key_hash_generation(first, 1, old_k1));
  }
  CHECK(parts_hashes.size() == 1000);
  CHECK(generation_hashes.size() == 1000);
}
