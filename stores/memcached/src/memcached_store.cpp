// The memcached back end: the operations (get, set, delete, counters, the guarded read) over
// a pool of libmemcached client handles, routed to the members their keys live on, each
// member behind a breaker of its own. libmemcached's side (the client template, bounded
// allocators, return codes) is in client.{hpp,cpp}; the URL's grammar at the end.
#include "gencache/memcached_store.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <boost/container/small_vector.hpp>

#include "client.hpp"
#include "gencache/detail/breaker.hpp"
#include "gencache/detail/connection_pool.hpp"
#include "gencache/remote_key.hpp"
#include "gencache/store_url.hpp"
#include "members.hpp"

namespace gencache {

namespace {

using detail::memcached::client_ptr;
using detail::memcached::failure;
using detail::memcached::parse_counter;
using detail::memcached::refused_allocation;
using detail::memcached::unreachable;
using detail::memcached::value_deleter;

// A pooled client handle, and how many members had gone down (member_breakers::downs)
// when its connections were last known to be current.
struct client {
  client_ptr handle;
  std::uint64_t seen_downs = 0;
};

using detail::memcached::member_set;

// Every member has a breaker of its own (members.hpp). libmemcached's own fail-fast is off
// (client.cpp): it counts in whole wall-clock seconds, per client handle, and only failed
// connects.
//
// Concurrency: each request holds one client handle of the pool; the breakers are
// thread-safe; the client template is only read after construction (client.hpp).
class memcached_backend final : public remote_backend {
 public:
  memcached_backend(const memcached_url& url, memcached_options options)
      : options_(std::move(options)),
        location_(describe(url)),
        clients_(url, options_),
        members_(url, location_, options_.connection),
        pool_(options_.connection.pool_size, options_.connection.command_timeout,
              [this](detail::connection_pool<client>::clock::time_point) { return clone(); }) {}

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
        memcached_set(m, key.data(), key.size(), value.data(), value.size(),
                      detail::memcached::expiration(ttl), 0);
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
    status fetched = multi_get(c, names, [&](std::size_t i, std::string_view text) {
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
    const status fetched = multi_get(c, names, [&](std::size_t i, std::string_view text) {
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
  /// One request: the members its keys live on, each admitted by its breaker, and a client
  /// handle.
  struct call {
    member_set members;
    detail::memcached::member_passes passes;
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
    return clients_.member_of(key, members_.size());
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
    if (status refusal = members_.admit(c.members, c.passes); !refusal.ok()) return refusal;
    const auto now = detail::connection_pool<client>::clock::now();
    auto lease = pool_.acquire(now, now);  // cloning a handle does no I/O
    if (!lease) {
      members_.give_back(c.members, c.passes);
      return lease.error();
    }
    c.lease.emplace(std::move(lease.value()));
    client& h = **c.lease;
    if (const std::uint64_t downs = members_.downs(); h.seen_downs != downs) {
      memcached_quit(h.handle.get());
      h.seen_downs = downs;
    }
    return c;
  }

  /// The outcome `rc` of a one-member request on its member: an unreachable member opens its
  /// breaker (returned: the request's error), anything else is an answer and closes it.
  status settle(call& c, memcached_return_t rc, std::string_view what) {
    return record(c, c.members.front(), rc, what);
  }
  status record(call& c, std::uint32_t i, memcached_return_t rc, std::string_view what) {
    if (!unreachable(rc)) {
      members_.answered(i);
      return {};
    }
    status why = failure(c.handle(), rc, what, i);
    members_.failed(i, why);
    detail::memcached::tidy(c.handle());
    return why;
  }

  /// One multi-get of `names`; calls `found(index, bytes)` for each one present. A member that
  /// failed is an error (after the others' answers were read): a value it holds would look absent.
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
  status multi_get(call& c, std::span<const std::string_view> names, Found&& found) {
    memcached_st* m = c.handle();
    const auto [sent, fetched] = detail::memcached::multi_get(m, names, found);
    if (sent != MEMCACHED_SUCCESS && sent != MEMCACHED_SOME_ERRORS && !unreachable(sent)) {
      return failure(m, sent, "get (multi)");  // refused before anything was sent (a bad key)
    }
    // A reply over the limits ends the fetch as if the value were absent. The member
    // answered (too much): its breaker stays as it was.
    if (refused_allocation != 0) {
      detail::memcached::tidy(m);
      return failure(m, MEMCACHED_MEMORY_ALLOCATION_FAILURE, "get (multi)");
    }
    if (status s = settle_members(c, sent, fetched); !s.ok()) return s;
    if (fetched != MEMCACHED_END && fetched != MEMCACHED_NOTFOUND && fetched != MEMCACHED_SUCCESS) {
      return failure(m, fetched, "get (multi)");
    }
    return {};
  }

  /// After a multi-get that sent with `sent` and fetched with `rc`: the members that failed
  /// (see multi_get) have their breakers opened, the others closed; the request's error,
  /// if one failed.
  status settle_members(call& c, memcached_return_t sent, memcached_return_t rc) {
    memcached_st* m = c.handle();
    member_set failed;
    status first;
    for (const std::uint32_t i : c.members) {
      const memcached_instance_st* server = memcached_server_instance_by_position(m, i);
      status why;
      if (memcached_server_response_count(server) > 0) {
        why = {errc::timeout,
               fmt::format("gencache: memcached get (multi) timed out on {}: no answer in {}ms",
                           members_.name(i), options_.connection.command_timeout.count())};
      } else if (memcached_server_srcport(server) == 0) {
        const memcached_return_t own = memcached_server_error_return(server);
        why = failure(m, unreachable(own) ? own : MEMCACHED_CONNECTION_FAILURE, "get (multi)", i,
                      memcached_server_error(server));
      } else {
        continue;
      }
      failed.push_back(i);
      members_.failed(i, why);
      if (first.ok()) first = std::move(why);
    }
    if (const memcached_return_t worst = unreachable(sent) ? sent : rc;
        failed.empty() && unreachable(worst)) {
      first = failure(m, worst, "get (multi)");
      for (const std::uint32_t i : c.members) members_.failed(i, first);
      detail::memcached::tidy(m);
      return first;
    }
    for (const std::uint32_t i : c.members) {
      if (std::find(failed.begin(), failed.end(), i) == failed.end()) {
        members_.answered(i);
      }
    }
    if (!first.ok()) detail::memcached::tidy(m);
    return first;
  }

  static std::string describe(const memcached_url& url) {
    std::string out = "memcached://";
    for (std::size_t i = 0; i < url.servers.size(); ++i) {
      fmt::format_to(std::back_inserter(out), "{}{}:{}", i == 0 ? "" : ",", url.servers[i].host,
                     url.servers[i].port);
    }
    return out;
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

  /// The error `rc` of a request, on the pool or (`on`) on one member; `message` is
  /// libmemcached's message for it, by default the client's last.
  status failure(memcached_st* m, memcached_return_t rc, std::string_view what,
                 std::optional<std::uint32_t> on = {}, const char* message = nullptr) const {
    return detail::memcached::failure(m, rc, what, on ? members_.name(*on) : location_,
                                      options_.max_value_size, message);
  }

  /// A new handle, cloned from the template: it has no connections yet, so none is from
  /// before a member went down.
  result<client> clone() {
    auto handle = clients_.clone();
    if (!handle) return handle.error();
    return client{.handle = std::move(handle.value()), .seen_downs = members_.downs()};
  }

  status bad_counter(std::string_view key, std::string_view text) const {
    return detail::foreign_counter(location_, key, text);
  }

  const memcached_options options_;
  const std::string location_;
  detail::memcached::client_template clients_;
  detail::memcached::member_breakers members_;
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
