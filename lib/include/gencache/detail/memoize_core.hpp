#pragma once
// What every memoized wrapper has whatever its function and specs, compiled once in
// lib/src/memoize_core.cpp instead of per wrapper: its options, its scope (the location or
// name, fingerprinted into the head every key starts with), its on/off switches, its
// statistics and miss logging; and the preparation of its generations' slots (spec
// checks, encoded ids). memoize.hpp's wrapper holds one.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>

#include "gencache/cache_key.hpp"
#include "gencache/detail/striped_counter.hpp"
#include "gencache/generation.hpp"
#include "gencache/key_bytes.hpp"
#include "gencache/memoize_specs.hpp"
#include "gencache/stats.hpp"

namespace gencache::detail {

/// One generation of a wrapper, prepared at construction.
struct memo_generation_slot {
  /// An integer-valued id whose spec encodes in this many bytes or fewer is built by
  /// copying a fixed block (`id_template`) and writing the value into it: two fixed-size
  /// copies, where an id built byte by byte cost a store-forwarding stall.
  static constexpr std::size_t id_block = 64;

  std::string spec;
  key_bytes id_prefix;          // encoded spec; a value-based id appends the encoded value
  std::uint64_t spec_hash = 0;  // hash of id_prefix: a plain generation's id hash, and the
                                // seed of a value-based one's (detail::generation_id_hash)
  std::optional<generation_handle> handle;      // a plain generation's pinned counter
  alignas(16) char id_template[id_block] = {};  // id_prefix, then room for an integer
};

/// Prepares a plain generation's slot, but for its handle (pinned by the caller, if the
/// store pins). Throws std::invalid_argument for a malformed spec or a value-based one.
void prepare_plain_generation(memo_generation_slot& slot, std::string spec);
/// Prepares a value-based generation's slot. Throws std::invalid_argument for a malformed
/// spec or a plain one.
void prepare_value_generation(memo_generation_slot& slot, std::string spec);

/// The wrapper's type-independent state. Thread-safe: the switch and counters are atomic;
/// the rest is written only by the constructor.
class memo_core {
 public:
  /// `callable_type` and `layout` (parameter types, specs and the fields they name) name
  /// the wrapper in its scope fingerprint; `raw_keys` says which encoding its keys use.
  /// Throws std::invalid_argument for a ttl that is not positive.
  memo_core(memoize_options options, const std::source_location& where,
            std::string_view callable_type, std::string_view layout, bool raw_keys,
            std::size_t generation_count);

  void enable(bool on) noexcept { enabled_.store(on, std::memory_order_relaxed); }
  [[nodiscard]] bool enabled() const noexcept {
    return enabled_.load(std::memory_order_relaxed) &&
           (!options_.toggle || options_.toggle->enabled());
  }
  [[nodiscard]] memoize_stats stats() const noexcept;

  [[nodiscard]] const memoize_options& options() const noexcept { return options_; }
  /// The identity of the wrapper in keys (location or name).
  [[nodiscard]] const std::string& scope() const noexcept { return scope_; }
  /// The scope as `describe` shows it: `file.cpp:42` or the name.
  [[nodiscard]] const std::string& scope_text() const noexcept { return scope_text_; }
  /// Domain, scope fingerprint and generation count: every key starts with it.
  [[nodiscard]] const cache_key& head() const noexcept { return head_; }
  /// hash_bytes(head()), where a raw key's hash starts.
  [[nodiscard]] std::uint64_t head_hash() const noexcept { return head_hash_; }

  /// Logs a miss, described, if the options ask for it.
  void log_miss(const std::string& description) const;

  /// Counts a computation that returned after `took` (memoize_stats::load_durations).
  /// Computations only (misses and refresh calls): relaxed atomics on the wrapper's
  /// histogram, shared by its threads (not striped: a computation costs far more).
  void record_load(std::chrono::nanoseconds took) const noexcept {
    load_buckets_[duration_histogram::bucket_of(took)].fetch_add(1, std::memory_order_relaxed);
    // Saturates instead of wrapping: the sum of every thread's loads grows faster than
    // time, and a Prometheus counter must not go backwards.
    const auto add = static_cast<std::uint64_t>(std::max(took.count(), std::int64_t{0}));
    std::uint64_t sum = load_nanoseconds_.load(std::memory_order_relaxed);
    while (!load_nanoseconds_.compare_exchange_weak(
        sum, sum > ~std::uint64_t{0} - add ? ~std::uint64_t{0} : sum + add,
        std::memory_order_relaxed)) {
    }
  }

  mutable striped_counter hits, misses, computes, waits, errors, exceptions;

 private:
  memoize_options options_;
  std::string scope_;
  std::string scope_text_;
  cache_key head_;
  std::uint64_t head_hash_ = 0;
  std::atomic<bool> enabled_{true};
  alignas(64) mutable std::array<std::atomic<std::uint64_t>,
                                 duration_histogram::bucket_count> load_buckets_{};
  mutable std::atomic<std::uint64_t> load_nanoseconds_{0};  // saturates
};

}  // namespace gencache::detail
