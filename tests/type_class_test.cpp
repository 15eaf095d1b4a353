// The type classification (detail/type_class.hpp) decides how keys, values and weights treat
// each kind of type. Its bytes are persistent: key bytes name values on remote servers and
// value fingerprints guard what other builds read. These digests were recorded before the
// three consumers moved onto one classification (issue 28) and must never change: a change
// would make every process of a rolling deploy miss, or misread, the others' entries.
// Built with GENCACHE_PRINT_TYPE_CLASS_DIGESTS, the file prints the table instead.
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <gencache/codec.hpp>
#include <gencache/key.hpp>
#include <gencache/value.hpp>

namespace tctest {
enum class color : std::uint8_t { red = 1, blue = 7 };
enum plain_enum { first = 3 };
struct point {
  int x;
  int y;
};
struct nested {
  std::string name;
  std::optional<point> at;
  std::vector<color> colors;
  std::chrono::milliseconds wait;
};

struct digest {
  const char* name;
  std::uint64_t value;
};

template <class... Parts>
std::uint64_t key_digest(const Parts&... parts) {
  gencache::key_bytes bytes;
  gencache::encode_key_parts(bytes, parts...);
  const std::string text = gencache::render_key_parts(parts...);
  return XXH3_64bits(bytes.data(), bytes.size()) ^ (XXH3_64bits(text.data(), text.size()) << 1);
}

template <class T>
std::uint64_t value_digest(const T& v) {
  const std::string bytes = gencache::encode_value(v);
  return XXH3_64bits(bytes.data(), bytes.size()) ^ gencache::detail::value_fingerprint<T>() ^
         (std::uint64_t{gencache::detail::weigh(v)} << 40);
}

std::vector<digest> digests() {
  const char chars[] = "chars";
  const char* c_string = "c string";
  const char* null_string = nullptr;
  const std::vector<bool> bits = {true, false, true};
  const nested n{"n", point{1, 2}, {color::red, color::blue}, std::chrono::milliseconds(5)};
  return {
      {"key scalars", key_digest(true, 'c', 42, 42u, std::int64_t{-1}, std::uint8_t{7}, 1.5, 2.5f,
                                 color::blue, first)},
      {"key text", key_digest(std::string("s"), std::string_view("v"), chars, c_string, null_string,
                              "literal")},
      {"key optionals", key_digest(std::optional<int>(), std::optional<int>(3), std::nullopt)},
      {"key variants", key_digest(std::variant<int, std::string>("x"), std::monostate{})},
      {"key duration", key_digest(std::chrono::seconds(3), std::chrono::nanoseconds(-4))},
      {"key ranges", key_digest(std::vector<int>{1, 2}, std::array<std::int16_t, 2>{3, 4}, bits,
                                std::map<std::string, int>{{"a", 1}}, std::set<char>{'x'})},
      {"key tuples",
       key_digest(std::pair<int, std::string>(1, "p"), std::tuple<bool, double>(false, 0.25))},
      {"key aggregates", key_digest(point{3, 4}, n)},
      {"value scalars",
       value_digest(std::tuple<bool, char, int, std::uint64_t, double, float, color, plain_enum>(
           true, 'c', -5, 9, 1.5, 2.5f, color::red, first))},
      {"value string", value_digest(std::string("text"))},
      {"value optional", value_digest(std::optional<std::string>("o"))},
      {"value shared_ptr", value_digest(std::make_shared<const point>(point{5, 6}))},
      {"value variant", value_digest(std::variant<std::monostate, int, std::string>("v"))},
      {"value monostate", value_digest(std::monostate{})},
      {"value duration", value_digest(std::chrono::microseconds(77))},
      {"value array", value_digest(std::array<int, 3>{1, 2, 3})},
      {"value vector", value_digest(std::vector<std::string>{"a", "bc"})},
      {"value map", value_digest(std::map<int, std::string>{{1, "one"}, {2, "two"}})},
      {"value unordered map", value_digest(std::unordered_map<int, int>{{4, 16}})},
      {"value pair", value_digest(std::pair<int, std::string>(8, "eight"))},
      {"value aggregate", value_digest(n)},
  };
}
}  // namespace tctest

#ifdef GENCACHE_PRINT_TYPE_CLASS_DIGESTS
int main() {
  for (const auto& d : tctest::digests()) {
    std::printf("      {\"%s\", 0x%016llxull},\n", d.name,
                static_cast<unsigned long long>(d.value));
  }
}
#else
#include <catch2/catch.hpp>

TEST_CASE("type classes: keys, values and their fingerprints keep their bytes", "[key][codec]") {
  const std::map<std::string, std::uint64_t> recorded = {
      {"key scalars", 0x5ca057d49a3264e0ull},         {"key text", 0x85878a0817835990ull},
      {"key optionals", 0x921b7ca51785accbull},       {"key variants", 0x93e7fad638aada2cull},
      {"key duration", 0x746bcba60332d665ull},        {"key ranges", 0x81a90546f9bf57ffull},
      {"key tuples", 0x3588ef184e856813ull},          {"key aggregates", 0x3b904c76b77cf4f2ull},
      {"value scalars", 0xaae8e287345025d4ull},       {"value string", 0x2b9ac084a8d366e9ull},
      {"value optional", 0x681714e728f9b407ull},      {"value shared_ptr", 0xff28818b30bef856ull},
      {"value variant", 0x175da49026e8bda4ull},       {"value monostate", 0xb868c62bd0b26ba1ull},
      {"value duration", 0xec65e0e7e4a4e3b4ull},      {"value array", 0x875ae474628abd03ull},
      {"value vector", 0x33b67d9daed316ffull},        {"value map", 0xbae0b23c78646feaull},
      {"value unordered map", 0xf1fbc4fcaf756cb4ull}, {"value pair", 0xf04a58393ad5722aull},
      {"value aggregate", 0xc08ea6f75e524013ull},
  };
  for (const auto& d : tctest::digests()) {
    INFO(d.name);
    const auto it = recorded.find(d.name);
    REQUIRE(it != recorded.end());
    CHECK(d.value == it->second);
  }
}
#endif
