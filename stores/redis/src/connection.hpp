#pragma once
// One connection to a Redis server: opening and setting it up (AUTH, SELECT, the server's run_id,
// the scripts), and exchanging pipelined commands with a deadline whatever the server
// sends. hiredis formats commands and parses replies; the socket is read and written here.
// A connection knows nothing of the pool or the breaker: after a failed exchange it is
// unusable, and `server_down()` tells its owner whether the server is to blame.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <hiredis/hiredis.h>
#include <boost/container/small_vector.hpp>

#include "gencache/redis_store.hpp"
#include "gencache/result.hpp"
#include "gencache/status.hpp"
#include "reply.hpp"
#include "scripts.hpp"

namespace gencache::detail::redis {

using io_clock = std::chrono::steady_clock;

/// Every name a connection sends ends in "~" and 16 hex digits of the server's run_id, read
/// when it connects. A restarted server has a new run_id, so whatever it reloaded from a
/// snapshot or an append-only file (counters from before confirmed bumps, and the values
/// stored under them) is never read again: contract G6. Each connection tags with the
/// run_id it saw, and a restart closes every connection, so no request mixes two
/// incarnations.
constexpr std::size_t incarnation_size = 17;

/// Where connections go and what their replies may hold; owned by the back end, outliving
/// its connections.
struct connection_settings {
  redis_url url;
  std::string location;  // "redis://host:port/db", for messages
  std::chrono::milliseconds connect_timeout;
  std::chrono::milliseconds command_timeout;
  std::size_t max_value_size;
};

/// Whom a connection talks to, and how it is set up.
struct endpoint {
  enum class role {
    server,    // the URL's server (or its unix socket, when `address` has no host)
    primary,   // the primary a sentinel named: its role must be "master"
    sentinel,  // a sentinel: no AUTH, SELECT, INFO or scripts
  };
  server_address address;
  std::string location;  // for messages
  role kind = role::server;
};

class connection {
 public:
  /// Connects to `to` within `connect_timeout` and sets the connection up within
  /// `command_timeout` more, all by `limit`.
  [[nodiscard]] static result<std::unique_ptr<connection>> open(const connection_settings& settings,
                                                                const endpoint& to,
                                                                io_clock::time_point limit);

  /// `key` tagged with the server's incarnation.
  [[nodiscard]] std::string name(std::string_view key) const;
  [[nodiscard]] boost::container::small_vector<std::string, 8> names(
      std::span<const std::string> keys) const;
  [[nodiscard]] const std::string& incarnation() const noexcept { return incarnation_; }
  [[nodiscard]] const std::string& script_sha(script_id id) const noexcept {
    return script_sha_[id];
  }
  /// Sentinel: which primary the back end knew of when it opened this connection (a
  /// counter it moves on at each failover); 0 otherwise.
  [[nodiscard]] std::uint64_t primary_epoch() const noexcept { return primary_epoch_; }
  void set_primary_epoch(std::uint64_t epoch) noexcept { primary_epoch_ = epoch; }
  /// When it was set up (a request's deadline starts no earlier).
  [[nodiscard]] io_clock::time_point ready_at() const noexcept { return ready_at_; }

  /// Commands sent together (pipelined: one write, one round trip) and their replies, in
  /// order, into `replies` (one per command), all by `deadline`, whatever the server sends
  /// (hiredis 0.14's blocking calls bound each read, so a server that answers a byte at a
  /// time would hold a call for ever). The replies may hold one value of `max_value_size`
  /// and as many objects as the commands have arguments; a server that sends more is cut
  /// off (errc::protocol). After any failure the connection is unusable.
  [[nodiscard]] status exchange(std::span<const std::span<const std::string_view>> commands,
                                std::span<reply_ptr> replies, io_clock::time_point deadline);
  /// The next message the server pushes (a subscription's), whenever it comes, with at most
  /// 64 KiB and 16 objects; errc::timeout once `wake_fd` is readable. On a connection that
  /// only takes pushes from now on.
  [[nodiscard]] status receive_pushed(reply_ptr& message, int wake_fd);
  /// One command, answered by `deadline`.
  [[nodiscard]] result<reply_ptr> command(std::span<const std::string_view> args,
                                          io_clock::time_point deadline);
  /// EVALSHA of script `id`: `argv` is {"EVALSHA", <any>, numkeys, keys..., args...}, and
  /// its second element is set to the script's SHA. A server that forgot the script
  /// (restarted, SCRIPT FLUSH) gets it again, once.
  [[nodiscard]] result<reply_ptr> eval(script_id id, std::span<std::string_view> argv,
                                       io_clock::time_point deadline);

  /// Whether the server closed this connection while it sat idle in the pool (a Redis
  /// `timeout`, a proxy's idle limit): it cannot serve, and it says nothing of the server.
  /// When the socket holds nothing, the next exchange skips its own check for unasked
  /// bytes: this one just made it.
  [[nodiscard]] bool closed_by_server() noexcept;

  /// After a failure: whether it was the server's absence (no connection, a closed one, no
  /// complete answer in time), which the owner's breaker counts, rather than a wrong answer.
  [[nodiscard]] bool server_down() const noexcept { return server_down_; }
  /// Whether the server answered an exchange since the last call (then false again): an
  /// answer closes the owner's breaker, even when the operation fails later (a NOSCRIPT
  /// answer, then a failed SCRIPT LOAD).
  [[nodiscard]] bool take_answered() noexcept { return std::exchange(answered_, false); }

 private:
  connection(const connection_settings& settings, const endpoint& to)
      : settings_(&settings), location_(to.location), role_(to.kind) {}

  status set_up(io_clock::time_point deadline);
  status authenticate(io_clock::time_point deadline);
  // What a message says of a refused AUTH: never more of the server's answer than its code.
  [[nodiscard]] static std::string auth_refusal(const redisReply& reply);
  // The failure of set-up step `what` answered with `reply`: NOAUTH says a password is
  // missing; anything else is unexpected.
  [[nodiscard]] status set_up_refused(std::string_view what, const redisReply& reply) const;
  // The value of `field` in `INFO section` (empty if absent), up to its line's end.
  result<std::string> info_field(std::string_view section, std::string_view field,
                                 io_clock::time_point deadline);
  // A sentinel's primary must still be one: a client that asked during a failover may
  // have been given the demoted server.
  status check_role(io_clock::time_point deadline);
  status read_incarnation(io_clock::time_point deadline);
  status load_script(script_id id, io_clock::time_point deadline);
  status send(std::string_view bytes, std::string_view what, io_clock::time_point deadline);
  status receive(std::span<reply_ptr> replies, std::string_view what, std::size_t arguments,
                 io_clock::time_point deadline);
  status receive_one(reply_ptr& reply, std::string_view what, io_clock::time_point deadline,
                     int wake_fd = -1);

  // Room for a value in a reply: none from a sentinel, whose answers are small.
  [[nodiscard]] std::size_t value_room() const noexcept {
    return role_ == endpoint::role::sentinel ? 0 : settings_->max_value_size;
  }
  status down(status failure) {
    server_down_ = true;
    return failure;
  }
  [[nodiscard]] status unasked(std::string_view what) const;
  [[nodiscard]] status timed_out(std::string_view what) const;
  [[nodiscard]] status io_error(std::string_view what, std::string_view how,
                                std::string_view detail) const;
  [[nodiscard]] status over_limits(std::string_view what, std::string_view sent) const;

  struct context_deleter {
    void operator()(redisContext* c) const noexcept { redisFree(c); }
  };
  const connection_settings* settings_;
  std::string location_;
  endpoint::role role_;
  std::unique_ptr<redisContext, context_deleter> context_;
  std::array<std::string, script_count> script_sha_;
  std::string incarnation_;  // "~" + 16 hex digits of the server's run_id
  io_clock::time_point ready_at_;
  std::uint64_t primary_epoch_ = 0;
  reply_limits limits_;  // the reader's privdata
  bool server_down_ = false;
  bool answered_ = false;
  bool checked_quiet_ = false;  // closed_by_server found nothing waiting on the socket
};

}  // namespace gencache::detail::redis
