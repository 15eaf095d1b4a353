#pragma once
// Store fixtures for the behaviour suite that every store must pass (conformance_test.cpp).
// A test binary picks one with -DGENCACHE_STORE_FIXTURE=...; the remote ones find their
// server through GENCACHE_REDIS_URL / GENCACHE_MEMCACHED_URL (remote_main.cpp skips the
// binary when it is unset). Each store gets a prefix of its own, so tests never see each
// other's entries on a shared server, even when ctest runs them in parallel.

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <unistd.h>

#include <gencache/gencache.hpp>

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
    return gencache::make_redis_store("redis://" + host_port,
                                      {.connect_timeout = std::chrono::milliseconds(200),
                                       .command_timeout = std::chrono::milliseconds(200)},
                                      std::move(options));
  }
};
#endif

#ifdef GENCACHE_TEST_MEMCACHED
struct memcached_fixture {
  using store_type = gencache::remote_store;
  static constexpr const char* name = "memcached";
  static constexpr std::size_t max_value = gencache::memcached_options{}.max_value_size;
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
    return gencache::make_memcached_store("memcached://" + host_port,
                                          {.connect_timeout = std::chrono::milliseconds(200),
                                           .command_timeout = std::chrono::milliseconds(200)},
                                          std::move(options));
  }
};
#endif

}  // namespace test
