// Remote stores: two processes of a fleet sharing entries and invalidations through Redis,
// and what a server that is not there does. Built and run by CMake (ctest -R example_remote)
// against the server in GENCACHE_REDIS_URL, e.g. redis://127.0.0.1:6379; skipped without.
#include <gencache/memoize.hpp>
#include <gencache/redis_store.hpp>  // no memory store: links gencache::redis only

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <string>

int renders = 0;
std::string render_nav(int user_id) {
  ++renders;
  return fmt::format("<nav user={}>", user_id);
}

int main() {
  using namespace std::chrono_literals;
  const char* url = std::getenv("GENCACHE_REDIS_URL");
  if (url == nullptr) {
    fmt::print("SKIPPED: set GENCACHE_REDIS_URL to run this example\n");
    return 77;
  }
  // Backend options: timeouts and pool. Store options: the prefix that keeps applications
  // on one server apart (unique here, so that every run starts empty).
  const gencache::redis_options redis{
      .connection = {.connect_timeout = 100ms, .command_timeout = 100ms}};
  const std::string prefix =
      fmt::format("example-{}:", std::chrono::steady_clock::now().time_since_epoch().count());

  // Two stores on one server stand for two processes.
  gencache::remote_cache web(gencache::make_redis_store(url, redis, {.prefix = prefix}));
  gencache::remote_cache worker(gencache::make_redis_store(url, redis, {.prefix = prefix}));

  gencache::memoized nav(web, &render_nav, gencache::gen("nav:user_id", gencache::arg<0>));
  nav(42);                                 // computed, stored on the server
  nav(42);                                 // a hit: one round trip
  worker.invalidate({"nav:user_id", 42});  // the other process invalidates user 42
  fmt::print("{}\n", nav(42));             // computed again
  fmt::print("renders {} hits {} misses {} errors {}\n", renders, web.stats().hits,
             web.stats().misses, web.stats().errors);

  // A server that is not there: every call computes the value and counts an error; no
  // exception, no wait past the connect timeout. Only an invalidation throws.
  gencache::remote_cache down(gencache::make_redis_store("redis://127.0.0.1:1", redis));
  gencache::memoized nav_down(down, &render_nav, gencache::gen("nav:user_id", gencache::arg<0>));
  const std::string computed = nav_down(7);
  fmt::print("{} (errors: {})\n", computed, down.stats().errors);
  try {
    down.invalidate({"nav:user_id", 7});
  } catch (const gencache::store_error& e) {
    fmt::print("invalidate: {}\n", e.what());
  }
  return renders == 3 && web.stats().errors == 0 && down.stats().errors > 0 ? 0 : 1;
}
