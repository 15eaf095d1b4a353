#include <gencache/gencache.hpp>

#include "layout/layout.hpp"

namespace {
// Version 2: the same name, the fields swapped.
struct price_info {
  std::int32_t quantity;
  std::int64_t cents;
};
layout::price from_info(const price_info& i) { return {i.cents, i.quantity}; }
}  // namespace

namespace layout {

gencache::status decode_v2(std::string_view bytes, price& out) {
  price_info info{};
  gencache::status s = gencache::decode_value(bytes, info);
  if (s.ok()) out = from_info(info);
  return s;
}

std::optional<price> read_v2(gencache::remote_cache& cache, std::string_view key) {
  const auto info = cache.get<price_info>({"layout"}, key);
  return info ? std::optional(from_info(*info)) : std::nullopt;
}

price memoized_v2(gencache::remote_cache& cache, price p) {
  gencache::memoized priced(
      cache,
      [](std::int64_t cents, std::int32_t quantity) {
        return price_info{quantity, cents};
      },
      "layout", gencache::memoize_options{.name = "layout:priced"});
  return from_info(priced(p.cents, p.quantity));
}

}  // namespace layout
