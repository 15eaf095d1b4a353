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

#include "cli.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "simulate.hpp"
#include "throughput.hpp"

namespace {

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
        results.push_back(shootout::run(store, o, threads, streams, progress));
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
