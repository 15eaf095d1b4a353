// Compute and store race-free (contract G3): in one call with get_or_compute, or by hand:
// the key first, then the computation, then the set under that key. Built and run by CMake
// (ctest -R example_race_free).
#include <chrono>
#include <string>

#include <fmt/format.h>
#include <gencache/gencache.hpp>

double compute_price(int shop, const std::string& sku) {
  return shop * 0.5 + static_cast<double>(sku.size());
}

int main() {
  gencache::cache cache;
  const int shop = 7;
  const std::string sku = "lamp-42";

  // One call: generations read, then computed on a miss (once, however many threads miss).
  const double price = cache.get_or_compute(
      {"catalog", {"prices:shop_id", shop}}, gencache::expire_after{std::chrono::minutes(5)},
      [&] { return compute_price(shop, sku); }, sku);

  // By hand, for a computation that must not run under the cache's single flight.
  auto key = cache.key({"catalog", {"prices:shop_id", shop}}, "by hand");  // generations read
  auto value = compute_price(shop, sku);
  cache.set(key, value, std::chrono::minutes(5));

  fmt::print("cached: {} {}\n", price,
             cache.get<double>({"catalog", {"prices:shop_id", shop}}, "by hand").value());
}
