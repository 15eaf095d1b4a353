#pragma once
/// \file
/// Keys for stores outside the process. memcached allows at most 250 bytes and no spaces or
/// control characters; Redis takes any bytes, but people read keys in redis-cli and logs.
///
/// A remote key is `ESCAPED-TEXT#HASH`:
/// - ESCAPED-TEXT is the key's readable text (what `describe` or `memoized::key` gives),
///   with every byte outside printable ASCII, and the space, '%' and '#', written as %XX;
///   cut short, at an escape boundary, when the whole would exceed the store's limit;
/// - HASH is 32 hex digits of XXH3-128 over the key's canonical bytes.
/// The readable text alone is not injective (`1` and `1L` read alike), the hash is what
/// identifies the key: two keys share a remote key only if their canonical bytes collide in
/// 128 bits.

#include <cstddef>
#include <string>
#include <string_view>

namespace gencache {

/// memcached's key limit.
inline constexpr std::size_t memcached_max_key = 250;

/// The remote key for a key with readable text `text` and canonical bytes `canonical`, at
/// most `max_length` bytes (which must leave room for the 33-byte hash suffix and a prefix;
/// std::invalid_argument otherwise). `prefix` (e.g. an application name) is escaped and
/// kept whole.
[[nodiscard]] std::string remote_key(std::string_view prefix, std::string_view text,
                                     std::string_view canonical,
                                     std::size_t max_length = memcached_max_key);

}  // namespace gencache
