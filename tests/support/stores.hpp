#pragma once
// Store fixtures for the behaviour suite that every store must pass (conformance_test.cpp).
// gencache_tests runs it over the memory store and a remote store on an in-process fake
// server (fake_remote_fixture), in every preset; redis_tests and memcached_tests
// (-DGENCACHE_TEST_REDIS / _MEMCACHED) over their real server, found through
// GENCACHE_REDIS_URL / GENCACHE_MEMCACHED_URL (remote_main.cpp skips the binary when it is
// unset), and Redis also through a sentinel (GENCACHE_REDIS_SENTINEL_URL). `store_fixtures` lists a
// binary's stores, `remote_fixture` its remote one. Each store gets a prefix of its own, so tests
// never see each other's entries on a shared server, even when ctest runs them in parallel.

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <string>
#include <tuple>

#include <fmt/format.h>
#include <unistd.h>

#include <gencache/any_store.hpp>
#include <gencache/gencache.hpp>

#include "support/fake_backend.hpp"

#ifdef GENCACHE_TEST_REDIS
#include <gencache/redis_store.hpp>
#endif
#ifdef GENCACHE_TEST_MEMCACHED
#include <gencache/memcached_store.hpp>
#endif

namespace test {

/// A prefix no other store of any test process uses.
inline std::string unique_prefix() {
  static std::atomic<int> next{0};
  return fmt::format("gct:{}:{}:{}:", ::getpid(), std::rand(), next++);
}

inline std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

struct memory_fixture {
  using store_type = gencache::memory_store;
  static constexpr const char* name = "memory";
  static constexpr std::size_t max_value = std::size_t{16} << 20;  // one shard's byte share
  static std::shared_ptr<store_type> make() {
    return std::make_shared<store_type>(
        gencache::memory_store_options{.max_bytes = std::size_t{64} << 20, .shards = 4});
  }
};

/// A remote store on an in-process fake server (support/fake_backend.hpp), shared by every
/// store the fixture makes, as a real server is.
struct fake_remote_fixture {
  using store_type = gencache::remote_store;
  static constexpr const char* name = "fake remote";
  static constexpr std::size_t max_value = std::size_t{4} << 20;
  static std::shared_ptr<fake_backend> server() {
    static const auto shared = std::make_shared<fake_backend>(250, max_value);
    return shared;
  }
  static std::shared_ptr<store_type> make(gencache::remote_store_options options = {}) {
    if (options.prefix == "gc:") options.prefix = unique_prefix();
    return std::make_shared<store_type>(server(), std::move(options));
  }
  static std::shared_ptr<gencache::remote_backend> make_backend() { return server(); }
  /// A store whose server fails every call.
  static std::shared_ptr<store_type> make_unreachable(gencache::remote_store_options options = {}) {
    auto down = std::make_shared<fake_backend>(250, max_value);
    down->fail_always(true);
    options.prefix = unique_prefix();
    return std::make_shared<store_type>(std::move(down), std::move(options));
  }
};

/// The store chosen at run time (any_store.hpp): over the memory store, from its URL...
struct any_memory_fixture {
  using store_type = gencache::any_store;
  static constexpr const char* name = "any: memory://";
  static constexpr std::size_t max_value = memory_fixture::max_value;
  static std::shared_ptr<store_type> make() {
    return gencache::make_store("memory://?max_bytes=64MiB&shards=4");
  }
};

/// ...and over a remote store on the fake server.
struct any_fake_remote_fixture {
  using store_type = gencache::any_store;
  static constexpr const char* name = "any: fake remote";
  static constexpr std::size_t max_value = fake_remote_fixture::max_value;
  static std::shared_ptr<store_type> make() {
    return std::make_shared<store_type>(fake_remote_fixture::make());
  }
};

#ifdef GENCACHE_TEST_REDIS
struct redis_fixture {
  using store_type = gencache::remote_store;
  static constexpr const char* name = "redis";
  static constexpr std::size_t max_value = std::size_t{4} << 20;
  static std::string url() { return env("GENCACHE_REDIS_URL"); }
  static std::shared_ptr<store_type> make(gencache::remote_store_options options = {}) {
    if (options.prefix == "gc:") options.prefix = unique_prefix();
    return gencache::make_redis_store(url(), {.max_value_size = max_value}, std::move(options));
  }
  static std::shared_ptr<gencache::remote_backend> make_backend() {
    return gencache::make_redis_backend(url(), {.max_value_size = max_value});
  }
  /// A store whose server refuses every connection (nothing listens on port 1).
  static std::shared_ptr<store_type> make_unreachable(gencache::remote_store_options options = {}) {
    return make_at("127.0.0.1:1", std::move(options));
  }
  /// A store on the server at `host_port`, with short timeouts.
  static std::shared_ptr<store_type> make_at(const std::string& host_port,
                                             gencache::remote_store_options options = {}) {
    options.prefix = unique_prefix();
    return gencache::make_redis_store(
        "redis://" + host_port,
        {.connection = {.connect_timeout = std::chrono::milliseconds(200),
                        .command_timeout = std::chrono::milliseconds(200)}},
        std::move(options));
  }
};
#endif

#ifdef GENCACHE_TEST_MEMCACHED
struct memcached_fixture {
  using store_type = gencache::remote_store;
  static constexpr const char* name = "memcached";
  static constexpr std::size_t max_value = gencache::memcached_default_max_value;
  static std::string url() { return env("GENCACHE_MEMCACHED_URL"); }
  static std::shared_ptr<store_type> make(gencache::remote_store_options options = {}) {
    if (options.prefix == "gc:") options.prefix = unique_prefix();
    return gencache::make_memcached_store(url(), {}, std::move(options));
  }
  static std::shared_ptr<gencache::remote_backend> make_backend() {
    return gencache::make_memcached_backend(url());
  }
  /// A store whose server refuses every connection (nothing listens on port 1).
  static std::shared_ptr<store_type> make_unreachable(gencache::remote_store_options options = {}) {
    return make_at("127.0.0.1:1", std::move(options));
  }
  /// A store on the server at `host_port`, with short timeouts.
  static std::shared_ptr<store_type> make_at(const std::string& host_port,
                                             gencache::remote_store_options options = {}) {
    options.prefix = unique_prefix();
    return gencache::make_memcached_store(
        "memcached://" + host_port,
        {.connection = {.connect_timeout = std::chrono::milliseconds(200),
                        .command_timeout = std::chrono::milliseconds(200)}},
        std::move(options));
  }
};
#endif

#ifdef GENCACHE_TEST_REDIS
/// The same Redis found through a sentinel (GENCACHE_REDIS_SENTINEL_URL, which
/// scripts/servers.sh sets): every suite over the store chosen from it runs through the
/// Sentinel path (asking, the role check, the failover listener). Without the variable,
/// the plain URL.
struct redis_sentinel_fixture : redis_fixture {
  static std::string url() {
    const std::string sentinel = env("GENCACHE_REDIS_SENTINEL_URL");
    return sentinel.empty() ? redis_fixture::url() : sentinel;
  }
};
#endif

/// A remote store's fixture, reached through the store chosen at run time from its URL
/// (the same server, a prefix of its own).
template <class Remote>
struct any_url_fixture {
  using store_type = gencache::any_store;
  static constexpr const char* name = "any: URL";
  static constexpr std::size_t max_value = Remote::max_value;
  static std::shared_ptr<store_type> make() {
    return gencache::make_store(
        fmt::format("{}?prefix={}&max_value_size={}", Remote::url(), unique_prefix(), max_value));
  }
};

#if defined(GENCACHE_TEST_REDIS)
using remote_fixture = redis_fixture;
using store_fixtures = std::tuple<redis_fixture, any_url_fixture<redis_fixture>,
                                  any_url_fixture<redis_sentinel_fixture>>;
#elif defined(GENCACHE_TEST_MEMCACHED)
using remote_fixture = memcached_fixture;
using store_fixtures = std::tuple<memcached_fixture, any_url_fixture<memcached_fixture>>;
#else
using remote_fixture = fake_remote_fixture;
using store_fixtures =
    std::tuple<memory_fixture, fake_remote_fixture, any_memory_fixture, any_fake_remote_fixture>;
#endif

}  // namespace test
