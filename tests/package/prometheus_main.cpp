#include <cstdio>

#include <gencache/gencache.hpp>
#include <gencache/prometheus.hpp>

int main() {
  gencache::cache cache;
  cache.set({"project"}, 7, "answer");
  const bool hit = cache.get<int>({"project"}, "answer") == 7;
  gencache::metrics_registry metrics;
  const auto registration = metrics.add("main", cache);
  const auto families = gencache::make_prometheus_collectable(metrics)->Collect();
  bool hit_counted = false;
  for (const auto& family : families) {
    if (family.name != "cache_gets_total") continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "result" && label.value == "hit" && metric.counter.value == 1) {
          hit_counted = true;
        }
      }
    }
  }
  std::printf("consumer: hit=%d families=%zu hit_counted=%d\n", hit, families.size(), hit_counted);
  return hit && families.size() == 7 && hit_counted ? 0 : 1;
}
