#pragma once
/// \file
/// The in-process caches: the facades of the core over the memory store. Link
/// gencache::memory (which brings gencache::core).

#include "gencache/bound_cache.hpp"
#include "gencache/cache.hpp"
#include "gencache/memory_store.hpp"

namespace gencache {

/// The default cache: over an in-process `memory_store`.
using cache = basic_cache<memory_store>;
/// The default bound cache, over a `gencache::cache`.
using bound_cache = basic_bound_cache<memory_store>;

}  // namespace gencache
