// The memory bound under load (docs/reliability.md): threads insert far more than the memory
// store's byte bound, with value sizes from 16 bytes to 64 KiB, while reading back and
// invalidating. A sampler checks at every sample that the store's accounted bytes stay
// within the bound, and the process's resident memory within the documented overhead; every
// value read back must be the one stored for its key. LeakSanitizer (asan preset) checks
// that nothing leaks when the store goes away.
//
//   memory_bound_campaign --seconds 60 --max-bytes 64MiB
//
// Exit status: 0 if every check held, 1 if one failed; bad options exit non-zero (CLI11).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <latch>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <gencache/gencache.hpp>

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitized = true;  // shadow memory and quarantine: RSS means nothing here
#else
constexpr bool sanitized = false;
#endif

/// Resident set size of this process, from /proc/self/statm.
std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

/// A value that says which key it belongs to: the key id in its first 8 bytes, then a byte
/// derived from it, `size` bytes in all.
std::string make_value(std::uint64_t id, std::size_t size) {
  std::string v(size, static_cast<char>('a' + id % 26));
  std::memcpy(v.data(), &id, sizeof id);
  return v;
}

bool is_value_of(const std::string& v, std::uint64_t id) {
  if (v.size() < sizeof id) return false;
  std::uint64_t stored = 0;
  std::memcpy(&stored, v.data(), sizeof stored);
  if (stored != id) return false;
  const char fill = static_cast<char>('a' + id % 26);
  for (std::size_t i = sizeof id; i < v.size(); ++i) {
    if (v[i] != fill) return false;
  }
  return true;
}

/// Sizes from 16 bytes to 64 KiB, log-uniform: many small values and a few large ones.
std::size_t value_size(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> exponent(4.0, 16.0);
  return static_cast<std::size_t>(std::exp2(exponent(rng)));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gencache memory-bound campaign: the byte bound holds under load"};
  double seconds = 10;
  std::size_t max_bytes = std::size_t{64} << 20;
  unsigned threads = 2;
  double rss_factor = 2.0;
  std::size_t rss_slack_mib = 32;
  std::uint64_t target_sets = 0;
  auto* timed = app.add_option("--seconds", seconds, "how long to run")->check(CLI::PositiveNumber);
  app.add_option("--sets", target_sets,
                 "run until this many values were stored instead (what ctest uses: the same "
                 "work on a fast or a slow machine)")
      ->check(CLI::PositiveNumber)
      ->excludes(timed);
  app.add_option("--max-bytes", max_bytes, "the store's byte bound (e.g. 64MiB)")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(std::size_t{1} << 20, std::size_t{1} << 40));
  app.add_option("--threads", threads, "writer/reader threads")->check(CLI::Range(1u, 64u));
  app.add_option("--rss-factor", rss_factor,
                 "allowed resident growth as a multiple of the bound (plus --rss-slack-mib)");
  app.add_option("--rss-slack-mib", rss_slack_mib, "allowed resident growth beyond the factor");
  CLI11_PARSE(app, argc, argv);
  const std::size_t rss_before = resident_bytes();
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> sets{0}, refused{0}, busy{0}, reads{0}, hits{0}, wrong{0},
      invalidations{0};
  std::atomic<std::uint64_t> inserted_bytes{0};
  std::uint64_t samples = 0, over_bound = 0, over_rss = 0;
  std::size_t peak_accounted = 0, peak_rss_growth = 0;
  gencache::store_stats last{};
  {
    auto store = std::make_shared<gencache::memory_store>(
        gencache::memory_store_options{.max_entries = 10'000'000, .max_bytes = max_bytes});
    gencache::cache cache(store);
    const std::size_t rss_limit =
        static_cast<std::size_t>(rss_factor * static_cast<double>(max_bytes)) +
        (rss_slack_mib << 20);

    std::latch start(threads + 1);
    std::vector<std::thread> workers;
    workers.reserve(threads);
    for (unsigned t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        std::mt19937_64 rng(1000 + t);
        start.arrive_and_wait();
        for (std::uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
          // Fresh keys most of the time (the store must evict), recent ones otherwise.
          const std::uint64_t base = std::uint64_t{t} << 48;
          const std::uint64_t id = (rng() % 8 == 0 && i > 64) ? base | (i - rng() % 64) : base | i;
          const int user = static_cast<int>(id % 1024);
          const unsigned dice = static_cast<unsigned>(rng() % 100);
          if (dice < 60) {
            const std::size_t size = value_size(rng);
            const auto status =
                cache.set({"bound", {"bound:user", user}}, make_value(id, size), "item", id);
            const bool was_busy = status.code() == gencache::errc::busy;
            (status.ok() ? sets
             : was_busy  ? busy
                         : refused)
                .fetch_add(1, std::memory_order_relaxed);
            if (status.ok()) inserted_bytes.fetch_add(size, std::memory_order_relaxed);
          } else if (dice < 99) {
            reads.fetch_add(1, std::memory_order_relaxed);
            if (const auto v =
                    cache.get<std::string>({"bound", {"bound:user", user}}, "item", id)) {
              hits.fetch_add(1, std::memory_order_relaxed);
              if (!is_value_of(*v, id)) wrong.fetch_add(1, std::memory_order_relaxed);
            }
          } else {
            cache.invalidate({"bound:user", user});
            invalidations.fetch_add(1, std::memory_order_relaxed);
          }
        }
      });
    }

    // The sampler: every 5 ms, the accounted bytes and the resident set. Sampling, not
    // synchronisation: the workers never wait for it.
    start.arrive_and_wait();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    const auto running = [&] {
      return target_sets != 0 ? sets.load(std::memory_order_relaxed) < target_sets
                              : std::chrono::steady_clock::now() < deadline;
    };
    while (running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      const auto s = store->stats();
      ++samples;
      peak_accounted = std::max<std::size_t>(peak_accounted, s.bytes);
      if (s.bytes > max_bytes) ++over_bound;
      const std::size_t rss = resident_bytes();
      const std::size_t growth = rss > rss_before ? rss - rss_before : 0;
      peak_rss_growth = std::max(peak_rss_growth, growth);
      if (!sanitized && growth > rss_limit) ++over_rss;
    }
    stop = true;
    for (auto& w : workers) w.join();
    last = store->stats();
  }  // the store goes away here: LeakSanitizer checks what it leaves at exit

  const bool ok =
      over_bound == 0 && over_rss == 0 && wrong == 0 && sets > 0 && hits > 0 && last.evictions > 0;
  fmt::print(
      "memory_bound_campaign: {}, {} threads, bound {} MiB\n"
      "  operations: {} sets ({:.1f} GiB of values, {:.0f}x the bound), {} refused as too "
      "large, {} refused as busy, {} reads, {} hits, {} invalidations\n"
      "  store: {} evictions, {} entries and {:.1f} MiB accounted at the end\n"
      "  samples: {}, peak accounted {:.1f} MiB ({:.1f}% of the bound), over the bound: {}\n"
      "  resident growth: peak {:.1f} MiB ({:.2f}x the bound){}, over the limit: {}\n"
      "  values lost or wrong: {}\n"
      "  {}\n",
      target_sets != 0 ? fmt::format("{} sets", target_sets) : fmt::format("{:.0f} s", seconds),
      threads, max_bytes >> 20, sets.load(), static_cast<double>(inserted_bytes) / (1 << 30),
      static_cast<double>(inserted_bytes) / static_cast<double>(max_bytes), refused.load(),
      busy.load(), reads.load(), hits.load(), invalidations.load(), last.evictions, last.entries,
      static_cast<double>(last.bytes) / (1 << 20), samples,
      static_cast<double>(peak_accounted) / (1 << 20),
      100.0 * static_cast<double>(peak_accounted) / static_cast<double>(max_bytes), over_bound,
      static_cast<double>(peak_rss_growth) / (1 << 20),
      static_cast<double>(peak_rss_growth) / static_cast<double>(max_bytes),
      sanitized ? " (not checked under a sanitizer)" : "", over_rss, wrong.load(),
      ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
