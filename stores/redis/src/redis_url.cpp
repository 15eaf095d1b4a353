// Redis URLs: `redis://[user[:password]@]host[:port][/db]` and
// `redis+unix://[user[:password]@]/path/to/redis.sock[?db=N]`.
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

}  // namespace

redis_url parse_redis_url(std::string_view url) {
  redis_url out;
  detail::url_credentials credentials;
  if (url.starts_with("redis+unix://")) {
    std::string_view rest = detail::url_after_scheme_and_user(url, "redis+unix://", credentials);
    const auto question = rest.find('?');
    if (question != std::string_view::npos) {
      const std::string_view query = rest.substr(question + 1);
      if (!query.starts_with("db=") || query.find('&') != std::string_view::npos) {
        detail::throw_bad_store_url(url, "redis+unix:// takes one query parameter, db=N");
      }
      out.database = database_number(url, query.substr(3), false);
      rest = rest.substr(0, question);
    }
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
