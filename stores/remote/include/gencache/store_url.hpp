#pragma once
/// \file
/// What every store URL shares: server addresses and the errors of a bad URL. Each back
/// end parses its own scheme with these (`parse_redis_url` in redis_store.hpp,
/// `parse_memcached_url` in memcached_store.hpp), and `make_store` (any_store.hpp) reads
/// any of them. Hosts are names, IPv4 addresses, or IPv6 addresses in brackets
/// (`[::1]:6379`). Anything malformed throws std::invalid_argument naming the bad part.
/// Messages never quote the user information (everything between "://" and the last '@',
/// which only Redis URLs take, for their credentials: a pasted password may hold '/', '?'
/// or '@', so an '@' anywhere after "://" is taken as ending one; write %40 elsewhere, and
/// a URL that has one is shown as `scheme://***`) nor the query (shown as `?***`). A
/// quoted part is cut to 64 characters, the URL to 256, with "...".

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gencache {

struct server_address {
  std::string host;
  std::uint16_t port = 0;
  friend bool operator==(const server_address&, const server_address&) = default;
};

namespace detail {
/// The longest part of a URL (a host, a port, an option's value) and the longest URL that
/// an error message quotes; longer ones are cut and end in "...".
inline constexpr std::size_t longest_quoted_part = 64;
inline constexpr std::size_t longest_quoted_url = 256;
/// `text`, cut to `longest` bytes (never inside a UTF-8 sequence) plus "..." if longer.
[[nodiscard]] std::string shortened(std::string_view text,
                                    std::size_t longest = longest_quoted_part);
/// Throws std::invalid_argument, quoting `url` without it, if `url` has user information:
/// an '@' after its "://" (or anywhere, without one).
void reject_user_information(std::string_view url);
/// What follows `scheme` in `url` (e.g. "redis://"), after refusing user information and
/// query parameters, which the parsers do not support and which could hold a secret.
[[nodiscard]] std::string_view url_after_scheme(std::string_view url, std::string_view scheme);
/// Why a URL with user information and an '@' after its first '?' is refused: either a
/// password holds a raw '?' or a query value a raw '@', and no reading is safe.
inline constexpr std::string_view ambiguous_at =
    "an '@' after the first '?' is ambiguous: write a '?' in a password as %3F and an '@' in "
    "a query value as %40";
/// `text` with its %XX escapes decoded, or nullopt if a '%' is not followed by two hex
/// digits (the user information and make_store's query values).
[[nodiscard]] std::optional<std::string> percent_decoded(std::string_view text);
/// The user name and password of a URL's user information, percent-decoded.
struct url_credentials {
  std::string username;
  std::string password;
};
/// What follows `scheme` in `url`, after its user information (`[user[:password]@]`,
/// percent-decoded into `credentials`; a bad escape is refused without quoting it). The
/// query, if any, is left in the result: the caller says which parameters it takes.
[[nodiscard]] std::string_view url_after_scheme_and_user(std::string_view url,
                                                         std::string_view scheme,
                                                         url_credentials& credentials);
/// `part` of `url` as `host[:port]` or `[IPv6][:port]`, `default_port` if it has none.
[[nodiscard]] server_address parse_server_address(std::string_view url, std::string_view part,
                                                  std::uint16_t default_port);
/// `url` as a message may quote it: a URL with user information as its scheme and "***"
/// alone, else its query replaced by "***"; cut to `longest_quoted_url`.
[[nodiscard]] std::string redacted_url(std::string_view url);
/// std::invalid_argument "gencache: bad store URL '<url>': <why>", with the URL's user
/// information and its query replaced by "***", cut to `longest_quoted_url`.
[[noreturn]] void throw_bad_store_url(std::string_view url, std::string_view why);
/// The same, for a URL whose scheme is none of `known` (quoted only if it looks like one).
[[noreturn]] void throw_unknown_scheme(std::string_view url, std::string_view known);
}  // namespace detail

}  // namespace gencache
