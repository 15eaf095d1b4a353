#pragma once
// Compile-time type names and fingerprints.
//
// Hand-written because the fingerprint must be a constant expression: g++ 12's
// std::source_location::function_name() omits template arguments, Boost.TypeIndex's
// ctti names carry compiler-specific trailing text, and neither std nor Boost 1.81 has a
// constexpr byte hash. GCC and Clang both spell __PRETTY_FUNCTION__ as
// "... type_name() [with T = NAME; ...]" / "... [T = NAME]".

#include <cstdint>
#include <string_view>

namespace gencache::detail {

template <class T>
consteval std::string_view type_name() noexcept {
  std::string_view f = __PRETTY_FUNCTION__;
  const auto start = f.find("T = ") + 4;
  const auto end = f.find_first_of(";]", start);
  return f.substr(start, end - start);
}

/// FNV-1a, 64 bit: small, constexpr, good enough to tell type names apart.
constexpr std::uint64_t fnv1a(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

template <class T>
inline constexpr std::uint64_t type_fingerprint = fnv1a(type_name<T>());

}  // namespace gencache::detail
