#pragma once
/// \file
/// Statistics snapshots. Stores count with striped counters (one set per shard, written under
/// the shard's own lock), so counting never adds contention; a snapshot sums the stripes and
/// is therefore only approximately simultaneous across shards.

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
