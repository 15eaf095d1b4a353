#pragma once
/// \file
/// memcached as a gencache store (libmemcached). Link gencache::memcached.
///
///     auto store = gencache::make_memcached_store("memcached://10.0.0.1:11211,10.0.0.2:11211");
///     gencache::remote_cache cache(store);
///
/// - Binary protocol; a pool of servers with consistent hashing (ketama): each key lives on
///   the one member that the key and the list of members give. It stays there while that
///   member is down (below). Changing the list moves about 1/n of the keys to other
///   members, where their generation counters start afresh; while processes disagree on the
///   list (a rolling change), one does not see the other's invalidations of the keys that
///   moved, and a return to an old list brings back the counters it held.
/// - A generational get is one multi-get of the key's generation counters and of the name
///   their last seen values give; the value is kept only if the counters still hold those
///   values. The first read of a counter, or a stale guess, costs a multi-get of the counters
///   and then a get of the value. A missing counter is created, and a bump done, by one
///   atomic increment-with-initial on the server.
/// - Each member has a fail-fast state of its own, shared by all client handles. After a
///   request on a member fails to connect, finds its connection closed or reset (also by a
///   server that accepts connections and then drops them) or gets no answer within
///   `command_timeout`, requests for that member's keys fail at once, without I/O, for
///   `retry_after` on `clock` (reads are counted misses, bumps throw `store_error`); then one
///   request tries the member again and its answer (unless over the limits, which leaves
///   the state as it was) ends the fail-fast state, while the
///   others go on failing fast for another `retry_after`. `retry_after` 0: every request
///   tries the member. Answers (a miss, a value not stored, a reply over the limits) are not
///   failures. The other members' keys are served throughout. A request that spans members
///   (a key's counters and its value) fails fast if one of them does; a failure in it counts
///   against each member whose connection closed or whose answer did not come in time, or,
///   if none shows, against every member it went to. So a member that hangs with its
///   connections open costs one `command_timeout` per `retry_after`.
/// - A member's keys never move to another member: moved generation counters would let a
///   returning member undo confirmed invalidations (contract G6, docs/design.md). A member
///   that is gone for good is removed from the URL (moving its keys, as above).
/// - Values over `max_value_size` (memcached's item limit, 1 MiB by default) are refused
///   before anything is sent, and a reply announcing more than that (+ 64 KiB) is refused
///   before it is allocated (`errc::protocol`; the connection is dropped). The bound is for
///   what servers send, not for the list of members: a pool of up to
///   `memcached_most_members` (100, libmemcached's limit) builds whatever `max_value_size`
///   is.
/// - Timeouts bound each wait for the server, not a whole command: libmemcached 1.1 has no
///   per-command deadline, so a server that trickles a reply a byte at a time holds the
///   call for as long as it trickles (docs/reliability.md, "Hostile servers"). TTLs are whole
///   seconds on memcached: they are rounded up.
/// Thread-safe: each request borrows one of `connection.pool_size` client handles. The
/// timeouts above are `connection_options` fields (`options.connection.command_timeout`).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "gencache/connection_options.hpp"
#include "gencache/remote_cache.hpp"
#include "gencache/remote_store.hpp"
#include "gencache/store_url.hpp"

namespace gencache {

/// memcached's key limit (bytes).
inline constexpr std::size_t memcached_max_key = 250;
/// The most members a pool may have (libmemcached's continuum limit); more is
/// std::invalid_argument at construction.
inline constexpr std::size_t memcached_most_members = 100;
/// The default `memcached_options::max_value_size`: memcached's default item size (-I 1m)
/// less its item header and the longest key.
inline constexpr std::size_t memcached_default_max_value = (std::size_t{1} << 20) - 512;
/// The largest `memcached_options::max_value_size`: memcached's largest item (-I 1024m).
inline constexpr std::size_t memcached_largest_value = std::size_t{1} << 30;

/// A memcached pool: `memcached://host[:port][,host[:port]...]`, port 11211 by default.
struct memcached_url {
  std::vector<server_address> servers;
  friend bool operator==(const memcached_url&, const memcached_url&) = default;
};

/// Parses `memcached://host[:port][,host[:port]...]`; std::invalid_argument naming the bad
/// part otherwise (user information and query parameters are refused).
[[nodiscard]] memcached_url parse_memcached_url(std::string_view url);

/// Options of the memcached backend, validated at construction (std::invalid_argument
/// naming the field).
struct memcached_options {
  /// Timeouts, pool and fail-fast period (connection_options.hpp). `command_timeout`
  /// bounds each wait for the server (connect aside) and for a free client handle;
  /// `retry_after` is per pool member (file comment).
  connection_options connection{};
  /// Largest value sent (its encoding and an 8-byte seal). At most 1 GiB
  /// (`memcached_largest_value`); more is std::invalid_argument at construction.
  std::size_t max_value_size = memcached_default_max_value;
};

/// A memcached backend for `memcached://host[:port][,host[:port]…]`. Connects lazily.
/// Throws std::invalid_argument for a bad URL or options.
[[nodiscard]] std::shared_ptr<remote_backend> make_memcached_backend(
    std::string_view url, memcached_options options = {});

/// A store over `make_memcached_backend(url, options)`.
[[nodiscard]] std::shared_ptr<remote_store> make_memcached_store(std::string_view url,
                                                                 memcached_options options = {},
                                                                 remote_store_options store = {});

}  // namespace gencache
