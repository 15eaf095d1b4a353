#pragma once
// The libmemcached side of the memcached back end: the configured client template and the
// handles cloned from it, the allocators that bound what a server's reply can make the
// client allocate, and what libmemcached's return codes mean (their error class, whether
// the member is to blame, their message). It knows nothing of the pool, the breakers or
// the operations (memcached_store.cpp).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <libmemcached/memcached.h>
#include <boost/container/small_vector.hpp>

#include "gencache/memcached_store.hpp"
#include "gencache/result.hpp"
#include "gencache/status.hpp"

namespace gencache::detail::memcached {

struct client_deleter {
  void operator()(memcached_st* m) const noexcept { memcached_free(m); }
};
using client_ptr = std::unique_ptr<memcached_st, client_deleter>;

struct value_deleter {
  void operator()(char* p) const noexcept { std::free(p); }
};

/// The size the bounded allocators refused last on this thread (0: none since it was reset).
/// A request resets it before it reads; libmemcached reports a refused allocation as a
/// miss or an allocation failure, and this tells them apart.
extern thread_local std::size_t refused_allocation;

/// The error class of a libmemcached return code.
[[nodiscard]] errc classify(memcached_return_t rc) noexcept;

/// A failure that says nothing about the server's answers, but that it could not be reached
/// or did not answer in time: it opens the member's breaker. NOT_FOUND, NOT_STORED and other
/// answers, and a reply over the limits (the member answered), do not.
[[nodiscard]] bool unreachable(memcached_return_t rc) noexcept;

/// A counter's decimal text (trailing spaces allowed: an increment that shortens a counter
/// may leave them).
[[nodiscard]] std::optional<std::uint64_t> parse_counter(std::string_view text);

/// memcached's expiration for a ttl: seconds rounded up, or a Unix time past 30 days
/// (clamped to 2106, the last second 32 bits can say); 0 without a ttl.
[[nodiscard]] time_t expiration(std::optional<std::chrono::nanoseconds> ttl);

/// Closes the handle's connections if a failed request left answers unread on them: the
/// next request would first wait for those.
void tidy(memcached_st* m);

/// The error `rc` of request `what` on `where` (the pool's location or a member's name);
/// `detail` is libmemcached's message for it, by default the handle's last. A reply the
/// bounded allocators refused (`refused_allocation`, which this resets) says so, with
/// `max_value_size`.
[[nodiscard]] status failure(memcached_st* m, memcached_return_t rc, std::string_view what,
                             std::string_view where, std::size_t max_value_size,
                             const char* detail = nullptr);

/// What a multi-get's sending and fetching returned.
struct multi_get_codes {
  memcached_return_t sent;
  memcached_return_t fetched;
};

/// Sends one multi-get of `names` on `m` and reads every answer, calling
/// `found(index, bytes)` for each name present; resets `refused_allocation` first. The
/// answers of the members that got the request are read even when sending failed on
/// another: left unread, the next request on this handle would wait for them. A name not
/// sent (refused before any I/O, a bad key) shows in `sent`.
template <class Found>
multi_get_codes multi_get(memcached_st* m, std::span<const std::string_view> names, Found& found) {
  boost::container::small_vector<const char*, 8> data;
  boost::container::small_vector<std::size_t, 8> lengths;
  for (const std::string_view name : names) {
    data.push_back(name.data());
    lengths.push_back(name.size());
  }
  refused_allocation = 0;
  const memcached_return_t sent = memcached_mget(m, data.data(), lengths.data(), data.size());
  if (sent != MEMCACHED_SUCCESS && sent != MEMCACHED_SOME_ERRORS && !unreachable(sent)) {
    return {sent, MEMCACHED_SUCCESS};
  }
  memcached_result_st result;
  memcached_result_create(m, &result);
  memcached_return_t rc = MEMCACHED_SUCCESS;
  while (memcached_fetch_result(m, &result, &rc) != nullptr) {
    const std::string_view key(memcached_result_key_value(&result),
                               memcached_result_key_length(&result));
    const std::string_view bytes(memcached_result_value(&result), memcached_result_length(&result));
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (key == names[i]) found(i, bytes);
    }
  }
  memcached_result_free(&result);
  return {sent, rc};
}

/// The client all handles are cloned from: its behaviours (binary protocol, ketama,
/// timeouts, no ejection, libmemcached's own fail-fast off) and its servers. Only the
/// constructor writes it; cloning and hashing only read it.
class client_template {
 public:
  /// Throws std::invalid_argument if libmemcached refuses a behaviour or a server.
  client_template(const memcached_url& url, const memcached_options& options);

  /// A handle with the template's servers and behaviours and the bounded allocators.
  [[nodiscard]] result<client_ptr> clone();

  /// The member (its index in the URL's order) a key lives on: libmemcached's choice.
  [[nodiscard]] std::uint32_t member_of(std::string_view key, std::size_t members) const;

 private:
  // Largest allocation libmemcached may make: a value, its key and the protocol framing
  // (the allocator context, read only; libmemcached takes it as void*).
  const std::size_t largest_allocation_;
  std::mutex mutex_;  // cloning reads the template: one clone at a time
  const client_ptr template_;
};

}  // namespace gencache::detail::memcached
