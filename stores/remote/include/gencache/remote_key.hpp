#pragma once
/// \file
/// Keys for stores outside the process. Servers limit keys (memcached: 250 bytes, no spaces
/// or control characters; each backend says its limit, `remote_backend::max_key_size`), and
/// people read keys in redis-cli and logs.
///
/// A remote key is `ESCAPED-TEXT#HASH`:
/// - ESCAPED-TEXT is a readable text the caller gives (the remote store gives `D(parts)`,
///   `M:xxxxxxxx(parts)` or `g("spec", value)`: see remote_store.hpp), with every byte
///   outside printable ASCII, and the space, '%' and '#', written as %XX; cut short, at an
///   escape boundary, when the whole would exceed `max_length`;
/// - HASH is 32 hex digits of XXH3-128 over the key's canonical bytes.
/// The readable text alone is not injective (`1` and `1L` read alike), the hash is what
/// identifies the key: two keys share a remote key only if their canonical bytes collide in
/// 128 bits.

#include <cstddef>
#include <string>
#include <string_view>

namespace gencache {

/// The remote key for a key with readable text `text` and canonical bytes `canonical`, at
/// most `max_length` bytes (which must leave room for the 33-byte hash suffix and a prefix;
/// std::invalid_argument otherwise). `prefix` (e.g. an application name) is escaped and
/// kept whole.
[[nodiscard]] std::string remote_key(std::string_view prefix, std::string_view text,
                                     std::string_view canonical, std::size_t max_length);

}  // namespace gencache
