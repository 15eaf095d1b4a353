#include <gencache/remote_key.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace {
constexpr std::size_t memcached_max_key = 250;  // memcached's limit, the tightest

std::string remote_key(std::string_view prefix, std::string_view text, std::string_view canonical) {
  return gencache::remote_key(prefix, text, canonical, memcached_max_key);
}

bool memcached_safe(const std::string& key) {
  if (key.size() > memcached_max_key) return false;
  for (const char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}
}  // namespace

TEST_CASE("remote_key: readable text, escaped, with a hash of the canonical bytes",
          "[remote_key]") {
  const auto key = remote_key("app", R"(memo nav.cpp:42(53, "a b") nav@17)", "canonical");
  CHECK_THAT(key, Catch::StartsWith(R"(appmemo%20nav.cpp:42(53,%20"a%20b")%20nav@17#)"));
  CHECK(key.size() == key.find('#') + 33);
  CHECK(memcached_safe(key));
}

TEST_CASE("remote_key: the hash tells apart keys that read alike", "[remote_key]") {
  // 1 and 1L render alike; their canonical bytes differ.
  CHECK(remote_key("", "(1)", std::string("\x03\x01\0\0\0", 5)) !=
        remote_key("", "(1)", std::string("\x04\x01\0\0\0\0\0\0\0", 9)));
  CHECK(remote_key("", "(1)", "same") == remote_key("", "(1)", "same"));
}

TEST_CASE("remote_key: binary, whitespace and oversized keys stay within memcached's rules",
          "[remote_key][errors]") {
  std::string binary;
  for (int c = 0; c < 256; ++c) binary.push_back(static_cast<char>(c));
  const auto b = remote_key("p:", binary, binary);
  CHECK(memcached_safe(b));
  CHECK_THAT(b, Catch::StartsWith("p:%00%01%02"));

  const std::string huge(10'000, 'x');
  const auto h = remote_key("p:", huge + " tail", huge);
  CHECK(h.size() <= memcached_max_key);
  CHECK(memcached_safe(h));
  // Keys that differ only past the cut still differ, through the hash.
  CHECK(remote_key("p:", huge + "1", huge + "1") != remote_key("p:", huge + "2", huge + "2"));

  const std::string spaces(300, ' ');
  const auto s = remote_key("", spaces, spaces);
  CHECK(memcached_safe(s));
  CHECK(s.find("%2") != std::string::npos);  // cut at an escape boundary: no half escapes
  CHECK(s.substr(0, s.find('#')).size() % 3 == 0);

  CHECK_THROWS_WITH(remote_key(std::string(240, 'p'), "x", "x"), Catch::Contains("no room"));
}
