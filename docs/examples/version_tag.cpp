// A value type's version tag (codec.hpp): bump it when a change that the type's structure
// does not show (here: `cents` became tenths of a cent) must make values stored by older
// builds a miss, not a misread. Built and run by CMake (ctest -R example_version_tag).
#include <cstdint>

#include <fmt/format.h>
#include <gencache/codec.hpp>

struct price_info {
  std::int64_t cents;  // version 2: tenths of a cent
  std::int32_t quantity;
};
template <>
inline constexpr std::uint64_t gencache::value_version<price_info> = 2;

int main() {
  const std::string bytes = gencache::encode_value(price_info{19990, 3});
  price_info read{};
  fmt::print("round trip: {}\n", gencache::decode_value(bytes, read).ok());
}
