// Redis Sentinel: the primary's address from the sentinels, and failovers as they happen
// (sentinel.hpp).
#include "sentinel.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

namespace gencache::detail::redis {

std::string host_port(const server_address& address) {
  return address.host.find(':') == std::string::npos
             ? fmt::format("{}:{}", address.host, address.port)
             : fmt::format("[{}]:{}", address.host, address.port);
}

namespace {

endpoint sentinel_endpoint(const connection_settings& settings, std::size_t index) {
  const server_address& a = settings.url.sentinels[index];
  return {.address = a,
          .location = fmt::format("sentinel {}", host_port(a)),
          .kind = endpoint::role::sentinel};
}

/// A primary's address as a sentinel writes it (an IP address or host name, and a port),
/// or nullopt if a URL could not name it (the URLs' own rules, store_url.hpp). Only the
/// form is checked: whatever address a sentinel names gets a connection, and the password
/// (sentinels are trusted, docs/user_guide.md).
std::optional<server_address> address_of(std::string_view host, std::string_view port) {
  const std::string written = host.find(':') == std::string_view::npos
                                  ? fmt::format("{}:{}", host, port)
                                  : fmt::format("[{}]:{}", host, port);
  try {
    return detail::parse_server_address(written, written, 0);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

/// The address in SENTINEL get-master-addr-by-name's reply (two strings), if it is one.
std::optional<server_address> primary_in(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 2 ||
      reply.element[0]->type != REDIS_REPLY_STRING ||
      reply.element[1]->type != REDIS_REPLY_STRING) {
    return std::nullopt;
  }
  return address_of(text_of(*reply.element[0]), text_of(*reply.element[1]));
}

/// The new primary of `master`, if `message` announces its failover: a `+switch-master`
/// message whose text is "<name> <old ip> <old port> <new ip> <new port>".
std::optional<server_address> switched_to(const redisReply& message, std::string_view master) {
  if (message.type != REDIS_REPLY_ARRAY || message.elements != 3 ||
      message.element[0]->type != REDIS_REPLY_STRING ||
      message.element[2]->type != REDIS_REPLY_STRING || text_of(*message.element[0]) != "message") {
    return std::nullopt;
  }
  std::array<std::string_view, 5> fields;
  std::string_view text = text_of(*message.element[2]);
  for (std::string_view& field : fields) {
    const auto space = text.find(' ');
    field = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
  }
  if (!text.empty() || fields[0] != master) return std::nullopt;
  return address_of(fields[3], fields[4]);
}

/// `message` without its "gencache: ", to be quoted in another.
std::string_view without_prefix(const std::string& message) {
  constexpr std::string_view prefix = "gencache: ";
  std::string_view m = message;
  if (m.starts_with(prefix)) m.remove_prefix(prefix.size());
  return m;
}

}  // namespace

result<server_address> ask_sentinels(const connection_settings& settings,
                                     std::atomic<std::size_t>& first, io_clock::time_point limit) {
  const auto& sentinels = settings.url.sentinels;
  const std::string_view argv[] = {"SENTINEL", "get-master-addr-by-name", settings.url.master_name};
  std::string said;
  const std::size_t start = first.load(std::memory_order_relaxed) % sentinels.size();
  for (std::size_t n = 0; n < sentinels.size(); ++n) {
    const std::size_t index = (start + n) % sentinels.size();
    const endpoint to = sentinel_endpoint(settings, index);
    const auto answer = [&]() -> result<server_address> {
      auto c = connection::open(settings, to, limit);
      if (!c) return c.error();
      auto r =
          c.value()->command(argv, std::min(limit, io_clock::now() + settings.command_timeout));
      if (!r) return r.error();
      const redisReply& reply = *r.value();
      if (reply.type == REDIS_REPLY_NIL) {
        return status(errc::connection, fmt::format("{} monitors no master named '{}'", to.location,
                                                    settings.url.master_name));
      }
      if (auto address = primary_in(reply)) return *address;
      return unexpected("SENTINEL get-master-addr-by-name", to.location, reply);
    }();
    if (answer) {
      first.store(index, std::memory_order_relaxed);
      return answer;
    }
    if (!said.empty()) said += "; ";
    said += detail::shortened(without_prefix(answer.error().message()), 300);
  }
  return status(errc::connection, fmt::format("gencache: no sentinel of {} named its primary: {}",
                                              settings.location, said));
}

failover_listener::failover_listener(
    const connection_settings& settings, std::atomic<std::size_t>& first,
    std::chrono::milliseconds retry_after,
    std::function<void(const server_address&, bool announced)> on_primary)
    : settings_(settings),
      first_(first),
      retry_after_(std::max(retry_after, std::chrono::milliseconds(100))),
      on_primary_(std::move(on_primary)),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      owner_(::getpid()) {
  if (wake_fd_ < 0) {
    throw std::system_error(errno, std::generic_category(), "gencache: eventfd for Sentinel");
  }
  try {
    thread_ = std::thread([this] { run(); });
  } catch (...) {
    ::close(wake_fd_);
    throw;
  }
}

failover_listener::~failover_listener() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stopped_.notify_all();
  // In a child of fork() the thread does not exist, and joining it would wait for ever;
  // the eventfd is the parent's too, and waking it would wake the parent's thread.
  if (::getpid() == owner_) {
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
    thread_.join();
  } else {
    thread_.detach();
  }
  ::close(wake_fd_);
}

void failover_listener::run() {
  for (std::size_t index = first_.load(std::memory_order_relaxed);;
       index = (index + 1) % settings_.url.sentinels.size()) {
    // std::bad_alloc, or what on_primary_ threw, must not end the thread (std::terminate):
    // the next round tries again.
    try {
      listen(index);
    } catch (...) {  // NOLINT(bugprone-empty-catch): see above
    }
    std::unique_lock lock(mutex_);
    if (stopped_.wait_for(lock, retry_after_, [this] { return stopping_; })) return;
  }
}

void failover_listener::listen(std::size_t index) {
  const endpoint to = sentinel_endpoint(settings_, index);
  const auto limit = io_clock::now() + settings_.connect_timeout + settings_.command_timeout;
  auto c = connection::open(settings_, to, limit);
  if (!c || stopping()) return;
  // Asked and subscribed in one exchange: the sentinel runs both before anything else, so
  // no failover falls between the answer and the subscription.
  const std::string_view ask[] = {"SENTINEL", "get-master-addr-by-name", settings_.url.master_name};
  const std::string_view subscribe[] = {"SUBSCRIBE", "+switch-master"};
  const std::span<const std::string_view> commands[] = {ask, subscribe};
  std::array<reply_ptr, 2> replies;
  if (!c.value()->exchange(commands, replies, limit).ok()) return;
  const std::optional<server_address> primary = primary_in(*replies[0]);
  const redisReply& subscribed = *replies[1];
  if (!primary || subscribed.type != REDIS_REPLY_ARRAY || subscribed.elements != 3 ||
      subscribed.element[0]->type != REDIS_REPLY_STRING ||
      text_of(*subscribed.element[0]) != "subscribe") {
    return;  // not a sentinel of this master, or one that refuses the subscription
  }
  on_primary_(*primary, false);
  for (;;) {
    reply_ptr message;
    if (!c.value()->receive_pushed(message, wake_fd_).ok()) return;
    if (message->type != REDIS_REPLY_ARRAY || message->elements != 3) return;
    if (auto address = switched_to(*message, settings_.url.master_name)) {
      on_primary_(*address, true);
    }
  }
}

}  // namespace gencache::detail::redis
