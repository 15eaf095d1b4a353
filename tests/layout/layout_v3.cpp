#include <gencache/codec.hpp>

#include "layout/layout.hpp"

namespace {
// Version 3: version 1's layout under a new version tag (a change the structure cannot
// show, such as a field whose meaning changed).
struct price_info {
  std::int64_t cents;
  std::int32_t quantity;
};
}  // namespace

template <>
inline constexpr std::uint64_t gencache::value_version<price_info> = 3;

namespace layout {

gencache::status decode_v3(std::string_view bytes, price& out) {
  price_info info{};
  gencache::status s = gencache::decode_value(bytes, info);
  if (s.ok()) out = {info.cents, info.quantity};
  return s;
}

}  // namespace layout
