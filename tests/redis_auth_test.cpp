// Redis with credentials (AUTH, an ACL user) and over a unix socket, on a server of the
// test's own (support/server_process.hpp) started with `--requirepass`, an ACL user and a
// socket. Issue 30.
// GCC 12 takes designated-initializer temporaries of redis_options in this file for reading
// an uninitialized shared_ptr (the connection's clock); they are fully initialized. Before
// the includes: the warning is reported in the standard library's headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <gencache/any_store.hpp>
#include <gencache/redis_store.hpp>
#include <gencache/remote_cache.hpp>

#include "support/fake_server.hpp"
#include "support/scratch_dir.hpp"
#include "support/server_process.hpp"

namespace {

// The default user's password, and the ACL user's, with the characters a URL must escape.
constexpr const char* default_password = "gencache-Default-pw1";
constexpr const char* alice_password = "al/ice@pw:1";
constexpr const char* alice_password_in_url = "al%2Fice%40pw%3A1";

struct auth_server {
  test::scratch_dir dir;
  std::string socket = (dir.path / "redis.sock").string();
  test::server_process server{test::server_kind::redis,
                              {},
                              {"--requirepass", default_password, "--user", "alice", "on",
                               std::string(">") + alice_password, "~*", "&*", "+@all",
                               // The least an ACL user needs, as the user guide lists it.
                               "--user", "app", "on", ">app-pw", "~gc:*", "+info", "+script|load",
                               "+evalsha", "+get", "+set", "+mget", "+del", "+select", "+incr",
                               "+exists", "--unixsocket", socket, "--unixsocketperm", "700"}};
  [[nodiscard]] std::string address() const { return fmt::format("127.0.0.1:{}", server.port()); }
};

/// A round trip through the store: a value set, then read back.
void check_round_trip(const std::shared_ptr<gencache::remote_store>& store) {
  gencache::remote_cache cache(store);
  REQUIRE(cache.set({"g"}, 42, "answer").ok());
  CHECK(cache.get<int>({"g"}, "answer") == 42);
  CHECK(store->stats().errors == 0);
}

}  // namespace

TEST_CASE("redis auth: the default user's password, in the URL, the options, a variable or a file",
          "[remote][redis][auth]") {
  const auth_server s;
  SECTION("the URL") {
    check_round_trip(
        gencache::make_redis_store(fmt::format("redis://:{}@{}", default_password, s.address())));
  }
  SECTION("redis_options::password") {
    check_round_trip(gencache::make_redis_store(fmt::format("redis://{}", s.address()),
                                                {.password = default_password}));
  }
  SECTION("an environment variable") {
    REQUIRE(::setenv("GENCACHE_TEST_REDIS_PASSWORD", default_password, 1) == 0);
    check_round_trip(gencache::make_redis_store(fmt::format("redis://{}", s.address()),
                                                {.password_env = "GENCACHE_TEST_REDIS_PASSWORD"}));
    ::unsetenv("GENCACHE_TEST_REDIS_PASSWORD");
  }
  SECTION("a file, its trailing newline dropped") {
    const std::string file = (s.dir.path / "password").string();
    std::ofstream(file) << default_password << "\n";
    check_round_trip(gencache::make_redis_store(fmt::format("redis://{}", s.address()),
                                                {.password_file = file}));
  }
  SECTION("make_store, with the file named in the query") {
    const std::string file = (s.dir.path / "password").string();
    std::ofstream(file) << default_password;
    gencache::any_cache cache(
        gencache::make_store(fmt::format("redis://{}?password_file={}", s.address(), file)));
    REQUIRE(cache.set({"g"}, 7, "k").ok());
    CHECK(cache.get<int>({"g"}, "k") == 7);
  }
}

TEST_CASE("redis auth: an ACL user, its password percent-encoded in the URL",
          "[remote][redis][auth]") {
  const auth_server s;
  check_round_trip(gencache::make_redis_store(
      fmt::format("redis://alice:{}@{}", alice_password_in_url, s.address())));
  check_round_trip(gencache::make_redis_store(fmt::format("redis://{}", s.address()),
                                              {.username = "alice", .password = alice_password}));
}

TEST_CASE("redis auth: an ACL user with only the permissions the user guide lists",
          "[remote][redis][auth]") {
  const auth_server s;
  auto store = gencache::make_redis_store(fmt::format("redis://app:app-pw@{}/1", s.address()));
  gencache::remote_cache cache(store);
  REQUIRE(cache.set({"g", {"g:user_id", 7}}, 42, "answer").ok());
  CHECK(cache.get<int>({"g", {"g:user_id", 7}}, "answer") == 42);
  cache.invalidate({"g:user_id", 7});
  CHECK_FALSE(cache.get<int>({"g", {"g:user_id", 7}}, "answer"));
  CHECK(cache.erase({"g", {"g:user_id", 7}}, "answer") == false);
  CHECK(store->stats().errors == 0);
}

TEST_CASE("redis auth: a wrong or missing password is an error naming AUTH, never the password",
          "[remote][redis][auth][errors]") {
  const auth_server s;
  std::vector<gencache::status> heard;
  const gencache::remote_store_options hear{
      .on_error = [&](const gencache::status& e) { heard.push_back(e); }};
  std::string url;
  std::string says;
  SECTION("a wrong password") {
    url = fmt::format("redis://:Wrong-Secret-9@{}", s.address());
    says = "AUTH on redis://127.0.0.1";
  }
  SECTION("an ACL user's wrong password") {
    url = fmt::format("redis://alice:Wrong-Secret-9@{}", s.address());
    says = "AUTH as an ACL user on";
  }
  SECTION("no password") {
    url = fmt::format("redis://{}", s.address());
    says = "requires AUTH and no password was given";
  }
  INFO(url);
  auto store = gencache::make_redis_store(url, {}, hear);
  gencache::remote_cache cache(store);
  int computed = 0;
  // The cache falls back to computing, and counts the error.
  CHECK(cache.get_or_compute(
            {"g"}, [&] { return ++computed; }, "k") == 1);
  CHECK_FALSE(cache.set({"g"}, 5, "k").ok());
  REQUIRE_FALSE(heard.empty());
  CHECK(heard.front().code() == gencache::errc::connection);
  CHECK_THAT(heard.front().message(), Catch::Contains(says));
  if (says.starts_with("AUTH")) {
    CHECK_THAT(heard.front().message(),
               Catch::Contains("WRONGPASS (wrong user or password, or the user is disabled)"));
  }
  for (const gencache::status& e : heard) {
    CHECK_THAT(e.message(), !Catch::Contains("Wrong-Secret-9") && !Catch::Contains("alice"));
  }
  CHECK(store->stats().errors >= 2);
}

TEST_CASE("redis auth: a unix socket, by URL and through make_store", "[remote][redis][unix]") {
  const auth_server s;
  check_round_trip(
      gencache::make_redis_store(fmt::format("redis+unix://:{}@{}", default_password, s.socket)));
  const auto store = gencache::make_redis_store(fmt::format("redis+unix://{}?db=2", s.socket),
                                                {.password = default_password});
  CHECK(store->backend().location() == fmt::format("redis+unix://{}?db=2", s.socket));
  check_round_trip(store);
  gencache::any_cache cache(gencache::make_store(
      fmt::format("redis+unix://:{}@{}?db=3&pool_size=2", default_password, s.socket)));
  REQUIRE(cache.set({"g"}, 9, "k").ok());
  CHECK(cache.get<int>({"g"}, "k") == 9);
  // A socket nobody listens on: a counted connection error, not a crash.
  gencache::remote_cache gone(gencache::make_redis_store(
      fmt::format("redis+unix://{}", (s.dir.path / "nothing.sock").string())));
  CHECK_FALSE(gone.get<int>({"g"}, "k"));
}

TEST_CASE("redis auth: a server whose refusal echoes the password is quoted without it",
          "[remote][redis][auth][errors][hostile]") {
  // A proxy or an old server that does not know AUTH answers with the command's arguments
  // quoted, the password among them (as a real server did to a malformed AUTH during
  // development), or echoes it plainly.
  for (const std::string reply :
       {"-ERR unknown command 'AUTH', with args beginning with: 'Echoed-Secret-7' \r\n",
        "-ERR bad password Echoed-Secret-7 for default\r\n",
        // Cut, or quoted with backticks, as Redis 4-6 quote arguments.
        "-ERR unknown command `AUTH`, with args beginning with: `Echoed-Sec`, \r\n",
        "-NOPERM Echoed-Secret-7\r\n"}) {
    INFO(reply);
    test::fake_server echoing([&](test::wire& w) {
      while (w.read_redis_command()) {
        if (!w.send(reply)) return;
      }
    });
    std::vector<gencache::status> heard;
    gencache::remote_cache cache(gencache::make_redis_store(
        fmt::format("redis://:Echoed-Secret-7@127.0.0.1:{}", echoing.port()), {},
        {.on_error = [&](const gencache::status& e) { heard.push_back(e); }}));
    CHECK_FALSE(cache.get<int>({"g"}, "k"));
    REQUIRE_FALSE(heard.empty());
    CHECK_THAT(heard.front().message(), Catch::Contains("AUTH on") && Catch::Contains("refused"));
    for (const gencache::status& e : heard) {
      CHECK_THAT(e.message(), !Catch::Contains("Echoed-Sec"));
    }
  }
}
