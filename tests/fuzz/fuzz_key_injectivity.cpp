// libFuzzer target: cache keys are injective. The input describes two whole keys — domain,
// scope, generations (identity and value of each, cache_key.hpp) and a list of typed key
// parts — the second often a small mutation of the first, so that near-collisions are
// tried rather than a key against its own copy. If their bytes are equal, the keys must be
// equal (same types, same values; every NaN is one key, -0.0 and +0.0 are two, as key.hpp
// documents); and equal keys must give equal bytes.
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

#include <gencache/cache_key.hpp>
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

struct full_key {
  bool memoized = false;
  std::string scope;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> generations;  // identity, value
  std::vector<part> parts;
};

full_key make_key(FuzzedDataProvider& in) {
  full_key k;
  k.memoized = in.ConsumeBool();
  k.scope = in.ConsumeRandomLengthString(16);
  k.generations.resize(in.ConsumeIntegralInRange<std::size_t>(0, 3));
  for (auto& g : k.generations) {
    g = {in.ConsumeIntegral<std::uint64_t>(), in.ConsumeIntegral<std::uint64_t>()};
  }
  k.parts = make_parts(in);
  return k;
}

/// `k` with one small change: the kind of change a collision would hide in.
full_key mutate(full_key k, FuzzedDataProvider& in) {
  const std::uint64_t bit = std::uint64_t{1} << in.ConsumeIntegralInRange(0, 63);
  switch (in.ConsumeIntegralInRange(0, 7)) {
    case 0:
      k.memoized = !k.memoized;
      break;
    case 1:
      k.scope += static_cast<char>(in.ConsumeIntegral<std::uint8_t>());
      break;
    case 2:
      if (!k.generations.empty()) k.generations.front().first ^= bit;
      break;
    case 3:
      if (!k.generations.empty()) k.generations.back().second ^= bit;
      break;
    case 4:  // the same generations in another order
      if (k.generations.size() > 1) std::swap(k.generations.front(), k.generations.back());
      break;
    case 5:
      if (!k.generations.empty()) k.generations.pop_back();
      break;
    case 6:
      if (!k.parts.empty()) k.parts.back() = make_part(in);
      break;
    default:
      k.parts.push_back(make_part(in));
      break;
  }
  return k;
}

std::string encode(const full_key& k) {
  gencache::cache_key key(
      k.memoized ? gencache::key_domain::memoized : gencache::key_domain::direct, k.scope,
      k.generations.size());
  for (const auto& [identity, value] : k.generations) key.add_generation(identity, value);
  for (const auto& p : k.parts) {
    std::visit([&key](const auto& v) { key.add_parts(v); }, p);
  }
  return std::string(key.bytes());
}

bool same_key(const full_key& a, const full_key& b) {
  if (a.memoized != b.memoized || a.scope != b.scope || a.generations != b.generations ||
      a.parts.size() != b.parts.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.parts.size(); ++i) {
    if (!same_key(a.parts[i], b.parts[i])) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const full_key a = make_key(in);
  const full_key b = in.ConsumeBool() ? mutate(a, in) : make_key(in);
  const bool equal_bytes = encode(a) == encode(b);
  if (equal_bytes != same_key(a, b)) std::abort();  // a collision, or one key two ways
  return 0;
}
