#pragma once
// A bounded pool of connections, for client handles that one thread at a time may use
// (hiredis' redisContext, libmemcached's memcached_st). Hand-written: hiredis has no pool,
// and libmemcachedutil's would give the two backends different waiting and failure rules.
//
// Concurrency: `idle_` and `open_` are guarded by `mutex_`. Connecting and closing happen
// outside it, so a slow connect never blocks threads that could use an idle connection.
// Invariant: open_ == connections leased out + idle_.size() + connects in progress.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "gencache/result.hpp"
#include "gencache/status.hpp"

namespace gencache::detail {

template <class Connection>
class connection_pool {
 public:
  using clock = std::chrono::steady_clock;
  /// Opens a connection, finishing by the time point given (the caller's deadline).
  using connect_function = std::function<result<Connection>(clock::time_point)>;

  /// Lends a connection; gives it back on destruction unless `discard`ed.
  class lease {
   public:
    lease(lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)),
          connection_(std::move(other.connection_)),
          broken_(other.broken_) {}
    lease& operator=(lease&&) = delete;
    ~lease() {
      if (pool_ != nullptr) pool_->give_back(std::move(connection_), broken_);
    }
    Connection& operator*() noexcept { return connection_; }
    Connection* operator->() noexcept { return &connection_; }
    /// The connection is unusable (I/O error, timeout): close it instead of reusing it.
    void discard() noexcept { broken_ = true; }

   private:
    friend class connection_pool;
    lease(connection_pool* pool, Connection connection) noexcept
        : pool_(pool), connection_(std::move(connection)) {}
    connection_pool* pool_;
    Connection connection_;
    bool broken_ = false;
  };

  /// At most `capacity` connections; a caller waits at most `wait` for one to come free.
  connection_pool(std::size_t capacity, std::chrono::milliseconds wait, connect_function connect)
      : capacity_(capacity), wait_(wait), connect_(std::move(connect)) {}
  /// The most connections it holds.
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;

  /// An idle connection, or a new one opened by `connect_by`, for a call that started at
  /// `start`; errc::timeout when all stay busy until `start` + `wait`.
  result<lease> acquire(clock::time_point start, clock::time_point connect_by) {
    std::unique_lock lock(mutex_);
    const bool available = available_.wait_until(
        lock, start + wait_, [&] { return !idle_.empty() || open_ < capacity_; });
    if (!available) {
      return status(errc::timeout, fmt::format("gencache: all {} connections stayed busy for {}ms",
                                               capacity_, wait_.count()));
    }
    if (!idle_.empty()) {
      Connection c = std::move(idle_.back());
      idle_.pop_back();
      return lease(this, std::move(c));
    }
    ++open_;
    lock.unlock();
    result<Connection> made = connect_(connect_by);
    if (!made) {
      lock.lock();
      --open_;
      available_.notify_one();
      return made.error();
    }
    return lease(this, std::move(made.value()));
  }

  /// Closes every idle connection (after a failure that makes them all suspect).
  void close_idle() {
    std::vector<Connection> closing;
    {
      const std::lock_guard lock(mutex_);
      closing.swap(idle_);
      open_ -= closing.size();
    }
    available_.notify_all();
  }

 private:
  void give_back(Connection c, bool broken) {
    {
      const std::lock_guard lock(mutex_);
      if (broken) {
        --open_;
      } else {
        idle_.push_back(std::move(c));
      }
    }
    available_.notify_one();
    // A broken connection is closed here, by c's destructor, outside the lock.
  }

  const std::size_t capacity_;
  const std::chrono::milliseconds wait_;
  const connect_function connect_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<Connection> idle_;
  std::size_t open_ = 0;
};

}  // namespace gencache::detail
