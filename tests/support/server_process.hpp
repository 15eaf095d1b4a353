#pragma once
// A redis-server or memcached of a test's own, on a free loopback port, that the test can
// kill, restart, pause and resume. Readiness is read from the server's own log line ("Ready
// to accept connections", "server listening"), written after it listens: no polling, no
// sleeping. A thread drains the server's output so that it never blocks on a full pipe.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

extern char** environ;

namespace test {

/// A sentinel (`redis-server <config> --sentinel`) writes its config in `data_dir`, and takes
/// the `extra` arguments as lines of it ("sentinel monitor m 127.0.0.1 6390 2").
enum class server_kind { redis, memcached, sentinel };

class server_process {
 public:
  /// Starts a server and waits until it listens; throws std::runtime_error if it cannot.
  /// A Redis with a `data_dir` keeps its snapshot (`SAVE`) there, and a restart reloads it.
  /// `extra` arguments go to the server's command line.
  explicit server_process(server_kind kind, std::string data_dir = {},
                          std::vector<std::string> extra = {})
      : kind_(kind), port_(free_port()), data_dir_(std::move(data_dir)), extra_(std::move(extra)) {
    // The free port is released before the server binds it, so another process (a parallel
    // ctest entry) may take it first: the server then exits without listening, and we try
    // another port.
    for (int attempt = 1;; ++attempt) {
      try {
        start();
        return;
      } catch (const std::runtime_error&) {
        if (attempt == 5) throw;
        port_ = free_port();
      }
    }
  }
  ~server_process() { stop(); }
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string url() const {
    return fmt::format("{}://127.0.0.1:{}",
                       kind_ == server_kind::redis      ? "redis"
                       : kind_ == server_kind::sentinel ? "redis-sentinel"
                                                        : "memcached",
                       port_);
  }

  /// Kills the server (SIGKILL: no goodbye to its clients) and reaps it.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);  // a paused server must die too
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    if (drain_.joinable()) drain_.join();
  }
  /// Sends one inline command (e.g. "SAVE") and returns line `line` (from 1) of the answer:
  /// "$5" then "27002" for a bulk string, "*2", "$9", "127.0.0.1", "$5", "27002" for an array.
  std::string send(const std::string& command, int line = 1) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port_);
    std::string answer;
    const std::string request = command + "\r\n";
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size())) {
      char c = 0;
      for (int seen = 1; seen <= line && ::read(fd, &c, 1) == 1;) {
        if (c == '\n') {
          if (++seen <= line) answer.clear();
        } else {
          answer.push_back(c);
        }
      }
    }
    if (fd >= 0) ::close(fd);
    if (!answer.empty() && answer.back() == '\r') answer.pop_back();
    return answer;
  }
  /// Starts it again on the same port: empty, or from its snapshot if it has a data_dir.
  void restart() {
    stop();
    start();
  }
  /// SIGSTOP: the server keeps its connections and answers nothing (a hung server). Returns
  /// once the server has stopped: a signal is delivered asynchronously, and a server thread
  /// could otherwise still answer the next request.
  void pause() {
    ::kill(pid_, SIGSTOP);
    int status = 0;
    while (::waitpid(pid_, &status, WUNTRACED) < 0 && errno == EINTR) {
    }
  }
  void resume() { ::kill(pid_, SIGCONT); }

 private:
  static std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      throw std::runtime_error("test: no free loopback port");
    }
    ::close(fd);
    return ntohs(address.sin_port);
  }

  std::vector<std::string> arguments() const {
    const std::string port = std::to_string(port_);
    if (kind_ == server_kind::sentinel) {
      const std::string config = fmt::format("{}/sentinel-{}.conf", data_dir_, port);
      std::string lines = fmt::format("port {}\nbind 127.0.0.1\n", port);
      for (const std::string& line : extra_) lines += line + "\n";
      std::FILE* f = std::fopen(config.c_str(), "w");
      if (f == nullptr || std::fputs(lines.c_str(), f) < 0 || std::fclose(f) != 0) {
        throw std::runtime_error("test: cannot write " + config);
      }
      return {"redis-server", config, "--sentinel"};
    }
    if (kind_ == server_kind::redis) {
      std::vector<std::string> args = {"redis-server", "--port",    port, "--bind",
                                       "127.0.0.1",    "--save",    "",   "--appendonly",
                                       "no",           "--logfile", ""};
      if (!data_dir_.empty()) {
        args.insert(args.end(), {"--dir", data_dir_, "--dbfilename", "dump.rdb"});
      }
      args.insert(args.end(), extra_.begin(), extra_.end());
      return args;
    }
    std::vector<std::string> args = {"memcached", "-l", "127.0.0.1", "-p", port,
                                     "-U",        "0",  "-m",        "16", "-vv"};
    if (::geteuid() == 0) {
      args.push_back("-u");
      args.push_back("root");
    }
    return args;
  }

  void start() {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("test: pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::vector<std::string> args = arguments();
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int spawned = ::posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (spawned != 0) {
      ::close(out[0]);
      pid_ = -1;
      throw std::runtime_error(fmt::format("test: cannot start {}: errno {}", args[0], spawned));
    }
    ready_ = false;
    exited_ = false;
    const std::string marker = kind_ == server_kind::redis      ? "Ready to accept connections"
                               : kind_ == server_kind::sentinel ? "Sentinel ID is"
                                                                : "server listening";
    drain_ = std::thread([this, fd = out[0], marker] {
      std::string seen;
      char buffer[4096];
      for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        if (!ready_) {
          seen.append(buffer, static_cast<std::size_t>(n));
          if (seen.find(marker) != std::string::npos) {
            const std::lock_guard lock(mutex_);
            ready_ = true;
            became_ready_.notify_all();
          }
        }
      }
      ::close(fd);
      const std::lock_guard lock(mutex_);
      exited_ = true;
      became_ready_.notify_all();
    });
    std::unique_lock lock(mutex_);
    became_ready_.wait_for(lock, std::chrono::seconds(20), [&] { return ready_ || exited_; });
    if (!ready_) {
      lock.unlock();
      stop();
      throw std::runtime_error(fmt::format("test: {} on port {} did not start", args[0], port_));
    }
  }

  server_kind kind_;
  std::uint16_t port_;
  std::string data_dir_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
  std::thread drain_;
  std::mutex mutex_;
  std::condition_variable became_ready_;
  bool ready_ = false;
  bool exited_ = false;
};

}  // namespace test
