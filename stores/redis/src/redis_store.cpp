#include "gencache/redis_store.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <concepts>
#include <cstring>
#include <string>
#include <system_error>

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <boost/container/small_vector.hpp>

#include "gencache/detail/breaker.hpp"
#include "gencache/detail/connection_pool.hpp"
#include "gencache/store_url.hpp"

namespace gencache {

namespace {

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

struct context_deleter {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

// Every name a connection sends ends in "~" and 16 hex digits of the server's run_id, read
// when it connects. A restarted server has a new run_id, so whatever it reloaded from a
// snapshot or an append-only file (counters from before confirmed bumps, and the values
// stored under them) is never read again: contract G6. Each connection tags with the run_id
// it saw, and a restart closes every connection, so no request mixes two incarnations.
constexpr std::size_t incarnation_size = 17;

using io_clock = std::chrono::steady_clock;

// What one exchange (the replies to the commands sent together) may make hiredis's reader
// build. hiredis 0.14 allocates whatever a reply header announces (a 2^31-slot array for
// "*2147483647"), so its object functions are wrapped to refuse more objects than the
// request can get back, and the bytes read are counted before they reach the reader.
struct reply_limits {
  std::size_t objects_left = 0;
  std::size_t bytes_left = 0;
  std::string violation;  // what broke the limits, for the error message
};

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

struct connection {
  std::unique_ptr<redisContext, context_deleter> context;
  std::string script_sha[std::size(scripts)];
  std::string incarnation;        // "~" + 16 hex digits of the server's run_id
  io_clock::time_point ready_at;  // when it was set up (a request's deadline starts later)
  reply_limits limits;            // the reader's privdata

  [[nodiscard]] std::string name(std::string_view key) const {
    std::string out;
    out.reserve(key.size() + incarnation.size());
    out.append(key);
    out.append(incarnation);
    return out;
  }
  [[nodiscard]] boost::container::small_vector<std::string, 8> names(
      std::span<const std::string> keys) const {
    boost::container::small_vector<std::string, 8> out;
    for (const std::string& k : keys) out.push_back(name(k));
    return out;
  }
};
using connection_ptr = std::unique_ptr<connection>;

timeval to_timeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000),
          static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

/// Waits until `fd` is ready for `events` or `deadline` passes (false).
bool wait_until(int fd, short events, io_clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - io_clock::now()).count();
    if (left <= 0) return false;
    pollfd p{.fd = fd, .events = events, .revents = 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return true;  // the send or recv that follows says why
  }
}

std::string_view text_of(const redisReply& r) { return {r.str, r.len}; }

// A command's outcome: a reply (possibly an error reply) or a failed connection.
struct outcome {
  reply_ptr reply;
  status failure;  // set when the connection failed; the connection is then unusable
};

class redis_backend final : public remote_backend {
 public:
  redis_backend(redis_url url, redis_options options)
      : url_(std::move(url)),
        options_(std::move(options)),
        clock_(options_.connection.clock ? options_.connection.clock : steady_clock()),
        location_(
            fmt::format("redis://{}:{}/{}", url_.server.host, url_.server.port, url_.database)),
        breaker_(options_.connection.retry_after, clock_),
        pool_(options_.connection.pool_size, options_.connection.command_timeout,
              [this](io_clock::time_point limit) { return connect(limit); }) {}

  [[nodiscard]] const std::string& location() const noexcept override { return location_; }
  [[nodiscard]] std::size_t max_key_size() const noexcept override {
    return options_.max_key_size - incarnation_size;
  }
  [[nodiscard]] std::size_t max_value_size() const noexcept override {
    return options_.max_value_size;
  }

  result<std::optional<std::string>> get(std::string_view key) override {
    auto r = run("GET", key);
    if (!r) return r.error();
    const redisReply& reply = *r.value();
    if (reply.type == REDIS_REPLY_NIL) return std::optional<std::string>();
    if (reply.type == REDIS_REPLY_STRING) return std::optional<std::string>(text_of(reply));
    return unexpected("GET", reply);
  }

  status set(std::string_view key, std::string_view value,
             std::optional<std::chrono::nanoseconds> ttl) override {
    // Rounded up: an entry must not outlive its ttl by less than asked, nor get 0 (an error).
    // Clamped to 2^46 ms (about 2,200 years): Redis refuses an expiry whose Unix time in
    // milliseconds overflows.
    constexpr std::int64_t longest_ms = std::int64_t{1} << 46;
    const std::string millis =
        ttl ? std::to_string(std::min(
                  longest_ms, ttl->count() / 1'000'000 + (ttl->count() % 1'000'000 != 0 ? 1 : 0)))
            : "";
    auto r = ttl ? run("SET", key, value, "PX", millis) : run("SET", key, value);
    if (!r) return r.error();
    if (r.value()->type == REDIS_REPLY_STATUS) return {};
    return unexpected("SET", *r.value());
  }

  result<bool> erase(std::string_view key) override {
    auto r = run("DEL", key);
    if (!r) return r.error();
    if (r.value()->type == REDIS_REPLY_INTEGER) return r.value()->integer > 0;
    return unexpected("DEL", *r.value());
  }

  status read_generations(std::span<const std::string> keys, std::span<const std::uint64_t> fresh,
                          std::span<std::uint64_t> out) override {
    auto r = run_script(read_generations_script, keys, fresh);
    if (!r) return r.error();
    const redisReply& reply = *r.value();
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements != keys.size()) {
      return unexpected("the generation script", reply);
    }
    return parse_generations(keys, reply, 0, out);
  }

  result<std::uint64_t> bump_generation(std::string_view key, std::uint64_t fresh) override {
    const std::string keys[] = {std::string(key)};
    auto r = run_script(bump_generation_script, keys, {&fresh, 1});
    if (!r) return r.error();
    const redisReply& reply = *r.value();
    if (reply.type != REDIS_REPLY_STRING) return unexpected("the bump script", reply);
    const auto parsed = detail::parse_generation_text(text_of(reply));
    if (!parsed) return bad_counter(key, text_of(reply));
    return *parsed;
  }

  // The first read of a counter: one script call (~4 us of server time; a GET is ~0.3 us).
  result<std::optional<std::string>> get_current(std::span<const std::string> keys,
                                                 std::span<const std::uint64_t> fresh,
                                                 std::span<std::uint64_t> out,
                                                 std::string_view value_key_base) override {
    auto r =
        run_script(get_current_generations_script, keys, fresh, value_key_base, incarnation_tag{});
    if (!r) return r.error();
    const redisReply& reply = *r.value();
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements != keys.size() + 1) {
      return unexpected("the get script", reply);
    }
    if (status s = parse_generations(keys, reply, 1, out); !s.ok()) return s;
    return value_of(*reply.element[0], "the get script");
  }

  // Every later read: MGET of the counters pipelined with a GET of the name they had, two
  // plain commands in one round trip, no script.
  result<guarded_value> get_if_current(std::span<const std::string> keys,
                                       std::span<const std::uint64_t> expected,
                                       std::string_view name) override {
    const auto start = io_clock::now();
    auto lease = acquire(start);
    if (!lease) return lease.error();
    connection& c = **lease.value();
    const auto tagged = c.names(keys);
    boost::container::small_vector<std::string_view, 8> mget = {"MGET"};
    mget.insert(mget.end(), tagged.begin(), tagged.end());
    const std::string tagged_name = c.name(name);
    const std::string_view get[] = {"GET", tagged_name};
    auto r = pipeline<2>(c, {mget, get}, deadline(c, start));
    if (!r) {
      lease.value().discard();
      return r.error();
    }
    const redisReply& counters = *r.value()[0];
    if (counters.type != REDIS_REPLY_ARRAY || counters.elements != keys.size()) {
      return unexpected("MGET", counters);
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const redisReply& e = *counters.element[i];
      if (e.type != REDIS_REPLY_STRING ||
          detail::parse_generation_text(text_of(e)) != std::optional(expected[i])) {
        return guarded_value{};
      }
    }
    auto value = value_of(*r.value()[1], "GET");
    if (!value) return value.error();
    return guarded_value{.current = true, .value = std::move(value.value())};
  }

 private:
  result<std::optional<std::string>> value_of(const redisReply& reply,
                                              std::string_view what) const {
    if (reply.type == REDIS_REPLY_NIL) return std::optional<std::string>();
    if (reply.type == REDIS_REPLY_STRING) return std::optional<std::string>(text_of(reply));
    return unexpected(what, reply);
  }

  /// A new connection, ready for use. Any failure, also one after TCP connected (a server
  /// that answers NOAUTH, refuses INFO or SCRIPT LOAD), trips the breaker: otherwise every
  /// request would open a connection to a server that cannot serve it.
  result<connection_ptr> connect(io_clock::time_point limit) {
    auto c = open_connection(limit);
    if (!c) return trip(c.error());
    return c;
  }

  /// Connects within `connect_timeout` and sets the connection up within `command_timeout`
  /// more, all by `limit` (the call's).
  result<connection_ptr> open_connection(io_clock::time_point limit) {
    const auto left = std::chrono::floor<std::chrono::milliseconds>(limit - io_clock::now());
    if (left.count() <= 0) return timed_out("connecting");
    const timeval connect_timeout = to_timeval(std::min(options_.connection.connect_timeout, left));
    auto c = std::make_unique<connection>();
    c->context.reset(
        redisConnectWithTimeout(url_.server.host.c_str(), url_.server.port, connect_timeout));
    if (!c->context) return status(errc::connection, "gencache: hiredis could not allocate");
    if (c->context->err != 0) {
      return status(errc::connection, fmt::format("gencache: cannot connect to {}: {}", location_,
                                                  c->context->errstr));
    }
    hiredis_objects();  // before the first reply is read
    c->context->reader->fn = &bounded_objects;
    c->context->reader->privdata = &c->limits;
    // Setting the connection up (SELECT, INFO, three SCRIPT LOADs) has one command_timeout.
    const io_clock::time_point deadline =
        std::min(io_clock::now() + options_.connection.command_timeout, limit);
    if (url_.database != 0) {
      const std::string db = std::to_string(url_.database);
      const std::string_view argv[] = {"SELECT", db};
      auto r = command(*c, argv, deadline);
      if (!r) return r.error();
      if (r.value()->type != REDIS_REPLY_STATUS) return unexpected("SELECT", *r.value());
    }
    if (status s = read_incarnation(*c, deadline); !s.ok()) return s;
    for (std::size_t i = 0; i < std::size(scripts); ++i) {
      if (status s = load_script(*c, i, deadline); !s.ok()) return s;
    }
    c->ready_at = io_clock::now();
    return c;
  }

  /// Reads the server's run_id into the connection's incarnation tag.
  status read_incarnation(connection& c, io_clock::time_point deadline) {
    const std::string_view argv[] = {"INFO", "server"};
    auto r = command(c, argv, deadline);
    if (!r) return r.error();
    if (r.value()->type != REDIS_REPLY_STRING) return unexpected("INFO server", *r.value());
    const std::string_view info = text_of(*r.value());
    constexpr std::string_view field = "run_id:";
    const auto at = info.find(field);
    const std::string_view run_id =
        at == std::string_view::npos ? std::string_view() : info.substr(at + field.size(), 16);
    if (run_id.size() != 16 ||
        run_id.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
      return {errc::protocol,
              fmt::format("gencache: INFO server on {} gives no run_id, so a restart that "
                          "reloads old generations could not be detected",
                          location_)};
    }
    c.incarnation = "~";
    c.incarnation += run_id;
    return {};
  }

  status load_script(connection& c, std::size_t i, io_clock::time_point deadline) {
    const std::string_view argv[] = {"SCRIPT", "LOAD", scripts[i]};
    auto r = command(c, argv, deadline);
    if (!r) return r.error();
    if (r.value()->type != REDIS_REPLY_STRING) return unexpected("SCRIPT LOAD", *r.value());
    c.script_sha[i] = text_of(*r.value());
    return {};
  }

  /// Commands sent together (pipelined: one write, one round trip), their replies in order,
  /// all by `deadline`, whatever the server sends: hiredis formats the commands and parses
  /// the replies, but the socket is read and written here, never blocking past the deadline
  /// (hiredis 0.14's blocking calls bound each read, so a server that answers a byte at a
  /// time would hold a call for ever). The replies may hold one value of `max_value_size`
  /// and as many objects as the commands have arguments; a server that sends more is cut
  /// off (errc::protocol). A timeout or a failed connection trips the breaker; after any
  /// failure the connection is unusable. An answer closes the breaker.
  template <std::size_t N>
  result<std::array<reply_ptr, N>> pipeline(
      connection& c, const std::array<std::span<const std::string_view>, N>& commands,
      io_clock::time_point deadline) {
    const std::string_view what = commands[0][0];
    std::string out;
    std::size_t arguments = 0;
    for (const auto& args : commands) {
      boost::container::small_vector<const char*, 8> argv;
      boost::container::small_vector<std::size_t, 8> lengths;
      for (const std::string_view a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
      }
      char* formatted = nullptr;
      const int length = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()),
                                                argv.data(), lengths.data());
      if (length < 0) throw std::bad_alloc();
      out.append(formatted, static_cast<std::size_t>(length));
      redisFreeCommand(formatted);
      arguments += args.size();
    }
    const int fd = c.context->fd;
    // Replies are matched to commands by order alone (a GET's reply does not name its key),
    // so a connection on which the server said anything unasked is never used again: what
    // it said would be taken for the next command's reply, another key's value (G5).
    if (char byte = 0; ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
      return unasked(what);
    }
    for (std::size_t sent = 0; sent < out.size();) {
      const ssize_t n =
          ::send(fd, out.data() + sent, out.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0) {
        sent += static_cast<std::size_t>(n);
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return trip(io_error(what, "sending failed", std::generic_category().message(errno)));
      } else if (!wait_until(fd, POLLOUT, deadline)) {
        return trip(timed_out(what));
      }
    }
    c.limits = {.objects_left = arguments + 8,
                .bytes_left = options_.max_value_size + std::size_t{64} * 1024 + 64 * arguments,
                .violation = {}};
    redisReader* reader = c.context->reader;
    std::array<reply_ptr, N> replies;
    for (auto& reply : replies) {
      for (;;) {
        void* raw = nullptr;
        if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
          return c.limits.violation.empty()
                     ? io_error(what, "protocol error", reader->errstr)
                     : over_limits(what, "a reply with " + c.limits.violation);
        }
        if (raw != nullptr) {
          reply.reset(static_cast<redisReply*>(raw));
          break;
        }
        if (!wait_until(fd, POLLIN, deadline)) return trip(timed_out(what));
        std::array<char, 16 * 1024> buffer;
        const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (n == 0) return trip(io_error(what, "failed", "the server closed the connection"));
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
          return trip(io_error(what, "failed", std::generic_category().message(errno)));
        }
        if (static_cast<std::size_t>(n) > c.limits.bytes_left) {
          return over_limits(what, fmt::format("replies over {} bytes",
                                               options_.max_value_size + std::size_t{64} * 1024));
        }
        c.limits.bytes_left -= static_cast<std::size_t>(n);
        if (redisReaderFeed(reader, buffer.data(), static_cast<std::size_t>(n)) != REDIS_OK) {
          throw std::bad_alloc();
        }
      }
    }
    if (reader->pos != reader->len) return unasked(what);  // more replies than commands
    breaker_.answered();                                   // the server answers (again)
    return replies;
  }

  status unasked(std::string_view what) const {
    return {errc::protocol,
            fmt::format("gencache: {} on {}: the server sent a reply nothing asked for; "
                        "connection dropped",
                        what, location_)};
  }

  status timed_out(std::string_view what) const {
    return {errc::timeout,
            fmt::format("gencache: {} timed out on {}: no complete answer in {}ms", what, location_,
                        options_.connection.command_timeout.count())};
  }
  status io_error(std::string_view what, std::string_view how, std::string_view detail) const {
    return {errc::connection,
            fmt::format("gencache: {} {} on {}: {}", what, how, location_, detail)};
  }
  status over_limits(std::string_view what, std::string_view sent) const {
    return {errc::protocol,
            fmt::format("gencache: {} on {}: the server sent {}, more than the request can get "
                        "back (max_value_size {}); connection dropped",
                        what, location_, sent, options_.max_value_size)};
  }

  /// One command on a connection, answered by `deadline`.
  result<reply_ptr> command(connection& c, std::span<const std::string_view> args,
                            io_clock::time_point deadline) {
    auto r = pipeline<1>(c, {args}, deadline);
    if (!r) return r.error();
    return std::move(r.value()[0]);
  }

  /// A request's deadline: `command_timeout` after it started, waiting for a free
  /// connection included, or after the connection it got was set up, if that was later;
  /// never past the call's limit.
  [[nodiscard]] io_clock::time_point deadline(const connection& c,
                                              io_clock::time_point start) const {
    return std::min(std::max(start, c.ready_at) + options_.connection.command_timeout,
                    limit(start));
  }
  /// The end of a call that started at `start`, whatever the server sends: at most
  /// `command_timeout` waiting for a pooled connection, `connect_timeout` to open a new
  /// one and `command_timeout` to set it up, and the command's `command_timeout`, counted
  /// from the start, cut to this.
  [[nodiscard]] io_clock::time_point limit(io_clock::time_point start) const {
    return start + options_.connection.connect_timeout + 2 * options_.connection.command_timeout;
  }

  /// One command `verb key args...` on a pooled connection, the key tagged with the
  /// connection's incarnation; a connection that failed is not reused.
  template <std::convertible_to<std::string_view>... Args>
  result<reply_ptr> run(std::string_view verb, std::string_view key, const Args&... args) {
    const auto start = io_clock::now();
    auto lease = acquire(start);
    if (!lease) return lease.error();
    const std::string name = (**lease.value()).name(key);
    const std::string_view argv[] = {verb, name, std::string_view(args)...};
    auto r = command(**lease.value(), argv, deadline(**lease.value(), start));
    if (!r) lease.value().discard();
    return r;
  }

  /// In `run_script`'s extra arguments: the connection's incarnation tag.
  struct incarnation_tag {};

  /// EVALSHA of script `id` with KEYS = `keys` (tagged) and ARGV = {fresh..., extra...}.
  template <class... Extra>
  result<reply_ptr> run_script(script_id id, std::span<const std::string> keys,
                               std::span<const std::uint64_t> fresh, const Extra&... extra) {
    const auto start = io_clock::now();
    auto lease = acquire(start);
    if (!lease) return lease.error();
    connection& c = **lease.value();
    const io_clock::time_point until = deadline(c, start);
    const auto count = fmt::format_int(keys.size());
    const auto tagged = c.names(keys);
    boost::container::small_vector<std::string, 8> fresh_text;
    for (const std::uint64_t f : fresh) fresh_text.push_back(std::to_string(f));
    boost::container::small_vector<std::string_view, 16> argv = {
        "EVALSHA", c.script_sha[id], std::string_view(count.data(), count.size())};
    for (const auto& k : tagged) argv.push_back(k);
    for (const auto& f : fresh_text) argv.push_back(f);
    (argv.push_back([&]() -> std::string_view {
      if constexpr (std::is_same_v<Extra, incarnation_tag>) {
        return c.incarnation;
      } else {
        return std::string_view(extra);
      }
    }()),
     ...);
    for (int attempt = 0;; ++attempt) {
      argv[1] = c.script_sha[id];
      auto r = command(c, argv, until);
      if (!r) {
        lease.value().discard();
        return r;
      }
      const redisReply& reply = *r.value();
      // The server forgot the script (restarted, SCRIPT FLUSH): load it again, once.
      if (attempt == 0 && reply.type == REDIS_REPLY_ERROR &&
          text_of(reply).starts_with("NOSCRIPT")) {
        if (status s = load_script(c, id, until); !s.ok()) {
          lease.value().discard();
          return s;
        }
        continue;
      }
      return r;
    }
  }

  /// A pooled connection, unless the breaker is open (detail/breaker.hpp): when its
  /// `retry_after` is over, one request probes the server while the others go on failing
  /// fast, so an outage costs one timeout per `retry_after`, not one per waiting request;
  /// the probe's first answer closes the breaker (`pipeline`).
  result<detail::connection_pool<connection_ptr>::lease> acquire(io_clock::time_point start) {
    if (const detail::breaker::pass pass = breaker_.admit(); !pass.refusal.ok()) {
      return pass.refusal;
    }
    return pool_.acquire(start, limit(start));
  }

  /// Records a connection failure: fail fast for retry_after, and drop idle connections.
  status trip(status failure) {
    (void)breaker_.failed(failure);
    pool_.close_idle();
    return failure;
  }

  status unexpected(std::string_view what, const redisReply& reply) const {
    if (reply.type == REDIS_REPLY_ERROR) {
      return {errc::protocol,
              fmt::format("gencache: {} on {}: {}", what, location_, text_of(reply))};
    }
    return {errc::protocol, fmt::format("gencache: {} on {}: unexpected reply of type {}", what,
                                        location_, reply.type)};
  }

  status bad_counter(std::string_view key, std::string_view text) const {
    return detail::foreign_counter(location_, key, text);
  }

  status parse_generations(std::span<const std::string> keys, const redisReply& reply,
                           std::size_t first, std::span<std::uint64_t> out) const {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const redisReply& e = *reply.element[first + i];
      const auto parsed =
          e.type == REDIS_REPLY_STRING ? detail::parse_generation_text(text_of(e)) : std::nullopt;
      if (!parsed) return bad_counter(keys[i], e.type == REDIS_REPLY_STRING ? text_of(e) : "");
      out[i] = *parsed;
    }
    return {};
  }

  const redis_url url_;
  const redis_options options_;
  const std::shared_ptr<const ::gencache::clock> clock_;
  const std::string location_;
  detail::breaker breaker_;
  detail::connection_pool<connection_ptr> pool_;
};

void validate(const redis_options& o) {
  o.connection.validate("redis_options");
  if (o.max_value_size == 0 || o.max_value_size > (std::size_t{512} << 20)) {
    throw std::invalid_argument(
        fmt::format("gencache: redis_options::max_value_size must be in [1, 512 MiB], got {}",
                    o.max_value_size));
  }
  if (o.max_key_size < 64 || o.max_key_size > (std::size_t{512} << 20)) {
    throw std::invalid_argument(fmt::format(
        "gencache: redis_options::max_key_size must be in [64, 512 MiB], got {}", o.max_key_size));
  }
}

}  // namespace

redis_url parse_redis_url(std::string_view url) {
  const std::string_view rest = detail::url_after_scheme(url, "redis://");
  redis_url out;
  const auto slash = rest.find('/');
  out.server = detail::parse_server_address(url, rest.substr(0, slash), 6379);
  if (slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    const auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), out.database);
    if (db.empty() || ec != std::errc() || end != db.data() + db.size() || out.database < 0) {
      detail::throw_bad_store_url(
          url, fmt::format("database '{}' is not a non-negative number", detail::shortened(db)));
    }
  }
  return out;
}

std::shared_ptr<remote_backend> make_redis_backend(std::string_view url, redis_options options) {
  validate(options);
  return std::make_shared<redis_backend>(parse_redis_url(url), std::move(options));
}

std::shared_ptr<remote_store> make_redis_store(std::string_view url, redis_options options,
                                               remote_store_options store) {
  return std::make_shared<remote_store>(make_redis_backend(url, std::move(options)),
                                        std::move(store));
}

}  // namespace gencache
