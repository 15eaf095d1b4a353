// Layering check: every header of the core compiles with only the core on the include path
// (this file's target links gencache::core alone, so a core header that reaches into
// stores/ fails the build). remote_headers.cpp checks the remote layer the same way.
#include <gencache/bound_cache.hpp>
#include <gencache/cache.hpp>
#include <gencache/cache_key.hpp>
#include <gencache/clock.hpp>
#include <gencache/detail/key_encoding.hpp>
#include <gencache/detail/memoize_core.hpp>
#include <gencache/detail/memoize_field_hits.hpp>
#include <gencache/detail/memoize_keys.hpp>
#include <gencache/detail/memoize_plan.hpp>
#include <gencache/detail/memoize_signature.hpp>
#include <gencache/detail/single_flight.hpp>
#include <gencache/detail/striped_counter.hpp>
#include <gencache/detail/type_class.hpp>
#include <gencache/detail/type_name.hpp>
#include <gencache/generation.hpp>
#include <gencache/key.hpp>
#include <gencache/key_bytes.hpp>
#include <gencache/memoize.hpp>
#include <gencache/memoize_specs.hpp>
#include <gencache/metrics.hpp>
#include <gencache/stats.hpp>
#include <gencache/status.hpp>
#include <gencache/store.hpp>
