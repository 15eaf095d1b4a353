#pragma once
// The fail-fast rule of the remote back ends (`retry_after`), for one server: the Redis
// server, or one member of a memcached pool. One breaker serves every pooled connection to
// its server, so what one request learns holds for all.
//
// After a failure of the connection kind (refused, reset, closed after accepting, timed
// out), every request fails at once, without I/O, for exactly `retry_after` on the given
// clock. Then one request (the probe) goes to the server, which moves the end of the
// fail-fast period `retry_after` on for the others, and the first answer closes the breaker.
// `retry_after` 0 means no fail-fast period: every request tries the server.
//
// Concurrency: `mutex_` guards every field but `open_`, which is written under it and read
// without it so that a closed breaker (the common case) costs one atomic load per request.
// Invariant: open_ == false => no failure since the last answer; `sequence_` changes with
// every change of state, so a probe can give its turn back only if nothing happened since.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <utility>

#include <fmt/format.h>

#include "gencache/clock.hpp"
#include "gencache/status.hpp"

namespace gencache::detail {

class breaker {
 public:
  /// What `admit` decided for one request.
  struct pass {
    status refusal;  ///< ok: go to the server; otherwise the error to fail fast with
    /// For a probe: the state it left, so that it can give its turn back (`release`).
    std::uint64_t sequence = 0;
    std::int64_t previous_until = 0;
    bool probe = false;
  };

  breaker(std::chrono::milliseconds retry_after, std::shared_ptr<const clock> time)
      : retry_after_(retry_after), clock_(std::move(time)) {}
  breaker(const breaker&) = delete;
  breaker& operator=(const breaker&) = delete;

  /// Whether a request may go to the server now. Thread-safe; no I/O.
  [[nodiscard]] pass admit() {
    if (!open_.load(std::memory_order_acquire)) return {};
    const std::lock_guard lock(mutex_);
    if (!open_.load(std::memory_order_relaxed) || retry_after_.count() == 0) return {};
    const std::int64_t now = clock_->now().count();
    if (now < until_) {
      return {.refusal = status(last_failure_.code(),
                                fmt::format("{} (failing fast for up to {}ms before trying again)",
                                            last_failure_.message(), retry_after_.count()))};
    }
    pass probe{.refusal = {}, .sequence = ++sequence_, .previous_until = until_, .probe = true};
    until_ = now + nanoseconds(retry_after_);
    return probe;
  }

  /// A request admitted as the probe ended before it reached the server (another server
  /// of the same request was failing fast, or no connection came free): the next request
  /// may probe instead, unless something happened to the breaker meanwhile.
  void release(const pass& p) noexcept {
    if (!p.probe) return;
    const std::lock_guard lock(mutex_);
    if (sequence_ == p.sequence) until_ = p.previous_until;
  }

  /// The server answered (whatever it answered): closes the breaker.
  void answered() noexcept {
    if (!open_.load(std::memory_order_acquire)) return;
    const std::lock_guard lock(mutex_);
    ++sequence_;
    open_.store(false, std::memory_order_release);
  }

  /// A failure of the connection kind: requests fail fast for `retry_after` from now.
  /// Returns whether the breaker was closed, that is, whether the server was taken for up
  /// until this failure.
  bool failed(const status& failure) {
    const std::lock_guard lock(mutex_);
    last_failure_ = failure;
    until_ = clock_->now().count() + nanoseconds(retry_after_);
    ++sequence_;
    return !open_.exchange(true, std::memory_order_acq_rel);
  }

 private:
  static std::int64_t nanoseconds(std::chrono::milliseconds d) {
    // Saturates: validation lets retry_after be any non-negative count of milliseconds.
    constexpr std::int64_t most = std::numeric_limits<std::int64_t>::max() / 4;
    return d.count() > most / 1'000'000 ? most : d.count() * 1'000'000;
  }

  const std::chrono::milliseconds retry_after_;
  const std::shared_ptr<const clock> clock_;
  std::atomic<bool> open_{false};
  std::mutex mutex_;
  std::int64_t until_ = 0;  // on clock_, in ns: requests fail fast before it
  std::uint64_t sequence_ = 0;
  status last_failure_;
};

}  // namespace gencache::detail
