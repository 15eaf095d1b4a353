// Choosing the store at run time: one cache type, whose store comes from configuration (here
// the environment variable GENCACHE_STORE_URL), so development runs in process and
// production on Redis or memcached without recompiling. Built and run by CMake
// (ctest -R example_runtime_store), on the memory store unless the variable is set.
#include <gencache/any_store.hpp>  // links gencache::any

#include <fmt/format.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

struct nav_args {
  int user_id = 0;
  int page = 1;  // a default argument, as a default member initializer
};

std::string render_nav(const nav_args& a) {
  return fmt::format("<nav user={} page={}>", a.user_id, a.page);
}

// A service that holds its cache and a memoized function as members: no store type in sight.
class nav_service {
 public:
  explicit nav_service(gencache::any_cache cache)
      : cache_(std::move(cache)),
        nav_(gencache::memoize(cache_, &render_nav,
                               gencache::gen("nav:user_id", &nav_args::user_id))) {}

  std::string nav(int user_id) { return nav_({.user_id = user_id}); }
  void user_changed(int user_id) { cache_.invalidate({"nav:user_id", user_id}); }
  [[nodiscard]] gencache::memoize_stats stats() const { return nav_.stats(); }

 private:
  gencache::any_cache cache_;
  gencache::memoized_function<std::string(const nav_args&)> nav_;
};

int main() {
  const char* configured = std::getenv("GENCACHE_STORE_URL");
  const std::string url = configured != nullptr ? configured : "memory://?max_entries=100000";
  std::shared_ptr<gencache::any_store> store;
  try {
    store = gencache::make_store(url);
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "{}\n", e.what());  // names the bad part, never a password
    return 2;
  }
  nav_service service{gencache::any_cache(store)};
  service.nav(53);
  fmt::print("{}\n", service.nav(53));  // a hit
  try {
    service.user_changed(53);
  } catch (const gencache::store_error& e) {  // a remote store that did not confirm it
    fmt::print(stderr, "retry later: {}\n", e.what());
  }
  fmt::print("{}\n", service.nav(53));  // computed again
  const auto s = service.stats();
  fmt::print("hits {} misses {}\n", s.hits, s.misses);

  try {
    (void)gencache::make_store("memory://?max_entries=lots");
  } catch (const std::invalid_argument& e) {
    fmt::print("bad URL: {}\n", e.what());
  }
}
