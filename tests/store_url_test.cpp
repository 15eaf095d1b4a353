// The URL parsers of each back end (redis_store.hpp, memcached_store.hpp) and the shared
// pieces in store_url.hpp; make_store's query options are in any_store_test.cpp.

// GCC 12 takes designated-initializer temporaries of redis_options in this file for reading
// an uninitialized shared_ptr (the connection's clock); they are fully initialized. Before
// the includes: the warning is reported in the standard library's headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <unistd.h>

#include <gencache/any_store.hpp>
#include <gencache/store_url.hpp>
#if GENCACHE_HAVE_REDIS
#include <gencache/redis_store.hpp>
#endif
#if GENCACHE_HAVE_MEMCACHED
#include <gencache/memcached_store.hpp>
#endif

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

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
      // Redis takes user information: these fail for another reason (the port, the
      // database, a query parameter password that is no option, a bad escape).
      "redis://alice:s3cretPW@127.0.0.1:65930",
      "redis://:s3cretPW@127.0.0.1:6593/x",
      "redis://alice:s3cretPW%zz@127.0.0.1",
      "redis+unix://alice:s3cretPW@relative/path",
      "redis-sentinel://alice:s3cretPW@h:0/m",
      "redis-sentinel://alice:s3cretPW@h/bad name",
      "redis://127.0.0.1:6593/0?password=s3cretPW",
      "redis://127.0.0.1:6593?user=alice&password=s3cretPW",
      "memcached://alice:s3cretPW@127.0.0.1:11211,127.0.0.1:11212",
      "memcached://127.0.0.1:11211?password=s3cretPW",
      "rediss://alice:s3cretPW@127.0.0.1",
      // A query before "://": it must not be quoted as the scheme (found by fuzzing).
      "x?password=s3cretPW://127.0.0.1",
      // Passwords pasted with '/', '?' or '@': user information ends at the last '@'.
      "redis://alice:s3cretPW/x+Y@127.0.0.1:0",
      "redis://alice:x?s3cretPW@127.0.0.1:6379/2x",
      "memcached://alice:s3cretPW/?@127.0.0.1:11211",
      "redis://alice@s3cretPW@bad host",
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
      if (url.starts_with("redis")) (void)parse_redis_url(url);
#endif
#if GENCACHE_HAVE_MEMCACHED
      if (url.starts_with("memcached://")) (void)parse_memcached_url(url);
#endif
      if (!url.starts_with("redis") && !url.starts_with("memcached://")) {
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
}

#if GENCACHE_HAVE_REDIS
TEST_CASE("store_url: Redis URLs carry a user and password, percent-decoded, and unix sockets",
          "[store_url][redis][auth]") {
  const redis_url acl = parse_redis_url("redis://alice:pa%2Fss%40w%3Ard@cache.internal:7000/3");
  CHECK(acl.server == server_address{"cache.internal", 7000});
  CHECK(acl.database == 3);
  CHECK(acl.username == "alice");
  CHECK(acl.password == "pa/ss@w:rd");
  // Unencoded '/', ':' and '@' in a password: the user information ends at the last '@'.
  const redis_url pasted = parse_redis_url("redis://:se/cr:et@x@127.0.0.1");
  CHECK(pasted.username.empty());
  CHECK(pasted.password == "se/cr:et@x");
  CHECK(pasted.server == server_address{"127.0.0.1", 6379});
  CHECK(parse_redis_url("redis://bob@h").username == "bob");
  CHECK(parse_redis_url("redis://bob@h").password.empty());
  const redis_url socket = parse_redis_url("redis+unix://:pw@/run/redis/redis.sock?db=2");
  CHECK(socket.socket_path == "/run/redis/redis.sock");
  CHECK(socket.database == 2);
  CHECK(socket.password == "pw");
  CHECK(socket.server.host.empty());
  CHECK(parse_redis_url("redis+unix:///tmp/r.sock").database == 0);
  CHECK_THROWS_WITH(parse_redis_url("redis://:@h"), Catch::Contains("empty password"));
  CHECK_THROWS_WITH(parse_redis_url("redis://@h"), Catch::Contains("no user and no password"));
  CHECK_THROWS_WITH(parse_redis_url("redis://:secret%4@h"), Catch::Contains("two hex digits"));
  CHECK_THROWS_WITH(parse_redis_url("redis://h?db=1"), Catch::Contains("query parameters"));
  CHECK_THROWS_WITH(parse_redis_url("redis+unix://relative.sock"),
                    Catch::Contains("absolute socket path"));
  CHECK_THROWS_WITH(parse_redis_url("redis+unix:///r.sock?timeout=1"),
                    Catch::Contains("one query parameter, db=N"));
  // An '@' in a query value never ends credentials: the query starts at the first '?'.
  CHECK_THROWS_WITH(parse_redis_url("redis://cache:6379?prefix=team@eu"),
                    Catch::Contains("an '@' after the first '?' is ambiguous"));
  CHECK_THROWS_WITH(make_store("redis://cache:6379?prefix=team@eu"),
                    Catch::Contains("an '@' after the first '?' is ambiguous"));
  CHECK(parse_redis_url("redis://:pa%3Fss@h").password == "pa?ss");
  CHECK_THROWS_WITH(parse_redis_url("redis+unix:///" + std::string(107, 's')),
                    Catch::Contains("over 107 bytes"));
  CHECK(parse_redis_url("redis+unix:///" + std::string(106, 's')).socket_path.size() == 107);
  CHECK_THROWS_WITH(parse_redis_url("redis+unix:///tmp/a\nb.sock"),
                    Catch::Contains("control character"));
  CHECK_THROWS_WITH(parse_redis_url("redis+unix:///r.sock?db=x"),
                    Catch::Contains("the db parameter is not a non-negative number"));
  CHECK_THROWS_WITH(parse_redis_url("redis+unix:///r.sock?db=1&pool_size=2"),
                    Catch::Contains("one query parameter, db=N"));
}

TEST_CASE("store_url: redis-sentinel:// names sentinels, a master and a database",
          "[store_url][redis][sentinel]") {
  const redis_url url =
      parse_redis_url("redis-sentinel://app:p%40ss@s1,10.0.0.2:26380,[::1]:5000/my-primary?db=3");
  CHECK(url.sentinels ==
        std::vector<server_address>{{"s1", 26379}, {"10.0.0.2", 26380}, {"::1", 5000}});
  CHECK(url.master_name == "my-primary");
  CHECK(url.database == 3);
  CHECK(url.username == "app");
  CHECK(url.password == "p@ss");
  CHECK(url.server.host.empty());
  CHECK(url.socket_path.empty());
  CHECK(parse_redis_url("redis-sentinel://h/m").database == 0);
  CHECK_THROWS_WITH(parse_redis_url("redis-sentinel://h"), Catch::Contains("'/master-name'"));
  CHECK_THROWS_WITH(parse_redis_url("redis-sentinel://h/"), Catch::Contains("the master name"));
  CHECK_THROWS_WITH(parse_redis_url("redis-sentinel://h/a b"), Catch::Contains("without spaces"));
  CHECK_THROWS_WITH(parse_redis_url("redis-sentinel://h/a/b"), Catch::Contains("the master name"));
  CHECK_THROWS_WITH(parse_redis_url("redis-sentinel://h/" + std::string(129, 'm')),
                    Catch::Contains("1 to 128"));
  CHECK(parse_redis_url("redis-sentinel://h/" + std::string(128, 'm')).master_name.size() == 128);
  CHECK_THROWS_WITH(parse_redis_url("redis-sentinel://h,/m"), Catch::Contains("empty host"));
  CHECK_THROWS_WITH(parse_redis_url("redis-sentinel://h:0/m"), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(parse_redis_url("redis-sentinel://h/m?db=x"),
                    Catch::Contains("the db parameter is not a non-negative number"));
  CHECK_THROWS_WITH(parse_redis_url("redis-sentinel://h/m?pool_size=2"),
                    Catch::Contains("redis-sentinel:// takes one query parameter, db=N"));
  std::string seventeen = "redis-sentinel://h";
  for (int i = 0; i < 16; ++i) seventeen += ",h";
  CHECK_THROWS_WITH(parse_redis_url(seventeen + "/m"), Catch::Contains("more than 16 sentinels"));
  // Where the store says it is: every sentinel, the master, the database; no credential.
  CHECK(make_redis_backend("redis-sentinel://u:s3cretPW@127.0.0.1,[::1]:5000/m?db=2")->location() ==
        "redis-sentinel://127.0.0.1:26379,[::1]:5000/m?db=2");
}

TEST_CASE("store_url: Redis credentials are given once, and a user needs a password",
          "[store_url][redis][auth]") {
  CHECK_THROWS_WITH(make_redis_backend("redis://:one@h", {.password = "two"}),
                    Catch::Contains("more than one way"));
  CHECK_THROWS_WITH(make_redis_backend("redis://h", {.password = "one", .password_env = "X"}),
                    Catch::Contains("more than one way"));
  CHECK_THROWS_WITH(make_redis_backend("redis://alice:one@h", {.username = "bob"}),
                    Catch::Contains("given twice"));
  CHECK_THROWS_WITH(make_redis_backend("redis://alice@h"), Catch::Contains("has no password"));
  CHECK_THROWS_WITH(
      make_redis_backend("redis://h", {.password_env = "GENCACHE_TEST_NO_SUCH_VARIABLE"}),
      Catch::Contains("password_env names is not set or empty"));
  CHECK_THROWS_WITH(make_redis_backend("redis://h", {.password_file = "/nonexistent/pw"}),
                    Catch::Contains("cannot open redis_options::password_file: No such file"));
  CHECK_THROWS_WITH(make_redis_backend("redis://h", {.password_file = "/dev/zero"}),
                    Catch::Contains("not a regular file"));
  {
    const std::string big = std::filesystem::temp_directory_path() /
                            ("gencache-test-big-password-" + std::to_string(::getpid()));
    std::ofstream(big) << std::string(5000, 'p');
    CHECK_THROWS_WITH(make_redis_backend("redis://h", {.password_file = big}),
                      Catch::Contains("longer than 4096 bytes"));
    std::ofstream(big) << "\n";
    CHECK_THROWS_WITH(make_redis_backend("redis://h", {.password_file = big}),
                      Catch::Contains("is empty"));
    std::filesystem::remove(big);
  }
  // Accepted: the same user twice; a password alone; a user with a password from options.
  CHECK(make_redis_backend("redis://alice:one@h", {.username = "alice"}));
  CHECK(make_redis_backend("redis://h", {.username = "alice", .password = "one"}));
  // Where the store says it is holds no credential.
  const auto backend = make_redis_backend("redis://alice:s3cretPW@127.0.0.1:6593/1");
  CHECK(backend->location() == "redis://127.0.0.1:6593/1");
  CHECK(make_redis_backend("redis+unix:///tmp/r.sock?db=4")->location() ==
        "redis+unix:///tmp/r.sock?db=4");
}
#endif
