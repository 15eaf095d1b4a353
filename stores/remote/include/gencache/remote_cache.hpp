#pragma once
/// \file
/// The cache facade over a remote store: `gencache::remote_cache cache(store);` with a store
/// from `make_redis_store` (redis_store.hpp) or `make_memcached_store` (memcached_store.hpp),
/// which include this header.

#include "gencache/cache.hpp"
#include "gencache/remote_store.hpp"

namespace gencache {

/// A cache over a remote store: `gencache::remote_cache cache(gencache::make_redis_store(url));`
using remote_cache = basic_cache<remote_store>;

}  // namespace gencache
