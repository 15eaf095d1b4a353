#include "gencache/memcached_store.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <libmemcached/memcached.h>
#include <boost/container/small_vector.hpp>

#include "gencache/detail/breaker.hpp"
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

// A pooled client handle, and how many members had gone down (memcached_backend::downs_)
// when its connections were last known to be current.
struct client {
  client_ptr handle;
  std::uint64_t seen_downs = 0;
};

using member_set = boost::container::small_vector<std::uint32_t, 4>;

// A failure that says nothing about the server's answers, but that it could not be reached
// or did not answer in time: it opens the member's breaker. NOT_FOUND, NOT_STORED and other
// answers, and a reply over the limits (the member answered), do not.
bool unreachable(memcached_return_t rc) noexcept {
  if (rc == MEMCACHED_SUCCESS) return false;
  const errc code = classify(rc);
  return code == errc::connection || code == errc::timeout;
}

// Every member has a breaker of its own (detail/breaker.hpp), shared by all client handles:
// after a request on a member fails because it could not be reached or did not answer in
// time, requests whose keys live there fail fast for `retry_after`, then one tries again.
// libmemcached's own fail-fast is off (configure()): it counts in whole wall-clock seconds,
// per client handle, and only failed connects.
//
// Concurrency: each request holds one client handle of the pool; the breakers lock
// themselves; `downs_` is atomic. The template is written only by the constructor; later it
// is only read (cloned, and hashed by member_of), which libmemcached does without writing.
class memcached_backend final : public remote_backend {
 public:
  memcached_backend(const memcached_url& url, memcached_options options)
      : options_(std::move(options)),
        location_(describe(url)),
        template_(memcached_create(nullptr)),
        pool_(options_.connection.pool_size, options_.connection.command_timeout,
              [this](detail::connection_pool<client>::clock::time_point) { return clone(); }) {
    if (!template_) throw std::bad_alloc();
    configure(url);
    const auto time = options_.connection.clock ? options_.connection.clock : steady_clock();
    for (const server_address& s : url.servers) {
      members_.push_back(std::make_unique<member>(
          url.servers.size() == 1 ? location_
                                  : fmt::format("{}:{} in {}", s.host, s.port, location_),
          options_.connection.retry_after, time));
    }
  }

  [[nodiscard]] const std::string& location() const noexcept override { return location_; }
  [[nodiscard]] std::size_t max_key_size() const noexcept override { return memcached_max_key; }
  [[nodiscard]] std::size_t max_value_size() const noexcept override {
    return options_.max_value_size;
  }

  result<std::optional<std::string>> get(std::string_view key) override {
    auto started = begin({&key, 1});
    if (!started) return started.error();
    call& c = started.value();
    memcached_st* m = c.handle();
    std::size_t length = 0;
    std::uint32_t flags = 0;
    memcached_return_t rc = MEMCACHED_SUCCESS;
    refused_allocation = 0;
    const std::unique_ptr<char, value_deleter> value(
        memcached_get(m, key.data(), key.size(), &length, &flags, &rc));
    // libmemcached reports a get that failed before any value arrived as NOT_FOUND.
    if (refused_allocation != 0) rc = MEMCACHED_MEMORY_ALLOCATION_FAILURE;
    if (status s = settle(c, rc, "get"); !s.ok()) return s;
    if (rc == MEMCACHED_NOTFOUND) return std::optional<std::string>();
    if (rc != MEMCACHED_SUCCESS) return failure(m, rc, "get");
    return std::optional<std::string>(std::in_place, value ? value.get() : "", value ? length : 0);
  }

  status set(std::string_view key, std::string_view value,
             std::optional<std::chrono::nanoseconds> ttl) override {
    auto started = begin({&key, 1});
    if (!started) return started.error();
    call& c = started.value();
    memcached_st* m = c.handle();
    const memcached_return_t rc =
        memcached_set(m, key.data(), key.size(), value.data(), value.size(), expiration(ttl), 0);
    if (status s = settle(c, rc, "set"); !s.ok()) return s;
    if (rc != MEMCACHED_SUCCESS) return failure(m, rc, "set");
    return {};
  }

  result<bool> erase(std::string_view key) override {
    auto started = begin({&key, 1});
    if (!started) return started.error();
    call& c = started.value();
    memcached_st* m = c.handle();
    const memcached_return_t rc = memcached_delete(m, key.data(), key.size(), 0);
    if (status s = settle(c, rc, "delete"); !s.ok()) return s;
    if (rc == MEMCACHED_SUCCESS) return true;
    if (rc == MEMCACHED_NOTFOUND) return false;
    return failure(m, rc, "delete");
  }

  status read_generations(std::span<const std::string> keys, std::span<const std::uint64_t> fresh,
                          std::span<std::uint64_t> out) override {
    const auto names = views(keys, {});
    auto started = begin({names.data(), names.size()});
    if (!started) return started.error();
    call& c = started.value();
    boost::container::small_vector<bool, 8> found(keys.size(), false);
    status bad;
    status fetched = multi_get(c, keys, {}, [&](std::size_t i, std::string_view text) {
      const auto parsed = parse_counter(text);
      if (!parsed && bad.ok()) bad = bad_counter(keys[i], text);
      if (parsed) out[i] = *parsed;
      found[i] = parsed.has_value();
    });
    // Every member the multi-get went to holds one of the counters: if one failed, they
    // cannot all be read.
    if (!fetched.ok()) return fetched;
    if (!bad.ok()) return bad;
    // A counter not returned is missing: create it. Racing creators agree: adding 0 to a
    // counter that exists reads it (see increment() for the race of two creators).
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (found[i]) continue;
      auto created = increment(c, keys[i], 0, fresh[i]);
      if (!created) return created.error();
      out[i] = created.value();
    }
    return {};
  }

  // One multi-get of the counters and the value they name.
  result<guarded_value> get_if_current(std::span<const std::string> keys,
                                       std::span<const std::uint64_t> expected,
                                       std::string_view name) override {
    const auto names = views(keys, name);
    auto started = begin({names.data(), names.size()});
    if (!started) return started.error();
    call& c = started.value();
    guarded_value got;
    std::size_t matching = 0;
    status bad;
    const status fetched = multi_get(c, keys, name, [&](std::size_t i, std::string_view text) {
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
    auto started = begin({&key, 1});
    if (!started) return started.error();
    return increment(started.value(), key, 1, fresh);
  }

 private:
  struct member {
    member(std::string label, std::chrono::milliseconds retry_after,
           std::shared_ptr<const ::gencache::clock> time)
        : name(std::move(label)), breaker(retry_after, std::move(time)) {}
    const std::string name;  // for messages: host:port in the pool's location
    detail::breaker breaker;
  };

  /// One request: the members its keys live on, each admitted by its breaker, and a client
  /// handle.
  struct call {
    member_set members;
    boost::container::small_vector<detail::breaker::pass, 4> passes;
    std::optional<detail::connection_pool<client>::lease> lease;
    [[nodiscard]] memcached_st* handle() { return (**lease).handle.get(); }
  };

  static boost::container::small_vector<std::string_view, 8> views(
      std::span<const std::string> keys, std::string_view extra) {
    boost::container::small_vector<std::string_view, 8> out(keys.begin(), keys.end());
    if (!extra.empty()) out.push_back(extra);
    return out;
  }

  /// The member a key lives on: libmemcached's own choice (ketama), never another one.
  [[nodiscard]] std::uint32_t member_of(std::string_view key) const {
    if (members_.size() == 1) return 0;
    const std::uint32_t i = memcached_generate_hash(template_.get(), key.data(), key.size());
    return i < members_.size() ? i : 0;
  }

  /// Starts a request for `keys`: fails fast, with no I/O, if a member they live on is in
  /// its fail-fast period; otherwise a client handle whose connections are current (one that
  /// still has connections from before a member went down closes them all: they may be dead,
  /// and the first request on each would fail again). A caller waits at most
  /// `command_timeout` for a handle to come free.
  result<call> begin(std::span<const std::string_view> keys) {
    call c;
    for (const std::string_view key : keys) {
      const std::uint32_t i = member_of(key);
      if (std::find(c.members.begin(), c.members.end(), i) == c.members.end()) {
        c.members.push_back(i);
      }
    }
    for (const std::uint32_t i : c.members) {
      c.passes.push_back(members_[i]->breaker.admit());
      if (!c.passes.back().refusal.ok()) {
        status refusal = c.passes.back().refusal;
        give_back(c);
        return refusal;
      }
    }
    const auto now = detail::connection_pool<client>::clock::now();
    auto lease = pool_.acquire(now, now);  // cloning a handle does no I/O
    if (!lease) {
      give_back(c);
      return lease.error();
    }
    c.lease.emplace(std::move(lease.value()));
    client& h = **c.lease;
    if (const std::uint64_t downs = downs_.load(std::memory_order_acquire); h.seen_downs != downs) {
      memcached_quit(h.handle.get());
      h.seen_downs = downs;
    }
    return c;
  }

  /// A request that never reached its members gives back the probes it was admitted as.
  void give_back(const call& c) {
    for (std::size_t i = 0; i < c.passes.size(); ++i)
      members_[c.members[i]]->breaker.release(c.passes[i]);
  }

  /// Member `i` failed a request with `why`: open its breaker.
  void fail(std::uint32_t i, const status& why) {
    if (members_[i]->breaker.failed(why)) downs_.fetch_add(1, std::memory_order_acq_rel);
  }

  /// The outcome `rc` of a one-member request on its member: an unreachable member opens its
  /// breaker (returned: the request's error), anything else is an answer and closes it.
  status settle(call& c, memcached_return_t rc, std::string_view what) {
    return record(c, c.members.front(), rc, what);
  }
  status record(call& c, std::uint32_t i, memcached_return_t rc, std::string_view what) {
    if (!unreachable(rc)) {
      members_[i]->breaker.answered();
      return {};
    }
    status why = failure(c.handle(), rc, what, i);
    fail(i, why);
    tidy(c.handle());
    return why;
  }

  /// A failed request can leave answers unread on its handle (a member that did not answer
  /// a multi-get in time): the next request would first wait for them. Closing the handle's
  /// connections drops them.
  static void tidy(memcached_st* m) {
    for (std::uint32_t i = 0; i < memcached_server_count(m); ++i) {
      if (memcached_server_response_count(memcached_server_instance_by_position(m, i)) > 0) {
        memcached_quit(m);
        return;
      }
    }
  }

  /// One multi-get of `keys` and, if not empty, `extra` (index keys.size()); calls
  /// `found(index, bytes)` for each one present. A member that failed is an error (after
  /// the others' answers were read): a value it holds would look absent.
  ///
  /// Which member failed: libmemcached sends one multi-get to each member and says only
  /// that some failed. A member failed if, afterwards, its connection on this handle is
  /// closed (libmemcached closes it when connecting, sending or reading fails or times out)
  /// or it left its answer unfinished (it did not answer within `command_timeout`, which
  /// libmemcached reports as a miss). Each such member's breaker opens; the others answered,
  /// and theirs close. A failure of the connection kind that shows on no member (none has
  /// been seen) opens the breakers of every member the request went to: a request that
  /// failed always counts against the members it could have failed on.
  template <class Found>
  status multi_get(call& c, std::span<const std::string> keys, std::string_view extra,
                   Found&& found) {
    memcached_st* m = c.handle();
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
    if (sent != MEMCACHED_SUCCESS && sent != MEMCACHED_SOME_ERRORS && !unreachable(sent)) {
      return failure(m, sent, "get (multi)");  // refused before anything was sent (a bad key)
    }
    // The answers of the members that got the request are read even when sending failed on
    // another: left unread, the next request on this handle would wait for them.
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
    // A reply over the limits ends the fetch as if the value were absent. The member
    // answered (too much): its breaker stays as it was.
    if (refused_allocation != 0) {
      tidy(m);
      return failure(m, MEMCACHED_MEMORY_ALLOCATION_FAILURE, "get (multi)");
    }
    member_set failed;
    status first;
    for (const std::uint32_t i : c.members) {
      const memcached_instance_st* server = memcached_server_instance_by_position(m, i);
      status why;
      if (memcached_server_response_count(server) > 0) {
        why = {errc::timeout,
               fmt::format("gencache: memcached get (multi) timed out on {}: no answer in {}ms",
                           members_[i]->name, options_.connection.command_timeout.count())};
      } else if (memcached_server_srcport(server) == 0) {
        const memcached_return_t own = memcached_server_error_return(server);
        why = failure(m, unreachable(own) ? own : MEMCACHED_CONNECTION_FAILURE, "get (multi)", i,
                      memcached_server_error(server));
      } else {
        continue;
      }
      failed.push_back(i);
      fail(i, why);
      if (first.ok()) first = std::move(why);
    }
    if (const memcached_return_t worst = unreachable(sent) ? sent : rc;
        failed.empty() && unreachable(worst)) {
      first = failure(m, worst, "get (multi)");
      for (const std::uint32_t i : c.members) fail(i, first);
      tidy(m);
      return first;
    }
    for (const std::uint32_t i : c.members) {
      if (std::find(failed.begin(), failed.end(), i) == failed.end()) {
        members_[i]->breaker.answered();
      }
    }
    if (!first.ok()) {
      tidy(m);
      return first;
    }
    if (rc != MEMCACHED_END && rc != MEMCACHED_NOTFOUND && rc != MEMCACHED_SUCCESS) {
      return failure(m, rc, "get (multi)");
    }
    return {};
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
    constexpr std::uint64_t never = std::numeric_limits<std::uint32_t>::max();
    const std::pair<memcached_behavior_t, std::uint64_t> behaviors[] = {
        {MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1},
        {MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA},
        {MEMCACHED_BEHAVIOR_TCP_NODELAY, 1},
        {MEMCACHED_BEHAVIOR_NO_BLOCK, 1},  // so that the connect timeout applies
        {MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT,
         static_cast<std::uint64_t>(options_.connection.connect_timeout.count())},
        {MEMCACHED_BEHAVIOR_POLL_TIMEOUT,
         static_cast<std::uint64_t>(options_.connection.command_timeout.count())},
        {MEMCACHED_BEHAVIOR_SND_TIMEOUT,
         static_cast<std::uint64_t>(options_.connection.command_timeout.count() * 1000)},
        {MEMCACHED_BEHAVIOR_RCV_TIMEOUT,
         static_cast<std::uint64_t>(options_.connection.command_timeout.count() * 1000)},
        // A server that fails is never ejected: its keys, above all its generation counters,
        // stay with it. Were they moved to another member, a bump confirmed there would be
        // undone when the owner came back holding the old counter, and another process that
        // never saw the failure would go on reading the owner (contract G6; docs/design.md).
        {MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 0},
        // libmemcached's own fail-fast is off: the members' breakers decide (class comment).
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

  result<client> clone() {
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
    // A new handle has no connections yet: none is from before a member went down.
    return client{.handle = std::move(c), .seen_downs = downs_.load(std::memory_order_acquire)};
  }

  result<std::uint64_t> increment(call& c, std::string_view key, std::uint64_t by,
                                  std::uint64_t initial) {
    memcached_st* m = c.handle();
    std::uint64_t value = 0;
    memcached_return_t rc{};
    // On a missing counter the server adds `initial`; when two clients race to create it, the
    // loser's add fails with NOT_STORED although the counter now exists (found by
    // tests/history_test.cpp). Incrementing again then finds it.
    for (int attempt = 0; attempt < 3; ++attempt) {
      rc = memcached_increment_with_initial(m, key.data(), key.size(), by, initial, 0, &value);
      if (rc != MEMCACHED_NOTSTORED) break;
    }
    if (status s = record(c, member_of(key), rc, "increment"); !s.ok()) return s;
    if (rc != MEMCACHED_SUCCESS) return failure(m, rc, "increment");
    if (value < 2 || value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return bad_counter(key, std::to_string(value));
    }
    return value;
  }

  /// The error `rc` of a request, on the pool or (`on`) on one member; `detail` is
  /// libmemcached's message for it, by default the client's last.
  status failure(memcached_st* m, memcached_return_t rc, std::string_view what,
                 std::optional<std::uint32_t> on = {}, const char* detail = nullptr) const {
    const std::string_view where = on ? std::string_view(members_[*on]->name) : location_;
    if (rc == MEMCACHED_MEMORY_ALLOCATION_FAILURE && refused_allocation != 0) {
      const std::size_t refused = std::exchange(refused_allocation, 0);
      return {errc::protocol,
              fmt::format("gencache: memcached {} on {}: the server announced {} bytes, more "
                          "than a value can hold (max_value_size {}); connection dropped",
                          what, where, refused, options_.max_value_size)};
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

  status bad_counter(std::string_view key, std::string_view text) const {
    return detail::foreign_counter(location_, key, text);
  }

  static time_t expiration(std::optional<std::chrono::nanoseconds> ttl) {
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

  const memcached_options options_;
  // Largest allocation libmemcached may make: a value, its key and the protocol framing
  // (the allocator context, read only; libmemcached takes it as void*).
  const std::size_t largest_allocation_ = options_.max_value_size + std::size_t{64} * 1024;
  const std::string location_;
  std::mutex template_mutex_;
  const client_ptr template_;
  // Members in the URL's order, which is libmemcached's (memcached_generate_hash's index).
  std::vector<std::unique_ptr<member>> members_;
  // How many times a member went down (its breaker opened while closed): a handle that has
  // seen fewer may hold dead connections (begin()).
  std::atomic<std::uint64_t> downs_{0};
  detail::connection_pool<client> pool_;
};

void validate(const memcached_options& o) {
  o.connection.validate("memcached_options");
  // memcached's largest item (-I) is 1 GiB; the bound also keeps the reply limit
  // (max_value_size + 64 KiB) from wrapping.
  if (o.max_value_size == 0 || o.max_value_size > memcached_largest_value) {
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
