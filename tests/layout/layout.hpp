#pragma once
// Two versions of one program's value type, `price_info`, each defined in its own
// translation unit (layout_v1.cpp, layout_v2.cpp) in an anonymous namespace, so that both
// spell the same type name, as two builds of a program in a rolling deploy do. Version 2
// swapped the fields; version 3 kept version 1's layout and only bumped value_version.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <gencache/codec.hpp>
#include <gencache/remote_cache.hpp>

namespace layout {

struct price {
  std::int64_t cents = 0;
  std::int32_t quantity = 0;
};

std::string encode_v1(price p);
gencache::status decode_v1(std::string_view bytes, price& out);
gencache::status decode_v2(std::string_view bytes, price& out);
gencache::status decode_v3(std::string_view bytes, price& out);

/// Through a remote cache: stored by version 1 under `key`, read back by versions 2 and 1.
gencache::status store_v1(gencache::remote_cache& cache, price p, std::string_view key);
std::optional<price> read_v1(gencache::remote_cache& cache, std::string_view key);
std::optional<price> read_v2(gencache::remote_cache& cache, std::string_view key);
/// A memoized function of each version, under one stable name.
price memoized_v1(gencache::remote_cache& cache, price p);
price memoized_v2(gencache::remote_cache& cache, price p);

}  // namespace layout
