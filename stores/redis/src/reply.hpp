#pragma once
// Replies from hiredis: ownership, the bounds on what one exchange may make hiredis's reader
// build, and what a reply means to the back end (a value, counters, or a protocol error).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <hiredis/hiredis.h>

#include "gencache/result.hpp"
#include "gencache/status.hpp"

namespace gencache::detail::redis {

struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

[[nodiscard]] inline std::string_view text_of(const redisReply& r) { return {r.str, r.len}; }

/// What one exchange (the replies to the commands sent together) may make hiredis's reader
/// build. hiredis 0.14 allocates whatever a reply header announces (a 2^31-slot array for
/// "*2147483647"), so its object functions are wrapped to refuse more objects than the
/// request can get back, and the bytes read are counted (by the caller) before they reach
/// the reader.
struct reply_limits {
  std::size_t objects_left = 0;
  std::size_t bytes_left = 0;
  std::string violation;  // what broke the limits, for the error message
};

/// Makes `reader` build its replies through object functions that count against `*limits`
/// and refuse (a reader error) what would exceed them. `limits` must outlive the reader.
void bound_reader(redisReader& reader, reply_limits* limits);

/// The protocol error of an unexpected reply to `what` (an error reply says its text).
[[nodiscard]] status unexpected(std::string_view what, std::string_view location,
                                const redisReply& reply);

/// A nil or string reply as an optional value; anything else is `unexpected`.
[[nodiscard]] result<std::optional<std::string>> value_of(const redisReply& reply,
                                                          std::string_view what,
                                                          std::string_view location);

/// The counters `keys` at `reply.element[first...]`, parsed into `out`; a counter that is
/// not a generation gencache wrote is detail::foreign_counter.
[[nodiscard]] status parse_generations(std::span<const std::string> keys, const redisReply& reply,
                                       std::size_t first, std::span<std::uint64_t> out,
                                       std::string_view location);

}  // namespace gencache::detail::redis
