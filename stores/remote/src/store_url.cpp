// The grammar the store URLs share (store_url.hpp): server addresses, user information
// refused and redacted, so that no secret reaches a message.
#include "gencache/store_url.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace gencache {

namespace {

/// Where the user information of `url` is, as [first, end): from the scheme's "://" to the
/// last '@' after it (URL parsers take the last '@' of the authority). A password pasted
/// without encoding may hold '/', '?' or '@', so any '@' after "://" counts: an '@' that
/// belongs elsewhere (a query value) must be written %40.
std::optional<std::pair<std::size_t, std::size_t>> user_information(std::string_view url) {
  const auto scheme = url.find("://");
  const std::size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const auto at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::nullopt;
  return std::pair(start, at);
}

[[noreturn]] void bad(std::string_view url, std::string_view why) {
  detail::throw_bad_store_url(url, why);
}

/// Rejects what the parsers do not support and could hold a secret, before any part of the
/// URL is quoted in a message.
void reject_secrets(std::string_view url) {
  detail::reject_user_information(url);
  const auto start = url.find("://");
  const std::string_view rest = start == std::string_view::npos ? url : url.substr(start + 3);
  if (rest.find('?') != std::string_view::npos) bad(url, "query parameters are not supported");
}

bool host_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

}  // namespace

namespace detail {

/// The URL with its whole query (from the first '?') replaced by "***", and cut to
/// `longest_quoted_url`; a URL with user information is shown as its scheme and "***"
/// alone, since a '/' or '?' pasted in the password leaves no telling where the user
/// information, the host and the query are. Neither a password nor a query parameter's
/// name or value reaches a message, and a huge URL is not copied into it.
std::string redacted_url(std::string_view url) {
  std::string out(url);
  const auto query = out.find('?');  // may come before "://" (then no part after it shows)
  const auto user = user_information(url);
  if (user && (query == std::string::npos || query > user->first)) {
    out.replace(user->first, std::string::npos, "***");
  } else if (query != std::string::npos) {
    out.replace(query + 1, std::string::npos, "***");
  }
  return detail::shortened(out, detail::longest_quoted_url);
}

std::string shortened(std::string_view text, std::size_t longest) {
  if (text.size() <= longest) return std::string(text);
  std::size_t cut = longest;
  // Not inside a UTF-8 sequence: back up over continuation bytes.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  std::string out(text.substr(0, cut));
  out += "...";
  return out;
}

void reject_user_information(std::string_view url) {
  if (user_information(url)) bad(url, "user information (user:password@) is not supported");
}

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
      bad(url, fmt::format("'{}' is not an IPv6 address", shortened(out.host)));
    }
    rest = part.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) bad(url, "expected ':port' after ']'");
  } else {
    const auto colon = part.find(':');
    out.host = std::string(part.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : part.substr(colon);
    if (out.host.empty()) bad(url, "empty host");
    for (const char c : out.host) {
      if (!host_character(c)) {
        bad(url, fmt::format("'{}' is not a host name", shortened(out.host)));
      }
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
    bad(url, fmt::format("port '{}' is not a number", shortened(digits)));
  }
  if (port == 0 || port > 65535) {
    bad(url, fmt::format("port {} is out of range 1-65535", shortened(digits)));
  }
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

std::optional<std::string> percent_decoded(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    unsigned byte = 0;
    const char* first = text.data() + i + 1;
    if (i + 2 >= text.size() || std::from_chars(first, first + 2, byte, 16).ptr != first + 2) {
      return std::nullopt;
    }
    out.push_back(static_cast<char>(byte));
    i += 2;
  }
  return out;
}

namespace {
/// A part of the user information, decoded; a bad escape is refused, quoting nothing of it.
std::string user_part(std::string_view url, std::string_view part) {
  std::optional<std::string> out = percent_decoded(part);
  if (!out) bad(url, "a '%' in the user information is not followed by two hex digits");
  return std::move(*out);
}
}  // namespace

std::string_view url_after_scheme_and_user(std::string_view url, std::string_view scheme,
                                           url_credentials& credentials) {
  if (!url.starts_with(scheme)) bad(url, fmt::format("expected a URL starting '{}'", scheme));
  credentials = {};
  // The user information ends at the last '@' before the query: a password may hold '/',
  // ':' or '@' unencoded, but '?' only as %3F, so that an '@' in a query value
  // (`?prefix=team@eu`) is never taken for the end of credentials.
  const auto query = url.find('?', scheme.size());
  if (query != std::string_view::npos && url.find('@', query) != std::string_view::npos) {
    bad(url, ambiguous_at);
  }
  const auto at = url.substr(0, query).rfind('@');
  if (at == std::string_view::npos || at < scheme.size()) return url.substr(scheme.size());
  const std::string_view user = url.substr(scheme.size(), at - scheme.size());
  const auto colon = user.find(':');
  credentials.username = user_part(url, user.substr(0, colon));
  if (colon != std::string_view::npos) {
    credentials.password = user_part(url, user.substr(colon + 1));
    if (credentials.password.empty()) bad(url, "the user information has an empty password");
  } else if (credentials.username.empty()) {
    bad(url, "the user information ('@') names no user and no password");
  }
  return url.substr(at + 1);
}

std::string_view url_after_scheme(std::string_view url, std::string_view scheme) {
  reject_secrets(url);
  if (!url.starts_with(scheme)) bad(url, fmt::format("expected a URL starting '{}'", scheme));
  return url.substr(scheme.size());
}

void throw_bad_store_url(std::string_view url, std::string_view why) {
  throw std::invalid_argument(
      fmt::format("gencache: bad store URL '{}': {}", redacted_url(url), why));
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
