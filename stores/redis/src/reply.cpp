// Redis replies: hiredis' reader bounded by the reply limits, and what a reply means
// (reply.hpp).
#include "reply.hpp"

#include <algorithm>
#include <new>

#include <fmt/format.h>

#include "gencache/remote_store.hpp"

namespace gencache::detail::redis {

namespace {

// hiredis's own object functions (static in hiredis.c): those of a fresh reader.
const redisReplyObjectFunctions& hiredis_objects() {
  static const redisReplyObjectFunctions* const objects = [] {
    redisReader* reader = redisReaderCreate();
    if (reader == nullptr) throw std::bad_alloc();
    const redisReplyObjectFunctions* fn = reader->fn;
    redisReaderFree(reader);
    return fn;
  }();
  return *objects;
}

reply_limits& limits_of(const redisReadTask* task) {
  return *static_cast<reply_limits*>(task->privdata);
}
bool take_objects(const redisReadTask* task, std::size_t count, std::string_view what) {
  reply_limits& limits = limits_of(task);
  if (count > limits.objects_left) {
    limits.violation = fmt::format("{} of {} elements", what, count);
    return false;
  }
  limits.objects_left -= count;
  return true;
}
void* bounded_string(const redisReadTask* task, char* text, std::size_t length) {
  return take_objects(task, 1, "a string") ? hiredis_objects().createString(task, text, length)
                                           : nullptr;
}
void* bounded_array(const redisReadTask* task, int elements) {
  const auto count = static_cast<std::size_t>(std::max(elements, 0)) + 1;
  return take_objects(task, count, "an array") ? hiredis_objects().createArray(task, elements)
                                               : nullptr;
}
void* bounded_integer(const redisReadTask* task, long long value) {
  return take_objects(task, 1, "an integer") ? hiredis_objects().createInteger(task, value)
                                             : nullptr;
}
void* bounded_nil(const redisReadTask* task) {
  return take_objects(task, 1, "a nil") ? hiredis_objects().createNil(task) : nullptr;
}
redisReplyObjectFunctions bounded_objects = {bounded_string, bounded_array, bounded_integer,
                                             bounded_nil, freeReplyObject};

}  // namespace

void bound_reader(redisReader& reader, reply_limits* limits) {
  hiredis_objects();  // before the first reply is read
  reader.fn = &bounded_objects;
  reader.privdata = limits;
}

status unexpected(std::string_view what, std::string_view location, const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) {
    return {errc::protocol, fmt::format("gencache: {} on {}: {}", what, location, text_of(reply))};
  }
  return {errc::protocol, fmt::format("gencache: {} on {}: unexpected reply of type {}", what,
                                      location, reply.type)};
}

result<std::optional<std::string>> value_of(const redisReply& reply, std::string_view what,
                                            std::string_view location) {
  if (reply.type == REDIS_REPLY_NIL) return std::optional<std::string>();
  if (reply.type == REDIS_REPLY_STRING) return std::optional<std::string>(text_of(reply));
  return unexpected(what, location, reply);
}

status parse_generations(std::span<const std::string> keys, const redisReply& reply,
                         std::size_t first, std::span<std::uint64_t> out,
                         std::string_view location) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const redisReply& e = *reply.element[first + i];
    const auto parsed =
        e.type == REDIS_REPLY_STRING ? detail::parse_generation_text(text_of(e)) : std::nullopt;
    if (!parsed) {
      return detail::foreign_counter(location, keys[i],
                                     e.type == REDIS_REPLY_STRING ? text_of(e) : "");
    }
    out[i] = *parsed;
  }
  return {};
}

}  // namespace gencache::detail::redis
