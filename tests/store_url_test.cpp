// The URL parsers of each back end (redis_store.hpp, memcached_store.hpp) and the shared
// pieces in store_url.hpp; make_store's query options are in any_store_test.cpp.
#include <gencache/any_store.hpp>
#include <gencache/store_url.hpp>
#if GENCACHE_HAVE_REDIS
#include <gencache/redis_store.hpp>
#endif
#if GENCACHE_HAVE_MEMCACHED
#include <gencache/memcached_store.hpp>
#endif

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

using namespace gencache;

#if GENCACHE_HAVE_REDIS && GENCACHE_HAVE_MEMCACHED
TEST_CASE("store_url: redis and memcached URLs parse, with default ports", "[store_url]") {
  CHECK(parse_redis_url("redis://127.0.0.1:6390/2") == redis_url{{"127.0.0.1", 6390}, 2});
  CHECK(parse_redis_url("redis://cache.internal") == redis_url{{"cache.internal", 6379}, 0});
  CHECK(parse_redis_url("redis://[::1]:7000") == redis_url{{"::1", 7000}, 0});
  CHECK(parse_memcached_url("memcached://10.0.0.1:11290,10.0.0.2,[::1]:1") ==
        memcached_url{{{"10.0.0.1", 11290}, {"10.0.0.2", 11211}, {"::1", 1}}});
}

TEST_CASE("store_url: malformed URLs throw with the bad part named", "[store_url][errors]") {
  CHECK_THROWS_WITH(parse_redis_url("redis://h:70000"),
                    Catch::Contains("port 70000 is out of range"));
  CHECK_THROWS_WITH(parse_redis_url("redis://h:0"), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(parse_redis_url("redis://h:63x9"), Catch::Contains("'63x9' is not a number"));
  CHECK_THROWS_WITH(parse_redis_url("redis://h:"), Catch::Contains("is not a number"));
  CHECK_THROWS_WITH(parse_redis_url("redis://:6379"), Catch::Contains("empty host"));
  CHECK_THROWS_WITH(parse_redis_url("redis://h/-1"), Catch::Contains("database '-1'"));
  CHECK_THROWS_WITH(parse_redis_url("redis://h/x"), Catch::Contains("database 'x'"));
  CHECK_THROWS_WITH(parse_redis_url("redis://bad host"), Catch::Contains("not a host name"));
  CHECK_THROWS_WITH(parse_redis_url("redis://[::1"), Catch::Contains("unclosed '['"));
  CHECK_THROWS_WITH(parse_redis_url("redis://[zz]:1"), Catch::Contains("not an IPv6 address"));
  CHECK_THROWS_WITH(parse_memcached_url("memcached://a,,b"), Catch::Contains("empty host"));
  CHECK_THROWS_WITH(parse_memcached_url("memcached://"), Catch::Contains("empty host"));
  CHECK_THROWS_WITH(parse_redis_url("memcached://h"), Catch::Contains("starting 'redis://'"));
}

#endif

TEST_CASE("store_url: a URL without a known scheme names what is known", "[store_url][errors]") {
  CHECK_THROWS_WITH(make_store("mongodb://h"), Catch::Contains("unknown scheme 'mongodb'"));
  CHECK_THROWS_WITH(make_store("localhost:6379"), Catch::Contains("no scheme"));
}

TEST_CASE("store_url: no message repeats a password or user name", "[store_url][errors]") {
  const char* urls[] = {
      "redis://alice:s3cretPW@127.0.0.1:6593",
      "redis://:s3cretPW@127.0.0.1:6593/0",
      "redis://127.0.0.1:6593/0?password=s3cretPW",
      "redis://127.0.0.1:6593?user=alice&password=s3cretPW",
      "memcached://alice:s3cretPW@127.0.0.1:11211,127.0.0.1:11212",
      "memcached://127.0.0.1:11211?password=s3cretPW",
      "rediss://alice:s3cretPW@127.0.0.1",
      // A query before "://": it must not be quoted as the scheme (found by fuzzing).
      "x?password=s3cretPW://127.0.0.1",
      // Passwords pasted with '/', '?' or '@': user information ends at the last '@'.
      "redis://alice:s3cretPW/x+Y@127.0.0.1",
      "redis://alice:x?s3cretPW@127.0.0.1:6379/2",
      "memcached://alice:s3cretPW/?@127.0.0.1:11211",
      "redis://alice@s3cretPW@127.0.0.1",
  };
  const auto check_message = [](const std::string& message) {
    CHECK(message.find("s3cretPW") == std::string::npos);
    CHECK(message.find("alice") == std::string::npos);
  };
  for (const std::string url : urls) {
    INFO(url);
    try {
      (void)make_store(url);
      FAIL("make_store accepted it");
    } catch (const std::invalid_argument& e) {
      check_message(e.what());
    }
    // The back end's own parser refuses what it does not support, with those parts as ***.
    try {
#if GENCACHE_HAVE_REDIS
      if (url.starts_with("redis://")) (void)parse_redis_url(url);
#endif
#if GENCACHE_HAVE_MEMCACHED
      if (url.starts_with("memcached://")) (void)parse_memcached_url(url);
#endif
      if (!url.starts_with("redis://") && !url.starts_with("memcached://")) {
        detail::throw_unknown_scheme(url, "redis:// or memcached://");
      }
#if GENCACHE_HAVE_REDIS && GENCACHE_HAVE_MEMCACHED
      FAIL("the parser accepted it");
#endif
    } catch (const std::invalid_argument& e) {
      check_message(e.what());
      CHECK(std::string(e.what()).find("***") != std::string::npos);
    }
  }
#if GENCACHE_HAVE_REDIS
  CHECK_THROWS_WITH(parse_redis_url("redis://alice:s3cretPW@127.0.0.1"),
                    Catch::Contains("user information (user:password@) is not supported"));
#endif
}
