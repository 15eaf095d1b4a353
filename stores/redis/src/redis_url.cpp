// Redis URLs: `redis://[user[:password]@]host[:port][/db]`,
// `redis+unix://[user[:password]@]/path/to/redis.sock[?db=N]` and
// `redis-sentinel://[user[:password]@]host[:port][,host[:port]...]/master-name[?db=N]`.
#include <algorithm>
#include <charconv>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "gencache/redis_store.hpp"
#include "gencache/store_url.hpp"

namespace gencache {

namespace {

/// The database number `text`, quoted in the error if `quoted` (a path's part; a query's
/// value is never quoted).
int database_number(std::string_view url, std::string_view text, bool quoted) {
  int database = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), database);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || database < 0) {
    detail::throw_bad_store_url(
        url,
        quoted ? fmt::format("database '{}' is not a non-negative number", detail::shortened(text))
               : std::string("the db parameter is not a non-negative number"));
  }
  return database;
}

/// `rest` without its query, which may only be `db=N` (into `database`).
std::string_view without_db_query(std::string_view url, std::string_view scheme,
                                  std::string_view rest, int& database) {
  const auto question = rest.find('?');
  if (question == std::string_view::npos) return rest;
  const std::string_view query = rest.substr(question + 1);
  if (!query.starts_with("db=") || query.find('&') != std::string_view::npos) {
    detail::throw_bad_store_url(url, fmt::format("{} takes one query parameter, db=N", scheme));
  }
  database = database_number(url, query.substr(3), false);
  return rest.substr(0, question);
}

/// Sentinel announces a failover as "<name> <old ip> <old port> <new ip> <new port>", so a
/// name with a space could be taken for another's; Redis itself puts no bound on names.
bool valid_master_name(std::string_view name) {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return c > 0x20 && c < 0x7f && c != '/' && c != '?' && c != '#' && c != '%' && c != '@';
  });
}

}  // namespace

redis_url parse_redis_url(std::string_view url) {
  redis_url out;
  detail::url_credentials credentials;
  if (url.starts_with("redis-sentinel://")) {
    constexpr std::string_view scheme = "redis-sentinel://";
    const std::string_view rest = without_db_query(
        url, scheme, detail::url_after_scheme_and_user(url, scheme, credentials), out.database);
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) {
      detail::throw_bad_store_url(url, "expected '/master-name' after the sentinels");
    }
    for (std::string_view hosts = rest.substr(0, slash);;) {
      const auto comma = hosts.find(',');
      out.sentinels.push_back(detail::parse_server_address(url, hosts.substr(0, comma), 26379));
      if (comma == std::string_view::npos) break;
      hosts = hosts.substr(comma + 1);
    }
    if (out.sentinels.size() > 16) detail::throw_bad_store_url(url, "more than 16 sentinels");
    out.master_name = std::string(rest.substr(slash + 1));
    if (!valid_master_name(out.master_name)) {
      detail::throw_bad_store_url(
          url,
          "the master name must be 1 to 128 printable ASCII characters without spaces, '/', "
          "'?', '#', '%' or '@'");
    }
  } else if (url.starts_with("redis+unix://")) {
    constexpr std::string_view scheme = "redis+unix://";
    const std::string_view rest = without_db_query(
        url, scheme, detail::url_after_scheme_and_user(url, scheme, credentials), out.database);
    if (!rest.starts_with('/') || rest.size() < 2) {
      detail::throw_bad_store_url(url, "expected an absolute socket path after redis+unix://");
    }
    // sockaddr_un holds 108 bytes with the terminating NUL; hiredis 0.14 would cut a longer
    // path silently and connect to another socket.
    if (rest.size() > 107) detail::throw_bad_store_url(url, "the socket path is over 107 bytes");
    if (std::any_of(rest.begin(), rest.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      detail::throw_bad_store_url(url, "the socket path holds a control character");
    }
    out.socket_path = std::string(rest);
  } else {
    const std::string_view rest = detail::url_after_scheme_and_user(url, "redis://", credentials);
    if (rest.find('?') != std::string_view::npos) {
      detail::throw_bad_store_url(url, "query parameters are not supported");
    }
    const auto slash = rest.find('/');
    out.server = detail::parse_server_address(url, rest.substr(0, slash), 6379);
    if (slash != std::string_view::npos)
      out.database = database_number(url, rest.substr(slash + 1), true);
  }
  out.username = std::move(credentials.username);
  out.password = std::move(credentials.password);
  return out;
}

}  // namespace gencache
