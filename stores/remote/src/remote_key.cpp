// Readable, bounded remote names of keys and generations (remote_key.hpp).
#include "gencache/remote_key.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "gencache/key.hpp"  // brings xxhash.h (inline)

namespace gencache {

namespace {

constexpr std::size_t hash_suffix = 33;  // '#' + 32 hex digits

bool needs_escape(unsigned char c) noexcept {
  return c <= 0x20 || c >= 0x7f || c == '%' || c == '#';
}

void append_escaped(std::string& out, std::string_view in, std::size_t limit) {
  for (const char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    const std::size_t width = needs_escape(c) ? 3 : 1;
    if (out.size() + width > limit) return;
    if (width == 3) {
      fmt::format_to(std::back_inserter(out), "%{:02X}", c);
    } else {
      out.push_back(ch);
    }
  }
}

}  // namespace

std::string remote_key(std::string_view prefix, std::string_view text, std::string_view canonical,
                       std::size_t max_length) {
  std::string out;
  append_escaped(out, prefix, std::string::npos);
  if (out.size() + hash_suffix + 8 > max_length) {
    throw std::invalid_argument(
        fmt::format("gencache: remote key limit {} leaves no room after the prefix '{}' and the "
                    "{}-byte hash",
                    max_length, prefix, hash_suffix));
  }
  append_escaped(out, text, max_length - hash_suffix);
  const XXH128_hash_t h = XXH3_128bits(canonical.data(), canonical.size());
  fmt::format_to(std::back_inserter(out), "#{:016x}{:016x}", h.high64, h.low64);
  return out;
}

}  // namespace gencache
