// libFuzzer target: the key encoder is injective. The input describes two lists of typed
// key parts; if their canonical encodings are equal, the lists must be equal as keys (same
// types, same values; every NaN is one key, -0.0 and +0.0 are two, as key.hpp documents).
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <FuzzedDataProvider.h>  // from LLVM (libclang-rt-19-dev)

#include <gencache/key.hpp>

namespace {

struct point {
  std::int32_t x;
  std::int32_t y;
  bool operator==(const point&) const = default;
};

using part = std::variant<std::int64_t, std::uint32_t, std::int8_t, char, bool, double, float,
                          std::string, std::vector<std::int32_t>, std::optional<std::string>,
                          std::pair<std::uint16_t, std::string>, point, std::vector<std::string>>;

part make_part(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 12)) {
    case 0:
      return in.ConsumeIntegral<std::int64_t>();
    case 1:
      return in.ConsumeIntegral<std::uint32_t>();
    case 2:
      return in.ConsumeIntegral<std::int8_t>();
    case 3:
      return static_cast<char>(in.ConsumeIntegral<std::uint8_t>());
    case 4:
      return in.ConsumeBool();
    case 5:
      return std::bit_cast<double>(in.ConsumeIntegral<std::uint64_t>());
    case 6:
      return std::bit_cast<float>(in.ConsumeIntegral<std::uint32_t>());
    case 7:
      return in.ConsumeRandomLengthString(40);
    case 8: {
      std::vector<std::int32_t> v(in.ConsumeIntegralInRange<std::size_t>(0, 6));
      for (auto& e : v) e = in.ConsumeIntegral<std::int32_t>();
      return v;
    }
    case 9:
      if (in.ConsumeBool()) return std::optional<std::string>{};
      return std::optional<std::string>(in.ConsumeRandomLengthString(20));
    case 10:
      return std::pair(in.ConsumeIntegral<std::uint16_t>(), in.ConsumeRandomLengthString(20));
    case 11:
      return point{in.ConsumeIntegral<std::int32_t>(), in.ConsumeIntegral<std::int32_t>()};
    default: {
      std::vector<std::string> v(in.ConsumeIntegralInRange<std::size_t>(0, 4));
      for (auto& e : v) e = in.ConsumeRandomLengthString(10);
      return v;
    }
  }
}

std::vector<part> make_parts(FuzzedDataProvider& in) {
  std::vector<part> parts(in.ConsumeIntegralInRange<std::size_t>(0, 5));
  for (auto& p : parts) p = make_part(in);
  return parts;
}

gencache::key_bytes encode(const std::vector<part>& parts) {
  gencache::key_bytes out;
  for (const auto& p : parts) {
    std::visit([&out](const auto& v) { gencache::encode_key_parts(out, v); }, p);
  }
  return out;
}

/// Equality as keys: floating point by bits, except that every NaN is one key.
template <class F>
bool same_float(F a, F b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::bit_cast<std::conditional_t<sizeof(F) == 8, std::uint64_t, std::uint32_t>>(a) ==
         std::bit_cast<std::conditional_t<sizeof(F) == 8, std::uint64_t, std::uint32_t>>(b);
}

bool same_key(const part& a, const part& b) {
  if (a.index() != b.index()) return false;
  if (const auto* d = std::get_if<double>(&a)) return same_float(*d, std::get<double>(b));
  if (const auto* f = std::get_if<float>(&a)) return same_float(*f, std::get<float>(b));
  return a == b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const auto a = make_parts(in);
  const auto b = in.ConsumeBool() ? a : make_parts(in);
  const auto ea = encode(a);
  const auto eb = encode(b);
  if (ea != eb) return 0;
  if (a.size() != b.size()) std::abort();  // equal bytes from different lists
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!same_key(a[i], b[i])) std::abort();
  }
  return 0;
}
