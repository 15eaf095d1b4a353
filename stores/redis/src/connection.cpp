// One Redis connection: open and set up, then pipelined exchanges by a deadline
// (connection.hpp).
#include "connection.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <algorithm>
#include <cerrno>
#include <new>
#include <system_error>

#include <fmt/format.h>

namespace gencache::detail::redis {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000),
          static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

/// Waits until `fd` is ready for `events` (true), or `deadline` passes or `wake_fd` (if not
/// -1) becomes readable (false).
bool wait_until(int fd, short events, io_clock::time_point deadline, int wake_fd = -1) {
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - io_clock::now()).count();
    if (left <= 0) return false;
    pollfd p[2] = {{.fd = fd, .events = events, .revents = 0},
                   {.fd = wake_fd, .events = POLLIN, .revents = 0}};
    const int ready =
        ::poll(p, wake_fd < 0 ? 1 : 2, static_cast<int>(std::min<long long>(left, 60'000)));
    if (ready > 0) return p[1].revents == 0;
    if (ready < 0 && errno != EINTR) return true;  // the send or recv that follows says why
  }
}

/// The commands in the protocol's format, one buffer for one write.
std::string format_commands(std::span<const std::span<const std::string_view>> commands) {
  std::string out;
  for (const auto& args : commands) {
    boost::container::small_vector<const char*, 8> argv;
    boost::container::small_vector<std::size_t, 8> lengths;
    for (const std::string_view a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    char* formatted = nullptr;
    const int length = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()),
                                              argv.data(), lengths.data());
    if (length < 0) throw std::bad_alloc();
    out.append(formatted, static_cast<std::size_t>(length));
    redisFreeCommand(formatted);
  }
  return out;
}

}  // namespace

result<std::unique_ptr<connection>> connection::open(const connection_settings& settings,
                                                     const endpoint& to,
                                                     io_clock::time_point limit) {
  std::unique_ptr<connection> c(new connection(settings, to));
  const auto left = std::chrono::floor<std::chrono::milliseconds>(limit - io_clock::now());
  if (left.count() <= 0) return c->timed_out("connecting");
  const timeval connect_timeout = to_timeval(std::min(settings.connect_timeout, left));
  c->context_.reset(
      to.address.host.empty()
          ? redisConnectUnixWithTimeout(settings.url.socket_path.c_str(), connect_timeout)
          : redisConnectWithTimeout(to.address.host.c_str(), to.address.port, connect_timeout));
  if (!c->context_) return status(errc::connection, "gencache: hiredis could not allocate");
  if (c->context_->err != 0) {
    return status(errc::connection, fmt::format("gencache: cannot connect to {}: {}", to.location,
                                                c->context_->errstr));
  }
  bound_reader(*c->context_->reader, &c->limits_);
  // A sentinel connection waits for pushes for as long as it lives: keepalive finds a peer
  // that vanished without closing it.
  if (to.kind == endpoint::role::sentinel) (void)redisEnableKeepAlive(c->context_.get());
  // Setting the connection up (SELECT, INFO, the SCRIPT LOADs) has one command_timeout.
  if (status s = c->set_up(std::min(io_clock::now() + settings.command_timeout, limit)); !s.ok()) {
    return s;
  }
  c->ready_at_ = io_clock::now();
  return c;
}

status connection::set_up(io_clock::time_point deadline) {
  if (role_ == endpoint::role::sentinel) return {};
  if (!settings_->url.password.empty()) {
    if (status s = authenticate(deadline); !s.ok()) return s;
  }
  if (settings_->url.database != 0) {
    const std::string db = std::to_string(settings_->url.database);
    const std::string_view argv[] = {"SELECT", db};
    auto r = command(argv, deadline);
    if (!r) return r.error();
    if (r.value()->type != REDIS_REPLY_STATUS) return set_up_refused("SELECT", *r.value());
  }
  if (role_ == endpoint::role::primary) {
    if (status s = check_role(deadline); !s.ok()) return s;
  }
  if (status s = read_incarnation(deadline); !s.ok()) return s;
  for (std::size_t i = 0; i < script_count; ++i) {
    if (status s = load_script(static_cast<script_id>(i), deadline); !s.ok()) return s;
  }
  return {};
}

status connection::set_up_refused(std::string_view what, const redisReply& reply) const {
  if (reply.type == REDIS_REPLY_ERROR && text_of(reply).starts_with("NOAUTH")) {
    // The server's answer is not quoted: a hostile one could echo what it was sent.
    return {errc::connection,
            settings_->url.password.empty()
                ? fmt::format("gencache: {} requires AUTH and no password was given (give one "
                              "in the URL, redis_options::password, password_env or "
                              "password_file): NOAUTH",
                              location_)
                : fmt::format("gencache: {} answered NOAUTH to {} after AUTH succeeded", location_,
                              what)};
  }
  return unexpected(what, location_, reply);
}

status connection::authenticate(io_clock::time_point deadline) {
  const std::string& user = settings_->url.username;
  const std::string& password = settings_->url.password;
  const std::string_view as_default[] = {"AUTH", password};
  const std::string_view as_user[] = {"AUTH", user, password};
  auto r = user.empty() ? command(as_default, deadline) : command(as_user, deadline);
  if (!r) return r.error();
  if (r.value()->type == REDIS_REPLY_STATUS) return {};
  return {errc::connection,
          fmt::format("gencache: AUTH{} on {} refused: {}", user.empty() ? "" : " as an ACL user",
                      location_, auth_refusal(*r.value()))};
}

std::string connection::auth_refusal(const redisReply& reply) {
  // Only the answer's first word (its error code) is quoted, with an explanation for the
  // answers Redis gives: the rest may echo the command's arguments, the password among
  // them, whole, cut or quoted in any way (servers and proxies that do not know AUTH).
  if (reply.type != REDIS_REPLY_ERROR) return "an unexpected reply";
  const std::string_view text = text_of(reply);
  const std::string_view code = text.substr(0, std::min<std::size_t>(text.find(' '), 32));
  if (code == "WRONGPASS") return "WRONGPASS (wrong user or password, or the user is disabled)";
  if (text.find("without any password configured") != std::string_view::npos) {
    return fmt::format("{} (the server has no password set: give none)", code);
  }
  return fmt::format("{} (the rest of the server's answer is not quoted: it may echo the password)",
                     code);
}

result<std::string> connection::info_field(std::string_view section, std::string_view field,
                                           io_clock::time_point deadline) {
  const std::string_view argv[] = {"INFO", section};
  auto r = command(argv, deadline);
  if (!r) return r.error();
  if (r.value()->type != REDIS_REPLY_STRING) {
    return set_up_refused(fmt::format("INFO {}", section), *r.value());
  }
  const std::string_view info = text_of(*r.value());
  // A field starts a line ("role:" is not the end of "master_failover_role:").
  const std::string key = fmt::format("{}:", field);
  std::size_t value = 0;
  if (info.starts_with(key)) {
    value = key.size();
  } else if (const auto at = info.find("\n" + key); at != std::string_view::npos) {
    value = at + 1 + key.size();
  } else {
    return std::string();
  }
  return std::string(info.substr(value, info.find_first_of("\r\n", value) - value));
}

status connection::check_role(io_clock::time_point deadline) {
  // INFO, not ROLE: ROLE lists a primary's replicas, one array each, more objects than a
  // reply may hold (reply.hpp); INFO is one string, and ACL users already need it.
  auto role = info_field("replication", "role", deadline);
  if (!role) return role.error();
  if (role.value() == "master") return {};
  // Counted as the server's absence: the breaker holds requests back for `retry_after`,
  // and the next connection asks the sentinels again.
  return down({errc::connection,
               fmt::format("gencache: {} is not a primary (its INFO says role:{}): a failover is "
                           "under way or the sentinels are wrong",
                           location_, detail::shortened(role.value(), 16))});
}

status connection::read_incarnation(io_clock::time_point deadline) {
  auto field = info_field("server", "run_id", deadline);
  if (!field) return field.error();
  const std::string_view run_id = std::string_view(field.value()).substr(0, 16);
  if (run_id.size() != 16 ||
      run_id.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return {errc::protocol,
            fmt::format("gencache: INFO server on {} gives no run_id, so a restart that "
                        "reloads old generations could not be detected",
                        location_)};
  }
  incarnation_ = "~";
  incarnation_ += run_id;
  return {};
}

status connection::load_script(script_id id, io_clock::time_point deadline) {
  const std::string_view argv[] = {"SCRIPT", "LOAD", scripts[id]};
  auto r = command(argv, deadline);
  if (!r) return r.error();
  if (r.value()->type != REDIS_REPLY_STRING) {
    return unexpected("SCRIPT LOAD", location_, *r.value());
  }
  script_sha_[id] = text_of(*r.value());
  return {};
}

std::string connection::name(std::string_view key) const {
  std::string out;
  out.reserve(key.size() + incarnation_.size());
  out.append(key);
  out.append(incarnation_);
  return out;
}

boost::container::small_vector<std::string, 8> connection::names(
    std::span<const std::string> keys) const {
  boost::container::small_vector<std::string, 8> out;
  for (const std::string& k : keys) out.push_back(name(k));
  return out;
}

bool connection::closed_by_server() noexcept {
  char byte = 0;
  const ssize_t n = ::recv(context_->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  checked_quiet_ = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  return n == 0;
}

status connection::exchange(std::span<const std::span<const std::string_view>> commands,
                            std::span<reply_ptr> replies, io_clock::time_point deadline) {
  const std::string_view what = commands[0][0];
  std::size_t arguments = 0;
  for (const auto& args : commands) arguments += args.size();
  // Replies are matched to commands by order alone (a GET's reply does not name its key),
  // so a connection on which the server said anything unasked is never used again: what
  // it said would be taken for the next command's reply, another key's value (G5).
  if (char byte = 0; !std::exchange(checked_quiet_, false) &&
                     ::recv(context_->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
    return unasked(what);
  }
  if (status s = send(format_commands(commands), what, deadline); !s.ok()) return s;
  if (status s = receive(replies, what, arguments, deadline); !s.ok()) return s;
  const redisReader* reader = context_->reader;
  if (reader->pos != reader->len) return unasked(what);  // more replies than commands
  answered_ = true;
  return {};
}

status connection::send(std::string_view bytes, std::string_view what,
                        io_clock::time_point deadline) {
  const int fd = context_->fd;
  for (std::size_t sent = 0; sent < bytes.size();) {
    const ssize_t n =
        ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<std::size_t>(n);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return down(io_error(what, "sending failed", std::generic_category().message(errno)));
    } else if (!wait_until(fd, POLLOUT, deadline)) {
      return down(timed_out(what));
    }
  }
  return {};
}

status connection::receive(std::span<reply_ptr> replies, std::string_view what,
                           std::size_t arguments, io_clock::time_point deadline) {
  limits_ = {.objects_left = arguments + 8,
             .bytes_left = value_room() + std::size_t{64} * 1024 + 64 * arguments,
             .violation = {}};
  for (reply_ptr& reply : replies) {
    if (status s = receive_one(reply, what, deadline); !s.ok()) return s;
  }
  return {};
}

status connection::receive_pushed(reply_ptr& message, int wake_fd) {
  limits_ = {.objects_left = 16, .bytes_left = std::size_t{64} * 1024, .violation = {}};
  return receive_one(message, "a subscription", io_clock::time_point::max(), wake_fd);
}

status connection::receive_one(reply_ptr& reply, std::string_view what,
                               io_clock::time_point deadline, int wake_fd) {
  redisReader* reader = context_->reader;
  const int fd = context_->fd;
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
      return limits_.violation.empty() ? io_error(what, "protocol error", reader->errstr)
                                       : over_limits(what, "a reply with " + limits_.violation);
    }
    if (raw != nullptr) {
      reply.reset(static_cast<redisReply*>(raw));
      return {};
    }
    if (!wait_until(fd, POLLIN, deadline, wake_fd)) return down(timed_out(what));
    std::array<char, std::size_t{16} * 1024> buffer;
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n == 0) return down(io_error(what, "failed", "the server closed the connection"));
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return down(io_error(what, "failed", std::generic_category().message(errno)));
    }
    if (static_cast<std::size_t>(n) > limits_.bytes_left) {
      return over_limits(
          what, fmt::format("replies over {} bytes", value_room() + std::size_t{64} * 1024));
    }
    limits_.bytes_left -= static_cast<std::size_t>(n);
    if (redisReaderFeed(reader, buffer.data(), static_cast<std::size_t>(n)) != REDIS_OK) {
      throw std::bad_alloc();
    }
  }
}

result<reply_ptr> connection::command(std::span<const std::string_view> args,
                                      io_clock::time_point deadline) {
  const std::span<const std::string_view> commands[] = {args};
  reply_ptr replies[1];
  if (status s = exchange(commands, replies, deadline); !s.ok()) return s;
  return std::move(replies[0]);
}

result<reply_ptr> connection::eval(script_id id, std::span<std::string_view> argv,
                                   io_clock::time_point deadline) {
  for (int attempt = 0;; ++attempt) {
    argv[1] = script_sha_[id];
    auto r = command(argv, deadline);
    if (!r) return r;
    const redisReply& reply = *r.value();
    if (attempt == 0 && reply.type == REDIS_REPLY_ERROR && text_of(reply).starts_with("NOSCRIPT")) {
      if (status s = load_script(id, deadline); !s.ok()) return s;
      continue;
    }
    return r;
  }
}

status connection::unasked(std::string_view what) const {
  return {errc::protocol,
          fmt::format("gencache: {} on {}: the server sent a reply nothing asked for; "
                      "connection dropped",
                      what, location_)};
}

status connection::timed_out(std::string_view what) const {
  return {errc::timeout, fmt::format("gencache: {} timed out on {}: no complete answer in {}ms",
                                     what, location_, settings_->command_timeout.count())};
}

status connection::io_error(std::string_view what, std::string_view how,
                            std::string_view detail) const {
  return {errc::connection, fmt::format("gencache: {} {} on {}: {}", what, how, location_, detail)};
}

status connection::over_limits(std::string_view what, std::string_view sent) const {
  return {errc::protocol,
          fmt::format("gencache: {} on {}: the server sent {}, more than the request can get "
                      "back (max_value_size {}); connection dropped",
                      what, location_, sent, settings_->max_value_size)};
}

}  // namespace gencache::detail::redis
