#include "gencache/store_url.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

namespace gencache {

namespace {

/// The URL with its user information and the values of query parameters replaced by
/// "***": whatever a user put there (a password) never reaches a message.
std::string redacted(std::string_view url) {
  std::string out(url);
  const auto scheme = out.find("://");
  const std::size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  const auto authority_end = out.find_first_of("/?", start);
  const auto at = out.rfind('@', authority_end == std::string::npos ? out.size() : authority_end);
  if (at != std::string::npos && at >= start) out.replace(start, at - start, "***");
  if (const auto query = out.find('?'); query != std::string::npos) {
    for (auto eq = out.find('=', query); eq != std::string::npos; eq = out.find('=', eq + 4)) {
      const auto end = std::min(out.find('&', eq), out.size());
      out.replace(eq + 1, end - eq - 1, "***");
    }
  }
  return out;
}

[[noreturn]] void bad(std::string_view url, std::string_view why) {
  detail::throw_bad_store_url(url, why);
}

/// Rejects what the parsers do not support and could hold a secret, before any part of the
/// URL is quoted in a message.
void reject_secrets(std::string_view url) {
  const auto start = url.find("://");
  const std::string_view rest = start == std::string_view::npos ? url : url.substr(start + 3);
  if (rest.substr(0, rest.find_first_of("/?")).find('@') != std::string_view::npos) {
    bad(url, "user information (user:password@) is not supported");
  }
  if (rest.find('?') != std::string_view::npos) bad(url, "query parameters are not supported");
}

bool host_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

}  // namespace

namespace detail {

server_address parse_server_address(std::string_view url, std::string_view part,
                                    std::uint16_t default_port) {
  server_address out;
  std::string_view rest;
  if (part.starts_with('[')) {  // [IPv6]:port
    const auto close = part.find(']');
    if (close == std::string_view::npos) bad(url, "unclosed '[' in an IPv6 host");
    out.host = std::string(part.substr(1, close - 1));
    if (out.host.empty() ||
        out.host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos) {
      bad(url, fmt::format("'{}' is not an IPv6 address", out.host));
    }
    rest = part.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) bad(url, "expected ':port' after ']'");
  } else {
    const auto colon = part.find(':');
    out.host = std::string(part.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : part.substr(colon);
    if (out.host.empty()) bad(url, "empty host");
    for (const char c : out.host) {
      if (!host_character(c)) bad(url, fmt::format("'{}' is not a host name", out.host));
    }
  }
  if (rest.empty()) {
    out.port = default_port;
    return out;
  }
  const std::string_view digits = rest.substr(1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    bad(url, fmt::format("port '{}' is not a number", digits));
  }
  if (port == 0 || port > 65535) bad(url, fmt::format("port {} is out of range 1-65535", digits));
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

std::string_view url_after_scheme(std::string_view url, std::string_view scheme) {
  reject_secrets(url);
  if (!url.starts_with(scheme)) bad(url, fmt::format("expected a URL starting '{}'", scheme));
  return url.substr(scheme.size());
}

void throw_bad_store_url(std::string_view url, std::string_view why) {
  throw std::invalid_argument(fmt::format("gencache: bad store URL '{}': {}", redacted(url), why));
}

void throw_unknown_scheme(std::string_view url, std::string_view known) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) bad(url, fmt::format("no scheme ({})", known));
  // Quoted only if it looks like a scheme: anything else before "://" could hold a query
  // or user information (found by fuzz_store_url's secret oracle).
  const std::string_view name = url.substr(0, scheme);
  const bool quotable =
      !name.empty() && name.size() <= 16 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '+' || c == '-' || c == '.';
      });
  bad(url, quotable ? fmt::format("unknown scheme '{}' ({})", name, known)
                    : fmt::format("unknown scheme ({})", known));
}

}  // namespace detail

}  // namespace gencache
