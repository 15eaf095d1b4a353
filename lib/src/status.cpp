#include "gencache/status.hpp"

#include "gencache/clock.hpp"

namespace gencache {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::ok:
      return "ok";
    case errc::too_large:
      return "too large";
    case errc::type_mismatch:
      return "type mismatch";
    case errc::timeout:
      return "timeout";
    case errc::connection:
      return "connection";
    case errc::protocol:
      return "protocol";
    case errc::serialization:
      return "serialization";
  }
  return "unknown";
}

namespace {
class steady_clock_source final : public clock {
 public:
  [[nodiscard]] std::chrono::nanoseconds now() const noexcept override {
    return std::chrono::steady_clock::now().time_since_epoch();
  }
};
}  // namespace

std::shared_ptr<const clock> steady_clock() {
  static const auto instance = std::make_shared<const steady_clock_source>();
  return instance;
}

}  // namespace gencache
