// Metrics a fleet can scrape: a service with a cache and two memoized functions, exposed on
// a port through the gencache::prometheus component (prometheus-cpp's exposer).
// Built and run by CMake where prometheus-cpp is installed (ctest -R example_metrics).
//   example_metrics [port] [seconds]   serves on 127.0.0.1:port (0: any free port) that long
#include <prometheus/exposer.h>
#include <gencache/gencache.hpp>
#include <gencache/metrics.hpp>
#include <gencache/prometheus.hpp>

#include <fmt/format.h>

#include <chrono>
#include <string>
#include <thread>

int price(int item) { return 100 + item; }
std::string render_page(int user_id) { return fmt::format("<page user={}>", user_id); }

int main(int argc, char** argv) {
  const std::string port = argc > 1 ? argv[1] : "0";
  const int seconds = argc > 2 ? std::stoi(argv[2]) : 0;

  gencache::cache cache;
  gencache::memoized cached_price(cache, &price, "catalog",
                                  gencache::memoize_options{.name = "price"});
  gencache::memoized cached_page(cache, &render_page, "site",
                                 gencache::gen("pages:user_id", gencache::arg<0>),
                                 gencache::memoize_options{.name = "page"});

  // One registry for the service; each registration lasts as long as what it registers.
  gencache::metrics_registry metrics;
  const auto cache_metrics = metrics.add("shared", cache);
  const auto price_metrics = metrics.add("price", cached_price);
  const auto page_metrics = metrics.add("page", cached_page);

  prometheus::Exposer exposer{"127.0.0.1:" + port};
  // The exposer holds a weak_ptr: keep the collectable as long as it should be served.
  const auto collectable = gencache::make_prometheus_collectable(metrics);
  exposer.RegisterCollectable(collectable);
  fmt::print("serving http://127.0.0.1:{}/metrics\n", exposer.GetListeningPorts().at(0));

  for (int round = 0; round < 3; ++round) {
    for (int item = 0; item < 10; ++item) (void)cached_price(item);
    for (int user = 0; user < 5; ++user) (void)cached_page(user);
  }
  cache.invalidate({"pages:user_id", 3});
  (void)cached_page(3);

  // What a scrape returns, in part (the same text as GET /metrics).
  const std::string text = metrics.to_prometheus_text();
  for (const std::string_view series :
       {"cache_gets_total{cache=\"price\",result=\"hit\"}",
        "cache_gets_total{cache=\"page\",result=\"miss\"}",
        "cache_loads_total{cache=\"page\",result=\"success\"}", "cache_size{cache=\"shared\"}",
        "gencache_invalidations_total{cache=\"shared\"}"}) {
    const auto at = text.find(series);
    if (at != std::string::npos) fmt::print("{}\n", text.substr(at, text.find('\n', at) - at));
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));  // while Prometheus scrapes
}
