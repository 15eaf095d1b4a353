#pragma once
// A scripted server on a free loopback port, for hostile-reply tests: each connection it
// accepts runs `session` on its own thread with a `wire` that reads requests and writes
// whatever the test wants back (slow bytes, huge headers, floods). A session ends when it
// returns or when the client closes the connection (a write fails).
//
// Concurrency: the accept loop and every session run on their own threads; the destructor
// shuts the listener and every session's socket down, so blocked reads and writes return,
// and joins them all. Counters are atomics.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace test {

/// One accepted connection, as a session sees it.
class wire {
 public:
  wire(int fd, std::atomic<std::size_t>& sent) : fd_(fd), sent_(sent) {}

  /// Writes all of `bytes`; false once the client has gone.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent_ += static_cast<std::size_t>(n);
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Closes the connection now, both ways (the session may go on, for nothing).
  void hang_up() noexcept { ::shutdown(fd_, SHUT_RDWR); }

  /// Exactly `size` bytes, or nothing once the client has gone.
  std::optional<std::string> read_exactly(std::size_t size) {
    while (buffer_.size() < size) {
      if (!fill()) return std::nullopt;
    }
    std::string out = buffer_.substr(0, size);
    buffer_.erase(0, size);
    return out;
  }

  /// A line without its "\r\n", or nothing once the client has gone.
  std::optional<std::string> read_line() {
    for (;;) {
      if (const auto end = buffer_.find("\r\n"); end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        return line;
      }
      if (!fill()) return std::nullopt;
    }
  }

  /// One Redis request (an array of bulk strings), or nothing once the client has gone.
  std::optional<std::vector<std::string>> read_redis_command() {
    const auto header = read_line();
    if (!header || header->empty() || (*header)[0] != '*') return std::nullopt;
    std::vector<std::string> args(number(header->substr(1)));
    for (std::string& arg : args) {
      const auto length = read_line();
      if (!length || length->empty()) return std::nullopt;
      auto bytes = read_exactly(number(length->substr(1)) + 2);
      if (!bytes) return std::nullopt;
      bytes->resize(bytes->size() - 2);
      arg = std::move(*bytes);
    }
    return args;
  }

 private:
  static std::size_t number(std::string_view text) {
    std::size_t n = 0;
    std::from_chars(text.data(), text.data() + text.size(), n);
    return n;
  }

  bool fill() {
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_;
  std::atomic<std::size_t>& sent_;
  std::string buffer_;
};

class fake_server {
 public:
  using session = std::function<void(wire&)>;

  explicit fake_server(session run) : session_(std::move(run)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        ::listen(listener_, 16) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      throw std::runtime_error("test: fake server cannot listen");
    }
    port_ = ntohs(address.sin_port);
    accepting_ = std::thread([this] { accept_loop(); });
  }
  ~fake_server() {
    ::shutdown(listener_, SHUT_RDWR);
    accepting_.join();
    {
      const std::lock_guard lock(mutex_);
      for (const int fd : sockets_) ::shutdown(fd, SHUT_RDWR);
    }
    for (std::thread& t : sessions_) t.join();
    for (const int fd : sockets_) ::close(fd);
    ::close(listener_);
  }
  fake_server(const fake_server&) = delete;
  fake_server& operator=(const fake_server&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// Bytes all sessions managed to write.
  [[nodiscard]] std::size_t bytes_sent() const noexcept { return sent_.load(); }
  /// Connections accepted so far.
  [[nodiscard]] std::size_t connections() const noexcept { return accepted_.load(); }

 private:
  void accept_loop() {
    for (;;) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;  // shut down
      ++accepted_;
      const std::lock_guard lock(mutex_);
      sockets_.push_back(fd);
      sessions_.emplace_back([this, fd] {
        wire w(fd, sent_);
        session_(w);
        ::shutdown(fd, SHUT_RDWR);
      });
    }
  }

  session session_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread accepting_;
  std::mutex mutex_;  // guards sockets_ and sessions_
  std::vector<int> sockets_;
  std::vector<std::thread> sessions_;
  std::atomic<std::size_t> sent_{0};
  std::atomic<std::size_t> accepted_{0};
};

/// Sends up to 256 MiB of filler, 64 KiB at a time, until the client hangs up.
inline void stream_filler(wire& w) {
  const std::string chunk(64 * 1024, 'x');
  for (int i = 0; i < 4096 && w.send(chunk); ++i) {
  }
}

/// A fake Redis's answers to what a gencache connection sends while it sets up (INFO
/// server, SCRIPT LOAD); false for any other command.
inline bool answer_redis_setup(wire& w, const std::vector<std::string>& command) {
  if (command.at(0) == "INFO") {
    const std::string info = "# Server\r\nrun_id:0123456789abcdef0123456789abcdef01234567\r\n";
    std::string reply = "$";  // appended: GCC 12's -Wrestrict false positive on "$" + ...
    reply += std::to_string(info.size());
    reply += "\r\n" + info + "\r\n";
    w.send(reply);
    return true;
  }
  if (command.at(0) == "SCRIPT") {
    w.send("$40\r\n" + std::string(40, 'a') + "\r\n");
    return true;
  }
  return false;
}

/// A fake Redis that sets connections up and answers every other command with `answer`.
inline fake_server::session redis_answering(std::function<void(wire&)> answer) {
  return [answer = std::move(answer)](wire& w) {
    while (const auto command = w.read_redis_command()) {
      if (!answer_redis_setup(w, *command)) answer(w);
    }
  };
}

/// A fake memcached (binary protocol) that answers every get (GET, GETQ, GETK, GETKQ) with
/// `answer`, given the request's header, and every other request with nothing.
inline fake_server::session memcached_answering(
    std::function<void(wire&, const std::string&)> answer) {
  return [answer = std::move(answer)](wire& w) {
    while (const auto header = w.read_exactly(24)) {
      const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>((*header)[i]); };
      const std::uint32_t body = (std::uint32_t{byte(8)} << 24) | (std::uint32_t{byte(9)} << 16) |
                                 (std::uint32_t{byte(10)} << 8) | byte(11);
      if (!w.read_exactly(body)) return;
      const std::uint8_t opcode = byte(1);
      if (opcode == 0x00 || opcode == 0x09 || opcode == 0x0c || opcode == 0x0d) {
        answer(w, *header);
      }
    }
  };
}

/// A memcached response header to `request` announcing `body` bytes, 4 of them extras.
inline std::string memcached_response_header(const std::string& request, std::uint32_t body) {
  std::string h(24, '\0');
  h[0] = static_cast<char>(0x81);
  h[1] = request[1];  // opcode
  h[4] = 4;           // extras: the flags
  for (int i = 0; i < 4; ++i) h[8 + i] = static_cast<char>(body >> (24 - 8 * i));
  for (int i = 12; i < 16; ++i) h[i] = request[i];  // opaque
  return h;
}

}  // namespace test
