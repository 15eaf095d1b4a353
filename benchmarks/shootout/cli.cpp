#include "cli.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "targets.hpp"

namespace shootout {

void parse_capacity(const std::string& text, options& o) {
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  const std::string unit(end, text.data() + text.size());
  if (ec != std::errc() || end == text.data() || number == 0) {
    throw std::invalid_argument(fmt::format(
        "--capacity: '{}' is not a positive number of entries or of bytes (64MiB, 512KB)", text));
  }
  static const std::pair<const char*, std::uint64_t> units[] = {
      {"B", 1},         {"KB", 1000},         {"KiB", 1024},      {"MB", 1000'000},
      {"MiB", 1 << 20}, {"GB", 1000'000'000}, {"GiB", 1ull << 30}};
  if (unit.empty()) {
    o.capacity_entries = number;
    o.capacity_bytes = 0;
    return;
  }
  for (const auto& [name, factor] : units) {
    if (unit == name) {
      o.capacity_bytes = number * factor;
      o.capacity_entries = 0;
      return;
    }
  }
  throw std::invalid_argument(fmt::format(
      "--capacity: unknown unit '{}' in '{}' (use B, KB, KiB, MB, MiB, GB, GiB)", unit, text));
}

std::variant<options, cli_exit> parse_command_line(int argc, const char* const* argv) {
  options o;
  CLI::App app(
      "gencache-bench: the store shoot-out. Drives one generational workload through the "
      "cache API of each store (memoized reads under two generations, writes that recompute "
      "and store, invalidations of one user's generation), warms each store up, measures it, "
      "and prints throughput, hit ratio, latency percentiles, memory and errors per store and "
      "thread count.",
      "gencache-bench");
  app.get_formatter()->column_width(32);

  std::vector<std::string> stores;
  app.add_option(
         "--store", stores,
         "A store to measure; repeat for several. memory (gencache's sharded store), "
         "memory-lru (the same with LRU eviction instead of S3-FIFO), "
         "naive (a line-by-line port: mutex + unordered_map + list LRU, fmt keys), "
         "tbb-lru (tbb::concurrent_lru_cache), poco-lru (Poco::LRUCache), rocksdb-lru "
         "(RocksDB's sharded block cache, rocksdb::NewLRUCache: midpoint-insertion LRU), or any "
         "store URL "
         "gencache::make_store takes: memory://?max_bytes=64MiB&eviction=lru, "
         "redis://host:port[/db][?options], memcached://host:port[,host:port...][?options]. "
         "Default: memory, naive, and tbb-lru, poco-lru and rocksdb-lru where built, plus the "
         "servers in GENCACHE_REDIS_URL and GENCACHE_MEMCACHED_URL if set")
      ->type_name("STORE");
  std::string workload = "zipf";
  app.add_option("--workload", workload,
                 "Key popularity: zipf, uniform, or scan-mix (zipf, and after every 9L "
                 "operations a one-pass scan of L cold keys, L = keys/10)")
      ->check(CLI::IsMember({"zipf", "uniform", "scan-mix"}))
      ->capture_default_str();
  app.add_option("--keys", o.keys, "Distinct hot keys (16 keys per user generation)")
      ->check(CLI::Range(1u, 1'000'000'000u))
      ->capture_default_str();
  app.add_option("--zipf-s", o.zipf_s, "Zipf exponent s: P(rank k) ∝ k^-s; 0 is uniform")
      ->check(CLI::Range(0.0, 10.0))
      ->capture_default_str();
  app.add_option("--value-size", o.value_size, "Bytes per cached value")
      ->check(CLI::Range(std::size_t{1}, std::size_t{16} << 20))
      ->capture_default_str();
  app.add_option("--read-ratio", o.read_ratio,
                 "Fraction of operations that are memoized reads; the rest recompute and store")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--invalidate-rate", o.invalidate_rate,
                 "Generation bumps per second, all threads together (one random user each)")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  app.add_option("--threads", o.threads, "Thread counts to run each store with, e.g. 1,2")
      ->delimiter(',')
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  double duration = o.duration.count();
  auto* duration_option =
      app.add_option("--duration", duration, "Seconds measured per store and thread count")
          ->check(CLI::Range(0.001, 86400.0))
          ->capture_default_str();
  std::uint64_t ops = 0;
  app.add_option("--ops", ops,
                 "Operations measured per store and thread count, instead of --duration "
                 "(warm-up: a quarter as many)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 50))
      ->excludes(duration_option);
  double warmup = o.warmup.count();
  app.add_option("--warmup", warmup, "Seconds of warm-up before each measurement")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  std::string capacity;
  app.add_option("--capacity", capacity,
                 "Store bound: entries (50000) or bytes (64MiB, 512KB). Default: half the keys, "
                 "in entries. The peers bound entries only: bytes become bytes / (value size + "
                 "128). Remote servers keep their own bounds")
      ->type_name("N|SIZE");
  app.add_option("--seed", o.seed, "Seed of the operation streams (the same for every store)")
      ->capture_default_str();
  app.add_option("--sample-every", o.sample_every,
                 "Time the latency of every Nth operation (timing each costs ~40 ns)")
      ->check(CLI::Range(1u, 1'000'000u))
      ->capture_default_str();
  app.add_option("--json", o.json_file, "Write every figure, the machine, the options and the date")
      ->type_name("FILE");
  app.add_option("--chart", o.chart_file, "Write an SVG chart comparing the stores")
      ->type_name("FILE");
  auto* metrics_port =
      app.add_option("--metrics-port", o.metrics_port,
                     "Serve the run as Prometheus metrics on this port while it runs (0: a free "
                     "port, printed): each store's live statistics, the finished runs' last ones "
                     "and each run's progress (gencache_bench_progress_ratio)")
          ->type_name("PORT")
          ->check(CLI::Range(0, 65535));
  app.add_option("--metrics-address", o.metrics_address,
                 "The IPv4 address --metrics-port listens on (0.0.0.0: every interface), or "
                 "an IPv6 one in brackets: [::1]")
      ->capture_default_str()
      ->needs(metrics_port)
      ->check([](const std::string& address) -> std::string {
        in6_addr parsed{};
        const bool v4 = inet_pton(AF_INET, address.c_str(), &parsed) == 1;
        const bool v6 =
            address.size() > 2 && address.front() == '[' && address.back() == ']' &&
            inet_pton(AF_INET6, address.substr(1, address.size() - 2).c_str(), &parsed) == 1;
        return v4 || v6 ? std::string() : "not an IPv4 address or a bracketed IPv6 one";
      });

  try {
    app.parse(argc, argv);
    o.workload = workload == "uniform"    ? workload_kind::uniform
                 : workload == "scan-mix" ? workload_kind::scan_mix
                                          : workload_kind::zipf;
    o.duration = std::chrono::duration<double>(duration);
    o.warmup = std::chrono::duration<double>(warmup);
    if (ops != 0) o.ops = ops;
    if (o.threads.empty()) throw std::invalid_argument("--threads: give at least one count");
    if (o.metrics_port && !GENCACHE_HAVE_PROMETHEUS) {
      throw std::invalid_argument(
          "--metrics-port: this gencache-bench was built without prometheus-cpp (Debian: "
          "prometheus-cpp-dev)");
    }
    if (capacity.empty()) {
      o.capacity_entries = std::max<std::uint32_t>(1, o.keys / 2);
    } else {
      parse_capacity(capacity, o);
    }
    if (stores.empty()) {
      stores = {"memory", "naive"};
      if (GENCACHE_HAVE_TBB) stores.emplace_back("tbb-lru");
      if (GENCACHE_HAVE_POCO) stores.emplace_back("poco-lru");
      if (GENCACHE_HAVE_ROCKSDB) stores.emplace_back("rocksdb-lru");
      for (const char* variable : {"GENCACHE_REDIS_URL", "GENCACHE_MEMCACHED_URL"}) {
        // Read only, before any thread starts.
        const char* url = std::getenv(variable);  // NOLINT(concurrency-mt-unsafe)
        if (url != nullptr && *url != '\0') {
          stores.emplace_back(url);
        }
      }
    }
    for (const auto& s : stores) check_store_name(s);
    o.stores = std::move(stores);
  } catch (const CLI::CallForHelp&) {
    return cli_exit{0, app.help()};
  } catch (const CLI::ParseError& e) {
    return cli_exit{2, fmt::format("gencache-bench: {} (see --help)", e.what())};
  } catch (const std::invalid_argument& e) {
    return cli_exit{2, fmt::format("gencache-bench: {} (see --help)", e.what())};
  }
  return o;
}

}  // namespace shootout
