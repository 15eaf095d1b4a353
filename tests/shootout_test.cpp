// The shoot-out's parts (benchmarks/shootout): histogram, Zipf sampler, streams, command
// line, and short runs over every in-process store. Its exit codes and files are checked
// end to end by tests/shootout_cli.cmake.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <gencache/metrics.hpp>

#include "cli.hpp"
#include "histogram.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "simulate.hpp"
#include "workload.hpp"

namespace {

std::variant<shootout::options, shootout::cli_exit> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "gencache-bench");
  return shootout::parse_command_line(static_cast<int>(args.size()), args.data());
}

std::string error_of(std::vector<const char*> args) {
  auto r = parse(std::move(args));
  REQUIRE(std::holds_alternative<shootout::cli_exit>(r));
  const auto& e = std::get<shootout::cli_exit>(r);
  CHECK(e.status == 2);
  CHECK(e.message.find('\n') == std::string::npos);  // one line
  return e.message;
}

}  // namespace

TEST_CASE("shootout: the histogram's percentiles are within a bucket of the truth",
          "[shootout][histogram]") {
  shootout::histogram h;
  for (std::uint64_t v = 1; v <= 100'000; ++v) h.record(v);
  CHECK(h.count() == 100'000);
  CHECK(h.max() == 100'000);
  for (const double q : {0.5, 0.9, 0.99, 0.999}) {
    const double truth = q * 100'000;
    CHECK(std::abs(static_cast<double>(h.percentile(q)) - truth) <= truth / 16);
  }
  // Small values are exact; every value lands in a bucket that holds it.
  shootout::histogram small;
  small.record(3);
  CHECK(small.percentile(0.5) == 3);
  for (const std::uint64_t v : {0ull, 15ull, 16ull, 17ull, 1000ull, 123456789ull, 1ull << 39}) {
    const int i = shootout::histogram::index_of(v);
    CHECK(shootout::histogram::lower_bound_of(i) <= v);
    CHECK(v < shootout::histogram::upper_bound_of(i));
  }
  shootout::histogram merged;
  merged.merge(h);
  merged.merge(small);
  CHECK(merged.count() == 100'001);
}

TEST_CASE("shootout: Zipf ranks follow k^-s", "[shootout][workload]") {
  constexpr std::uint64_t n = 1000;
  constexpr int draws = 200'000;
  shootout::zipf_distribution zipf(n, 0.99);
  std::mt19937_64 random(7);
  std::vector<int> counts(n + 1, 0);
  int out_of_range = 0;
  for (int i = 0; i < draws; ++i) {
    const auto k = zipf(random);
    if (k < 1 || k > n) {
      ++out_of_range;
    } else {
      ++counts[k];
    }
  }
  CHECK(out_of_range == 0);
  double norm = 0;
  for (std::uint64_t k = 1; k <= n; ++k) norm += std::pow(static_cast<double>(k), -0.99);
  for (const std::uint64_t k : {1u, 2u, 10u, 100u}) {
    const double expected = draws * std::pow(static_cast<double>(k), -0.99) / norm;
    // Over 5 standard deviations away would be a broken sampler, not bad luck.
    CHECK(std::abs(counts[k] - expected) < 5 * std::sqrt(expected));
  }
}

TEST_CASE("shootout: streams honour the read ratio, and scans read cold keys",
          "[shootout][workload]") {
  shootout::options o;
  o.keys = 1000;
  o.read_ratio = 0.75;
  const auto stream = shootout::make_stream(o, 0, 100'000);
  REQUIRE(stream.size() == 100'000);
  std::size_t writes = 0;
  std::size_t outside = 0;
  for (const auto& op : stream) {
    writes += op.write ? 1 : 0;
    outside += op.key < o.keys ? 0 : 1;
  }
  CHECK(outside == 0);
  CHECK(std::abs(static_cast<double>(writes) / 100'000 - 0.25) < 0.01);
  CHECK(shootout::make_stream(o, 0, 1000)[17].key == stream[17].key);  // seeded

  o.workload = shootout::workload_kind::scan_mix;
  const auto mixed = shootout::make_stream(o, 1, 10'000);
  std::size_t cold = 0;
  for (const auto& op : mixed) cold += op.key >= o.keys ? 1 : 0;
  CHECK(cold == 1000);  // L = 100 cold reads after every 900 Zipf operations
}

TEST_CASE("shootout: the command line has defaults and reads every option", "[shootout][cli]") {
  auto defaults = parse({});
  REQUIRE(std::holds_alternative<shootout::options>(defaults));
  const auto& d = std::get<shootout::options>(defaults);
  CHECK(d.stores.size() >= 3);
  CHECK(d.stores[0] == "memory");
  CHECK(d.threads == std::vector<unsigned>{1, 2});
  CHECK(d.capacity_entries == d.keys / 2);

  auto given =
      parse({"--store",      "memory", "--store",           "naive", "--workload",   "scan-mix",
             "--keys",       "5000",   "--zipf-s",          "1.2",   "--value-size", "64",
             "--read-ratio", "0.5",    "--invalidate-rate", "10",    "--threads",    "1,2,4",
             "--ops",        "1000",   "--capacity",        "64MiB", "--seed",       "9",
             "--json",       "a.json", "--chart",           "a.svg"});
  REQUIRE(std::holds_alternative<shootout::options>(given));
  const auto& o = std::get<shootout::options>(given);
  CHECK(o.stores == std::vector<std::string>{"memory", "naive"});
  CHECK(o.workload == shootout::workload_kind::scan_mix);
  CHECK(o.keys == 5000);
  CHECK(o.zipf_s == 1.2);
  CHECK(o.value_size == 64);
  CHECK(o.read_ratio == 0.5);
  CHECK(o.invalidate_rate == 10);
  CHECK(o.threads == std::vector<unsigned>{1, 2, 4});
  CHECK(o.ops == 1000u);
  CHECK(o.capacity_bytes == 64u << 20);
  CHECK(o.capacity_entries == 0);
  CHECK(o.seed == 9);
  CHECK(o.json_file == "a.json");
  CHECK(o.chart_file == "a.svg");
  CHECK_FALSE(o.metrics_port);
  CHECK(o.metrics_address == "127.0.0.1");
  if (GENCACHE_HAVE_PROMETHEUS) {
    auto served = parse({"--metrics-port", "9464", "--metrics-address", "0.0.0.0"});
    REQUIRE(std::holds_alternative<shootout::options>(served));
    CHECK(std::get<shootout::options>(served).metrics_port == 9464);
    CHECK(std::get<shootout::options>(served).metrics_address == "0.0.0.0");
    auto v6 = parse({"--metrics-port", "0", "--metrics-address", "[::1]"});
    REQUIRE(std::holds_alternative<shootout::options>(v6));
    CHECK_THAT(error_of({"--metrics-port", "1", "--metrics-address", "127.0.0.1:80,0.0.0.0"}),
               Catch::Contains("--metrics-address"));
    CHECK_THAT(error_of({"--metrics-port", "1", "--metrics-address", "::1"}),
               Catch::Contains("--metrics-address"));
    CHECK_THAT(error_of({"--metrics-address", "0.0.0.0"}), Catch::Contains("--metrics-port"));
  } else {
    CHECK_THAT(error_of({"--metrics-port", "9464"}), Catch::Contains("prometheus-cpp"));
  }

  auto help = parse({"--help"});
  REQUIRE(std::holds_alternative<shootout::cli_exit>(help));
  CHECK(std::get<shootout::cli_exit>(help).status == 0);
  CHECK_THAT(std::get<shootout::cli_exit>(help).message, Catch::Contains("--invalidate-rate"));
}

TEST_CASE("shootout: bad options are one clear line and status 2", "[shootout][cli]") {
  CHECK_THAT(error_of({"--store", "mongodb://x"}), Catch::Contains("unknown store 'mongodb://x'"));
  if (GENCACHE_HAVE_REDIS) {
    CHECK_THAT(error_of({"--store", "redis://host:99999"}), Catch::Contains("99999"));
  } else {
    CHECK_THAT(error_of({"--store", "redis://host:6379"}),
               Catch::Contains("store 'redis' is not in this build"));
  }
  CHECK_THAT(error_of({"--store", "memory://?max_bytes=lots"}),
             Catch::Contains("max_bytes: 'lots' is not a size"));
  CHECK_THAT(error_of({"--store", "memory://?colour=red"}),
             Catch::Contains("unknown parameter 'colour' for memory://"));
  CHECK_THAT(error_of({"--keys", "0"}), Catch::Contains("--keys"));
  CHECK_THAT(error_of({"--read-ratio", "1.5"}), Catch::Contains("--read-ratio"));
  CHECK_THAT(error_of({"--read-ratio", "-0.1"}), Catch::Contains("--read-ratio"));
  CHECK_THAT(error_of({"--threads", "0"}), Catch::Contains("--threads"));
  CHECK_THAT(error_of({"--workload", "zipfian"}), Catch::Contains("--workload"));
  CHECK_THAT(error_of({"--capacity", "12 parsecs"}), Catch::Contains("--capacity"));
  CHECK_THAT(error_of({"--capacity", "0"}), Catch::Contains("--capacity"));
  CHECK_THAT(error_of({"--duration", "1", "--ops", "5"}), Catch::Contains("excludes"));
  CHECK_THAT(error_of({"--no-such-option"}), Catch::Contains("--no-such-option"));
  CHECK_THAT(error_of({"--metrics-port", "65536"}), Catch::Contains("--metrics-port"));
  CHECK_THAT(error_of({"--metrics-port", "-1"}), Catch::Contains("--metrics-port"));
}

TEST_CASE("shootout: every in-process store runs the workload and reports its figures",
          "[shootout][run]") {
  shootout::options o;
  o.keys = 2000;
  o.capacity_entries = 1000;
  o.ops = 20'000;
  o.invalidate_rate = 0;
  o.threads = {2};
  // A store URL runs too: gencache::make_store builds it, with its own bound.
  o.stores = {"memory", "naive", "memory://?max_entries=1000&eviction=lru"};
  if (GENCACHE_HAVE_TBB) o.stores.emplace_back("tbb-lru");  // a peer only when TBB was found
  if (GENCACHE_HAVE_POCO) o.stores.emplace_back("poco-lru");
  if (GENCACHE_HAVE_ROCKSDB) o.stores.emplace_back("rocksdb-lru");
  const auto streams = shootout::make_streams(o, 2);
  std::vector<shootout::run_result> results;
  for (const auto& store : o.stores) {
    results.push_back(shootout::run(store, o, 2, streams));
    const auto& r = results.back();
    INFO(store);
    CHECK(r.ops == 20'000);
    CHECK(r.reads + r.writes == r.ops);
    CHECK(r.hits > 0);
    CHECK(r.misses > 0);  // 1000 entries cannot hold 2000 keys
    CHECK(r.hit_ratio() < 1);
    CHECK(r.errors == 0);
    CHECK(r.latency.count() == r.ops / o.sample_every);
    CHECK(r.heap_bytes.has_value());
  }
  CHECK(results[0].entries <= 1000u);  // the memory store held its bound
  CHECK(results[2].entries <= 1000u);  // and the one from its URL

  const auto json = boost::json::parse(
      shootout::to_json(results, o, shootout::this_machine(), "2026-11-25T00:00:00Z"));
  CHECK(json.at("results").as_array().size() == results.size());
  CHECK(json.at("results").at(1).at("store").as_string() == "naive");
  CHECK(json.at("options").at("keys").to_number<int>() == 2000);
  CHECK(json.at("machine").at("cores").to_number<int>() > 0);
  CHECK(json.at("date").as_string() == "2026-11-25T00:00:00Z");

  // Every run carries its statistics under the names --metrics-port serves.
  const auto& memory_metrics = json.at("results").at(0).at("metrics").as_object();
  CHECK(memory_metrics.at(R"(cache_gets_total{cache="memory ×2 memoized",result="hit"})")
            .to_number<std::uint64_t>() == results[0].memoize_stats->hits);
  CHECK(memory_metrics.at(R"(cache_size{cache="memory ×2"})").to_number<std::uint64_t>() ==
        results[0].store_stats.entries);
  CHECK(memory_metrics.at(R"(cache_evictions_total{cache="memory ×2",cause="size"})")
            .to_number<std::uint64_t>() > 0);
  CHECK(memory_metrics.contains(
      R"(cache_load_duration_seconds_bucket{cache="memory ×2 memoized",le="+Inf"})"));
  const auto& naive_metrics = json.at("results").at(1).at("metrics").as_object();
  CHECK(naive_metrics.at(R"(cache_gets_total{cache="naive ×2",result="hit"})")
            .to_number<std::uint64_t>() == results[1].store_stats.hits);
  CHECK_FALSE(
      naive_metrics.contains(R"(cache_gets_total{cache="naive ×2 memoized",result="hit"})"));
  // A memory:// URL is named as given (it holds no secret).
  CHECK(results[2].metrics_name == "memory://?max_entries=1000&eviction=lru ×2");

  const std::string svg = shootout::to_svg(results, o);
  CHECK(svg.starts_with("<svg"));
  CHECK(svg.ends_with("</svg>\n"));
  if (GENCACHE_HAVE_TBB) CHECK_THAT(svg, Catch::Contains(">tbb-lru<"));

  const std::string table = shootout::format_table(results);
  CHECK_THAT(table, Catch::Contains("naive"));
  CHECK(static_cast<std::size_t>(std::count(table.begin(), table.end(), '\n')) ==
        1 + results.size());  // header + rows
}

TEST_CASE("shootout: a run's target is watched while it runs, then its last figures are kept",
          "[shootout][run][metrics]") {
  shootout::options o;
  o.keys = 500;
  o.ops = 5'000;
  o.threads = {1};
  o.capacity_entries = 1000;
  const auto streams = shootout::make_streams(o, 1);
  gencache::metrics_registry registry;
  std::size_t sources_while_running = 0;
  std::string watched_name;
  std::shared_ptr<shootout::target_metrics> kept;
  const shootout::watch_fn watch = [&](const shootout::target& t,
                                       const std::string& name) -> std::shared_ptr<void> {
    kept = std::make_shared<shootout::target_metrics>(registry, t, name);
    sources_while_running = registry.size();
    watched_name = name;
    return {nullptr, [m = kept](void*) { m->freeze(); }};
  };
  const shootout::run_result r = shootout::run("memory", o, 1, streams, {}, watch);
  CHECK(sources_while_running == 2);  // the store and its memoized wrapper
  CHECK(watched_name == "memory ×1");
  REQUIRE(registry.size() == 2);  // frozen, still served after the target is gone
  const std::string text = registry.to_prometheus_text();
  CHECK_THAT(text, Catch::Contains(fmt::format(
                       "cache_gets_total{{cache=\"memory ×1 memoized\",result=\"hit\"}} {}\n",
                       r.memoize_stats->hits)));
  CHECK_THAT(text, Catch::Contains(fmt::format("cache_size{{cache=\"memory ×1\"}} {}\n",
                                               r.store_stats.entries)));
  kept.reset();
  CHECK(registry.size() == 0);
  const shootout::target_metrics result(registry, r);
  CHECK(registry.size() == 2);
}

TEST_CASE("shootout: a store URL that may hold a secret is shown redacted", "[shootout]") {
  CHECK(shootout::display_name("memory") == "memory");
  CHECK(shootout::display_name("memory://?max_entries=10") == "memory://?max_entries=10");
  CHECK(shootout::display_name("redis://127.0.0.1:6379/2") == "redis://127.0.0.1:6379/2");
  CHECK(shootout::display_name("redis://:s3cret@127.0.0.1:6379") == "redis://***");
  CHECK(shootout::display_name("redis://user:p/a?ss@host") == "redis://***");
  CHECK(shootout::display_name("redis://host:1/0?prefix=x&password_file=/k") ==
        "redis://host:1/0?***");
  CHECK(shootout::display_name("memcached://a:1,b:2") == "memcached://a:1,b:2");
}

TEST_CASE("shootout: an unreachable server is an exception naming it", "[shootout][run]") {
  shootout::options o;
  o.ops = 100;
  const auto streams = shootout::make_streams(o, 1);
  const std::string url = GENCACHE_HAVE_REDIS       ? "redis://127.0.0.1:1"
                          : GENCACHE_HAVE_MEMCACHED ? "memcached://127.0.0.1:1"
                                                    : "";
  if (url.empty()) {  // no remote store in this build: naming one is the error
    CHECK_THROWS_WITH(shootout::run("redis://127.0.0.1:1", o, 1, streams),
                      Catch::Contains("not in this build"));
  } else {
    CHECK_THROWS_WITH(shootout::run(url, o, 1, streams), Catch::Contains(url + ": unreachable"));
  }
}

// ---- gencache-bench simulate: policies and trace formats --------------------------------

namespace {

/// A file of `bytes` under the temporary directory, removed at scope exit.
struct temp_file {
  explicit temp_file(const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }
  ~temp_file() { std::filesystem::remove(path); }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  std::string path = (std::filesystem::temp_directory_path() /
                      ("gencache-trace-" + std::to_string(std::random_device{}())))
                         .string();
};

std::vector<std::uint32_t> read_trace(const std::string& bytes, const char* format) {
  const temp_file file(bytes);
  shootout::simulation s;
  s.trace_file = file.path;
  s.trace_format = format;
  return shootout::make_stream(s);
}

}  // namespace

TEST_CASE("simulate: Belady's optimum, worked by hand on a cyclic trace", "[shootout][simulate]") {
  // 0 1 2 repeated, room for 2: LRU never hits; MIN keeps 0 and 1 and never admits 2.
  const std::vector<std::uint32_t> cyclic = {0, 1, 2, 0, 1, 2, 0, 1, 2};
  CHECK(shootout::replay("lru", cyclic, 2).hits == 0);
  CHECK(shootout::replay("belady", cyclic, 2).hits == 4);
  CHECK(shootout::replay("belady", cyclic, 3).hits == 6);  // everything fits: only cold misses
}

// Regression: the W-TinyLFU model read past its lists when the capacity was 1 (a window of
// one entry and no main space).
TEST_CASE("simulate: every policy runs at capacity 1", "[shootout][simulate]") {
  const std::vector<std::uint32_t> stream = {0, 1, 0, 0, 2, 1, 1, 0};
  for (const char* policy : {"lru", "sieve", "tinylfu", "s3fifo"}) {
    INFO(policy);
    CHECK(shootout::replay(policy, stream, 1).hits <= 3);  // never more than Belady
  }
  CHECK(shootout::replay("lru", stream, 1).hits == 2);      // the repeats in a row
  CHECK(shootout::replay("belady", stream, 1).hits == 3);   // keeps 0 for its third use
  CHECK(shootout::replay("optimum", stream, 1).hits == 4);  // key 0 cached from the start
}

TEST_CASE("simulate: no policy beats Belady's optimum", "[shootout][simulate]") {
  shootout::simulation s;
  s.keys = 5000;
  s.requests = 100'000;
  s.capacity = GENERATE(50, 500);
  s.scans = GENERATE(false, true);
  const auto stream = shootout::make_stream(s);
  const auto best = shootout::replay("belady", stream, s.capacity).hits;
  // Not the static optimum: it counts its keys' first requests as hits, which no cache can.
  for (const char* policy : {"lru", "sieve", "tinylfu", "s3fifo"}) {
    INFO(policy << " at capacity " << s.capacity);
    CHECK(shootout::replay(policy, stream, s.capacity).hits <= best);
  }
}

TEST_CASE("simulate: trace formats are read as documented", "[shootout][simulate][trace]") {
  SECTION("lines: any text per line, and LIRS's '*' checkpoints are not requests") {
    CHECK(read_trace("a\nb\n*\na\n\nc\n", "lines") == std::vector<std::uint32_t>{0, 1, 0, 2});
  }
  SECTION("lis: a request for `count` blocks from `start`") {
    CHECK(read_trace("10 3 0 1\n11 1 0 2\n", "lis") == std::vector<std::uint32_t>{0, 1, 2, 1});
    CHECK_THROWS_WITH(read_trace("10 x 0 1\n", "lis"), Catch::Contains(":1: not a .lis line"));
  }
  SECTION("oracle-general: 24-byte records, the id after a 32-bit time") {
    std::string bytes;
    for (const std::uint64_t id : {7ULL, 0x0102030405060708ULL, 7ULL}) {
      char record[24] = {};
      for (int i = 0; i < 8; ++i) record[4 + i] = static_cast<char>(id >> (8 * i));
      bytes.append(record, sizeof record);
    }
    CHECK(read_trace(bytes, "oracle-general") == std::vector<std::uint32_t>{0, 1, 0});
    CHECK_THROWS_WITH(read_trace(bytes + "xyz", "oracle-general"),
                      Catch::Contains("3 bytes after the last whole 24-byte"));
  }
  SECTION("CRLF line endings: the same requests as LF") {
    CHECK(read_trace("1\r\n2\r\n*\r\n1\r\n\r\n", "lines") == std::vector<std::uint32_t>{0, 1, 0});
    CHECK(read_trace("10 2 0 1\r\n\r\n", "lis") == std::vector<std::uint32_t>{0, 1});
  }
  SECTION("lis: signs, junk and ranges past 2^64 are errors, not other blocks") {
    CHECK_THROWS_WITH(read_trace("-1 2 0 1\n", "lis"), Catch::Contains("not a .lis line"));
    CHECK_THROWS_WITH(read_trace("5 4e9 0 1\n", "lis"), Catch::Contains("not a .lis line"));
    CHECK_THROWS_WITH(read_trace("18446744073709551615 3 0 1\n", "lis"),
                      Catch::Contains("not a .lis line"));
    CHECK_THROWS_WITH(read_trace("0 5000000000 0 1\n", "lis"),
                      Catch::Contains("more than 2^32 - 2 requests"));
  }
  SECTION("a trace without requests is an error, in every format") {
    CHECK_THROWS_WITH(read_trace("", "lines"), Catch::Contains("holds no requests"));
    CHECK_THROWS_WITH(read_trace("*\n*\n", "lines"), Catch::Contains("holds no requests"));
    CHECK_THROWS_WITH(read_trace("", "oracle-general"), Catch::Contains("holds no requests"));
  }
  SECTION("an unknown format is named") {
    CHECK_THROWS_WITH(read_trace("1\n", "csv"), Catch::Contains("unknown trace format 'csv'"));
  }
}
