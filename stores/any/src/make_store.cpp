// make_store: a store chosen at run time from a URL — the query parameters, read once and
// checked (an unknown one is an error), then the memory, Redis or memcached store they
// describe, behind any_store (any_store.hpp).
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "gencache/any_store.hpp"
#include "gencache/store_url.hpp"
#if GENCACHE_HAVE_REDIS
#include "gencache/redis_store.hpp"
#endif
#if GENCACHE_HAVE_MEMCACHED
#include "gencache/memcached_store.hpp"
#endif

namespace gencache {

namespace {

constexpr std::string_view known_schemes =
    "memory://, redis://, redis+unix://, redis-sentinel:// or memcached://";

/// One query parameter, its value percent-decoded.
struct parameter {
  std::string name;
  std::string value;
  bool used = false;
};

/// The query's parameters, in order; each name at most once. Names are quoted in messages
/// only when they look like names: anything else could be a secret pasted by mistake.
class query {
 public:
  /// `text` is what follows the '?' of `location`, the URL without its query: messages
  /// quote only the location, and the parameter they are about.
  query(std::string_view location, std::optional<std::string_view> text) : url_(location) {
    if (!text || text->empty()) return;  // "memory://?" has no parameters
    // Linear in the query's length: each item is read once, and repeats are found by hash.
    std::unordered_set<std::string_view> seen;
    for (bool more = true; more;) {
      const auto amp = text->find('&');
      const std::string_view item = text->substr(0, amp);
      more = amp != std::string_view::npos;
      if (more) text = text->substr(amp + 1);
      const auto eq = item.find('=');
      if (item.empty() || eq == std::string_view::npos || eq == 0) {
        bad("every query parameter must be name=value");
      }
      const std::string_view name = item.substr(0, eq);
      if (!looks_like_name(name)) bad("a query parameter name is not a word");
      if (!seen.insert(name).second) bad(fmt::format("parameter '{}' appears twice", name));
      params_.push_back({std::string(name), decoded(item.substr(eq + 1), name), false});
    }
  }

  /// Calls `apply(value)` for parameter `name` if present, and marks it used.
  template <class F>
  void take(std::string_view name, F&& apply) {
    for (parameter& p : params_) {
      if (p.name == name && !p.used) {
        p.used = true;
        apply(std::string_view(p.value));
      }
    }
  }
  /// Throws for the first parameter nobody took, listing those `scheme` knows.
  void check_all_used(std::string_view scheme, std::string_view known) const {
    for (const parameter& p : params_) {
      if (!p.used)
        bad(fmt::format("unknown parameter '{}' for {} (known: {})", p.name, scheme, known));
    }
  }

  // Value parsers: each names the parameter and quotes the (non-secret) value it rejects.
  [[nodiscard]] std::uint64_t count(std::string_view name, std::string_view v) const {
    std::uint64_t out = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
      bad(fmt::format("{}: '{}' is not a whole number", name, detail::shortened(v)));
    }
    return out;
  }
  [[nodiscard]] std::size_t size(std::string_view name, std::string_view v) const {
    const auto digits_end = v.find_first_not_of("0123456789");
    const std::string_view digits = v.substr(0, digits_end);
    const std::string_view suffix =
        digits_end == std::string_view::npos ? std::string_view() : v.substr(digits_end);
    unsigned shift = 0;
    if (suffix == "KiB")
      shift = 10;
    else if (suffix == "MiB")
      shift = 20;
    else if (suffix == "GiB")
      shift = 30;
    else if (!suffix.empty()) {
      bad(fmt::format("{}: '{}' is not a size (a number, optionally KiB, MiB or GiB)", name,
                      detail::shortened(v)));
    }
    const std::uint64_t n = count(name, digits);
    if (n > (std::numeric_limits<std::size_t>::max() >> shift)) {
      bad(fmt::format("{}: '{}' is too large", name, detail::shortened(v)));
    }
    return static_cast<std::size_t>(n) << shift;
  }
  [[nodiscard]] std::chrono::nanoseconds duration(std::string_view name, std::string_view v) const {
    const auto digits_end = v.find_first_not_of("0123456789");
    if (digits_end == std::string_view::npos || digits_end == 0) {
      bad(fmt::format("{}: '{}' is not a duration (a number and a unit: ns, us, ms, s, min)", name,
                      detail::shortened(v)));
    }
    const std::string_view unit = v.substr(digits_end);
    std::uint64_t scale = 0;
    if (unit == "ns")
      scale = 1;
    else if (unit == "us")
      scale = 1'000;
    else if (unit == "ms")
      scale = 1'000'000;
    else if (unit == "s")
      scale = 1'000'000'000;
    else if (unit == "min")
      scale = 60'000'000'000;
    else
      bad(fmt::format("{}: unknown unit '{}' (ns, us, ms, s, min)", name, detail::shortened(unit)));
    const std::uint64_t n = count(name, v.substr(0, digits_end));
    if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / scale) {
      bad(fmt::format("{}: '{}' is too long", name, detail::shortened(v)));
    }
    return std::chrono::nanoseconds(static_cast<std::int64_t>(n * scale));
  }
  /// A duration in whole milliseconds, as the backends' options hold them.
  [[nodiscard]] std::chrono::milliseconds millis(std::string_view name, std::string_view v) const {
    const auto d = duration(name, v);
    if (d % std::chrono::milliseconds(1) != std::chrono::nanoseconds(0)) {
      bad(fmt::format("{}: '{}' is not a whole number of milliseconds", name,
                      detail::shortened(v)));
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(d);
  }

  [[noreturn]] void bad(std::string_view why) const { detail::throw_bad_store_url(url_, why); }

 private:
  static bool looks_like_name(std::string_view s) {
    return s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
             return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
           });
  }
  std::string decoded(std::string_view v, std::string_view name) const {
    std::optional<std::string> out = detail::percent_decoded(v);
    if (!out) bad(fmt::format("{}: a '%' not followed by two hex digits", name));
    return std::move(*out);
  }

  std::string_view url_;
  std::vector<parameter> params_;
};

std::shared_ptr<any_store> make_memory(std::string_view rest, query& q,
                                       const store_context& context) {
  if (!rest.empty()) q.bad("memory:// takes no host or path, only ?parameters");
  memory_store_options o;
  q.take("max_entries", [&](auto v) { o.max_entries = q.count("max_entries", v); });
  q.take("max_bytes", [&](auto v) { o.max_bytes = q.size("max_bytes", v); });
  q.take("shards", [&](auto v) { o.shards = q.count("shards", v); });
  q.take("max_generations", [&](auto v) { o.max_generations = q.count("max_generations", v); });
  q.take("eviction", [&](std::string_view v) {
    if (v == "s3fifo")
      o.eviction = eviction_policy::s3fifo;
    else if (v == "lru")
      o.eviction = eviction_policy::lru;
    else
      q.bad(fmt::format("eviction: '{}' is not s3fifo or lru", detail::shortened(v)));
  });
  q.take("lru_promotion_window", [&](auto v) {
    const std::uint64_t n = q.count("lru_promotion_window", v);
    if (n > std::numeric_limits<std::uint32_t>::max()) {
      q.bad(fmt::format("lru_promotion_window: '{}' is too large", detail::shortened(v)));
    }
    o.lru_promotion_window = static_cast<std::uint32_t>(n);
  });
  q.check_all_used("memory://",
                   "max_entries, max_bytes, shards, max_generations, eviction, "
                   "lru_promotion_window");
  o.clock = context.clock;
  return std::make_shared<any_store>(std::make_shared<memory_store>(std::move(o)));
}

/// The remote store's own parameters, and the backend's shared connection parameters.
template <class BackendOptions>
remote_store_options take_remote(query& q, BackendOptions& b, const store_context& context) {
  q.take("connect_timeout",
         [&](auto v) { b.connection.connect_timeout = q.millis("connect_timeout", v); });
  q.take("command_timeout",
         [&](auto v) { b.connection.command_timeout = q.millis("command_timeout", v); });
  q.take("retry_after", [&](auto v) { b.connection.retry_after = q.millis("retry_after", v); });
  q.take("pool_size", [&](auto v) { b.connection.pool_size = q.count("pool_size", v); });
  q.take("max_value_size", [&](auto v) { b.max_value_size = q.size("max_value_size", v); });
  remote_store_options r;
  q.take("prefix", [&](auto v) { r.prefix = std::string(v); });
  q.take("generation_cache_window",
         [&](auto v) { r.generation_cache_window = q.duration("generation_cache_window", v); });
  q.take("generation_cache_size",
         [&](auto v) { r.generation_cache_size = q.count("generation_cache_size", v); });
  // Both back ends time retry_after on their connection's clock: one place sets it for both
  // (the memcached branch once forgot to, and failed fast on the steady clock).
  b.connection.clock = context.clock;
  r.clock = context.clock;
  r.on_error = context.on_error;
  return r;
}

constexpr std::string_view remote_parameters =
    "connect_timeout, command_timeout, retry_after, pool_size, max_value_size, prefix, "
    "generation_cache_window, generation_cache_size";

#if !GENCACHE_HAVE_REDIS || !GENCACHE_HAVE_MEMCACHED
[[noreturn]] void not_built(query& q, std::string_view scheme, std::string_view option) {
  q.bad(fmt::format("this build of gencache has no {} store (configure with -D{}=ON)", scheme,
                    option));
}
#endif

}  // namespace

std::shared_ptr<any_store> make_store(std::string_view url, const store_context& context) {
  // First, on the whole URL: a password may hold '/', '?' or '@' (found by its last '@').
  // Only Redis takes user information; the query starts after it.
  const bool redis = url.starts_with("redis://") || url.starts_with("redis+unix://") ||
                     url.starts_with("redis-sentinel://");
  if (!redis) detail::reject_user_information(url);
  // As parse_redis_url: the query starts at the first '?' (a password holds '?' as %3F),
  // and an '@' after it is refused, quoting nothing (a password may hold a raw '?').
  const auto question = url.find('?');
  if (redis && question != std::string_view::npos &&
      url.find('@', question) != std::string_view::npos) {
    detail::throw_bad_store_url(url, detail::ambiguous_at);
  }
  const std::string_view base = url.substr(0, question);
  const std::optional<std::string_view> query_text =
      question == std::string_view::npos ? std::nullopt : std::optional(url.substr(question + 1));
  query q(base, query_text);

  if (base.starts_with("memory://")) {
    return make_memory(base.substr(9), q, context);
  }
  if (redis) {
#if GENCACHE_HAVE_REDIS
    const std::string_view scheme = base.starts_with("redis+unix://")       ? "redis+unix://"
                                    : base.starts_with("redis-sentinel://") ? "redis-sentinel://"
                                                                            : "redis://";
    const bool takes_db = scheme != "redis://";  // the path is a socket or a master name
    std::string location(base);
    (void)parse_redis_url(base);  // the location's own errors, before the options'
    redis_options b;
    remote_store_options r = take_remote(q, b, context);
    q.take("max_key_size", [&](auto v) { b.max_key_size = q.size("max_key_size", v); });
    // Empty values are refused: a templated URL whose variable expanded to nothing must
    // not connect without credentials.
    const auto text = [&](std::string_view name, std::string& out) {
      q.take(name, [&](auto v) {
        if (v.empty()) q.bad(fmt::format("{}: empty", name));
        out = v;
      });
    };
    text("username", b.username);
    text("password_env", b.password_env);
    text("password_file", b.password_file);
    if (takes_db) {
      q.take("db", [&](auto v) { location += fmt::format("?db={}", q.count("db", v)); });
    }
    q.check_all_used(scheme, std::string(remote_parameters) +
                                 ", max_key_size, username, password_env, password_file" +
                                 (takes_db ? ", db" : ""));
    return std::make_shared<any_store>(make_redis_store(location, b, std::move(r)));
#else
    not_built(q, "Redis", "GENCACHE_WITH_REDIS");
#endif
  }
  if (base.starts_with("memcached://")) {
#if GENCACHE_HAVE_MEMCACHED
    (void)parse_memcached_url(base);
    memcached_options b;
    remote_store_options r = take_remote(q, b, context);
    q.check_all_used("memcached://", remote_parameters);
    return std::make_shared<any_store>(make_memcached_store(base, std::move(b), std::move(r)));
#else
    not_built(q, "memcached", "GENCACHE_WITH_MEMCACHED");
#endif
  }
  detail::throw_unknown_scheme(base, known_schemes);
}

}  // namespace gencache
