// redis:// URLs: `redis://host[:port][/db]`.
#include <charconv>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "gencache/redis_store.hpp"
#include "gencache/store_url.hpp"

namespace gencache {

redis_url parse_redis_url(std::string_view url) {
  const std::string_view rest = detail::url_after_scheme(url, "redis://");
  redis_url out;
  const auto slash = rest.find('/');
  out.server = detail::parse_server_address(url, rest.substr(0, slash), 6379);
  if (slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    const auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), out.database);
    if (db.empty() || ec != std::errc() || end != db.data() + db.size() || out.database < 0) {
      detail::throw_bad_store_url(
          url, fmt::format("database '{}' is not a non-negative number", detail::shortened(db)));
    }
  }
  return out;
}

}  // namespace gencache
