#pragma once
// The Lua scripts of the Redis back end: what a generational read and a bump run on the
// server, atomically. Each connection loads them once (SCRIPT LOAD) and calls them by SHA.
// They build the value's name from counters they read, a key that the scripts do not
// declare: so the back end cannot serve Redis Cluster.

#include <cstddef>
#include <iterator>
#include <string_view>

namespace gencache::detail::redis {

// KEYS: generation counters. ARGV[i]: the value counter i gets if it is missing (it is
// created; each its own, so no two counters start equal). A key may name one counter twice
// ({"h:user", 7} in two places): the second creation reads what the first wrote (found by
// the history checker's lost-write rule). Leaves their values in `gens`, as strings: Lua
// numbers are doubles and would round them.
#define GENCACHE_READ_COUNTERS_LUA                  \
  "local gens = redis.call('MGET', unpack(KEYS))\n" \
  "for i = 1, #KEYS do\n"                           \
  "  if not gens[i] then\n"                         \
  "    gens[i] = redis.call('GET', KEYS[i])\n"      \
  "    if not gens[i] then\n"                       \
  "      gens[i] = ARGV[i]\n"                       \
  "      redis.call('SET', KEYS[i], ARGV[i])\n"     \
  "    end\n"                                       \
  "  end\n"                                         \
  "end\n"

constexpr std::string_view read_script = GENCACHE_READ_COUNTERS_LUA "return gens\n";

// The counters as read_script, then GET of the value's name: the base ARGV[#KEYS + 1],
// '@' and each counter's value, then the incarnation suffix ARGV[#KEYS + 2]. The value
// comes first in the reply.
constexpr std::string_view get_current_script = GENCACHE_READ_COUNTERS_LUA
    "local name = ARGV[#KEYS + 1] .. '@' .. table.concat(gens, '@') .. ARGV[#KEYS + 2]\n"
    "local value = redis.call('GET', name)\n"
    "table.insert(gens, 1, value)\n"
    "return gens\n";
#undef GENCACHE_READ_COUNTERS_LUA

// KEYS[1]: a counter. ARGV[1]: its value if it has none. INCR keeps 64-bit integers exact;
// the value goes back as a string for the same reason.
constexpr std::string_view bump_script = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], ARGV[1])
  return ARGV[1]
end
redis.call('INCR', KEYS[1])
return redis.call('GET', KEYS[1])
)lua";

enum script_id : std::size_t {
  read_generations_script,
  get_current_generations_script,
  bump_generation_script
};
constexpr std::string_view scripts[] = {read_script, get_current_script, bump_script};
constexpr std::size_t script_count = std::size(scripts);

}  // namespace gencache::detail::redis
