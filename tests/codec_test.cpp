#include <gencache/codec.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <unordered_set>
#include <variant>
#include <vector>

#include "layout/layout.hpp"

namespace codectest {

enum class tier : std::uint8_t { free, pro };

struct address {
  std::string city;
  std::optional<int> zip;
};

struct profile {
  std::int64_t id;
  std::string name;
  std::vector<address> addresses;
  std::map<std::string, double> scores;
  tier level;
  bool active;
};

class money {
 public:
  money() = default;
  money(std::int64_t cents, std::string currency) : cents_(cents), currency_(std::move(currency)) {}
  std::int64_t cents() const { return cents_; }
  const std::string& currency() const { return currency_; }
  bool operator==(const money&) const = default;

 private:
  std::int64_t cents_ = 0;
  std::string currency_;
};

bool operator==(const address& a, const address& b) { return a.city == b.city && a.zip == b.zip; }
bool operator==(const profile& a, const profile& b) {
  return a.id == b.id && a.name == b.name && a.addresses == b.addresses && a.scores == b.scores &&
         a.level == b.level && a.active == b.active;
}

}  // namespace codectest

template <>
struct gencache::value_codec<codectest::money> {
  static void encode(gencache::value_writer& out, const codectest::money& m) {
    out(m.cents(), m.currency());
  }
  static bool decode(gencache::value_reader& in, codectest::money& m) {
    std::int64_t cents = 0;
    std::string currency;
    if (!in(cents, currency) || currency.size() != 3) return false;
    m = codectest::money(cents, currency);
    return true;
  }
};

using namespace codectest;

namespace {

template <class T>
T round_trip(const T& value) {
  T out{};
  const auto st = gencache::decode_value(gencache::encode_value(value), out);
  INFO(st.message());
  REQUIRE(st.ok());
  return out;
}

profile sample_profile() {
  return {42,
          "ada",
          {{"london", 12345}, {"paris", std::nullopt}},
          {{"chess", 9.5}, {"go", -1.25}},
          tier::pro,
          true};
}

}  // namespace

TEST_CASE("codec: values round-trip through bytes", "[codec]") {
  CHECK(round_trip(std::uint64_t{0xdeadbeefcafef00d}) == 0xdeadbeefcafef00d);
  CHECK(round_trip(-7) == -7);
  CHECK(round_trip(true));
  CHECK(round_trip('x') == 'x');
  CHECK(round_trip(1.5) == 1.5);
  CHECK(std::signbit(round_trip(-0.0)));
  CHECK(std::isnan(round_trip(std::numeric_limits<double>::quiet_NaN())));
  CHECK(round_trip(std::string("a\0b", 3)) == std::string("a\0b", 3));
  CHECK(round_trip(std::string()).empty());
  CHECK(round_trip(std::vector<int>{1, 2, 3}) == std::vector<int>{1, 2, 3});
  CHECK(round_trip(std::vector<bool>{true, false}) == std::vector<bool>{true, false});
  CHECK(round_trip(std::set<std::string>{"b", "a"}) == std::set<std::string>{"a", "b"});
  CHECK(round_trip(std::array<int, 3>{4, 5, 6}) == std::array<int, 3>{4, 5, 6});
  CHECK(round_trip(std::optional<std::string>{}) == std::nullopt);
  CHECK(round_trip(std::optional<std::string>{"x"}) == "x");
  CHECK(round_trip(std::pair(1, std::string("p"))) == std::pair(1, std::string("p")));
  CHECK(round_trip(std::tuple(1, 2.5, std::string("t"))) == std::tuple(1, 2.5, std::string("t")));
  using v = std::variant<int, std::string, std::monostate>;
  CHECK(round_trip(v(std::string("s"))) == v(std::string("s")));
  CHECK(round_trip(v(std::monostate{})) == v(std::monostate{}));
  CHECK(round_trip(std::chrono::milliseconds(250)) == std::chrono::milliseconds(250));
  CHECK(round_trip(tier::pro) == tier::pro);
  CHECK(round_trip(sample_profile()) == sample_profile());
  CHECK(round_trip(money(1999, "EUR")) == money(1999, "EUR"));
  const auto shared = round_trip(std::make_shared<const profile>(sample_profile()));
  REQUIRE(shared);
  CHECK(*shared == sample_profile());
  CHECK(round_trip(std::shared_ptr<const profile>()) == nullptr);
}

TEST_CASE("codec: bytes of another type are a type mismatch", "[codec][errors]") {
  std::string out;
  const auto st = gencache::decode_value(gencache::encode_value(std::int64_t{5}), out);
  CHECK(st.code() == gencache::errc::type_mismatch);
  CHECK_THAT(st.message(), Catch::Contains("basic_string"));
  std::uint64_t other = 0;
  CHECK(gencache::decode_value(gencache::encode_value(std::int64_t{5}), other).code() ==
        gencache::errc::type_mismatch);
}

TEST_CASE("codec: foreign, truncated and corrupt bytes are errors, never undefined behaviour",
          "[codec][errors]") {
  profile out;
  CHECK(gencache::decode_value("", out).code() == gencache::errc::serialization);
  CHECK(gencache::decode_value("hello, world", out).code() == gencache::errc::serialization);

  const std::string good = gencache::encode_value(sample_profile());
  for (std::size_t n = 0; n < good.size(); ++n) {
    INFO("prefix of " << n << " bytes");
    CHECK_FALSE(gencache::decode_value(good.substr(0, n), out).ok());
  }
  CHECK_FALSE(gencache::decode_value(good + "x", out).ok());

  std::string bumped = good;
  bumped[1] = 3;  // a future format version
  CHECK_THAT(gencache::decode_value(bumped, out).message(), Catch::Contains("version 3"));

  // Random corruption: any outcome but a crash or sanitizer report is fine; many must fail.
  std::mt19937 rng(11);
  int failures = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string bad = good;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
      bad[rng() % bad.size()] = static_cast<char>(rng());
    }
    failures += gencache::decode_value(bad, out).ok() ? 0 : 1;
  }
  CHECK(failures > 1000);

  // A custom codec that rejects its input is a serialization error too.
  std::string bad_money = gencache::encode_value(money(1, "EURO"));
  money m;
  CHECK(gencache::decode_value(bad_money, m).code() == gencache::errc::serialization);
}

TEST_CASE("codec: a forged huge count fails before allocating", "[codec][errors]") {
  // Header for std::vector<std::string>, then a payload claiming 2^40 elements.
  const std::string real = gencache::encode_value(std::vector<std::string>{});
  std::string forged = real.substr(0, 10);  // magic, version, fingerprint
  std::string payload;
  gencache::value_writer(payload).varint(std::uint64_t{1} << 40);
  gencache::value_writer(forged).varint(payload.size());
  forged += payload;
  std::vector<std::string> out;
  const auto st = gencache::decode_value(forged, out);
  CHECK(st.code() == gencache::errc::serialization);
  CHECK(out.empty());
}

namespace {
/// `payload` behind a valid header for T.
template <class T>
std::string framed(const std::string& payload) {
  std::string out;
  gencache::detail::append_value_header<T>(out, payload.size());
  return out + payload;
}
}  // namespace

TEST_CASE("codec: only canonical bytes decode, so a value has exactly one encoding",
          "[codec][errors]") {
  using namespace std::string_literals;
  using set = std::set<std::int32_t>;
  using map = std::map<std::int32_t, std::string>;
  const auto decodes = [](const auto& value, const std::string& bytes) {
    auto out = value;
    return gencache::decode_value(bytes, out).ok();
  };
  // Canonical: what encode_value writes.
  CHECK(decodes(set{}, framed<set>("\x02\x01\x00\x00\x00\x02\x00\x00\x00"s)));
  CHECK(framed<set>("\x02\x01\x00\x00\x00\x02\x00\x00\x00"s) == gencache::encode_value(set{1, 2}));
  // An overlong count (2 written in two bytes), out of order, and a duplicate.
  CHECK_FALSE(decodes(set{}, framed<set>("\x82\x00\x01\x00\x00\x00\x02\x00\x00\x00"s)));
  CHECK_FALSE(decodes(set{}, framed<set>("\x02\x02\x00\x00\x00\x01\x00\x00\x00"s)));
  CHECK_FALSE(decodes(set{}, framed<set>("\x02\x01\x00\x00\x00\x01\x00\x00\x00"s)));
  CHECK_FALSE(decodes(map{}, framed<map>(std::string("\x02\x07\x00\x00\x00\x01"
                                                     "a\x07\x00\x00\x00\x01"
                                                     "b",
                                                     13))));
  CHECK(framed<map>(std::string("\x02\x07\x00\x00\x00\x01"
                                "a\x08\x00\x00\x00\x01"
                                "b",
                                13)) == gencache::encode_value(map{{7, "a"}, {8, "b"}}));
  // A varint with bits past 64.
  using variant = std::variant<int, std::string>;
  CHECK_FALSE(decodes(variant{}, framed<variant>("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"s)));
  // An unordered container's order is not canonical, but duplicates are still corrupt.
  using uset = std::unordered_set<std::int32_t>;
  CHECK(decodes(uset{}, framed<uset>("\x02\x02\x00\x00\x00\x01\x00\x00\x00"s)));
  CHECK_FALSE(decodes(uset{}, framed<uset>("\x02\x01\x00\x00\x00\x01\x00\x00\x00"s)));
}

TEST_CASE(
    "codec: a type whose layout changed under the same name is a type mismatch, never a "
    "misread",
    "[codec][fingerprint]") {
  const std::string v1 = layout::encode_v1({.cents = 1999, .quantity = 3});
  layout::price read;
  REQUIRE(layout::decode_v1(v1, read).ok());
  CHECK((read.cents == 1999 && read.quantity == 3));
  // Version 2 swapped the fields.
  CHECK(layout::decode_v2(v1, read).code() == gencache::errc::type_mismatch);
  // Version 3 kept the layout and bumped value_version.
  CHECK(layout::decode_v3(v1, read).code() == gencache::errc::type_mismatch);
}

TEST_CASE("codec: the fingerprint covers nested fields, elements and sizes",
          "[codec][fingerprint]") {
  struct inner_a {
    int x;
  };
  struct outer_a {
    inner_a in;
    std::vector<inner_a> many;
  };
  using gencache::detail::value_fingerprint;
  struct same_name_probe {
    std::int32_t a;
  };
  CHECK(value_fingerprint<std::vector<std::pair<int, std::string>>>() !=
        value_fingerprint<std::vector<std::pair<long, std::string>>>());
  CHECK(value_fingerprint<outer_a>() == value_fingerprint<outer_a>());
  CHECK(value_fingerprint<std::optional<int>>() != value_fingerprint<std::optional<short>>());
  CHECK(value_fingerprint<same_name_probe>() != value_fingerprint<inner_a>());
}
