#pragma once
/// \file
/// Redis as a gencache store (hiredis). Link gencache::redis.
///
///     auto store = gencache::make_redis_store("redis://127.0.0.1:6379/0");
///     gencache::remote_cache cache(store);
///
/// - A generational get is one round trip. The first read of a counter runs a server-side
///   script (loaded once per connection, called by SHA) that reads or creates the counters,
///   builds the value's name from their values and reads it. Later reads pipeline an MGET
///   of the counters with a GET of the name their last values give, and keep the value only
///   if the counters still hold those values: two plain commands instead of the script. A bump is
///   one script call, atomic on the server.
/// - A pool of `connection.pool_size` connections (connection_options.hpp; below, the
///   `connection.` of each timeout is left out). No request (one command or one pipeline; a get
///   makes one, or two when its remembered counters had moved) takes longer than
///   `connect_timeout` + 2 × `command_timeout` (Sentinel adds one of each: below), whatever
///   the server sends: waiting for a free
///   connection takes at most `command_timeout`; opening one, `connect_timeout` to connect and
///   `command_timeout` to set it up; sending the command and reading its whole reply,
///   `command_timeout` from the start of the call or from the set-up of the connection it opened;
///   and every step is cut at that bound.
/// - Replies are bounded before they are allocated: at most `max_value_size` + 64 KiB +
///   64 bytes per argument read per request, and no more reply elements than the request has
///   arguments (+ 8); a server that sends more is `errc::protocol` and the connection is dropped.
/// - After a request fails to connect or to set its connection up (a NOAUTH answer
///   included), finds its connection closed or reset, or gets no complete answer in time,
///   every request fails at once, without I/O, for `retry_after` on `connection.clock`; then one
///   request tries the server again and its answer (unless over the limits, which leaves
///   the state as it was) ends the fail-fast state, while the
///   others go on failing fast for another `retry_after`. So a dead or hung server costs one
///   timeout per `retry_after`, not one per request. `retry_after` 0: every request tries
///   the server. Replies to commands, error replies and replies over the limits included,
///   are not failures. Idle connections are closed after a failure, since they are suspect.
///   A pooled connection the server closed while it sat idle (Redis `timeout`, a proxy's
///   idle limit) is dropped and replaced before use: not an error, not a failure.
/// - Values over `max_value_size`, and keys over `max_key_size` after shortening, are refused
///   before anything is sent.
/// - Credentials (`redis_options::username`, `password`, `password_env`, `password_file`, or
///   the URL's user information): `AUTH` on every new connection before anything else. A
///   refused AUTH, or a NOAUTH answer, is `errc::connection` naming AUTH and the server's
///   error code (never the rest of its answer) and starts the fail-fast period (above).
///   hiredis 0.14 has no TLS: the password crosses the network in clear. `redis+unix://`
///   connects over a unix socket.
/// - Sentinel (`redis-sentinel://`, at most 16 sentinels): a new connection goes to the
///   primary the backend knows or, knowing none, asks the sentinels (in the URL's order,
///   from the one that answered last; `connect_timeout` + `command_timeout` in all, which a
///   request's bound above gains), and checks that its `INFO replication` says
///   `role:master`, or fails as a server that is down. From the first connection on, a
///   thread of the backend subscribes to `+switch-master` on one sentinel; an announced
///   failover outranks sentinels that still name the old primary, closes idle connections
///   to it, closes those in use when their request ends, and ends the fail-fast period. A
///   `READONLY` answer is `errc::connection` (no fail-fast) and the sentinels are asked
///   again. The new primary's run_id drops the cache once (G6). Sentinels get no AUTH, and
///   the primary they name gets the password. The destructor stops the thread (within
///   `connect_timeout` + `command_timeout`, plus a host name's resolution). After `fork()`,
///   make a new store in the child. docs/user_guide.md, "Redis Sentinel".
/// Thread-safe. Not for Redis Cluster: the script touches keys it computes.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gencache/connection_options.hpp"
#include "gencache/remote_cache.hpp"
#include "gencache/remote_store.hpp"
#include "gencache/store_url.hpp"

namespace gencache {

/// A Redis location: `redis://[user[:password]@]host[:port][/db]` (port 6379 and database 0
/// by default), `redis+unix://[user[:password]@]/path/to/redis.sock[?db=N]`, or
/// `redis-sentinel://[user[:password]@]host[:port][,host[:port]...]/master-name[?db=N]`
/// (sentinels on port 26379 by default; the credentials are the primary's).
struct redis_url {
  server_address server;  // empty for a unix socket or Sentinel
  int database = 0;
  std::string socket_path{};  // empty for TCP
  /// Sentinel: the sentinels to ask, in order, and the name they monitor the primary by
  /// (1 to 128 printable ASCII characters but space, '/', '?', '#', '%', '@'). Empty otherwise.
  std::vector<server_address> sentinels{};
  std::string master_name{};
  /// From the user information, percent-decoded (a password holding '/' or '@' is written
  /// %2F, %40). Empty if the URL has none.
  std::string username{};
  std::string password{};
  friend bool operator==(const redis_url&, const redis_url&) = default;
};

/// Parses a Redis URL (above); std::invalid_argument naming the bad part otherwise, never
/// quoting the user information. Query parameters are refused but `db` on `redis+unix://`
/// and `redis-sentinel://`
/// (see make_store in any_store.hpp for options in the URL).
[[nodiscard]] redis_url parse_redis_url(std::string_view url);

/// Options of the Redis backend, validated at construction (std::invalid_argument naming
/// the field).
struct redis_options {
  /// Timeouts, pool and fail-fast period (connection_options.hpp). `command_timeout` is
  /// the deadline of each command, sending and whole reply, counted from the start of the
  /// call (the wait for a free connection included) or from the set-up of the connection
  /// it opened; a request's bound is `connect_timeout` + 2 × `command_timeout`, and one
  /// `connect_timeout` + `command_timeout` more with Sentinel (file comment). Host names are
  /// resolved by getaddrinfo, which no timeout bounds.
  connection_options connection{};
  /// Largest value sent: its encoding and an 8-byte seal (Redis allows 512 MiB).
  std::size_t max_value_size = std::size_t{64} << 20;
  /// Longest key name; longer keys keep a readable prefix and a hash (remote_key.hpp).
  std::size_t max_key_size = 512;
  /// Credentials, sent with `AUTH` on every new connection before anything else: an ACL
  /// user (empty: the default user) and its password, given at most one way — in the URL's
  /// user information, here, in the environment variable `password_env` names, or as the
  /// contents of the file `password_file` names (a regular file of at most 4 KiB; one
  /// trailing LF or CR LF dropped). The variable and the file are read once, by
  /// `make_redis_backend`. A user without a password, a password given two ways, an unset
  /// variable or an unreadable file is std::invalid_argument, whose message quotes neither
  /// the password nor the variable's name or the file's path. The password never appears
  /// in a message, an exception or `location()`.
  std::string username{};
  std::string password{};
  std::string password_env{};
  std::string password_file{};
};

/// A Redis backend for a Redis URL (`redis_url`). Connects lazily (Sentinel's thread too, from
/// the first connection): an unreachable server, or a wrong password, is not an error here,
/// but a counted failure on use. Throws
/// std::invalid_argument for a bad URL or options (credentials included: see
/// `redis_options`, and docs/user_guide.md, "Redis credentials").
[[nodiscard]] std::shared_ptr<remote_backend> make_redis_backend(std::string_view url,
                                                                 const redis_options& options = {});

/// A store over `make_redis_backend(url, options)`.
[[nodiscard]] std::shared_ptr<remote_store> make_redis_store(std::string_view url,
                                                             const redis_options& options = {},
                                                             remote_store_options store = {});

}  // namespace gencache
