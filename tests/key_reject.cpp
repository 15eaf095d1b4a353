// Each case must fail to compile with gencache's message (see tests/CMakeLists.txt).
#include <filesystem>
#include <tuple>
#include <unordered_map>

#include <gencache/key.hpp>

namespace {
class opaque {
 public:
  explicit opaque(int v) : v_(v) {}

 private:
  int v_;
};
// A hook that takes classes derived from its own: `derived` would pass for `base`.
struct base {
  int id;
  friend auto gencache_fields(const base& b) { return std::tie(b.id); }
};
struct derived : base {
  int priority;
};
}  // namespace

int main() {
  gencache::key_bytes out;
#if defined(GENCACHE_REJECT_pointer)
  int x = 1;
  gencache::encode_key_parts(out, &x);
#elif defined(GENCACHE_REJECT_unordered)
  gencache::encode_key_parts(out, std::unordered_map<int, int>{});
#elif defined(GENCACHE_REJECT_path)
  gencache::encode_key_parts(out, std::filesystem::path("/tmp"));
#elif defined(GENCACHE_REJECT_int128)  // wider than the 8 value bytes a key integer has
  gencache::encode_key_parts(out, static_cast<__int128>(1));
#elif defined(GENCACHE_REJECT_private_class)
  gencache::encode_key_parts(out, opaque(1));
#elif defined(GENCACHE_REJECT_null_pointer)  // converts to std::string_view, but is no text
  gencache::encode_key_parts(out, nullptr);
#elif defined(GENCACHE_REJECT_loose_hook)
  gencache::encode_key_parts(out, derived{{1}, 2});
#endif
  return static_cast<int>(out.size());
}
