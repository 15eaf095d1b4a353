#pragma once
// A loopback TCP proxy in front of a server, for fault tests: it forwards bytes both ways
// until told to `refuse`, which closes every proxied connection and the listening socket, so
// that new connections are refused (ECONNREFUSED) as from a server that went away; `accept`
// listens again on the same port.
//
// Concurrency: one thread runs a poll loop over the listener, every connection pair and a
// wake pipe; it alone touches the sockets. `refuse` and `accept` hand it a command through
// `command_` (guarded by `mutex_`) and wait until it has been carried out, so when they
// return the proxy is in the state asked for.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace test {

class tcp_proxy {
 public:
  /// Listens on a free loopback port and forwards to 127.0.0.1:`upstream_port`.
  explicit tcp_proxy(std::uint16_t upstream_port) : upstream_port_(upstream_port) {
    if (::pipe(wake_.data()) != 0) throw std::runtime_error("test: pipe failed");
    port_ = listen_on(0);
    loop_ = std::thread([this] { run(); });
  }
  ~tcp_proxy() {
    order(command::stop);
    loop_.join();
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// Drops every proxied connection and stops listening: connects are refused.
  void refuse() { order(command::refuse); }
  /// Listens again on the same port.
  void accept() { order(command::accept); }

 private:
  enum class command { none, refuse, accept, stop };
  struct pair {
    int client;
    int server;
  };

  void order(command c) {
    std::unique_lock lock(mutex_);
    command_ = c;
    const char byte = 1;
    if (::write(wake_[1], &byte, 1) != 1) throw std::runtime_error("test: wake failed");
    done_.wait(lock, [&] { return command_ == command::none; });
  }

  // Returns the port listened on.
  std::uint16_t listen_on(std::uint16_t port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int on = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    socklen_t size = sizeof address;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        ::listen(listener_, 64) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      throw std::runtime_error("test: the proxy cannot listen");
    }
    return ntohs(address.sin_port);
  }

  int connect_upstream() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(upstream_port_);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
      return fd;
    }
    if (fd >= 0) ::close(fd);
    return -1;
  }

  void close_pairs() {
    for (const pair& p : pairs_) {
      ::close(p.client);
      ::close(p.server);
    }
    pairs_.clear();
  }

  // Moves what is readable on `from` to `to`; false when the connection is over.
  static bool forward(int from, int to) {
    char buffer[16384];
    const ssize_t n = ::read(from, buffer, sizeof buffer);
    if (n <= 0) return false;
    for (ssize_t sent = 0; sent < n;) {
      // MSG_NOSIGNAL: a peer that has gone is a closed pair, not a SIGPIPE that kills the
      // test process (CI lost a memcached outage run to one).
      const ssize_t w = ::send(to, buffer + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
      if (w <= 0) return false;
      sent += w;
    }
    return true;
  }

  // Carries out a command; false to stop the loop.
  bool obey() {
    char sink[64];
    (void)::read(wake_[0], sink, sizeof sink);
    const std::lock_guard lock(mutex_);
    const command c = command_;
    if (c == command::refuse || c == command::stop) {
      close_pairs();
      if (listener_ >= 0) ::close(listener_);
      listener_ = -1;
    } else if (c == command::accept && listener_ < 0) {
      (void)listen_on(port_);
    }
    command_ = command::none;
    done_.notify_all();
    return c != command::stop;
  }

  void run() {
    for (;;) {
      std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}};
      if (listener_ >= 0) fds.push_back({listener_, POLLIN, 0});
      const std::size_t first_pair = fds.size();
      for (const pair& p : pairs_) {
        fds.push_back({p.client, POLLIN, 0});
        fds.push_back({p.server, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds[0].revents != 0) {
        if (!obey()) return;
        continue;  // the sockets polled may be gone
      }
      if (listener_ >= 0 && fds[1].revents != 0) {
        const int client = ::accept(listener_, nullptr, nullptr);
        if (client >= 0) {
          const int server = connect_upstream();
          if (server >= 0) {
            pairs_.push_back({client, server});
          } else {
            ::close(client);
          }
        }
      }
      std::vector<pair> alive;
      for (std::size_t i = 0; i < (fds.size() - first_pair) / 2; ++i) {
        const pair p = pairs_[i];
        const short from_client = fds[first_pair + 2 * i].revents;
        const short from_server = fds[first_pair + 2 * i + 1].revents;
        const bool ok = (from_client == 0 || forward(p.client, p.server)) &&
                        (from_server == 0 || forward(p.server, p.client));
        if (ok) {
          alive.push_back(p);
        } else {
          ::close(p.client);
          ::close(p.server);
        }
      }
      for (std::size_t i = (fds.size() - first_pair) / 2; i < pairs_.size(); ++i) {
        alive.push_back(pairs_[i]);  // accepted in this round
      }
      pairs_ = std::move(alive);
    }
  }

  const std::uint16_t upstream_port_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  std::array<int, 2> wake_{-1, -1};
  std::vector<pair> pairs_;
  std::thread loop_;
  std::mutex mutex_;
  std::condition_variable done_;
  command command_ = command::none;
};

}  // namespace test
