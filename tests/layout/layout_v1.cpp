#include <gencache/gencache.hpp>

#include "layout/layout.hpp"

namespace {
struct price_info {
  std::int64_t cents;
  std::int32_t quantity;
};
price_info to_info(layout::price p) { return {p.cents, p.quantity}; }
layout::price from_info(const price_info& i) { return {i.cents, i.quantity}; }
}  // namespace

namespace layout {

std::string encode_v1(price p) { return gencache::encode_value(to_info(p)); }

gencache::status decode_v1(std::string_view bytes, price& out) {
  price_info info{};
  gencache::status s = gencache::decode_value(bytes, info);
  if (s.ok()) out = from_info(info);
  return s;
}

gencache::status store_v1(gencache::remote_cache& cache, price p, std::string_view key) {
  return cache.set({"layout"}, to_info(p), key);
}

std::optional<price> read_v1(gencache::remote_cache& cache, std::string_view key) {
  const auto info = cache.get<price_info>({"layout"}, key);
  return info ? std::optional(from_info(*info)) : std::nullopt;
}

price memoized_v1(gencache::remote_cache& cache, price p) {
  gencache::memoized priced(
      cache,
      [](std::int64_t cents, std::int32_t quantity) {
        return price_info{cents, quantity};
      },
      "layout", gencache::memoize_options{.name = "layout:priced"});
  return from_info(priced(p.cents, p.quantity));
}

}  // namespace layout
