#pragma once
// Redis Sentinel (redis-sentinel:// URLs): asking the sentinels for the primary's address,
// and a thread that hears of failovers (`+switch-master`) as they happen. The protocol is
// the one Redis documents for Sentinel clients: ask the sentinels in turn, check the
// answer's role (connection.cpp), and ask again after an error or a switch.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>

#include <sys/types.h>

#include "connection.hpp"

namespace gencache::detail::redis {

/// "host:port", or "[host]:port" for an IPv6 address.
[[nodiscard]] std::string host_port(const server_address& address);

/// The primary's address, from the first of `settings.url.sentinels` that gives it, asking
/// from `first` on (then set to the one that answered, which is asked first next time).
/// Each sentinel gets `connect_timeout` to connect and `command_timeout` to answer, all
/// by `limit`. Failing that, errc::connection naming what each sentinel said.
[[nodiscard]] result<server_address> ask_sentinels(const connection_settings& settings,
                                                   std::atomic<std::size_t>& first,
                                                   io_clock::time_point limit);

/// A thread that keeps one subscription to `+switch-master` on a sentinel, starting with
/// the one `first` names and moving to the next when it fails (after `retry_after`, at
/// least 100 ms). It calls `on_primary(address, false)` with the primary the sentinel names
/// when it subscribes, and `on_primary(address, true)` when the sentinel announces a
/// failover of the URL's master, on its own thread. A sentinel that names no primary,
/// refuses the subscription or sends what is not a message is left for the next. TCP
/// keepalive finds a sentinel that vanished without closing the connection (about 30 s).
/// The destructor stops and joins it: at once while it listens, within `connect_timeout` +
/// `command_timeout` while it connects (and a host name's resolution, unbounded).
class failover_listener {
 public:
  failover_listener(const connection_settings& settings, std::atomic<std::size_t>& first,
                    std::chrono::milliseconds retry_after,
                    std::function<void(const server_address&, bool announced)> on_primary);
  ~failover_listener();
  failover_listener(const failover_listener&) = delete;
  failover_listener& operator=(const failover_listener&) = delete;

 private:
  void run();
  // Subscribes on sentinel `index`, then passes on what it announces until the connection
  // fails or the listener stops.
  void listen(std::size_t index);
  [[nodiscard]] bool stopping() {
    const std::lock_guard lock(mutex_);
    return stopping_;
  }

  const connection_settings& settings_;
  std::atomic<std::size_t>& first_;
  const std::chrono::milliseconds retry_after_;
  const std::function<void(const server_address&, bool)> on_primary_;
  int wake_fd_;  // an eventfd, readable once the listener stops
  pid_t owner_;  // the process whose thread it is (not a child of fork())
  std::mutex mutex_;
  std::condition_variable stopped_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace gencache::detail::redis
