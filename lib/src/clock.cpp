// The steady clock every time-dependent part uses unless a test gives its own (clock.hpp).
#include "gencache/clock.hpp"

#include <chrono>
#include <memory>

namespace gencache {

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
