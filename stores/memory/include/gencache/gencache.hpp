#pragma once
/// \file
/// Everything of gencache's core, plus the in-process store and its caches: the header most
/// programs include. Link gencache::memory, which brings gencache::core
/// (find_package(gencache CONFIG REQUIRED COMPONENTS memory)). The remote layer's headers
/// (remote_store.hpp, codec.hpp, store_url.hpp) come with gencache::remote, which
/// gencache::redis, gencache::memcached and gencache::any bring.

#include "gencache/bound_cache.hpp"
#include "gencache/cache.hpp"
#include "gencache/cache_key.hpp"
#include "gencache/clock.hpp"
#include "gencache/generation.hpp"
#include "gencache/key.hpp"
#include "gencache/key_bytes.hpp"
#include "gencache/memoize.hpp"
#include "gencache/memoize_specs.hpp"
#include "gencache/memory_cache.hpp"
#include "gencache/memory_store.hpp"
#include "gencache/stats.hpp"
#include "gencache/status.hpp"
#include "gencache/store.hpp"
#include "gencache/value.hpp"
