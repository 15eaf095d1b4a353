// libFuzzer target: store URL parsing, by the parsers (store_url.hpp) and by make_store
// (any_store.hpp, which also reads the query as options). Any input either
// - yields a URL with hosts that are not empty, ports that are not 0, and the same result
//   from the scheme's own parser (redis_store.hpp, memcached_store.hpp; make_store: a
//   store); or
// - throws std::invalid_argument whose message says "gencache:" ("bad store URL" from the
//   parsers) and never repeats what could be a secret: the user information (from "://"
//   to the last '@' after it, since a pasted password may hold '/', '?' or '@'), or the value of a
//   query parameter (for make_store, of one whose name it does not know: a known option's bad value
//   is quoted by design). Checked when that text is at least 4 bytes and occurs only once in the
//   input, and the message for the same URL with the secret's letters and digits changed does not
//   hold it: otherwise the parser's own words, the redaction mark or another part of the URL said
//   it.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gencache/any_store.hpp>
#include <gencache/store_url.hpp>
#if GENCACHE_HAVE_REDIS
#include <gencache/redis_store.hpp>
#endif
#if GENCACHE_HAVE_MEMCACHED
#include <gencache/memcached_store.hpp>
#endif

namespace {

void check_server(const gencache::server_address& s) {
  if (s.host.empty() || s.port == 0) std::abort();
}

/// The option names make_store knows (any_store.hpp): their values are not secrets.
bool known_option(std::string_view name) {
  for (const std::string_view known :
       {"max_entries", "max_bytes", "shards", "max_generations", "eviction", "lru_promotion_window",
        "connect_timeout", "command_timeout", "retry_after", "pool_size", "max_value_size",
        "max_key_size", "prefix", "generation_cache_window", "generation_cache_size", "username",
        "password_env", "password_file", "db"}) {
    if (name == known) return true;
  }
  return false;
}

/// What a URL may hide a secret in: the user information, and each query parameter's value
/// (with `options`, only of parameters that are not known options).
std::vector<std::string_view> secrets_of(std::string_view url, bool options) {
  std::vector<std::string_view> out;
  const auto scheme = url.find("://");
  const std::size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  // Up to the last '@' after "://": a password pasted unencoded may hold '/', '?' or '@'.
  const auto at = url.rfind('@');
  const bool has_user = at != std::string_view::npos && at >= start;
  if (has_user) out.push_back(url.substr(start, at - start));
  // With user information (which Redis URLs take), the query starts after its last '@'.
  const std::size_t after_user = has_user ? at + 1 : 0;
  if (options) {
    // As make_store reads a query: from the first '?', items split at '&', each a name up
    // to its first '=' and a value after it (which may hold more '=').
    if (const auto query = url.find('?', after_user); query != std::string_view::npos) {
      std::string_view rest = url.substr(query + 1);
      for (bool more = true; more;) {
        const auto amp = rest.find('&');
        const std::string_view item = rest.substr(0, amp);
        const auto eq = item.find('=');
        if (eq != std::string_view::npos && !known_option(item.substr(0, eq))) {
          out.push_back(item.substr(eq + 1));
        }
        more = amp != std::string_view::npos;
        if (more) rest = rest.substr(amp + 1);
      }
    }
    return out;
  }
  // A query starts at the first '?' after "://" ('?' before it is no URL's query).
  if (const auto query = url.find('?', std::max(start, after_user));
      query != std::string_view::npos) {
    for (auto eq = url.find('=', query); eq != std::string_view::npos; eq = url.find('=', eq + 1)) {
      out.push_back(url.substr(eq + 1, std::min(url.find('&', eq), url.size()) - eq - 1));
    }
  }
  return out;
}

bool occurs_once(std::string_view text, std::string_view part) {
  const auto first = text.find(part);
  return first != std::string_view::npos && text.find(part, first + 1) == std::string_view::npos;
}

/// The secret with every letter and digit changed (a→b, z→a, 0→1, 9→0), the rest kept.
std::string scrambled(std::string_view secret) {
  std::string out(secret);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = c == 'z' ? 'a' : static_cast<char>(c + 1);
    if (c >= 'A' && c <= 'Z') c = c == 'Z' ? 'A' : static_cast<char>(c + 1);
    if (c >= '0' && c <= '9') c = c == '9' ? '0' : static_cast<char>(c + 1);
  }
  return out;
}

/// Whether the message would hold `secret` whatever the secret is: the same URL with the
/// secret scrambled gives a message that still holds it (it is the parser's own words, the
/// redaction mark, or another part of the URL), or the test cannot tell.
template <class Parse>
bool said_anyway(std::string_view url, std::string_view secret, Parse parse) {
  const std::string other = scrambled(secret);
  if (other == secret) return true;  // nothing to scramble: cannot tell
  std::string changed(url);
  changed.replace(url.find(secret), secret.size(), other);
  try {
    parse(changed);
  } catch (const std::invalid_argument& e) {
    return std::string_view(e.what()).find(secret) != std::string_view::npos;
  }
  return true;  // the change made it parse: another path, cannot tell
}

/// Runs `parse(url)`; aborts if it throws anything but std::invalid_argument with `marker`
/// and no secret in its message. True if it parsed.
template <class Parse>
bool parses_or_fails_cleanly(std::string_view url, std::string_view marker, bool options,
                             Parse parse) {
  try {
    parse(url);
    return true;
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    if (message.find(marker) == std::string::npos) std::abort();
    for (const std::string_view secret : secrets_of(url, options)) {
      if (secret.size() >= 4 && occurs_once(url, secret) &&
          message.find(secret) != std::string::npos && !said_anyway(url, secret, parse)) {
        std::abort();  // a secret reached the message
      }
    }
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view url(reinterpret_cast<const char*>(data), size);
  // make_store allocates what a URL asks for: keep the fuzzer to modest memory stores.
  const bool modest = url.find("shards=") == std::string_view::npos;
  if (modest) {
    (void)parses_or_fails_cleanly(url, "gencache:", true, [](std::string_view u) {
      const auto store = gencache::make_store(u);
      if (!store) std::abort();
      // A store that took the URL's user information (Redis) never says its password
      // where it says where it is.
      const auto scheme = u.find("://");
      const auto at = u.rfind('@');
      if (scheme != std::string_view::npos && at != std::string_view::npos && at > scheme) {
        const std::string_view user = u.substr(scheme + 3, at - scheme - 3);
        const auto colon = user.find(':');
        const std::string_view password =
            colon == std::string_view::npos ? std::string_view() : user.substr(colon + 1);
        if (password.size() >= 4 && occurs_once(u, password) &&
            store->location().find(password) != std::string::npos) {
          std::abort();
        }
      }
    });
  }
  // Each back end's own parser: it parses what make_store's location does, or refuses.
#if GENCACHE_HAVE_REDIS
  if (url.starts_with("redis://") || url.starts_with("redis+unix://") ||
      url.starts_with("redis-sentinel://")) {
    gencache::redis_url parsed;
    if (parses_or_fails_cleanly(url, "bad store URL", false, [&](std::string_view u) {
          parsed = gencache::parse_redis_url(u);
        })) {
      if (url.starts_with("redis-sentinel://")) {
        // Sentinels, and a master name that cannot be mistaken for another in a
        // `+switch-master` message (no space) nor end the path early.
        if (parsed.sentinels.empty() || parsed.sentinels.size() > 16) std::abort();
        for (const auto& s : parsed.sentinels) check_server(s);
        const std::string& name = parsed.master_name;
        if (name.empty() || name.size() > 128 ||
            name.find_first_of(" /?#%@") != std::string::npos) {
          std::abort();
        }
      } else if (parsed.socket_path.empty()) {
        check_server(parsed.server);
      }
      if (!parsed.socket_path.empty() && !parsed.socket_path.starts_with('/')) std::abort();
      if (parsed.database < 0) std::abort();
    }
  }
#endif
#if GENCACHE_HAVE_MEMCACHED
  if (url.starts_with("memcached://")) {
    gencache::memcached_url parsed;
    if (parses_or_fails_cleanly(url, "bad store URL", false, [&](std::string_view u) {
          parsed = gencache::parse_memcached_url(u);
        })) {
      if (parsed.servers.empty()) std::abort();
      for (const auto& s : parsed.servers) check_server(s);
    }
  }
#endif
  return 0;
}
