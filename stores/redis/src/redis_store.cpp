// The Redis back end: the remote_backend operations (a value's get, set and erase, the
// generation reads and bumps) over pooled connections (connection.hpp), the fail-fast
// breaker around them, and the factories.
#include "gencache/redis_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <concepts>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

#include <fmt/format.h>
#include <boost/container/small_vector.hpp>

#include "connection.hpp"
#include "gencache/detail/breaker.hpp"
#include "gencache/detail/connection_pool.hpp"
#include "reply.hpp"
#include "scripts.hpp"
#include "sentinel.hpp"

namespace gencache {

namespace {

using detail::redis::connection;
using detail::redis::endpoint;
using detail::redis::io_clock;
using detail::redis::reply_ptr;
using detail::redis::script_id;
using detail::redis::text_of;
using connection_ptr = std::unique_ptr<connection>;

/// The password from the file `path` names, without its trailing newline (or CR LF): a
/// regular file of at most 4 KiB, checked on the open descriptor (opened without blocking,
/// so a FIFO swapped in cannot hold construction). Messages do not quote the path: a
/// password pasted there by mistake must not reach a log.
std::string password_from_file(const std::string& path) {
  constexpr std::size_t longest = 4096;
  const auto failed = [](std::string_view what) {
    return std::invalid_argument(
        fmt::format("gencache: cannot {} redis_options::password_file: {}", what,
                    std::error_code(errno, std::generic_category()).message()));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throw failed("open");
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } close_on_exit{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) throw failed("stat");
  if (!S_ISREG(info.st_mode)) {
    throw std::invalid_argument("gencache: redis_options::password_file is not a regular file");
  }
  std::string password(longest + 1, '\0');
  std::size_t size = 0;
  while (size < password.size()) {
    const ssize_t n = ::read(fd, password.data() + size, password.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw failed("read");
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  password.resize(size);
  if (password.size() > longest) {
    throw std::invalid_argument(
        fmt::format("gencache: redis_options::password_file is longer than {} bytes", longest));
  }
  if (password.ends_with('\n')) password.pop_back();
  if (password.ends_with('\r')) password.pop_back();
  if (password.empty()) {
    throw std::invalid_argument("gencache: redis_options::password_file is empty");
  }
  return password;
}

/// The URL's credentials, or the options' (the password from the one place it is given).
void resolve_credentials(redis_url& url, const redis_options& o) {
  if (!o.username.empty()) {
    if (!url.username.empty() && url.username != o.username) {
      throw std::invalid_argument(
          "gencache: the Redis user is given twice, in the URL and in redis_options::username");
    }
    url.username = o.username;
  }
  int sources = url.password.empty() ? 0 : 1;
  sources += o.password.empty() ? 0 : 1;
  sources += o.password_env.empty() ? 0 : 1;
  sources += o.password_file.empty() ? 0 : 1;
  if (sources > 1) {
    throw std::invalid_argument(
        "gencache: the Redis password is given more than one way (the URL, "
        "redis_options::password, password_env, password_file): give it once");
  }
  if (!o.password.empty()) url.password = o.password;
  if (!o.password_env.empty()) {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): read once, at construction; gencache sets no variable
    const char* value = std::getenv(o.password_env.c_str());
    if (value == nullptr || *value == '\0') {
      // The name is not quoted: a password pasted there by mistake must not reach a log.
      throw std::invalid_argument(
          "gencache: the variable redis_options::password_env names is not set or empty");
    }
    url.password = value;
  }
  if (!o.password_file.empty()) url.password = password_from_file(o.password_file);
  if (!url.username.empty() && url.password.empty()) {
    throw std::invalid_argument(
        "gencache: the Redis user has no password (give it in the URL, "
        "redis_options::password, password_env or password_file)");
  }
}

/// Where `url` points, for messages and `location()`: its scheme, its address and its
/// database, never its credentials.
std::string location_of(const redis_url& url) {
  if (!url.sentinels.empty()) {
    std::string sentinels;
    for (const server_address& a : url.sentinels) {
      if (!sentinels.empty()) sentinels += ',';
      sentinels += detail::redis::host_port(a);
    }
    return fmt::format("redis-sentinel://{}/{}?db={}", sentinels, url.master_name, url.database);
  }
  if (!url.socket_path.empty()) {
    return fmt::format("redis+unix://{}?db={}", detail::shortened(url.socket_path, 200),
                       url.database);
  }
  return fmt::format("redis://{}/{}", detail::redis::host_port(url.server), url.database);
}

detail::redis::connection_settings settings_of(redis_url url, const redis_options& options) {
  resolve_credentials(url, options);
  std::string location = location_of(url);
  return {.url = std::move(url),
          .location = std::move(location),
          .connect_timeout = options.connection.connect_timeout,
          .command_timeout = options.connection.command_timeout,
          .max_value_size = options.max_value_size};
}

class redis_backend final : public remote_backend {
 public:
  redis_backend(redis_url url, const redis_options& options)
      : settings_(settings_of(std::move(url), options)),
        server_{.address = settings_.url.server, .location = settings_.location},
        max_key_size_(options.max_key_size),
        breaker_(options.connection.retry_after,
                 options.connection.clock ? options.connection.clock : steady_clock()),
        pool_(options.connection.pool_size, options.connection.command_timeout,
              [this](io_clock::time_point limit) { return connect(limit); }),
        retry_after_(options.connection.retry_after) {}

  [[nodiscard]] const std::string& location() const noexcept override { return settings_.location; }
  [[nodiscard]] std::size_t max_key_size() const noexcept override {
    return max_key_size_ - detail::redis::incarnation_size;
  }
  [[nodiscard]] std::size_t max_value_size() const noexcept override {
    return settings_.max_value_size;
  }

  result<std::optional<std::string>> get(std::string_view key) override {
    auto r = run("GET", key);
    if (!r) return r.error();
    return detail::redis::value_of(*r.value(), "GET", settings_.location);
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
    auto r = run_script(detail::redis::read_generations_script, keys, fresh);
    if (!r) return r.error();
    const redisReply& reply = *r.value();
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements != keys.size()) {
      return unexpected("the generation script", reply);
    }
    return detail::redis::parse_generations(keys, reply, 0, out, settings_.location);
  }

  result<std::uint64_t> bump_generation(std::string_view key, std::uint64_t fresh) override {
    const std::string keys[] = {std::string(key)};
    auto r = run_script(detail::redis::bump_generation_script, keys, {&fresh, 1});
    if (!r) return r.error();
    const redisReply& reply = *r.value();
    if (reply.type != REDIS_REPLY_STRING) return unexpected("the bump script", reply);
    const auto parsed = detail::parse_generation_text(text_of(reply));
    if (!parsed) return detail::foreign_counter(settings_.location, key, text_of(reply));
    return *parsed;
  }

  // The first read of a counter: one script call (~4 us of server time; a GET is ~0.3 us).
  result<std::optional<std::string>> get_current(std::span<const std::string> keys,
                                                 std::span<const std::uint64_t> fresh,
                                                 std::span<std::uint64_t> out,
                                                 std::string_view value_key_base) override {
    auto r = run_script(detail::redis::get_current_generations_script, keys, fresh, value_key_base,
                        incarnation_tag{});
    if (!r) return r.error();
    const redisReply& reply = *r.value();
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements != keys.size() + 1) {
      return unexpected("the get script", reply);
    }
    if (status s = detail::redis::parse_generations(keys, reply, 1, out, settings_.location);
        !s.ok()) {
      return s;
    }
    return detail::redis::value_of(*reply.element[0], "the get script", settings_.location);
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
    const std::span<const std::string_view> commands[] = {mget, get};
    std::array<reply_ptr, 2> replies;
    if (status s = settle(c, c.exchange(commands, replies, deadline(c, start))); !s.ok()) {
      lease.value().discard();
      return s;
    }
    if (stale(c)) lease.value().discard();
    const redisReply& counters = *replies[0];
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
    auto value = detail::redis::value_of(*replies[1], "GET", settings_.location);
    if (!value) return value.error();
    return guarded_value{.current = true, .value = std::move(value.value())};
  }

 private:
  /// A new connection, ready for use. Any failure, also one after TCP connected (a server
  /// that answers NOAUTH, refuses INFO or SCRIPT LOAD), trips the breaker: otherwise every
  /// request would open a connection to a server that cannot serve it.
  result<connection_ptr> connect(io_clock::time_point limit) {
    if (!sentinel()) {
      auto c = connection::open(settings_, server_, limit);
      if (!c) return trip(c.error());
      breaker_.answered();
      return c;
    }
    start_listener();
    // At most twice: a sentinel's answer that a failover announced meanwhile overrules
    // is not used; the announced primary is.
    for (int attempt = 0;; ++attempt) {
      server_address to;
      std::uint64_t epoch = 0;
      {
        const std::lock_guard lock(primary_mutex_);
        to = primary_;
        epoch = epoch_.load(std::memory_order_relaxed);
      }
      const bool asked = to.host.empty();
      if (asked) {
        // The sentinels get `connect_timeout` + `command_timeout` of the call's limit,
        // which `limit()` extends by as much.
        auto answer = detail::redis::ask_sentinels(
            settings_, first_sentinel_,
            std::min(limit,
                     io_clock::now() + settings_.connect_timeout + settings_.command_timeout));
        if (!answer) return trip(answer.error());
        to = std::move(answer.value());
      }
      const endpoint primary{.address = to,
                             .location = fmt::format("{} (primary {})", settings_.location,
                                                     detail::redis::host_port(to)),
                             .kind = endpoint::role::primary};
      auto c = connection::open(settings_, primary, limit);
      if (!c) {
        // Not a primary, or not there: the next connection asks the sentinels (from the
        // next one, if this one named it).
        if (asked) {
          first_sentinel_.fetch_add(1, std::memory_order_relaxed);
        } else {
          forget_primary(epoch);
        }
        return trip(c.error());
      }
      if (asked) {
        const std::optional<std::uint64_t> adopted = adopt_primary(to, false);
        if (!adopted) {
          if (attempt == 0) continue;
          return trip({errc::connection,
                       fmt::format("gencache: {}: the sentinels name another primary than the "
                                   "failover announced",
                                   settings_.location)});
        }
        epoch = *adopted;
      }
      c.value()->set_primary_epoch(epoch);
      breaker_.answered();
      return c;
    }
  }

  [[nodiscard]] bool sentinel() const noexcept { return !settings_.url.sentinels.empty(); }

  /// Sentinel: starts the thread that hears failovers, once, lazily as connections (a
  /// backend never used starts no thread and connects nowhere). If it cannot start, the
  /// store goes on without it (failovers then show as errors and READONLY answers), and the
  /// next connection tries again.
  void start_listener() {
    try {
      std::call_once(listener_started_, [this] {
        listener_ = std::make_unique<detail::redis::failover_listener>(
            settings_, first_sentinel_, retry_after_,
            [this](const server_address& primary, bool announced) {
              (void)adopt_primary(primary, announced);
            });
      });
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): see above
    }
  }

  /// Sentinel: `primary` is the primary, as a sentinel answered (`announced` false) or as
  /// a failover announcement said (true). An announcement outranks answers until the
  /// primary it named fails (`forget_primary`): a sentinel that has not heard of the
  /// failover yet would name the old primary, which may still take writes until Sentinel
  /// demotes it. When the primary changes, idle connections to the old one are closed,
  /// connections in use are dropped when given back, and the fail-fast period ends: the next
  /// request tries the new one. Returns the epoch connections to `primary` carry, or nullopt
  /// if an announcement overrules it.
  std::optional<std::uint64_t> adopt_primary(const server_address& primary, bool announced) {
    std::uint64_t epoch = 0;
    {
      const std::lock_guard lock(primary_mutex_);
      if (announced) {
        announced_ = true;
      } else if (announced_ && primary != primary_) {
        return std::nullopt;
      }
      if (primary == primary_) return epoch_.load(std::memory_order_relaxed);
      primary_ = primary;
      epoch = epoch_.fetch_add(1, std::memory_order_relaxed) + 1;
    }
    pool_.close_idle();
    breaker_.answered();
    return epoch;
  }

  /// Sentinel: the primary of epoch `epoch` failed (could not be reached, is not a primary,
  /// answered READONLY): the next connection asks the sentinels. Nothing if another
  /// primary was adopted since.
  void forget_primary(std::uint64_t epoch) {
    {
      const std::lock_guard lock(primary_mutex_);
      if (epoch != epoch_.load(std::memory_order_relaxed) || primary_.host.empty()) return;
      primary_ = {};
      announced_ = false;
      epoch_.fetch_add(1, std::memory_order_relaxed);
    }
    pool_.close_idle();
  }

  /// Whether `c` goes to a primary Sentinel has since replaced (never, without Sentinel).
  [[nodiscard]] bool stale(const connection& c) const noexcept {
    return c.primary_epoch() != epoch_.load(std::memory_order_relaxed);
  }

  /// What an exchange on `c` tells the breaker: an answer closes it (the server answers,
  /// again), the server's absence trips it, and a wrong answer (over the limits, unasked,
  /// unparsable) leaves it as it was.
  status settle(connection& c, status outcome) {
    if (c.take_answered()) breaker_.answered();
    // A failure on a connection to a primary Sentinel has replaced (closed by its demotion)
    // says nothing of the new one.
    if (!outcome.ok() && c.server_down() && !stale(c)) return trip(std::move(outcome));
    return outcome;
  }

  /// A request's deadline: `command_timeout` after it started, waiting for a free
  /// connection included, or after the connection it got was set up, if that was later;
  /// never past the call's limit.
  [[nodiscard]] io_clock::time_point deadline(const connection& c,
                                              io_clock::time_point start) const {
    return std::min(std::max(start, c.ready_at()) + settings_.command_timeout, limit(start));
  }
  /// The end of a call that started at `start`, whatever the server sends: at most
  /// `command_timeout` waiting for a pooled connection, `connect_timeout` to open a new
  /// one and `command_timeout` to set it up, and the command's `command_timeout`, counted
  /// from the start, cut to this.
  [[nodiscard]] io_clock::time_point limit(io_clock::time_point start) const {
    const auto asking_sentinels =
        sentinel() ? settings_.connect_timeout + settings_.command_timeout : io_clock::duration();
    return start + settings_.connect_timeout + 2 * settings_.command_timeout + asking_sentinels;
  }

  /// One command `verb key args...` on a pooled connection, the key tagged with the
  /// connection's incarnation; a connection that failed is not reused.
  template <std::convertible_to<std::string_view>... Args>
  result<reply_ptr> run(std::string_view verb, std::string_view key, const Args&... args) {
    const auto start = io_clock::now();
    auto lease = acquire(start);
    if (!lease) return lease.error();
    connection& c = **lease.value();
    const std::string name = c.name(key);
    const std::string_view argv[] = {verb, name, std::string_view(args)...};
    auto r = c.command(argv, deadline(c, start));
    return finish(c, lease.value(), std::move(r));
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
    const auto count = fmt::format_int(keys.size());
    const auto tagged = c.names(keys);
    boost::container::small_vector<std::string, 8> fresh_text;
    for (const std::uint64_t f : fresh) fresh_text.push_back(std::to_string(f));
    boost::container::small_vector<std::string_view, 16> argv = {
        "EVALSHA", {}, std::string_view(count.data(), count.size())};
    for (const auto& k : tagged) argv.push_back(k);
    for (const auto& f : fresh_text) argv.push_back(f);
    (argv.push_back([&]() -> std::string_view {
      if constexpr (std::is_same_v<Extra, incarnation_tag>) {
        return c.incarnation();
      } else {
        return std::string_view(extra);
      }
    }()),
     ...);
    auto r = c.eval(id, argv, deadline(c, start));
    return finish(c, lease.value(), std::move(r));
  }

  /// A command's result, settled with the breaker; a connection that failed is discarded.
  result<reply_ptr> finish(connection& c, detail::connection_pool<connection_ptr>::lease& lease,
                           result<reply_ptr> r) {
    if (stale(c)) lease.discard();
    // A script's error quotes the command's (Redis 6: "ERR Error running script ...
    // -READONLY You can't write against a read only replica.").
    if (r && sentinel() && r.value()->type == REDIS_REPLY_ERROR &&
        text_of(*r.value()).find("READONLY You can't write") != std::string_view::npos) {
      // The primary was demoted under this connection: the next one asks the sentinels.
      // An answer, not the server's absence: no fail-fast period.
      lease.discard();
      forget_primary(c.primary_epoch());
      (void)settle(c, {});
      return status{errc::connection,
                    fmt::format("gencache: {} answered READONLY: the primary was demoted (a "
                                "Sentinel failover); the sentinels are asked again",
                                settings_.location)};
    }
    if (r) {
      (void)settle(c, {});
      return r;
    }
    lease.discard();
    return settle(c, r.error());
  }

  /// A pooled connection, unless the breaker is open (detail/breaker.hpp): when its
  /// `retry_after` is over, one request probes the server while the others go on failing
  /// fast, so an outage costs one timeout per `retry_after`, not one per waiting request;
  /// the probe's first answer closes the breaker (`settle`).
  /// A pooled connection the server closed while idle is dropped, not used: it would fail
  /// the request and trip the breaker, though the server is up. Bounded: the pool holds at
  /// most `pool_size` idle connections, and a new one is not idle.
  result<detail::connection_pool<connection_ptr>::lease> acquire(io_clock::time_point start) {
    if (const detail::breaker::pass pass = breaker_.admit(); !pass.refusal.ok()) {
      return pass.refusal;
    }
    for (std::size_t dropped = 0;; ++dropped) {
      auto lease = pool_.acquire(start, limit(start));
      if (!lease) return lease;
      connection& c = **lease.value();
      // A connection to a primary Sentinel has since replaced is never used.
      if (stale(c)) {
        lease.value().discard();
        if (dropped == pool_.capacity()) {
          return status(errc::connection,
                        fmt::format("gencache: {}: the primary kept changing while the request "
                                    "waited for a connection",
                                    settings_.location));
        }
        continue;
      }
      if (dropped == pool_.capacity() || !c.closed_by_server()) return lease;
      lease.value().discard();
    }
  }

  /// Records a connection failure: fail fast for retry_after, and drop idle connections.
  status trip(status failure) {
    (void)breaker_.failed(failure);
    pool_.close_idle();
    return failure;
  }

  status unexpected(std::string_view what, const redisReply& reply) const {
    return detail::redis::unexpected(what, settings_.location, reply);
  }

  const detail::redis::connection_settings settings_;
  const endpoint server_;  // the URL's server or socket (not Sentinel)
  const std::size_t max_key_size_;
  detail::breaker breaker_;
  detail::connection_pool<connection_ptr> pool_;
  // Sentinel only: the sentinel asked first, the primary in use, and how many times it
  // changed (connections carry the count they were opened under).
  std::atomic<std::size_t> first_sentinel_{0};
  std::mutex primary_mutex_;
  server_address primary_;  // empty: ask the sentinels
  bool announced_ = false;  // primary_ is from a failover announcement
  std::atomic<std::uint64_t> epoch_{0};
  const std::chrono::milliseconds retry_after_;
  std::once_flag listener_started_;
  // Last: stopped first, before what it calls into.
  std::unique_ptr<detail::redis::failover_listener> listener_;
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

std::shared_ptr<remote_backend> make_redis_backend(std::string_view url,
                                                   const redis_options& options) {
  validate(options);
  return std::make_shared<redis_backend>(parse_redis_url(url), options);
}

std::shared_ptr<remote_store> make_redis_store(std::string_view url, const redis_options& options,
                                               remote_store_options store) {
  return std::make_shared<remote_store>(make_redis_backend(url, options), std::move(store));
}

}  // namespace gencache
