// Key parts: built-ins, aggregates (Boost.PFR) and a user type with private state.
// Built and run by CMake (ctest -R example_keys).
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <gencache/gencache.hpp>

namespace shop {

// An aggregate: keyed field by field, no code needed.
struct search {
  std::string text;
  std::vector<int> categories;
  std::optional<int> max_price;
};

// A class with private state: name the fields that make up its value, once. Keys, the
// remote stores' value codec and the memory store's weight all use them.
class customer {
 public:
  customer(int id, std::string region) : id_(id), region_(std::move(region)) {}
  int id() const { return id_; }
  const std::string& region() const { return region_; }

 private:
  friend auto gencache_fields(gencache::maybe_const<customer> auto& self) {
    return std::tie(self.id_, self.region_);
  }
  int id_;
  std::string region_;
};

}  // namespace shop

int main() {
  gencache::cache cache;
  const shop::search query{"lamp", {3, 7}, 120};
  const shop::customer alice(7, "eu");

  cache.set({"catalog"}, std::vector<int>{101, 102}, query, alice);
  const auto hit = cache.get<std::vector<int>>({"catalog"}, query, alice);
  fmt::print("hit: {} result(s)\n", hit ? hit->size() : 0);
  fmt::print("key: {}\n", cache.describe({"catalog"}, query, alice));

  // Same fields, same key; any difference, another key.
  const shop::search other{"lamp", {3, 7}, std::nullopt};
  fmt::print("other query cached: {}\n",
             cache.get<std::vector<int>>({"catalog"}, other, alice).has_value());
}
