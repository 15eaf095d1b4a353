// `gencache-bench throughput`: the hit-path side-by-side of issue 27. One key stream (Zipf
// draws, or a trace) is replayed, all keys cached, through a flat-map floor, gencache's
// direct get and a memoized call, each with two generations (one plain, one per user of 16
// keys); a miss sets. benchmarks/peers/CaffeineThroughput.java replays the very same
// stream (written with --write-trace) through Caffeine, so the two print comparable rows.
#include "throughput.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include "gencache/gencache.hpp"
#include "simulate.hpp"

namespace shootout {
namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  simulation stream;  // keys, Zipf exponent, requests, seed or trace
  std::vector<unsigned> threads{1};
  double seconds = 2.0;
};

std::uint64_t item_value(std::uint32_t key) { return std::uint64_t{key} * 2654435761U; }
int user_of(std::uint32_t key) { return static_cast<int>(key / 16); }

std::atomic<std::uint64_t> sink{0};  // what calls return, so that none is optimised away

/// Calls per second of `call(key)` over `stream`, `threads` threads each starting at its own
/// offset, for about `seconds` after one untimed pass (which fills what the case caches) and
/// `after_fill()`.
template <class Call, class AfterFill>
double measure(const std::vector<std::uint32_t>& stream, unsigned threads, double seconds,
               const Call& call, const AfterFill& after_fill) {
  for (const std::uint32_t k : stream) sink.fetch_add(call(k), std::memory_order_relaxed);
  after_fill();
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> calls{0};
  std::vector<std::thread> workers;
  workers.reserve(threads);
  const auto started = clock_type::now();
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::size_t i = stream.size() / threads * t;
      std::uint64_t done = 0;
      std::uint64_t returned = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        for (int n = 0; n < 4096; ++n) {  // check the flag once per 4096 calls
          returned += call(stream[i]);
          if (++i == stream.size()) i = 0;
        }
        done += 4096;
      }
      calls.fetch_add(done);
      sink.fetch_add(returned);
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& w : workers) w.join();
  const double elapsed = std::chrono::duration<double>(clock_type::now() - started).count();
  return static_cast<double>(calls.load()) / elapsed;
}

struct row {
  std::string name;
  unsigned threads;
  double calls_per_second;
  double hit_ratio;
};

}  // namespace

int run_throughput(int argc, const char* const* argv) {
  options o;
  o.stream.keys = 100'000;
  o.stream.requests = 10'000'000;
  CLI::App app(
      "gencache-bench throughput: replays one key stream, all keys cached, through a flat-map "
      "floor, gencache's direct get and a memoized call (two generations: one plain, one per "
      "user of 16 keys; a miss sets) and prints calls per second. "
      "benchmarks/peers/CaffeineThroughput.java replays the same stream (--write-trace) "
      "through Caffeine.",
      "gencache-bench throughput");
  app.add_option("--keys", o.stream.keys, "Distinct keys of the Zipf stream")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 31))
      ->capture_default_str();
  app.add_option("--zipf-s", o.stream.zipf_s, "Zipf exponent")
      ->check(CLI::Range(0.0, 10.0))
      ->capture_default_str();
  app.add_option("--requests", o.stream.requests, "Zipf draws (the stream is replayed in a loop)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 32))
      ->capture_default_str();
  app.add_option("--seed", o.stream.seed, "Seed of the Zipf stream")->capture_default_str();
  app.add_option("--trace", o.stream.trace_file, "Replay this file (one key per line) instead")
      ->check(CLI::ExistingFile);
  app.add_option("--write-trace", o.stream.write_trace_file,
                 "Also write the stream to this file, one key per line");
  app.add_option("--threads", o.threads, "Thread counts, e.g. 1,2")
      ->delimiter(',')
      ->check(CLI::Range(1U, 256U))
      ->capture_default_str();
  app.add_option("--seconds", o.seconds, "Seconds measured per case and thread count")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  const std::vector<std::uint32_t> stream = make_stream(o.stream);
  write_trace(stream, o.stream.write_trace_file);
  const std::uint32_t distinct = *std::max_element(stream.begin(), stream.end()) + 1;
  fmt::print("stream: {} requests over {} keys, all cached, {} s per case\n", stream.size(),
             distinct, o.seconds);

  std::vector<row> rows;
  for (const unsigned threads : o.threads) {
    {  // The floor: a flat map that nothing else writes, filled by the untimed pass.
      boost::unordered_flat_map<std::uint32_t, std::uint64_t> map;
      map.reserve(distinct);
      for (const std::uint32_t k : stream) map.try_emplace(k, item_value(k));
      const double rate = measure(
          stream, threads, o.seconds,
          [&](std::uint32_t k) -> std::uint64_t {
            const auto it = map.find(k);
            return it == map.end() ? 0 : it->second;
          },
          [] {});
      rows.push_back({"flat-map floor (find, no writes)", threads, rate, 1.0});
    }
    const gencache::memory_store_options bound{.max_entries = std::size_t{distinct} * 4,
                                               .max_bytes = std::size_t{4} << 30};
    // Hit ratios count the timed calls only (the filling pass misses every key once).
    const auto timed_hit_ratio = [](const auto& before, const auto& after) {
      const auto hits = static_cast<double>(after.hits - before.hits);
      const auto misses = static_cast<double>(after.misses - before.misses);
      return hits / (hits + misses);
    };
    {
      gencache::cache cache(bound);
      gencache::store_stats filled;
      const double rate = measure(
          stream, threads, o.seconds,
          [&](std::uint32_t k) -> std::uint64_t {
            const gencache::generation_list gens = {"nav", {"nav:user", user_of(k)}};
            if (const auto v = cache.get<std::uint64_t>(gens, "item", k)) return *v;
            (void)cache.set(gens, item_value(k), "item", k);
            return 0;
          },
          [&] { filled = cache.stats(); });
      rows.push_back(
          {"gencache direct get", threads, rate, timed_hit_ratio(filled, cache.stats())});
    }
    {
      gencache::cache cache(bound);
      gencache::memoized item(
          cache, [](int, std::uint32_t k) { return item_value(k); }, "nav",
          gencache::gen("nav:user", gencache::arg<0>));
      gencache::memoize_stats filled;
      const double rate = measure(
          stream, threads, o.seconds, [&](std::uint32_t k) { return item(user_of(k), k); },
          [&] { filled = item.stats(); });
      rows.push_back({"gencache memoized", threads, rate, timed_hit_ratio(filled, item.stats())});
    }
    {  // The same wrapper through call_many, 16 consecutive calls of the stream per batch (as
       // CaffeineThroughput's getAll case); the rate counts calls, not batches.
      gencache::cache cache(bound);
      gencache::memoized item(
          cache, [](int, std::uint32_t k) { return item_value(k); }, "nav",
          gencache::gen("nav:user", gencache::arg<0>));
      constexpr std::size_t batch = 16;
      std::vector<std::vector<std::tuple<int, std::uint32_t>>> batches;
      std::vector<std::uint32_t> batch_stream;
      for (std::size_t i = 0; i + batch <= stream.size(); i += batch) {
        batch_stream.push_back(static_cast<std::uint32_t>(batches.size()));
        auto& b = batches.emplace_back();
        for (std::size_t j = i; j < i + batch; ++j) b.emplace_back(user_of(stream[j]), stream[j]);
      }
      gencache::memoize_stats filled;
      const double rate = measure(
          batch_stream, threads, o.seconds,
          [&](std::uint32_t b) {
            thread_local std::array<std::uint64_t, batch> results;
            item.call_many(batches[b], results.begin());
            std::uint64_t sum = 0;
            for (const std::uint64_t v : results) sum += v;
            return sum;
          },
          [&] { filled = item.stats(); });
      rows.push_back({"gencache call_many, batches of 16", threads, rate * batch,
                      timed_hit_ratio(filled, item.stats())});
    }
  }
  fmt::print(
      "| case | threads | calls/s | ns/call | × the floor's time | hit ratio |\n"
      "|---|---:|---:|---:|---:|---:|\n");
  for (const row& r : rows) {
    const auto floor = std::find_if(rows.begin(), rows.end(), [&](const row& f) {
      return f.threads == r.threads && f.name.starts_with("flat-map");
    });
    fmt::print("| {} | {} | {:.3g}M | {:.1f} | {:.1f} | {:.4f} |\n", r.name, r.threads,
               r.calls_per_second / 1e6, 1e9 * r.threads / r.calls_per_second,
               floor->calls_per_second / r.calls_per_second, r.hit_ratio);
  }
  return 0;
}

}  // namespace shootout
