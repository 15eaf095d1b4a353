// The memoizing wrapper: the seed's @gen_cache.wrap in C++.
// Built and run by CMake (ctest -R example_memoize).
#include <gencache/gencache.hpp>

#include <fmt/format.h>

#include <chrono>
#include <string>

struct nav_args {
  int user_id;
  int page;
  std::string trace_id;  // does not change the result
};

std::string render_nav(const nav_args& a) {
  return fmt::format("<nav user={} page={}>", a.user_id, a.page);
}

int score(int user_id, int level) { return user_id * 10 + level; }

int main() {
  using namespace std::chrono_literals;
  gencache::cache cache;

  // Generations: a plain one, and one per user taken from the argument struct's field.
  // Every other argument (here: page) is part of the key; trace_id is excluded.
  gencache::memoized cached_nav(
      cache, &render_nav, "nav", gencache::gen("nav_portal:user_id", &nav_args::user_id),
      gencache::exclude(&nav_args::trace_id), gencache::memoize_options{.ttl = 10min});

  fmt::print("{}\n", cached_nav({.user_id = 53, .page = 1, .trace_id = "a"}));  // computes
  fmt::print("{}\n", cached_nav({.user_id = 53, .page = 1, .trace_id = "b"}));  // hit
  fmt::print("{}\n", cached_nav({.user_id = 999, .page = 1, .trace_id = "c"}));

  cache.invalidate({"nav_portal:user_id", 999});  // user 999 only
  fmt::print("user 53 still cached: {}\n", cached_nav.peek({53, 1, ""}).has_value());
  fmt::print("user 999 still cached: {}\n", cached_nav.peek({999, 1, ""}).has_value());

  // Positional: the generation's value is the first argument.
  gencache::memoized cached_score(cache, &score, "project",
                                  gencache::gen("scores:user_id", gencache::arg<0>),
                                  gencache::memoize_options{.name = "scores.v1"});
  fmt::print("score {} (key: {})\n", cached_score(7, 3), cached_score.describe(7, 3));
  cached_score.erase(7, 3);  // exactly that entry (the seed's name, invalidate, also works)

  const auto s = cached_nav.stats();
  fmt::print("nav: hits {} misses {} computes {} waits {}\n", s.hits, s.misses, s.computes,
             s.waits);
}
