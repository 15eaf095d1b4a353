#pragma once
/// \file
/// What every store URL shares: server addresses and the errors of a bad URL. Each back
/// end parses its own scheme with these (`parse_redis_url` in redis_store.hpp,
/// `parse_memcached_url` in memcached_store.hpp), and `make_store` (any_store.hpp) reads
/// any of them. Hosts are names, IPv4 addresses, or IPv6 addresses in brackets
/// (`[::1]:6379`). Anything malformed throws std::invalid_argument naming the bad part,
/// never quoting user information or query values.

#include <cstdint>
#include <string>
#include <string_view>

namespace gencache {

struct server_address {
  std::string host;
  std::uint16_t port = 0;
  friend bool operator==(const server_address&, const server_address&) = default;
};

namespace detail {
/// What follows `scheme` in `url` (e.g. "redis://"), after refusing user information and
/// query parameters, which the parsers do not support and which could hold a secret.
[[nodiscard]] std::string_view url_after_scheme(std::string_view url, std::string_view scheme);
/// `part` of `url` as `host[:port]` or `[IPv6][:port]`, `default_port` if it has none.
[[nodiscard]] server_address parse_server_address(std::string_view url, std::string_view part,
                                                  std::uint16_t default_port);
/// std::invalid_argument "gencache: bad store URL '<url>': <why>", with the URL's user
/// information and query values replaced by "***".
[[noreturn]] void throw_bad_store_url(std::string_view url, std::string_view why);
/// The same, for a URL whose scheme is none of `known` (quoted only if it looks like one).
[[noreturn]] void throw_unknown_scheme(std::string_view url, std::string_view known);
}  // namespace detail

}  // namespace gencache
