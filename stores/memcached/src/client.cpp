// The libmemcached client template, its clones' bounded allocators, and what return codes
// mean (client.hpp).
#include "client.hpp"

#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "gencache/remote_store.hpp"

namespace gencache::detail::memcached {

// libmemcached sizes a value's buffer from the length a reply header announces and then
// reads that many bytes: a server announcing 2 GiB would have the client allocate and stream
// 2 GiB. Its allocators are replaceable, so every allocation over the options' limit fails
// (MEMCACHED_MEMORY_ALLOCATION_FAILURE, and libmemcached drops the connection). The limit
// is the context; the size refused last on this thread goes into the error message.
thread_local std::size_t refused_allocation = 0;

namespace {

bool within(const void* limit, std::size_t size) {
  if (size <= *static_cast<const std::size_t*>(limit)) return true;
  refused_allocation = size;
  return false;
}
void* bounded_malloc(const memcached_st*, const std::size_t size, void* limit) {
  return within(limit, size) ? std::malloc(size) : nullptr;
}
void* bounded_realloc(const memcached_st*, void* memory, const std::size_t size, void* limit) {
  return within(limit, size) ? std::realloc(memory, size) : nullptr;
}
void* bounded_calloc(const memcached_st*, std::size_t count, const std::size_t size, void* limit) {
  const bool overflows = count != 0 && size > SIZE_MAX / count;
  return within(limit, overflows ? SIZE_MAX : count * size) ? std::calloc(count, size) : nullptr;
}
void bounded_free(const memcached_st*, void* memory, void*) { std::free(memory); }

}  // namespace

errc classify(memcached_return_t rc) noexcept {
  switch (rc) {
    case MEMCACHED_TIMEOUT:
      return errc::timeout;
    case MEMCACHED_E2BIG:
    case MEMCACHED_KEY_TOO_BIG:
      return errc::too_large;
    case MEMCACHED_MEMORY_ALLOCATION_FAILURE:  // also a reply over the limits
      return errc::protocol;
    case MEMCACHED_HOST_LOOKUP_FAILURE:
    case MEMCACHED_CONNECTION_FAILURE:
    case MEMCACHED_WRITE_FAILURE:
    case MEMCACHED_READ_FAILURE:
    case MEMCACHED_UNKNOWN_READ_FAILURE:
    case MEMCACHED_PARTIAL_READ:
    case MEMCACHED_SOME_ERRORS:
    case MEMCACHED_NO_SERVERS:
    case MEMCACHED_ERRNO:
    case MEMCACHED_SERVER_MARKED_DEAD:
    case MEMCACHED_SERVER_TEMPORARILY_DISABLED:
    case MEMCACHED_CONNECTION_SOCKET_CREATE_FAILURE:
      return errc::connection;
    default:
      return errc::protocol;
  }
}

bool unreachable(memcached_return_t rc) noexcept {
  if (rc == MEMCACHED_SUCCESS) return false;
  const errc code = classify(rc);
  return code == errc::connection || code == errc::timeout;
}

std::optional<std::uint64_t> parse_counter(std::string_view text) {
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return parse_generation_text(text);
}

time_t expiration(std::optional<std::chrono::nanoseconds> ttl) {
  if (!ttl) return 0;
  constexpr std::int64_t thirty_days = std::int64_t{60} * 60 * 24 * 30;
  // Rounded up, without overflowing at nanoseconds::max().
  const std::int64_t seconds =
      ttl->count() / 1'000'000'000 + (ttl->count() % 1'000'000'000 != 0 ? 1 : 0);
  if (seconds <= thirty_days) return static_cast<time_t>(seconds);
  // memcached reads an expiration over 30 days as a Unix time, in 32 bits: a later one
  // is clamped to the last second it can say (2106), rather than wrapping into the past.
  constexpr std::int64_t last = std::numeric_limits<std::uint32_t>::max();
  const std::int64_t now = std::time(nullptr);
  return static_cast<time_t>(seconds >= last - now ? last : now + seconds);
}

void tidy(memcached_st* m) {
  for (std::uint32_t i = 0; i < memcached_server_count(m); ++i) {
    if (memcached_server_response_count(memcached_server_instance_by_position(m, i)) > 0) {
      memcached_quit(m);
      return;
    }
  }
}

status failure(memcached_st* m, memcached_return_t rc, std::string_view what,
               std::string_view where, std::size_t max_value_size, const char* detail) {
  if (rc == MEMCACHED_MEMORY_ALLOCATION_FAILURE && refused_allocation != 0) {
    const std::size_t refused = std::exchange(refused_allocation, 0);
    return {errc::protocol,
            fmt::format("gencache: memcached {} on {}: the server announced {} bytes, more "
                        "than a value can hold (max_value_size {}); connection dropped",
                        what, where, refused, max_value_size)};
  }
  // The client's last error can be older than `rc` (a reply that is not an error to
  // libmemcached, such as NOT_FOUND, leaves it alone), so both are said.
  const std::string_view code = memcached_strerror(m, rc);
  const std::string_view last = detail != nullptr ? detail : memcached_last_error_message(m);
  return {classify(rc),
          last == code || last == "SUCCESS"
              ? fmt::format("gencache: memcached {} on {}: {}", what, where, code)
              : fmt::format("gencache: memcached {} on {}: {} ({})", what, where, code, last)};
}

namespace {

// The template keeps libmemcached's own allocators: its server array (one entry per
// member, with the member's I/O buffers, ~17 KB) and continuum are built through them, so
// a pool of any size builds whatever max_value_size is. Each client handle gets the
// bounded allocators after it is cloned (clone()), when its servers are in place, so
// that only what it reads from the servers goes through them.
void configure(memcached_st* m, const memcached_url& url, const connection_options& connection) {
  constexpr std::uint64_t never = std::numeric_limits<std::uint32_t>::max();
  const std::pair<memcached_behavior_t, std::uint64_t> behaviors[] = {
      {MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1},
      {MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA},
      {MEMCACHED_BEHAVIOR_TCP_NODELAY, 1},
      {MEMCACHED_BEHAVIOR_NO_BLOCK, 1},  // so that the connect timeout applies
      {MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT,
       static_cast<std::uint64_t>(connection.connect_timeout.count())},
      {MEMCACHED_BEHAVIOR_POLL_TIMEOUT,
       static_cast<std::uint64_t>(connection.command_timeout.count())},
      {MEMCACHED_BEHAVIOR_SND_TIMEOUT,
       static_cast<std::uint64_t>(connection.command_timeout.count() * 1000)},
      {MEMCACHED_BEHAVIOR_RCV_TIMEOUT,
       static_cast<std::uint64_t>(connection.command_timeout.count() * 1000)},
      // A server that fails is never ejected: its keys, above all its generation counters,
      // stay with it. Were they moved to another member, a bump confirmed there would be
      // undone when the owner came back holding the old counter, and another process that
      // never saw the failure would go on reading the owner (contract G6; docs/design.md).
      {MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 0},
      // libmemcached's own fail-fast is off: the members' breakers decide (memcached_store.cpp).
      // It puts a member "in timeout" once its count of failed connects reaches the
      // timeout limit, until the next wall-clock second past the retry timeout; the count
      // never reaches UINT32_MAX (a connect that succeeds, and memcached_quit, reset it),
      // and were it to, the retry timeout 0 would end the state within the second.
      {MEMCACHED_BEHAVIOR_SERVER_TIMEOUT_LIMIT, never},
      {MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, never},
      {MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 0},
      {MEMCACHED_BEHAVIOR_DEAD_TIMEOUT, 0},
  };
  for (const auto& [behavior, value] : behaviors) {
    if (const memcached_return_t rc = memcached_behavior_set(m, behavior, value);
        rc != MEMCACHED_SUCCESS) {
      throw std::invalid_argument(fmt::format("gencache: libmemcached refused behavior {}={}: {}",
                                              static_cast<int>(behavior), value,
                                              memcached_strerror(m, rc)));
    }
  }
  for (const server_address& s : url.servers) {
    if (const memcached_return_t rc = memcached_server_add(m, s.host.c_str(), s.port);
        rc != MEMCACHED_SUCCESS) {
      throw std::invalid_argument(fmt::format("gencache: libmemcached refused server {}:{}: {}",
                                              s.host, s.port, memcached_strerror(m, rc)));
    }
  }
}

}  // namespace

client_template::client_template(const memcached_url& url, const memcached_options& options)
    : largest_allocation_(options.max_value_size + std::size_t{64} * 1024),
      template_(memcached_create(nullptr)) {
  if (!template_) throw std::bad_alloc();
  configure(template_.get(), url, options.connection);
}

result<client_ptr> client_template::clone() {
  const std::lock_guard lock(mutex_);
  client_ptr c(memcached_clone(nullptr, template_.get()));
  if (!c) return status(errc::connection, "gencache: libmemcached could not clone its client");
  // Both allocator sets are malloc and free, so what the clone holds from libmemcached's
  // may be freed through the bounded ones.
  if (memcached_set_memory_allocators(
          c.get(), bounded_malloc, bounded_free, bounded_realloc, bounded_calloc,
          const_cast<std::size_t*>(&largest_allocation_)) != MEMCACHED_SUCCESS) {
    return status(errc::connection, "gencache: libmemcached refused the bounded allocators");
  }
  return c;
}

std::uint32_t client_template::member_of(std::string_view key, std::size_t members) const {
  if (members == 1) return 0;
  const std::uint32_t i = memcached_generate_hash(template_.get(), key.data(), key.size());
  return i < members ? i : 0;
}

}  // namespace gencache::detail::memcached
