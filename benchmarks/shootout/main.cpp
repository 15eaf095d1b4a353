// gencache-bench: the store shoot-out (see --help and docs/benchmarks.md).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <string_view>

#include <fmt/chrono.h>
#include <fmt/format.h>

#if GENCACHE_HAVE_PROMETHEUS
#include <map>
#include <memory>
#include <vector>

#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <gencache/prometheus.hpp>
#endif

#include "cli.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "simulate.hpp"
#include "throughput.hpp"

namespace {

#if GENCACHE_HAVE_PROMETHEUS
// --metrics-port: the run as Prometheus metrics while it runs. The running store's live
// statistics and each finished run's last ones (gencache's families, the run's name in the
// cache label), and each run's progress, served by a prometheus-cpp exposer.
class served_metrics {
 public:
  served_metrics(const std::string& address, std::uint16_t port)
      : exposer_(fmt::format("{}:{}", address, port)),
        progress_(prometheus::BuildGauge()
                      .Name("gencache_bench_progress_ratio")
                      .Help("How much of each run (warm-up and measurement) is done, 0 to "
                            "1; a run of a number of operations (--ops) reports 0 until it "
                            "ends.")
                      .Register(*application_)) {
    exposer_.RegisterCollectable(application_);
    exposer_.RegisterCollectable(collectable_);
    fmt::print(stderr, "gencache-bench: metrics on http://{}:{}/metrics\n", address,
               exposer_.GetListeningPorts().at(0));
  }
  /// `run`'s progress, under the name its metrics are served by.
  void progress(const std::string& run, double done) {
    const auto alias = aliases_.find(run);
    progress_.Add({{"run", alias != aliases_.end() ? alias->second : run}}).Set(done);
  }
  /// Serves each run's target while it runs and its last figures afterwards, under a name
  /// of its own: a run whose name was served before ("memory://" twice) gets " (2)".
  shootout::watch_fn watch() {
    return [this](const shootout::target& t, const std::string& name) -> std::shared_ptr<void> {
      std::string alias = name;
      for (int n = 2; served_.contains(alias); ++n) alias = fmt::format("{} ({})", name, n);
      std::shared_ptr<shootout::target_metrics> sources;
      try {
        sources = std::make_shared<shootout::target_metrics>(registry_, t, alias);
      } catch (const std::invalid_argument& e) {  // a name no source may have: not served
        fmt::print(stderr, "gencache-bench: metrics: {}\n", e.what());
        return nullptr;
      }
      served_.insert(alias);
      aliases_[name] = alias;
      kept_.push_back(sources);
      progress(name, 0.0);  // a run by --ops count reports no progress until it ends
      // Destroyed by run() before the target: from then on the last figures are served.
      return {nullptr, [sources](void*) { sources->freeze(); }};
    };
  }
  void finished(const shootout::run_result& r) { progress(r.metrics_name, 1.0); }

 private:
  // Called from the main thread only (run() reports progress there).
  std::set<std::string> served_;
  std::map<std::string, std::string> aliases_;
  gencache::metrics_registry registry_;  // before the exposer: it outlives every scrape
  std::vector<std::shared_ptr<shootout::target_metrics>> kept_;
  std::shared_ptr<prometheus::Registry> application_ = std::make_shared<prometheus::Registry>();
  std::shared_ptr<gencache::prometheus_collectable> collectable_ =
      gencache::make_prometheus_collectable(registry_);
  prometheus::Exposer exposer_;
  prometheus::Family<prometheus::Gauge>& progress_;
};
#endif

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    fmt::print(stderr, "gencache-bench: cannot write {}\n", path);
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view subcommand = argc > 1 ? argv[1] : "";
  if (subcommand == "simulate" || subcommand == "throughput") {
    try {
      return subcommand == "simulate" ? shootout::run_simulation(argc - 1, argv + 1)
                                      : shootout::run_throughput(argc - 1, argv + 1);
    } catch (const std::exception& e) {
      fmt::print(stderr, "gencache-bench {}: {}\n", subcommand, e.what());
      return 1;
    }
  }
  auto parsed = shootout::parse_command_line(argc, argv);
  if (auto* done = std::get_if<shootout::cli_exit>(&parsed)) {
    fmt::print(done->status == 0 ? stdout : stderr, "{}\n", done->message);
    return done->status;
  }
  const auto& o = std::get<shootout::options>(parsed);
  const auto date = fmt::format(
      "{:%Y-%m-%dT%H:%M:%SZ}",
      fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));

  // A progress bar on stderr, only for a terminal and for runs of over a second.
  const bool bar = isatty(STDERR_FILENO) == 1 && !o.ops && (o.warmup + o.duration).count() > 1;
  shootout::progress_fn progress;
  if (bar) {
    progress = [](const std::string& what, double done) {
      const int filled = static_cast<int>(done * 30);
      fmt::print(stderr, "\r{:<28} [{:#<{}}{:.<{}}] {:3.0f}%", what.substr(0, 28), "", filled, "",
                 30 - filled, 100 * done);
    };
  }

#if GENCACHE_HAVE_PROMETHEUS
  std::unique_ptr<served_metrics> served;
  if (o.metrics_port) {
    try {
      served = std::make_unique<served_metrics>(o.metrics_address, *o.metrics_port);
    } catch (const std::exception& e) {
      fmt::print(stderr, "gencache-bench: cannot serve metrics on {}:{}: {}\n", o.metrics_address,
                 *o.metrics_port, e.what());
      return 2;
    }
    progress = [served = served.get(), draw = std::move(progress)](const std::string& what,
                                                                   double done) {
      if (draw) draw(what, done);
      served->progress(what, done);
    };
  }
  const shootout::watch_fn watch = served ? served->watch() : shootout::watch_fn{};
#else
  const shootout::watch_fn watch;
#endif

  fmt::print(
      "gencache-bench: {} keys, {} (s={}), {} B values, {:.0f}% reads, {} invalidations/s, "
      "capacity {}\n",
      o.keys, shootout::to_string(o.workload), o.zipf_s, o.value_size, 100 * o.read_ratio,
      o.invalidate_rate,
      o.capacity_entries != 0 ? fmt::format("{} entries", o.capacity_entries)
                              : shootout::bytes(o.capacity_bytes));
  std::vector<shootout::run_result> results;
  std::set<std::string> unreachable;  // tried once, then left out
  for (const unsigned threads : o.threads) {
    const auto streams = shootout::make_streams(o, threads);
    for (const auto& store : o.stores) {
      if (unreachable.contains(store)) continue;
      try {
        results.push_back(shootout::run(store, o, threads, streams, progress, watch));
#if GENCACHE_HAVE_PROMETHEUS
        if (served) served->finished(results.back());
#endif
      } catch (const std::exception& e) {
        unreachable.insert(store);
        if (bar) fmt::print(stderr, "\r{:80}\r", "");
        std::fflush(stdout);
        fmt::print(stderr, "gencache-bench: {}; skipped\n", e.what());
      }
    }
  }
  if (bar) fmt::print(stderr, "\r{:80}\r", "");
  if (results.empty()) return 2;  // every store was unreachable, and said so
  fmt::print("{}", shootout::format_table(results));
  bool written = true;
  if (!o.json_file.empty()) {
    written &=
        write_file(o.json_file, shootout::to_json(results, o, shootout::this_machine(), date));
  }
  if (!o.chart_file.empty()) written &= write_file(o.chart_file, shootout::to_svg(results, o));
  return written ? 0 : 1;
}
