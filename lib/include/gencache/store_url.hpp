#pragma once
/// \file
/// Store locations as URLs, parsed and validated once, at configuration time:
///
///     redis://127.0.0.1:6379/2          host, port (default 6379), database (default 0)
///     memcached://10.0.0.1:11211,10.0.0.2   a server pool (default port 11211)
///
/// Hosts are names, IPv4 addresses, or IPv6 addresses in brackets (`[::1]:6379`). Anything
/// malformed throws std::invalid_argument naming the bad part.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace gencache {

struct server_address {
  std::string host;
  std::uint16_t port = 0;
  friend bool operator==(const server_address&, const server_address&) = default;
};

struct redis_url {
  server_address server;
  int database = 0;
  friend bool operator==(const redis_url&, const redis_url&) = default;
};

struct memcached_url {
  std::vector<server_address> servers;
  friend bool operator==(const memcached_url&, const memcached_url&) = default;
};

using store_url = std::variant<redis_url, memcached_url>;

/// Parses `redis://…` or `memcached://…`; std::invalid_argument otherwise.
[[nodiscard]] store_url parse_store_url(std::string_view url);
[[nodiscard]] redis_url parse_redis_url(std::string_view url);
[[nodiscard]] memcached_url parse_memcached_url(std::string_view url);

namespace detail {
/// std::invalid_argument "gencache: bad store URL '<url>': <why>", with the URL's user
/// information and query values replaced by "***".
[[noreturn]] void throw_bad_store_url(std::string_view url, std::string_view why);
/// The same, for a URL whose scheme is none of `known` (quoted only if it looks like one).
[[noreturn]] void throw_unknown_scheme(std::string_view url, std::string_view known);
}  // namespace detail

}  // namespace gencache
