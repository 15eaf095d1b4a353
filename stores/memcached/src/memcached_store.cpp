#include "gencache/memcached_store.hpp"

#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <libmemcached/memcached.h>
#include <boost/container/small_vector.hpp>

#include "gencache/detail/connection_pool.hpp"
#include "gencache/remote_key.hpp"
#include "gencache/store_url.hpp"

namespace gencache {

namespace {

struct client_deleter {
  void operator()(memcached_st* m) const noexcept { memcached_free(m); }
};
using client_ptr = std::unique_ptr<memcached_st, client_deleter>;

struct value_deleter {
  void operator()(char* p) const noexcept { std::free(p); }
};

// libmemcached sizes a value's buffer from the length a reply header announces and then
// reads that many bytes: a server announcing 2 GiB would have the client allocate and stream
// 2 GiB. Its allocators are replaceable, so every allocation over the options' limit fails
// (MEMCACHED_MEMORY_ALLOCATION_FAILURE, and libmemcached drops the connection). The limit
// is the context; the size refused last on this thread goes into the error message.
thread_local std::size_t refused_allocation = 0;

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

// memcached counters are decimal text; an increment that shortens nothing may leave the
// item's old trailing spaces, so those are not corruption.
std::optional<std::uint64_t> parse_counter(std::string_view text) {
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return detail::parse_generation_text(text);
}

class memcached_backend final : public remote_backend {
 public:
  memcached_backend(memcached_url url, memcached_options options)
      : options_(std::move(options)),
        location_(describe(url)),
        template_(memcached_create(nullptr)),
        pool_(options_.pool_size, options_.command_timeout,
              [this](detail::connection_pool<client_ptr>::clock::time_point) { return clone(); }) {
    if (!template_) throw std::bad_alloc();
    configure(url);
  }

  [[nodiscard]] const std::string& location() const noexcept override { return location_; }
  [[nodiscard]] std::size_t max_key_size() const noexcept override { return memcached_max_key; }
  [[nodiscard]] std::size_t max_value_size() const noexcept override {
    return options_.max_value_size;
  }

  result<std::optional<std::string>> get(std::string_view key) override {
    auto lease = acquire();
    if (!lease) return lease.error();
    memcached_st* m = lease.value()->get();
    std::size_t length = 0;
    std::uint32_t flags = 0;
    memcached_return_t rc = MEMCACHED_SUCCESS;
    refused_allocation = 0;
    const std::unique_ptr<char, value_deleter> value(
        memcached_get(m, key.data(), key.size(), &length, &flags, &rc));
    // libmemcached reports a get that failed before any value arrived as NOT_FOUND.
    if (refused_allocation != 0) rc = MEMCACHED_MEMORY_ALLOCATION_FAILURE;
    if (rc == MEMCACHED_NOTFOUND) return std::optional<std::string>();
    if (rc != MEMCACHED_SUCCESS) return failure(m, rc, "get");
    return std::optional<std::string>(std::in_place, value ? value.get() : "", value ? length : 0);
  }

  status set(std::string_view key, std::string_view value,
             std::optional<std::chrono::nanoseconds> ttl) override {
    auto lease = acquire();
    if (!lease) return lease.error();
    memcached_st* m = lease.value()->get();
    const memcached_return_t rc =
        memcached_set(m, key.data(), key.size(), value.data(), value.size(), expiration(ttl), 0);
    if (rc != MEMCACHED_SUCCESS) return failure(m, rc, "set");
    return {};
  }

  result<bool> erase(std::string_view key) override {
    auto lease = acquire();
    if (!lease) return lease.error();
    memcached_st* m = lease.value()->get();
    const memcached_return_t rc = memcached_delete(m, key.data(), key.size(), 0);
    if (rc == MEMCACHED_SUCCESS) return true;
    if (rc == MEMCACHED_NOTFOUND) return false;
    return failure(m, rc, "delete");
  }

  status read_generations(std::span<const std::string> keys, std::span<const std::uint64_t> fresh,
                          std::span<std::uint64_t> out) override {
    auto lease = acquire();
    if (!lease) return lease.error();
    memcached_st* m = lease.value()->get();
    boost::container::small_vector<bool, 8> found(keys.size(), false);
    status bad;
    const auto fetched = multi_get(m, keys, {}, [&](std::size_t i, std::string_view text) {
      const auto parsed = parse_counter(text);
      if (!parsed && bad.ok()) bad = bad_counter(keys[i], text);
      if (parsed) out[i] = *parsed;
      found[i] = parsed.has_value();
    });
    if (fetched.code() == errc::protocol) return fetched;
    if (!bad.ok()) return bad;
    // A counter not returned is missing, or on a server that failed: creating it goes to
    // the same server, so a failure shows there. Racing creators agree: adding 0 to a
    // counter that exists reads it (see increment() for the race of two creators).
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (found[i]) continue;
      auto created = increment(m, keys[i], 0, fresh[i]);
      if (!created) return created.error();
      out[i] = created.value();
    }
    return {};
  }

  // One multi-get of the counters and the value they name.
  result<guarded_value> get_if_current(std::span<const std::string> keys,
                                       std::span<const std::uint64_t> expected,
                                       std::string_view name) override {
    auto lease = acquire();
    if (!lease) return lease.error();
    memcached_st* m = lease.value()->get();
    guarded_value got;
    std::size_t matching = 0;
    status bad;
    const status fetched = multi_get(m, keys, name, [&](std::size_t i, std::string_view text) {
      if (i == keys.size()) {
        got.value.emplace(text);
      } else if (const auto parsed = parse_counter(text); !parsed) {
        if (bad.ok()) bad = bad_counter(keys[i], text);
      } else if (*parsed == expected[i]) {
        ++matching;
      }
    });
    if (!fetched.ok()) return fetched;
    if (!bad.ok()) return bad;
    if (matching != keys.size()) return guarded_value{};
    got.current = true;
    return got;
  }

  result<std::uint64_t> bump_generation(std::string_view key, std::uint64_t fresh) override {
    auto lease = acquire();
    if (!lease) return lease.error();
    return increment(lease.value()->get(), key, 1, fresh);
  }

 private:
  /// One multi-get of `keys` and, if not empty, `extra` (index keys.size()); calls
  /// `found(index, bytes)` for each one present. A server that failed is an error (after
  /// the others' answers were read): a value it holds would look absent.
  template <class Found>
  status multi_get(memcached_st* m, std::span<const std::string> keys, std::string_view extra,
                   Found&& found) {
    boost::container::small_vector<const char*, 8> names;
    boost::container::small_vector<std::size_t, 8> lengths;
    for (const auto& k : keys) {
      names.push_back(k.data());
      lengths.push_back(k.size());
    }
    if (!extra.empty()) {
      names.push_back(extra.data());
      lengths.push_back(extra.size());
    }
    refused_allocation = 0;
    const memcached_return_t sent = memcached_mget(m, names.data(), lengths.data(), names.size());
    if (sent != MEMCACHED_SUCCESS && sent != MEMCACHED_SOME_ERRORS) {
      return failure(m, sent, "get (multi)");
    }
    memcached_result_st result;
    memcached_result_create(m, &result);
    memcached_return_t rc = MEMCACHED_SUCCESS;
    while (memcached_fetch_result(m, &result, &rc) != nullptr) {
      const std::string_view key(memcached_result_key_value(&result),
                                 memcached_result_key_length(&result));
      const std::string_view bytes(memcached_result_value(&result),
                                   memcached_result_length(&result));
      for (std::size_t i = 0; i < names.size(); ++i) {
        if (key == std::string_view(names[i], lengths[i])) found(i, bytes);
      }
    }
    memcached_result_free(&result);
    // A reply over the limits ends the fetch as if the value were absent.
    if (refused_allocation != 0)
      return failure(m, MEMCACHED_MEMORY_ALLOCATION_FAILURE, "get (multi)");
    if (sent == MEMCACHED_SOME_ERRORS) return failure(m, sent, "get (multi)");
    if (rc != MEMCACHED_END && rc != MEMCACHED_NOTFOUND && rc != MEMCACHED_SUCCESS) {
      return failure(m, rc, "get (multi)");
    }
    return {};
  }

  /// A client handle; a caller waits at most `command_timeout` for one to come free.
  result<detail::connection_pool<client_ptr>::lease> acquire() {
    const auto now = detail::connection_pool<client_ptr>::clock::now();
    return pool_.acquire(now, now);  // cloning a handle does no I/O
  }

  static std::string describe(const memcached_url& url) {
    std::string out = "memcached://";
    for (std::size_t i = 0; i < url.servers.size(); ++i) {
      fmt::format_to(std::back_inserter(out), "{}{}:{}", i == 0 ? "" : ",", url.servers[i].host,
                     url.servers[i].port);
    }
    return out;
  }

  // The template keeps libmemcached's own allocators: its server array (one entry per
  // member, with the member's I/O buffers, ~17 KB) and continuum are built through them, so
  // a pool of any size builds whatever max_value_size is. Each client handle gets the
  // bounded allocators after it is cloned (clone()), when its servers are in place, so
  // that only what it reads from the servers goes through them.
  void configure(const memcached_url& url) {
    memcached_st* m = template_.get();
    const auto retry_seconds = (options_.retry_after.count() + 999) / 1000;
    const std::pair<memcached_behavior_t, std::uint64_t> behaviors[] = {
        {MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1},
        {MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA},
        {MEMCACHED_BEHAVIOR_TCP_NODELAY, 1},
        {MEMCACHED_BEHAVIOR_NO_BLOCK, 1},  // so that the connect timeout applies
        {MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT,
         static_cast<std::uint64_t>(options_.connect_timeout.count())},
        {MEMCACHED_BEHAVIOR_POLL_TIMEOUT,
         static_cast<std::uint64_t>(options_.command_timeout.count())},
        {MEMCACHED_BEHAVIOR_SND_TIMEOUT,
         static_cast<std::uint64_t>(options_.command_timeout.count() * 1000)},
        {MEMCACHED_BEHAVIOR_RCV_TIMEOUT,
         static_cast<std::uint64_t>(options_.command_timeout.count() * 1000)},
        // A server that fails is never ejected: its keys, above all its generation counters,
        // stay with it. Were they moved to another member, a bump confirmed there would be
        // undone when the owner came back holding the old counter, and another process that
        // never saw the failure would go on reading the owner (contract G6; docs/design.md).
        // A server that refuses or drops connections is instead taken out of service for
        // `retry_after` after one failure (libmemcached then fails its requests at once,
        // SERVER_TEMPORARILY_DISABLED). A server that hangs with its connections open costs
        // a timeout per request.
        {MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 0},
        {MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, 1},
        {MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, static_cast<std::uint64_t>(retry_seconds)},
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

  result<client_ptr> clone() {
    const std::lock_guard lock(template_mutex_);  // cloning reads the template
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

  result<std::uint64_t> increment(memcached_st* m, std::string_view key, std::uint64_t by,
                                  std::uint64_t initial) {
    std::uint64_t value = 0;
    memcached_return_t rc{};
    // On a missing counter the server adds `initial`; when two clients race to create it, the
    // loser's add fails with NOT_STORED although the counter now exists (found by
    // tests/history_test.cpp). Incrementing again then finds it.
    for (int attempt = 0; attempt < 3; ++attempt) {
      rc = memcached_increment_with_initial(m, key.data(), key.size(), by, initial, 0, &value);
      if (rc != MEMCACHED_NOTSTORED) break;
    }
    if (rc != MEMCACHED_SUCCESS) return failure(m, rc, "increment");
    if (value < 2 || value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return bad_counter(key, std::to_string(value));
    }
    return value;
  }

  status failure(memcached_st* m, memcached_return_t rc, std::string_view what) const {
    if (rc == MEMCACHED_MEMORY_ALLOCATION_FAILURE && refused_allocation != 0) {
      const std::size_t refused = std::exchange(refused_allocation, 0);
      return {errc::protocol,
              fmt::format("gencache: memcached {} on {}: the server announced {} bytes, more "
                          "than a value can hold (max_value_size {}); connection dropped",
                          what, location_, refused, options_.max_value_size)};
    }
    // The client's last error can be older than `rc` (a reply that is not an error to
    // libmemcached, such as NOT_FOUND, leaves it alone), so both are said.
    const std::string_view code = memcached_strerror(m, rc);
    const std::string_view last = memcached_last_error_message(m);
    return {
        classify(rc),
        last == code || last == "SUCCESS"
            ? fmt::format("gencache: memcached {} on {}: {}", what, location_, code)
            : fmt::format("gencache: memcached {} on {}: {} ({})", what, location_, code, last)};
  }

  status bad_counter(std::string_view key, std::string_view text) const {
    return detail::foreign_counter(location_, key, text);
  }

  static time_t expiration(std::optional<std::chrono::nanoseconds> ttl) {
    if (!ttl) return 0;
    constexpr std::int64_t thirty_days = 60 * 60 * 24 * 30;
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

  const memcached_options options_;
  // Largest allocation libmemcached may make: a value, its key and the protocol framing
  // (the allocator context, read only; libmemcached takes it as void*).
  const std::size_t largest_allocation_ = options_.max_value_size + 64 * 1024;
  const std::string location_;
  std::mutex template_mutex_;
  const client_ptr template_;
  detail::connection_pool<client_ptr> pool_;
};

void validate(const memcached_options& o) {
  detail::validate_connection_options(o, "memcached_options");
  // memcached's largest item (-I) is 1 GiB; the bound also keeps the reply limit
  // (max_value_size + 64 KiB) from wrapping.
  if (o.max_value_size > memcached_largest_value) {
    throw std::invalid_argument(
        fmt::format("gencache: memcached_options::max_value_size must be in [1, 1 GiB], got {}",
                    o.max_value_size));
  }
}

}  // namespace

memcached_url parse_memcached_url(std::string_view url) {
  std::string_view rest = detail::url_after_scheme(url, "memcached://");
  memcached_url out;
  while (true) {
    const auto comma = rest.find(',');
    out.servers.push_back(detail::parse_server_address(url, rest.substr(0, comma), 11211));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

std::shared_ptr<remote_backend> make_memcached_backend(std::string_view url,
                                                       memcached_options options) {
  validate(options);
  memcached_url parsed = parse_memcached_url(url);
  // libmemcached's continuum holds MEMCACHED_CONTINUUM_SIZE points, 100 a member (it
  // asserts past that).
  if (parsed.servers.size() > memcached_most_members) {
    throw std::invalid_argument(
        fmt::format("gencache: a memcached pool has at most {} members (libmemcached's "
                    "limit), got {}",
                    memcached_most_members, parsed.servers.size()));
  }
  return std::make_shared<memcached_backend>(std::move(parsed), std::move(options));
}

std::shared_ptr<remote_store> make_memcached_store(std::string_view url, memcached_options options,
                                                   remote_store_options store) {
  return std::make_shared<remote_store>(make_memcached_backend(url, std::move(options)),
                                        std::move(store));
}

}  // namespace gencache
