#pragma once
// The memoized function of the single-thread comparison (docs/benchmarks.md), shared by the
// gencache case and the naive port's: 4096 calls over 64 users, in shuffled order.
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace bench {

inline constexpr int nav_keys = 4096;
inline constexpr int nav_users = 64;

struct nav_args {
  int user_id;
  int page;
};

inline std::uint64_t render_nav(const nav_args& a) {
  return static_cast<std::uint64_t>(a.user_id) * 1000 + static_cast<std::uint64_t>(a.page);
}

inline std::vector<nav_args> nav_calls() {
  std::vector<nav_args> v;
  for (int i = 0; i < nav_keys; ++i) v.push_back({i % nav_users, i / nav_users});
  std::shuffle(v.begin(), v.end(), std::mt19937(42));
  return v;
}

}  // namespace bench
