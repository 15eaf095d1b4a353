#pragma once
#include <string_view>

#include <gencache/key.hpp>

namespace test {

/// Keys for direct store tests: the canonical encoding of one string part.
struct test_key {
  explicit test_key(std::string_view name) {
    gencache::encode_key_parts(bytes, name);
    hash = gencache::hash_bytes({bytes.data(), bytes.size()});
  }
  operator gencache::key_view() const { return {{bytes.data(), bytes.size()}, hash}; }
  gencache::key_bytes bytes;
  std::uint64_t hash = 0;
};

}  // namespace test
