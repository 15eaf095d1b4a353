#pragma once
/// \file
/// Statistics snapshots. Stores count without a shared write per operation: the memory store
/// keeps one block of counters per thread and store, written only by its thread (a block
/// goes back to the store when its thread exits); a remote store, and the memoizer, use
/// striped counters (16 cache-line stripes picked by thread). A snapshot sums the blocks or
/// stripes, so it is only approximately simultaneous; the memory store's `entries` and
/// `bytes` are summed shard by shard, without locks (each shard's figures are read
/// atomically, not all at one instant). Every counter only grows
/// for the life of its store or wrapper, so a metrics exporter (metrics.hpp) can report
/// them as monotonic counters.

#include <array>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "gencache/status.hpp"

namespace gencache {

struct store_stats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t sets = 0;
  std::uint64_t evictions = 0;      ///< entries dropped to respect a bound (entries or bytes)
  std::uint64_t expirations = 0;    ///< entries dropped because their TTL had passed
  std::uint64_t invalidations = 0;  ///< generation bumps
  std::uint64_t errors =
      0;  ///< rejected sets, type mismatches, I/O failures: errors_by_kind summed
  std::uint64_t entries = 0;  ///< entries held now (0 from a remote store: see its header)
  std::uint64_t bytes = 0;    ///< accounted bytes held now (keys + values + overhead; 0 remote)
  /// Of `evictions`, the entries dropped because their shard held more bytes than its
  /// share of `memory_store_options::max_bytes` (and no more entries than its share of
  /// `max_entries`); the rest were dropped for the entry bound. A snapshot reads each
  /// thread's count once into both fields, so `evictions - evictions_for_bytes` only grows.
  std::uint64_t evictions_for_bytes = 0;
  /// `errors` by kind: `errors_by_kind[static_cast<std::size_t>(errc::timeout)]` counts
  /// timeouts (`errors_of`). Slot 0 (errc::ok) stays 0.
  std::array<std::uint64_t, errc_count> errors_by_kind{};

  [[nodiscard]] double hit_ratio() const noexcept {
    const auto lookups = hits + misses;
    return lookups == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(lookups);
  }
  [[nodiscard]] std::uint64_t errors_of(errc kind) const noexcept {
    return errors_by_kind[static_cast<std::size_t>(kind)];
  }
};

/// Durations counted in fixed log-scale buckets, for load (computation) times. Bucket `i`
/// counts durations of at most `upper_bound(i)` = 4^i µs and more than the bucket before it
/// (1 µs, 4 µs, 16 µs, … 4^12 µs ≈ 16.8 s); the last bucket counts everything longer.
struct duration_histogram {
  static constexpr std::size_t bucket_count = 14;

  /// Counts per bucket (not cumulative), and the sum of every duration counted.
  std::array<std::uint64_t, bucket_count> counts{};
  std::chrono::nanoseconds sum{0};

  /// The largest duration bucket `bucket` counts; the last bucket has none (returns max()).
  [[nodiscard]] static constexpr std::chrono::nanoseconds upper_bound(std::size_t bucket) noexcept {
    if (bucket >= bucket_count - 1) return std::chrono::nanoseconds::max();
    return std::chrono::nanoseconds(std::int64_t{1000} << (2 * bucket));
  }
  /// The bucket that counts `d` (a negative duration counts as 0).
  [[nodiscard]] static constexpr std::size_t bucket_of(std::chrono::nanoseconds d) noexcept {
    const std::int64_t ns = d.count();
    if (ns <= 1000) return 0;
    // Whole microseconds, rounded up: u ≤ 4^b exactly when bit_width(u - 1) ≤ 2b.
    const std::uint64_t micros = (static_cast<std::uint64_t>(ns) - 1) / 1000 + 1;
    const std::size_t bucket = (static_cast<std::size_t>(std::bit_width(micros - 1)) + 1) / 2;
    return bucket < bucket_count ? bucket : bucket_count - 1;
  }
  /// Every duration counted.
  [[nodiscard]] std::uint64_t count() const noexcept {
    std::uint64_t total = 0;
    for (const std::uint64_t c : counts) total += c;
    return total;
  }
};

}  // namespace gencache
