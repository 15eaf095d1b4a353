// libFuzzer target: the value codec's decode of arbitrary bytes.
// - The input's first byte picks a type; the rest is decoded raw (header included), and
//   again behind a valid header of that type, so the fuzzer reaches the payload parsers
//   without having to guess a 64-bit type fingerprint.
// - Decoding never crashes, never reads out of bounds, and either fails with a status or
//   yields a value whose encoding is the input itself (the codec decodes only canonical
//   bytes; none of the types here holds an unordered container).
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include <gencache/codec.hpp>

namespace {

enum class tier : std::uint8_t { free, pro, team };

struct address {
  std::string city;
  std::optional<std::int32_t> zip;
};

struct profile {
  std::int64_t id;
  std::string name;
  std::vector<address> addresses;
  std::map<std::string, std::int64_t> scores;
  tier level;
  bool active;
};

using choice = std::variant<std::int32_t, std::string, std::vector<std::uint64_t>>;
using timing = std::tuple<std::chrono::milliseconds, std::set<std::string>, char>;

template <class T>
void check(std::string_view bytes) {
  T value{};
  if (!gencache::decode_value(bytes, value).ok()) return;
  // Only canonical bytes decode, so what was accepted is exactly what encoding the value
  // writes: the input itself is the oracle. Compared as bytes, not with ==: a NaN decodes
  // fine and is not equal to itself.
  if (gencache::encode_value(value) != bytes) std::abort();
}

template <class T>
void fuzz(std::string_view payload) {
  check<T>(payload);  // raw: header and all from the fuzzer
  std::string framed;
  gencache::detail::append_value_header<T>(framed, payload.size());
  framed.append(payload);
  check<T>(framed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      fuzz<profile>(payload);
      break;
    case 1:
      fuzz<choice>(payload);
      break;
    case 2:
      fuzz<timing>(payload);
      break;
    case 3:
      fuzz<std::vector<std::string>>(payload);
      break;
    case 4:
      fuzz<std::map<std::int32_t, std::optional<std::string>>>(payload);
      break;
    default:
      fuzz<std::vector<double>>(payload);
      break;
  }
  return 0;
}
