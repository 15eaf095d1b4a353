#pragma once
/// \file
/// The time source for TTLs, injectable so that tests never sleep.

#include <atomic>
#include <chrono>
#include <memory>

namespace gencache {

/// A monotonic time source. Implementations must be thread-safe; `now()` must not go back.
class clock {
 public:
  virtual ~clock() = default;
  /// Time since an arbitrary, fixed epoch.
  [[nodiscard]] virtual std::chrono::nanoseconds now() const noexcept = 0;
};

/// The process-wide default: `std::chrono::steady_clock`.
[[nodiscard]] std::shared_ptr<const clock> steady_clock();

/// A clock that moves only when told to (Caffeine's FakeTicker). Thread-safe.
///
///     auto time = std::make_shared<gencache::fake_clock>();
///     gencache::memory_store store({.clock = time});
///     time->advance(std::chrono::minutes(5));
class fake_clock final : public clock {
 public:
  [[nodiscard]] std::chrono::nanoseconds now() const noexcept override {
    return std::chrono::nanoseconds(ns_.load(std::memory_order_acquire));
  }
  /// Moves time forward by `d` (which must not be negative).
  void advance(std::chrono::nanoseconds d) noexcept {
    ns_.fetch_add(d.count(), std::memory_order_acq_rel);
  }

 private:
  // Starts away from zero so that "expires at 0" bugs cannot hide.
  std::atomic<std::chrono::nanoseconds::rep> ns_{1'000'000'000};
};

}  // namespace gencache
