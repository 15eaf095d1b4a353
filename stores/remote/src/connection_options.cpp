#include "gencache/connection_options.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace gencache {

void connection_options::validate(std::string_view owner) const {
  const auto fail = [&](std::string_view field, std::string_view rule) {
    throw std::invalid_argument(fmt::format("gencache: {}::connection.{} {}", owner, field, rule));
  };
  const auto positive = [&](std::chrono::milliseconds d, std::string_view field) {
    if (d.count() <= 0) fail(field, fmt::format("must be positive, got {}ms", d.count()));
  };
  positive(connect_timeout, "connect_timeout");
  positive(command_timeout, "command_timeout");
  if (retry_after.count() < 0) {
    fail("retry_after", fmt::format("must not be negative, got {}ms", retry_after.count()));
  }
  if (pool_size == 0) fail("pool_size", "must be positive");
}

}  // namespace gencache
