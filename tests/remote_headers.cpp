// Layering check: every header of the remote layer (stores/remote) compiles with only the
// core and the remote layer on the include path (this file's target links gencache::remote
// alone, so a remote header that reaches into a store or a client library fails the build).
#include <gencache/codec.hpp>
#include <gencache/connection_options.hpp>
#include <gencache/detail/breaker.hpp>
#include <gencache/detail/connection_pool.hpp>
#include <gencache/remote_cache.hpp>
#include <gencache/remote_key.hpp>
#include <gencache/remote_store.hpp>
#include <gencache/result.hpp>
#include <gencache/store_url.hpp>

static_assert(gencache::batching_store<gencache::remote_store>);
