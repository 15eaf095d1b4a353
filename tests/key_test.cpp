#include <cmath>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <gencache/key.hpp>

namespace keytest {

struct point {
  int x;
  int y;
};
struct other_point {
  int x;
  int y;
};
struct nested {
  point p;
  std::string name;
  std::vector<int> values;
  std::optional<int> maybe;
};
enum class color { red, green };
enum class shape { circle, square };

class account {
 public:
  account(int id, std::string region) : id_(id), region_(std::move(region)) {}
  int id() const { return id_; }
  const std::string& region() const { return region_; }

 private:
  int id_;
  std::string region_;
};

}  // namespace keytest

template <>
struct gencache::key_fragment<keytest::account> {
  static void append(auto& out, const keytest::account& a) { out(a.id(), a.region()); }
};

namespace {

template <class... Parts>
std::string encode(const Parts&... parts) {
  gencache::key_bytes out;
  gencache::encode_key_parts(out, parts...);
  return {out.data(), out.size()};
}

template <class... Encodings>
void check_pairwise_distinct(const Encodings&... encodings) {
  const std::vector<std::string> all{encodings...};
  for (std::size_t i = 0; i < all.size(); ++i) {
    for (std::size_t j = i + 1; j < all.size(); ++j) {
      INFO("encodings " << i << " and " << j);
      CHECK(all[i] != all[j]);
    }
  }
}

}  // namespace

TEST_CASE("key: string boundaries are unambiguous", "[key][injective]") {
  CHECK(encode("a", "bc") != encode("ab", "c"));
  CHECK(encode("", "a") != encode("a", ""));
  CHECK(encode("ab") != encode("a", "b"));
  CHECK(encode(std::vector<std::string>{"a", "b"}) != encode(std::vector<std::string>{"ab"}));
  CHECK(encode(std::vector<std::string>{"a"}, std::vector<std::string>{}) !=
        encode(std::vector<std::string>{}, std::vector<std::string>{"a"}));
  CHECK(encode(std::string("a\0b", 3)) != encode("a", "b"));
}

TEST_CASE("key: integers of different types are different keys", "[key][injective]") {
  check_pairwise_distinct(encode(1), encode(1u), encode(1L), encode(1uL), encode(short{1}),
                          encode(std::int8_t{1}), encode(std::uint8_t{1}), encode(1.0),
                          encode(1.0f), encode(true), encode('\1'), encode(char8_t{1}),
                          encode(char16_t{1}), encode(char32_t{1}), encode(wchar_t{1}));
  CHECK(encode(1) == encode(1));
  CHECK(encode(std::int64_t{-1}) !=
        encode(std::uint64_t{std::numeric_limits<std::uint64_t>::max()}));
}

TEST_CASE("key: a string is one type whatever spells it", "[key]") {
  const char buffer[8] = "abc";
  const char* pointer = "abc";
  const std::string expected = encode(std::string("abc"));
  CHECK(encode("abc") == expected);
  CHECK(encode(std::string_view("abc")) == expected);
  CHECK(encode(pointer) == expected);
  CHECK(encode(buffer) == expected);  // up to the first NUL, not the array's end
  const char* null = nullptr;
  CHECK(encode(null) != encode(""));
}

TEST_CASE("key: floating point keys treat NaN and signed zero deliberately", "[key][float]") {
  CHECK(encode(0.0) != encode(-0.0));
  CHECK(encode(0.0f) != encode(-0.0f));
  CHECK(encode(std::nan("1")) == encode(std::nan("2")));
  CHECK(encode(std::nan("")) == encode(-std::nan("")));
  CHECK(encode(std::nanf("7")) == encode(std::numeric_limits<float>::quiet_NaN()));
  CHECK(encode(std::numeric_limits<double>::infinity()) !=
        encode(-std::numeric_limits<double>::infinity()));

  // long double: the padding bytes of the 80-bit format must not leak into the key.
  long double a;
  long double b;
  std::memset(&a, 0x00, sizeof a);
  std::memset(&b, 0xff, sizeof b);
  a = 1.5L;
  b = 1.5L;
  CHECK(encode(a) == encode(b));
  CHECK(encode(1.5L) != encode(2.5L));
}

TEST_CASE("key: empty containers, optionals and no parts are all different", "[key][injective]") {
  check_pairwise_distinct(encode(), encode(std::vector<int>{}), encode(std::vector<int>{0}),
                          encode(std::vector<std::string>{}), encode(std::optional<int>{}),
                          encode(std::optional<std::string>{}), encode(std::optional<int>{0}),
                          encode(std::string()), encode(std::nullopt), encode(std::tuple<>{}),
                          encode(std::map<int, int>{}), encode(0));
  CHECK(encode(std::vector<int>{1, 2}) == encode(std::array<int, 2>{1, 2}));  // same sequence
  CHECK(encode(std::vector<bool>{true, false}) == encode(std::deque<bool>{true, false}));
}

TEST_CASE("key: aggregates are keyed by type and fields, recursively", "[key][pfr]") {
  CHECK(encode(keytest::point{1, 2}) == encode(keytest::point{1, 2}));
  CHECK(encode(keytest::point{1, 2}) != encode(keytest::point{2, 1}));
  CHECK(encode(keytest::point{1, 2}) != encode(keytest::other_point{1, 2}));
  CHECK(encode(keytest::point{1, 2}) != encode(std::tuple<int, int>{1, 2}));
  CHECK(encode(keytest::point{1, 2}) != encode(1, 2));
  const keytest::nested n{{1, 2}, "n", {3}, std::nullopt};
  CHECK(encode(n) == encode(keytest::nested{{1, 2}, "n", {3}, std::nullopt}));
  CHECK(encode(n) != encode(keytest::nested{{1, 2}, "n", {3}, 0}));
}

TEST_CASE("key: enums are keyed by type and value", "[key]") {
  check_pairwise_distinct(encode(keytest::color::red), encode(keytest::shape::circle), encode(0),
                          encode(keytest::color::green));
}

TEST_CASE("key: a key_fragment specialization keys a class with private state", "[key]") {
  const keytest::account a(7, "eu");
  CHECK(encode(a) == encode(keytest::account(7, "eu")));
  CHECK(encode(a) != encode(keytest::account(7, "us")));
  CHECK(encode(a) != encode(7, "eu"));
  // The fragment is delimited: a following part cannot be read as part of it.
  CHECK(encode(a, 1) != encode(keytest::account(7, "eu1")));
  CHECK(gencache::render_key_parts(a) == "(keytest::account{7, \"eu\"})");
}

TEST_CASE("key: variants, durations and pairs", "[key]") {
  using v = std::variant<int, std::string, std::monostate>;
  check_pairwise_distinct(encode(v(1)), encode(v("1")), encode(v(std::monostate{})), encode(1));
  check_pairwise_distinct(encode(std::chrono::seconds(1)), encode(std::chrono::milliseconds(1)),
                          encode(std::int64_t{1}));
  CHECK(encode(std::pair(1, "a")) == encode(std::tuple(1, "a")));
}

TEST_CASE("key: the text form is readable and escaped", "[key][text]") {
  using gencache::render_key_parts;
  CHECK(render_key_parts() == "()");
  CHECK(render_key_parts(42, "a\"b\n", true) == R"((42, "a\"b\n", true))");
  CHECK(render_key_parts(1.0, -0.0, 0.5, std::nan("")) == "(1.0, -0.0, 0.5, nan)");
  CHECK(render_key_parts(keytest::point{1, 2}) == "(keytest::point{1, 2})");
  CHECK(render_key_parts(std::vector<int>{1, 2}, std::optional<int>{}, std::optional<int>{3}) ==
        "([1, 2], nullopt, some(3))");
  CHECK(render_key_parts(keytest::color::green) == "(keytest::color(1))");
  CHECK(render_key_parts(std::pair(1, std::string("x"))) == R"(((1, "x")))");
  CHECK(render_key_parts('c') == "('c')");
}

TEST_CASE("key: encoding is injective on random part lists", "[key][injective][differential]") {
  // Reference model: a part list as a vector of variants, compared structurally. Small value
  // domains make equal lists frequent, so both directions are exercised.
  using part = std::variant<std::int32_t, std::uint32_t, std::int64_t, double, std::string,
                            std::vector<std::int32_t>, std::optional<std::int32_t>,
                            std::pair<std::string, std::int32_t>, keytest::point>;
  std::mt19937 rng(20261125);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::string strings[] = {"", "a", "b", "ab", std::string(1, '\0')};
  auto random_part = [&]() -> part {
    switch (pick(9)) {
      case 0:
        return std::int32_t{pick(2)};
      case 1:
        return std::uint32_t(pick(2));
      case 2:
        return std::int64_t{pick(2)};
      case 3:
        return pick(2) * 0.5;
      case 4:
        return strings[pick(5)];
      case 5: {
        std::vector<std::int32_t> v(static_cast<std::size_t>(pick(3)));
        for (auto& e : v) e = pick(2);
        return v;
      }
      case 6:
        return pick(2) ? std::optional<std::int32_t>(pick(2)) : std::nullopt;
      case 7:
        return std::pair(strings[pick(3)], std::int32_t{pick(2)});
      default:
        return keytest::point{pick(2), pick(2)};
    }
  };
  auto same = [](const part& a, const part& b) {
    if (a.index() != b.index()) return false;
    if (const auto* p = std::get_if<keytest::point>(&a)) {
      const auto& q = std::get<keytest::point>(b);
      return p->x == q.x && p->y == q.y;
    }
    return std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, keytest::point>) {
            return false;
          } else {
            return x == std::get<T>(b);
          }
        },
        a);
  };

  std::map<std::string, std::vector<part>> seen;
  int collisions_checked = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<part> parts(static_cast<std::size_t>(pick(4)));
    for (auto& p : parts) p = random_part();
    gencache::key_bytes out;
    for (const auto& p : parts)
      std::visit([&](const auto& x) { gencache::encode_key_parts(out, x); }, p);
    const auto [it, inserted] = seen.try_emplace(std::string(out.data(), out.size()), parts);
    if (!inserted) {
      ++collisions_checked;
      const auto& other = it->second;
      bool equal = other.size() == parts.size();
      for (std::size_t k = 0; equal && k < parts.size(); ++k) equal = same(other[k], parts[k]);
      REQUIRE(equal);
    }
  }
  // Equal lists give equal bytes: every distinct list was seen under exactly one encoding.
  std::set<std::string> rendered;
  for (const auto& [bytes, parts] : seen) {
    std::string text;
    for (const auto& p : parts)
      std::visit([&](const auto& x) { gencache::render_key_parts(text, x); }, p);
    text += std::to_string(parts.size());
    for (const auto& p : parts) text += std::to_string(p.index());
    CHECK(rendered.insert(text).second);
  }
  CHECK(collisions_checked > 1000);
}

TEST_CASE("key: the hash is the hash of the bytes", "[key]") {
  const auto bytes = encode(1, "a");
  CHECK(gencache::hash_bytes(bytes) == gencache::hash_bytes(encode(1, "a")));
  CHECK(gencache::hash_bytes(bytes) != gencache::hash_bytes(encode(1, "b")));
}

TEST_CASE("key: same_bytes tells every differing byte apart, at every size", "[key][hit_path]") {
  // The hit path compares heads, ids and arguments with it (overlapping words, memcmp for
  // short and long runs). Each size is compared in buffers of exactly that size (an
  // over-read is out of bounds: ASan reports it) and in buffers whose bytes after the size
  // differ (an over-compare says "different").
  for (std::size_t size = 0; size <= 48; ++size) {
    const auto a = std::make_unique<char[]>(size);
    const auto b = std::make_unique<char[]>(size);
    std::string wide_a(size + 8, 'x');
    std::string wide_b(size + 8, 'y');
    for (std::size_t i = 0; i < size; ++i) {
      a[i] = b[i] = wide_a[i] = wide_b[i] = static_cast<char>('a' + i % 26);
    }
    CHECK(gencache::detail::same_bytes(a.get(), b.get(), size));
    CHECK(gencache::detail::same_bytes(wide_a.data(), wide_b.data(), size));
    for (std::size_t at = 0; at < size; ++at) {
      b[at] = static_cast<char>(b[at] ^ 0x80);
      CHECK_FALSE(gencache::detail::same_bytes(a.get(), b.get(), size));
      b[at] = static_cast<char>(b[at] ^ 0x80);
    }
  }
  CHECK(gencache::detail::same_bytes(std::string_view("abc"), std::string_view("abc")));
  CHECK_FALSE(gencache::detail::same_bytes(std::string_view("abc"), std::string_view("abcd")));
}
