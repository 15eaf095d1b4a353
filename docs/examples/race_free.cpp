// Compute and store race-free (contract G3): the key first, then the computation, then
// the set under that key. Built and run by CMake (ctest -R example_race_free).
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

  auto key = cache.key({"catalog", {"prices:shop_id", shop}}, sku);  // generations read here
  auto value = compute_price(shop, sku);
  cache.set(key, value, std::chrono::minutes(5));

  fmt::print("cached: {}\n", cache.get<double>({"catalog", {"prices:shop_id", shop}}, sku).value());
}
