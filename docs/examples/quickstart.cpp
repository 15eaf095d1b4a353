// The quickstart: the three calls of the direct interface and a bound cache.
// Built and run by CMake (ctest -R example_quickstart), so this file cannot rot.
#include <string>

#include <fmt/format.h>
#include <gencache/gencache.hpp>

std::string render_nav(int user_id) { return fmt::format("<nav user={}>", user_id); }

int main() {
  gencache::cache cache;  // in-process, sharded, bounded memory store (S3-FIFO eviction)

  // Direct interface: generations + key parts.
  for (int user_id : {53, 999, 53}) {
    auto key = cache.key({"nav", {"nav_portal:user_id", user_id}}, "header");
    auto html = cache.get_at<std::string>(key);
    if (!html) {
      html = render_nav(user_id);
      cache.set(key, *html, std::chrono::minutes(10));
    }
    fmt::print("user {}: {} ({})\n", user_id, *html,
               cache.describe({"nav", {"nav_portal:user_id", user_id}}, "header"));
  }
  cache.invalidate({"nav_portal:user_id", 999});  // only user 999's entries go
  fmt::print("after invalidating user 999: user 53 cached={}, user 999 cached={}\n",
             cache.get<std::string>({"nav", {"nav_portal:user_id", 53}}, "header").has_value(),
             cache.get<std::string>({"nav", {"nav_portal:user_id", 999}}, "header").has_value());

  // Bound cache: the generations are fixed once; callers pass values and key parts.
  gencache::bound_cache custom(cache, {"customgenz:user_id", "customgenz:blog_id"});
  custom.set({{"blog_id", 17}, {"user_id", 123}}, std::string("first"), 42);
  custom.invalidate({{"user_id", 123}});
  fmt::print("bound entry after invalidating user 123: {}\n",
             custom.get<std::string>({{"blog_id", 17}, {"user_id", 123}}, 42).value_or("(gone)"));

  const auto stats = cache.stats();
  fmt::print("hits {} misses {} sets {} invalidations {} entries {} bytes {}\n", stats.hits,
             stats.misses, stats.sets, stats.invalidations, stats.entries, stats.bytes);
}
