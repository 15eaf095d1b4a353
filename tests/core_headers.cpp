// Layering check: every header of the core compiles with only the core on the include path
// (this file's target links gencache::core alone, so a core header that reaches into
// stores/ fails the build). Also a use of the core over a store of the user's own.
#include <gencache/bound_cache.hpp>
#include <gencache/cache.hpp>
#include <gencache/cache_key.hpp>
#include <gencache/clock.hpp>
#include <gencache/codec.hpp>
#include <gencache/detail/breaker.hpp>
#include <gencache/detail/connection_pool.hpp>
#include <gencache/detail/key_encoding.hpp>
#include <gencache/detail/memoize_signature.hpp>
#include <gencache/detail/single_flight.hpp>
#include <gencache/detail/striped_counter.hpp>
#include <gencache/detail/type_name.hpp>
#include <gencache/generation.hpp>
#include <gencache/key.hpp>
#include <gencache/key_bytes.hpp>
#include <gencache/memoize.hpp>
#include <gencache/memoize_specs.hpp>
#include <gencache/remote_cache.hpp>
#include <gencache/remote_key.hpp>
#include <gencache/remote_store.hpp>
#include <gencache/result.hpp>
#include <gencache/stats.hpp>
#include <gencache/status.hpp>
#include <gencache/store.hpp>
#include <gencache/store_url.hpp>

static_assert(gencache::batching_store<gencache::remote_store>);
