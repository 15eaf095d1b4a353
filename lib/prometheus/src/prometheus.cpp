// gencache's metric families as prometheus-cpp's (prometheus.hpp).
#include "gencache/prometheus.hpp"

#include <utility>

namespace gencache {

std::vector<::prometheus::MetricFamily> to_prometheus_families(
    const std::vector<metric_family>& families) {
  std::vector<::prometheus::MetricFamily> out;
  out.reserve(families.size());
  for (const metric_family& f : families) {
    if (f.points.empty()) continue;  // as the text format: no empty family
    ::prometheus::MetricFamily family;
    family.name = f.name;
    family.help = f.help;
    family.type = f.type == metric_type::counter ? ::prometheus::MetricType::Counter
                  : f.type == metric_type::gauge ? ::prometheus::MetricType::Gauge
                                                 : ::prometheus::MetricType::Histogram;
    family.metric.reserve(f.points.size());
    for (const metric_point& p : f.points) {
      ::prometheus::ClientMetric m;
      m.label.reserve(p.labels.size());
      for (const metric_label& l : p.labels) m.label.push_back({l.name, l.value});
      if (f.type == metric_type::counter) {
        m.counter.value = p.value;
      } else if (f.type == metric_type::gauge) {
        m.gauge.value = p.value;
      } else {
        m.histogram.sample_count = p.count;
        m.histogram.sample_sum = p.sum;
        m.histogram.bucket.reserve(p.buckets.size());
        for (const auto& [bound, cumulative] : p.buckets) {
          m.histogram.bucket.push_back({cumulative, bound});
        }
      }
      family.metric.push_back(std::move(m));
    }
    out.push_back(std::move(family));
  }
  return out;
}

std::vector<::prometheus::MetricFamily> prometheus_collectable::Collect() const {
  // The exposer's thread calls this and catches nothing: an exception (bad_alloc) would end
  // the process, so a scrape that cannot be built serves nothing of gencache's instead.
  try {
    return to_prometheus_families(registry_.collect());
  } catch (...) {
    return {};
  }
}

}  // namespace gencache
