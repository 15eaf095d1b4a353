#pragma once
// Runs the workload against one target with N threads: warm-up, then measurement.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gencache/metrics.hpp>

#include "histogram.hpp"
#include "targets.hpp"
#include "workload.hpp"

namespace shootout {

struct run_result {
  std::string store;
  unsigned threads = 0;
  double seconds = 0;  ///< measured time
  std::uint64_t ops = 0;
  std::uint64_t reads = 0;
  std::uint64_t writes = 0;
  std::uint64_t invalidations = 0;
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t errors = 0;
  histogram latency;  ///< sampled: every options::sample_every-th operation
  std::optional<std::uint64_t> entries;
  std::optional<std::uint64_t> accounted_bytes;  ///< what the store counts (memory store)
  std::optional<std::uint64_t> heap_bytes;       ///< malloc'd bytes held, in-process stores
  /// The target's statistics at the end of the run, since it was made (warm-up included),
  /// as gencache counts them: what --metrics-port serves and the JSON's "metrics".
  gencache::store_stats store_stats;
  std::optional<gencache::memoize_stats> memoize_stats;
  std::string metrics_name;  ///< the target's name in metrics (no credentials)

  [[nodiscard]] double ops_per_second() const {
    return seconds > 0 ? static_cast<double>(ops) / seconds : 0;
  }
  [[nodiscard]] double hit_ratio() const {
    return hits + misses == 0 ? 0 : static_cast<double>(hits) / static_cast<double>(hits + misses);
  }
};

/// Reports the fraction of a run done, in [0, 1], with what runs.
using progress_fn = std::function<void(const std::string& what, double done)>;

/// The per-thread operation streams of a run, made once and shared by every store.
using streams = std::vector<std::vector<operation>>;
[[nodiscard]] streams make_streams(const options& o, unsigned threads);

/// Called with each run's target once it is made, and the run's name in metrics; what it
/// returns is destroyed before the target is (a metrics registration, say).
using watch_fn =
    std::function<std::shared_ptr<void>(const target& t, const std::string& metrics_name)>;

/// A run's name in metrics: "memory ×2".
[[nodiscard]] std::string run_metrics_name(const std::string& target_name, unsigned threads);

/// A target's statistics in a metrics registry: the store's under `name`, a memoized
/// wrapper's (gencache's targets) under `name` + " memoized". They are read from the target
/// until `freeze()`, which keeps its last figures (call it before the target goes); they
/// stay registered while this object lives.
class target_metrics {
 public:
  target_metrics(gencache::metrics_registry& registry, const target& t, const std::string& name);
  /// A finished run's last figures, under its metrics name (frozen from the start).
  target_metrics(gencache::metrics_registry& registry, const run_result& r);
  target_metrics(const target_metrics&) = delete;
  target_metrics& operator=(const target_metrics&) = delete;
  ~target_metrics();
  void freeze();

 private:
  void add(gencache::metrics_registry& registry, const std::string& name, bool memoized);

  struct state;
  struct store_source {
    state* s;
    [[nodiscard]] gencache::store_stats stats() const;
  };
  struct memoize_source {
    state* s;
    [[nodiscard]] gencache::memoize_stats stats() const;
  };
  std::unique_ptr<state> state_;
  store_source store_{};
  memoize_source memo_{};
  gencache::metrics_registry::registration store_registration_, memo_registration_;
};

/// Makes the store's target (see make_target; its exceptions pass through), warms it up
/// and measures it.
[[nodiscard]] run_result run(const std::string& store, const options& o, unsigned threads,
                             const streams& ops, const progress_fn& progress = {},
                             const watch_fn& watch = {});

}  // namespace shootout
