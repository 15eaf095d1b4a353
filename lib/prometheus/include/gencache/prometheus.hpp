#pragma once
/// \file
/// The optional `gencache::prometheus` component (Debian: prometheus-cpp-dev;
/// `find_package(gencache COMPONENTS prometheus)`, link `gencache::prometheus`, which
/// brings prometheus-cpp's core and pull libraries).
///
///     gencache::metrics_registry metrics;
///     auto registration = metrics.add("users", cache);
///     prometheus::Exposer exposer{"127.0.0.1:9464"};
///     auto collectable = gencache::make_prometheus_collectable(metrics);
///     exposer.RegisterCollectable(collectable);      // the exposer holds a weak_ptr
///
/// Why a Collectable and not families in a `prometheus::Registry`: a Registry's counters are
/// pushed (`Increment`), so exporting gencache's snapshots through one would mean copying
/// every value on a timer; a Collectable reads `stats()` when scraped, exact at the scrape
/// and free between scrapes. One Exposer serves both: register the application's Registry
/// and this collectable side by side.

#include <memory>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "gencache/metrics.hpp"

namespace gencache {

/// Converts metric families into prometheus-cpp's.
[[nodiscard]] std::vector<::prometheus::MetricFamily> to_prometheus_families(
    const std::vector<metric_family>& families);

/// A prometheus-cpp Collectable that collects a `metrics_registry` at every scrape. It may
/// outlive the registry: once the registry is destroyed, it collects nothing.
class prometheus_collectable final : public ::prometheus::Collectable {
 public:
  explicit prometheus_collectable(const metrics_registry& registry) : registry_(registry.share()) {}
  [[nodiscard]] std::vector<::prometheus::MetricFamily> Collect() const override;

 private:
  metrics_registry::handle registry_;
};

/// A shared collectable of `registry`, for `prometheus::Exposer::RegisterCollectable`.
[[nodiscard]] inline std::shared_ptr<prometheus_collectable> make_prometheus_collectable(
    const metrics_registry& registry) {
  return std::make_shared<prometheus_collectable>(registry);
}

}  // namespace gencache
