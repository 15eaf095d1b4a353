#include "report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <thread>

#include <fmt/format.h>
// Boost.JSON compiled into this file (header-only mode): Debian ships no libboost_json for 1.81.
#include <boost/json/src.hpp>

namespace shootout {

machine_info this_machine() {
  machine_info m;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) m.host = host;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.starts_with("model name")) {
      m.cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname u{};
  if (uname(&u) == 0) m.kernel = fmt::format("{} {}", u.sysname, u.release);
#if defined(__clang__)
  m.compiler = fmt::format("clang {}", __clang_version__);
#elif defined(__GNUC__)
  m.compiler = fmt::format("g++ {}", __VERSION__);
#endif
  m.cores = std::thread::hardware_concurrency();
  m.memory_bytes = static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                   static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  return m;
}

std::string si(double value) {
  if (value >= 1e9) return fmt::format("{:.2f}G", value / 1e9);
  if (value >= 1e6) return fmt::format("{:.2f}M", static_cast<double>(value) / 1e6);
  if (value >= 1e3) return fmt::format("{:.1f}k", static_cast<double>(value) / 1e3);
  return fmt::format("{:.0f}", value);
}

std::string nanos(std::uint64_t value) {
  if (value >= 1'000'000) return fmt::format("{:.1f} ms", static_cast<double>(value) / 1e6);
  if (value >= 1'000) return fmt::format("{:.1f} µs", static_cast<double>(value) / 1e3);
  return fmt::format("{} ns", value);
}

std::string bytes(std::uint64_t value) {
  if (value >= (std::uint64_t{1} << 30))
    return fmt::format("{:.1f} GiB", static_cast<double>(value) / 1073741824.0);
  if (value >= (std::uint64_t{1} << 20))
    return fmt::format("{:.1f} MiB", static_cast<double>(value) / 1048576.0);
  if (value >= (std::uint64_t{1} << 10))
    return fmt::format("{:.1f} KiB", static_cast<double>(value) / 1024.0);
  return fmt::format("{} B", value);
}

std::string format_table(const std::vector<run_result>& results) {
  std::size_t width = 5;
  for (const auto& r : results) width = std::max(width, r.store.size());
  std::string out = fmt::format(
      "{:<{}}  {:>7}  {:>9}  {:>6}  {:>8}  {:>8}  {:>8}  {:>10}  {:>10}  {:>8}\n", "store", width,
      "threads", "ops/s", "hit %", "p50", "p99", "p99.9", "memory", "B/entry", "errors");
  for (const auto& r : results) {
    std::string memory = "server";
    std::string per_entry = "-";
    if (r.heap_bytes) {
      memory = bytes(*r.heap_bytes);
      if (r.entries && *r.entries > 0) {
        per_entry = fmt::format(
            "{:.0f}", static_cast<double>(*r.heap_bytes) / static_cast<double>(*r.entries));
      }
    }
    fmt::format_to(std::back_inserter(out),
                   "{:<{}}  {:>7}  {:>9}  {:>6.1f}  {:>8}  {:>8}  {:>8}  {:>10}  {:>10}  {:>8}\n",
                   r.store, width, r.threads, si(r.ops_per_second()), 100 * r.hit_ratio(),
                   nanos(r.latency.percentile(0.50)), nanos(r.latency.percentile(0.99)),
                   nanos(r.latency.percentile(0.999)), memory, per_entry, r.errors);
  }
  return out;
}

namespace {

// A run's statistics under the names --metrics-port serves: each series of the Prometheus
// text format (name and labels, as written) and its value.
boost::json::object metrics_of(const run_result& r) {
  gencache::metrics_registry registry;
  const target_metrics kept(registry, r);
  boost::json::object out;
  const std::string text = registry.to_prometheus_text();
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line(text.data() + at, end - at);
    at = end + 1;
    if (line.empty() || line.front() == '#') continue;
    const std::size_t space = line.rfind(' ');
    const std::string value(line.substr(space + 1));
    std::uint64_t count = 0;
    const auto [rest, error] = std::from_chars(value.data(), value.data() + value.size(), count);
    const bool sum = line.find("_sum{") != std::string_view::npos;  // a double, always
    if (!sum && error == std::errc() && rest == value.data() + value.size()) {
      out[line.substr(0, space)] = count;
    } else {
      out[line.substr(0, space)] = std::stod(value);
    }
  }
  return out;
}

}  // namespace

std::string to_json(const std::vector<run_result>& results, const options& o,
                    const machine_info& machine, const std::string& date) {
  boost::json::array stores;
  for (const auto& store : o.stores) stores.emplace_back(display_name(store));
  boost::json::array threads(o.threads.begin(), o.threads.end());
  boost::json::object opts{
      {"stores", stores},
      {"workload", to_string(o.workload)},
      {"keys", o.keys},
      {"zipf_s", o.zipf_s},
      {"value_size", o.value_size},
      {"read_ratio", o.read_ratio},
      {"invalidate_rate", o.invalidate_rate},
      {"threads", threads},
      {"duration_s", o.ops ? boost::json::value(nullptr) : boost::json::value(o.duration.count())},
      {"ops", o.ops ? boost::json::value(*o.ops) : boost::json::value(nullptr)},
      {"warmup_s", o.warmup.count()},
      {"capacity_entries", o.capacity_entries},
      {"capacity_bytes", o.capacity_bytes},
      {"seed", o.seed},
      {"latency_sample_every", o.sample_every},
  };
  boost::json::array runs;
  auto optional = [](const std::optional<std::uint64_t>& v) {
    return v ? boost::json::value(*v) : boost::json::value(nullptr);
  };
  for (const auto& r : results) {
    runs.push_back(boost::json::object{
        {"store", r.store},
        {"threads", r.threads},
        {"seconds", r.seconds},
        {"ops", r.ops},
        {"ops_per_second", r.ops_per_second()},
        {"reads", r.reads},
        {"writes", r.writes},
        {"invalidations", r.invalidations},
        {"hits", r.hits},
        {"misses", r.misses},
        {"hit_ratio", r.hit_ratio()},
        {"errors", r.errors},
        {"latency_ns", boost::json::object{{"samples", r.latency.count()},
                                           {"p50", r.latency.percentile(0.50)},
                                           {"p99", r.latency.percentile(0.99)},
                                           {"p999", r.latency.percentile(0.999)},
                                           {"max", r.latency.max()}}},
        {"entries", optional(r.entries)},
        {"accounted_bytes", optional(r.accounted_bytes)},
        {"heap_bytes", optional(r.heap_bytes)},
        {"metrics", metrics_of(r)},
    });
  }
  const boost::json::object doc{
      {"tool", "gencache-bench"},
      {"date", date},
      {"machine", boost::json::object{{"host", machine.host},
                                      {"cpu", machine.cpu},
                                      {"cores", machine.cores},
                                      {"memory_bytes", machine.memory_bytes},
                                      {"kernel", machine.kernel},
                                      {"compiler", machine.compiler}}},
      {"options", opts},
      {"results", runs},
  };
  return boost::json::serialize(doc) + "\n";
}

namespace {

std::string escape_xml(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// One panel of grouped bars: a group per store, a bar per thread count.
void panel(std::string& svg, double x0, double y0, double w, double h, const std::string& title,
           const std::vector<run_result>& results, const std::vector<unsigned>& threads,
           double (*metric)(const run_result&), std::string (*label)(double)) {
  static constexpr const char* colors[] = {"#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2"};
  std::vector<std::string> stores;
  double top = 0;
  for (const auto& r : results) {
    if (std::find(stores.begin(), stores.end(), r.store) == stores.end()) stores.push_back(r.store);
    top = std::max(top, metric(r));
  }
  if (top <= 0) top = 1;
  fmt::format_to(std::back_inserter(svg),
                 R"(<text x="{:.0f}" y="{:.0f}" font-size="15" font-weight="bold">{}</text>)"
                 "\n",
                 x0, y0 - 12, escape_xml(title));
  const double plot_h = h - 60;
  fmt::format_to(std::back_inserter(svg),
                 R"(<line x1="{0:.0f}" y1="{1:.0f}" x2="{2:.0f}" y2="{1:.0f}" stroke="#333"/>)"
                 "\n",
                 x0, y0 + plot_h, x0 + w);
  const double group_w = w / static_cast<double>(std::max<std::size_t>(1, stores.size()));
  const double bar_w =
      group_w * 0.8 / static_cast<double>(std::max<std::size_t>(1, threads.size()));
  for (std::size_t g = 0; g < stores.size(); ++g) {
    const double gx = x0 + static_cast<double>(g) * group_w + group_w * 0.1;
    for (std::size_t k = 0; k < threads.size(); ++k) {
      const auto it = std::find_if(results.begin(), results.end(), [&](const run_result& r) {
        return r.store == stores[g] && r.threads == threads[k];
      });
      if (it == results.end()) continue;
      const double v = metric(*it);
      const double bh = plot_h * v / top;
      const double bx = gx + static_cast<double>(k) * bar_w;
      fmt::format_to(std::back_inserter(svg),
                     R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}"/>)"
                     "\n"
                     R"(<text x="{:.1f}" y="{:.1f}" font-size="10" text-anchor="middle">{}</text>)"
                     "\n",
                     bx, y0 + plot_h - bh, bar_w - 2, bh, colors[k % std::size(colors)],
                     bx + bar_w / 2 - 1, y0 + plot_h - bh - 3, escape_xml(label(v)));
    }
    fmt::format_to(std::back_inserter(svg),
                   R"(<text x="{:.1f}" y="{:.1f}" font-size="11" text-anchor="middle">{}</text>)"
                   "\n",
                   gx + group_w * 0.4, y0 + plot_h + 16, escape_xml(stores[g]));
  }
  for (std::size_t k = 0; k < threads.size(); ++k) {
    const double lx = x0 + static_cast<double>(k) * 90;
    fmt::format_to(std::back_inserter(svg),
                   R"(<rect x="{:.0f}" y="{:.0f}" width="10" height="10" fill="{}"/>)"
                   R"(<text x="{:.0f}" y="{:.0f}" font-size="11">{} thread{}</text>)"
                   "\n",
                   lx, y0 + plot_h + 30, colors[k % std::size(colors)], lx + 14, y0 + plot_h + 39,
                   threads[k], threads[k] == 1 ? "" : "s");
  }
}

}  // namespace

// A hand-written SVG: two bar panels need no plotting library, and the file then has no
// runtime dependency (gnuplot would be one more package and a subprocess).
std::string to_svg(const std::vector<run_result>& results, const options& o) {
  constexpr double width = 960, height = 420;
  std::string svg = fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="{0:.0f}" height="{1:.0f}" viewBox="0 0 {0:.0f} {1:.0f}" font-family="sans-serif">)"
      "\n"
      R"(<rect width="100%" height="100%" fill="white"/>)"
      "\n"
      R"(<text x="20" y="24" font-size="13">gencache-bench: {2} keys, {3} (s={4}), {5} B values, {6:.0f}% reads, {7} invalidations/s</text>)"
      "\n",
      width, height, o.keys, to_string(o.workload), o.zipf_s, o.value_size, 100 * o.read_ratio,
      o.invalidate_rate);
  panel(
      svg, 40, 70, 420, 330, "Throughput (ops/s, higher is better)", results, o.threads,
      [](const run_result& r) { return r.ops_per_second(); }, [](double v) { return si(v); });
  panel(
      svg, 510, 70, 420, 330, "p99 latency (lower is better)", results, o.threads,
      [](const run_result& r) { return static_cast<double>(r.latency.percentile(0.99)); },
      [](double v) { return nanos(static_cast<std::uint64_t>(v)); });
  svg += "</svg>\n";
  return svg;
}

}  // namespace shootout
