#pragma once
/// \file
/// Statistics snapshots. Stores count without a shared write per operation: the memory store
/// keeps one block of counters per thread and store, written only by its thread (a block
/// goes back to the store when its thread exits); a remote store, and the memoizer, use
/// striped counters (16 cache-line stripes picked by thread). A snapshot sums the blocks or
/// stripes, so it is only approximately simultaneous; the memory store's `entries` and
/// `bytes` are summed shard by shard, each under its shard's lock.

#include <cstdint>

namespace gencache {

struct store_stats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t sets = 0;
  std::uint64_t evictions = 0;      ///< entries dropped to respect a size bound
  std::uint64_t expirations = 0;    ///< entries dropped because their TTL had passed
  std::uint64_t invalidations = 0;  ///< generation bumps
  std::uint64_t errors = 0;         ///< rejected sets, type mismatches, I/O failures
  std::uint64_t entries = 0;        ///< entries held now
  std::uint64_t bytes = 0;          ///< accounted bytes held now (keys + values + overhead)

  [[nodiscard]] double hit_ratio() const noexcept {
    const auto lookups = hits + misses;
    return lookups == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(lookups);
  }
};

}  // namespace gencache
