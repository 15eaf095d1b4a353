#pragma once
/// \file
/// How a remote back end connects, waits and fails fast: the fields every back end shares,
/// with one set of defaults and one set of rules. Each back end's options hold one as
/// `connection`, and designated initializers reach into it:
///
///     gencache::redis_options options{.connection = {.command_timeout = 100ms}};
///
/// What a timeout bounds differs by back end (a whole command on Redis, each wait for the
/// server on memcached): redis_store.hpp and memcached_store.hpp say.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

#include "gencache/clock.hpp"

namespace gencache {

struct connection_options {
  /// Per connection attempt.
  std::chrono::milliseconds connect_timeout{250};
  /// Redis: the deadline of a whole command; memcached: each wait for the server and for
  /// a free client handle.
  std::chrono::milliseconds command_timeout{250};
  /// Connections (memcached: client handles) shared by all threads.
  std::size_t pool_size = 8;
  /// How long requests for a server fail fast, without I/O, after a request on it failed
  /// to connect, found its connection closed or got no answer in time; then one request
  /// tries the server again. 0: no fail-fast period, every request tries the server.
  std::chrono::milliseconds retry_after{1000};
  /// Time source of `retry_after`; null = the steady clock.
  std::shared_ptr<const ::gencache::clock> clock{};

  /// Checks the rules: both timeouts positive and at most 24 hours, `retry_after` not
  /// negative, `pool_size` positive. Otherwise std::invalid_argument naming `owner` and the field,
  /// e.g. "gencache: redis_options::connection.pool_size must be positive".
  void validate(std::string_view owner) const;
};

}  // namespace gencache
