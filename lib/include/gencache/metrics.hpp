#pragma once
/// \file
/// Metrics a fleet can scrape. A `metrics_registry` holds named caches, stores and memoized
/// wrappers; collecting it (a scrape) reads each one's `stats()` and turns the snapshots into
/// metric families named as Micrometer names a cache's (`cache_gets_total{cache,result}`,
/// …), which `to_prometheus_text` writes in Prometheus' text format (version 0.0.4) and the
/// optional `gencache::prometheus` component hands to a prometheus-cpp exposer
/// (gencache/prometheus.hpp). Nothing is counted for the registry: a hit costs the same
/// whether its cache is registered or not, and a scrape costs one `stats()` per source.
///
/// The families, with a `cache` label that carries the registered name. From a store or a
/// cache:
/// - `cache_gets_total{result="hit"|"miss"}` (counter): hits, misses;
/// - `cache_puts_total` (counter): sets;
/// - `cache_evictions_total{cause="size"|"bytes"|"expiry"}` (counter): entries dropped for
///   the entry bound, for the bytes bound, expired entries dropped;
/// - `cache_size` (gauge): entries (0 from a remote store);
/// - `gencache_size_bytes` (gauge): accounted bytes (0 from a remote store);
/// - `gencache_invalidations_total` (counter): generation bumps;
/// - `gencache_errors_total{kind}` (counter): errors by `errc`: `too_large`,
///   `type_mismatch`, `timeout`, `connection`, `protocol`, `serialization`, `busy`.
///
/// From a memoized wrapper:
/// - `cache_gets_total{result="hit"|"miss"}` (counter): hits, misses;
/// - `cache_loads_total{result="success"|"failure"}` (counter): computations that
///   returned, that threw;
/// - `cache_load_duration_seconds` (histogram): successful computations' durations, in
///   `duration_histogram`'s buckets;
/// - `gencache_single_flight_joins_total` (counter): misses that waited for another
///   thread's computation;
/// - `gencache_errors_total{kind="store_refused"}` (counter): results the store did not
///   take.
///
/// Every series of a source is present from its registration on, zeros included.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "gencache/memoize_specs.hpp"
#include "gencache/stats.hpp"

namespace gencache {

template <class Store>
class basic_cache;
template <class Signature>
class memoized_function;

namespace detail {
/// Sources that are shared handles (a cache shares its store, a memoized_function its
/// wrapper): the registry keeps a copy, so a moved-from or reassigned original is harmless.
template <class T>
inline constexpr bool shared_handle = false;
template <class Store>
inline constexpr bool shared_handle<basic_cache<Store>> = true;
template <class Signature>
inline constexpr bool shared_handle<memoized_function<Signature>> = true;
}  // namespace detail

enum class metric_type : std::uint8_t { counter, gauge, histogram };

struct metric_label {
  std::string name;
  std::string value;
};

/// One series of a family (a counter or gauge value), or one histogram.
struct metric_point {
  std::vector<metric_label> labels;
  double value = 0;  ///< counter or gauge
  /// Histogram only: (upper bound in seconds, cumulative count) per bucket, the last bound
  /// +infinity; the sum of the observations (seconds) and their count.
  std::vector<std::pair<double, std::uint64_t>> buckets{};
  double sum = 0;
  std::uint64_t count = 0;
};

struct metric_family {
  std::string name;  ///< full name, counters' `_total` included
  std::string help;
  metric_type type = metric_type::counter;
  std::vector<metric_point> points;
};

/// Writes `families` in Prometheus' text exposition format (0.0.4). Label values are
/// escaped (`\\`, `\"`, `\n`) and help texts (`\\`, `\n`); names are written as given
/// (the registry's are valid); a family without points is left out.
[[nodiscard]] std::string to_prometheus_text(std::span<const metric_family> families);

template <class S>
concept store_stats_source = requires(const S& s) {
  { s.stats() } -> std::convertible_to<store_stats>;
};
template <class S>
concept memoize_stats_source = requires(const S& s) {
  { s.stats() } -> std::convertible_to<memoize_stats>;
};

/// Named sources of statistics, read when collected.
///
/// Thread-safe: sources may be added, removed and collected from any threads at once.
/// `add` returns a `registration`: while it lives, the source is read at every collection.
/// A cache (`gencache::cache`, `remote_cache`, `any_cache`) or a `memoized_function` is
/// copied: the copy shares the store or wrapper and keeps it alive while registered. Any
/// other source (a store, a `memoized`) is read by reference and must outlive its
/// registration. Destroying a registration (or `reset()`) removes the source, and once it
/// returns no collection reads the source again (it waits for a collection in progress):
/// so do not destroy a registration while holding a lock that the source's `stats()` takes.
/// A source whose `stats()` throws is left out of that collection.
///
/// A source's `stats()` may itself collect this registry or add and remove registrations
/// (the registry's lock is recursive), but a collection reads the sources added while it
/// runs: a `stats()` that collects or adds a source on every call never ends. The
/// registry may be destroyed before its registrations and its handles (`share()`).
///
/// Names are unique within one registry; two registries (or an application's own
/// `cache_*` series) served by one exporter can still repeat a series.
///
/// Cost: a collection calls every source's `stats()` once (the memory store's sums each
/// thread's counters and each shard's sizes) and allocates the families.
class metrics_registry {
  struct state;

 public:
  /// Keeps a source registered; movable, not copyable.
  class registration {
   public:
    registration() noexcept = default;
    registration(registration&& other) noexcept;
    registration& operator=(registration&& other) noexcept;
    registration(const registration&) = delete;
    registration& operator=(const registration&) = delete;
    ~registration() { reset(); }

    /// Removes the source now (no-op if already removed or empty).
    void reset() noexcept;
    [[nodiscard]] bool active() const noexcept { return id_ != 0; }

   private:
    friend class metrics_registry;
    registration(std::weak_ptr<state> registry, std::uint64_t id) noexcept
        : registry_(std::move(registry)), id_(id) {}
    std::weak_ptr<state> registry_;
    std::uint64_t id_ = 0;
  };

  metrics_registry();
  metrics_registry(const metrics_registry&) = delete;
  metrics_registry& operator=(const metrics_registry&) = delete;
  ~metrics_registry();

  /// Registers a store or a cache (`cache`, `remote_cache`, `any_cache`, a store: anything
  /// whose `stats()` gives `store_stats`) or a memoized wrapper (`memoized`,
  /// `memoized_function`: `stats()` gives `memoize_stats`) under `name`, the `cache` label of its
  /// series. Throws std::invalid_argument if the name is empty, is not UTF-8, holds a control
  /// character or is already registered (two sources of one name would give duplicate series).
  template <class Source>
  requires store_stats_source<Source> || memoize_stats_source<Source>
  [[nodiscard]] registration add(std::string name, const Source& source) {
    using stats_type = std::conditional_t<memoize_stats_source<Source>, memoize_stats, store_stats>;
    if constexpr (detail::shared_handle<Source>) {
      return add_source(std::move(name), std::function<stats_type()>(
                                             [held = source] { return stats_type(held.stats()); }));
    } else {
      return add_source(std::move(name), std::function<stats_type()>(
                                             [&source] { return stats_type(source.stats()); }));
    }
  }

  /// A temporary would be gone before the first collection.
  template <class Source>
  registration add(std::string name, const Source&& source) = delete;

  /// Reads every source now, in the order they were added, into the families above.
  [[nodiscard]] std::vector<metric_family> collect() const;

  /// Collects the registry while it exists and nothing once it is destroyed (a destructor
  /// waits for a collection in progress): what an exporter that may outlive the registry
  /// holds (prometheus_collectable). Copyable.
  class handle {
   public:
    [[nodiscard]] std::vector<metric_family> collect() const;

   private:
    friend class metrics_registry;
    explicit handle(std::weak_ptr<state> registry) noexcept : registry_(std::move(registry)) {}
    std::weak_ptr<state> registry_;
  };
  [[nodiscard]] handle share() const { return handle(state_); }
  /// `to_prometheus_text(collect())`.
  [[nodiscard]] std::string to_prometheus_text() const;
  /// Sources registered now.
  [[nodiscard]] std::size_t size() const;

 private:
  using source_reader = std::variant<std::function<store_stats()>, std::function<memoize_stats()>>;
  registration add_source(std::string name, source_reader read);

  std::shared_ptr<state> state_;
};

}  // namespace gencache
