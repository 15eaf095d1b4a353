// The other `payload` (type_identity_a.cpp): same name, another layout.
#include <optional>
#include <string>

#include <gencache/memory_store.hpp>

namespace {
struct payload {
  std::string text;
};
}  // namespace

namespace test::identity {
std::optional<std::string> get_payload_b(gencache::memory_store& store, gencache::key_view key) {
  if (auto got = store.get<payload>(key)) return got->text;
  return std::nullopt;
}
}  // namespace test::identity
