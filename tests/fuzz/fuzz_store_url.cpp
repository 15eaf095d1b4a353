// libFuzzer target: store URL parsing. Any input either throws std::invalid_argument or
// yields a URL with hosts that are not empty and ports that are not 0; parsing is
// deterministic.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>
#include <variant>

#include <gencache/store_url.hpp>

namespace {

void check_server(const gencache::server_address& s) {
  if (s.host.empty() || s.port == 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view url(reinterpret_cast<const char*>(data), size);
  gencache::store_url parsed;
  try {
    parsed = gencache::parse_store_url(url);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  if (const auto* redis = std::get_if<gencache::redis_url>(&parsed)) {
    check_server(redis->server);
    if (redis->database < 0) std::abort();
    if (!(gencache::parse_redis_url(url) == *redis)) std::abort();
  } else {
    const auto& memcached = std::get<gencache::memcached_url>(parsed);
    if (memcached.servers.empty()) std::abort();
    for (const auto& s : memcached.servers) check_server(s);
    if (!(gencache::parse_memcached_url(url) == memcached)) std::abort();
  }
  return 0;
}
