// The checks of the connection options both remote back ends share (connection_options.hpp).
#include "gencache/connection_options.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace gencache {

void connection_options::validate(std::string_view owner) const {
  const auto fail = [&](std::string_view field, std::string_view rule) {
    throw std::invalid_argument(fmt::format("gencache: {}::connection.{} {}", owner, field, rule));
  };
  // At most a day: deadlines are the steady clock's nanoseconds plus these, and must not
  // overflow (milliseconds::max() reads as "no timeout", and would).
  constexpr std::chrono::milliseconds longest = std::chrono::hours(24);
  const auto positive = [&](std::chrono::milliseconds d, std::string_view field) {
    if (d.count() <= 0 || d > longest) {
      fail(field, fmt::format("must be positive and at most 24h, got {}ms", d.count()));
    }
  };
  positive(connect_timeout, "connect_timeout");
  positive(command_timeout, "command_timeout");
  if (retry_after.count() < 0) {
    fail("retry_after", fmt::format("must not be negative, got {}ms", retry_after.count()));
  }
  if (pool_size == 0) fail("pool_size", "must be positive");
}

}  // namespace gencache
