#pragma once
// The stores of the shoot-out behind one interface, all driven through the same generational
// workload: a memoized read of item {user, id} under two generations (the plain "bench"
// and the value-based "bench:user" of the item's user), a write that
// recomputes and stores, and invalidations of one user.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <gencache/memoize_specs.hpp>
#include <gencache/stats.hpp>

#include "workload.hpp"

namespace shootout {

struct item {
  std::uint32_t user;
  std::uint32_t id;
};

/// The "expensive" function: `size` bytes that depend on the item.
[[nodiscard]] std::string compute_value(const item& it, std::size_t size);

struct target_counts {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t errors = 0;
  std::optional<std::uint64_t> entries;  ///< when the store knows (in-process stores)
  std::optional<std::uint64_t> bytes;    ///< bytes the store accounts for (memory store)
};

/// One store under test. Thread-safe: every thread of a run calls the same target.
class target {
 public:
  virtual ~target() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  [[nodiscard]] virtual bool in_process() const = 0;
  /// A memoized call: the cached value, or computed and stored.
  virtual std::string read(const item& it) = 0;
  /// Computes the value again and stores it (tbb::concurrent_lru_cache has no store
  /// operation: there, a write is a read).
  virtual void write(const item& it) = 0;
  /// Bumps the user's generation; false if the store failed to.
  virtual bool invalidate_user(std::uint32_t user) = 0;
  [[nodiscard]] virtual target_counts counts() const = 0;

  /// The target's name in metrics: its name, or a store URL's location (no credentials,
  /// no options).
  [[nodiscard]] virtual std::string metrics_name() const { return std::string(name()); }
  /// Statistics as gencache counts them (metrics.hpp): gencache's targets give their
  /// store's; a peer gives its counts() as a store's.
  [[nodiscard]] virtual gencache::store_stats store_stats() const;
  /// gencache's targets: their memoized wrapper's statistics.
  [[nodiscard]] virtual std::optional<gencache::memoize_stats> memoize_stats() const {
    return std::nullopt;
  }
};

/// The target for `store` ("memory", "memory-lru", "naive", "tbb-lru", "poco-lru",
/// "rocksdb-lru", or a store URL:
/// "memory://…", "redis://…", "memcached://…"; gencache's through gencache::make_store)
/// with the capacity and value size of `o`. Throws std::invalid_argument for an unknown
/// store or a bad URL, and std::runtime_error if a server does not answer.
[[nodiscard]] std::unique_ptr<target> make_target(const std::string& store, const options& o);

/// Throws std::invalid_argument unless `store` names a store make_target knows.
void check_store_name(const std::string& store);

/// `store` as the table, the JSON, the chart and messages show it: a remote URL as the
/// store URLs' own messages quote it (gencache::detail::redacted_url: no user information,
/// no options); a name or a memory:// URL unchanged.
[[nodiscard]] std::string display_name(const std::string& store);

}  // namespace shootout
