#include "runner.hpp"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <latch>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

namespace shootout {

namespace {

using clock_type = std::chrono::steady_clock;

std::uint64_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

struct thread_result {
  std::uint64_t ops = 0, reads = 0, writes = 0, invalidations = 0;
  histogram latency;
  std::size_t sink = 0;  // keeps the values read observable
};

// One thread's loop. Stops at `stop` (checked every 256 operations) or after `limit`
// operations. Invalidations are spread evenly in time: `interval` apart in this thread.
void drive(target& t, const std::vector<operation>& stream, std::size_t& position,
           std::uint64_t limit, const std::atomic<bool>& stop, clock_type::duration interval,
           std::uint32_t users, std::uint64_t seed, unsigned sample_every, bool record,
           thread_result& out) {
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<std::uint32_t> pick_user(0, users - 1);
  auto next_invalidation = clock_type::now() + interval;
  const std::size_t size = stream.size();
  for (std::uint64_t i = 0; i < limit; ++i) {
    if ((i & 255) == 0) {
      if (stop.load(std::memory_order_relaxed)) break;
      if (interval.count() > 0) {
        const auto now = clock_type::now();
        while (now >= next_invalidation) {
          // A failed one is counted by the store as an error.
          if (t.invalidate_user(pick_user(random))) ++out.invalidations;
          next_invalidation += interval;
        }
      }
    }
    const operation& o = stream[position];
    position = position + 1 == size ? 0 : position + 1;
    const item it{o.key % users, o.key};
    const bool timed = record && i % sample_every == 0;
    const auto started = timed ? clock_type::now() : clock_type::time_point{};
    if (o.write) {
      t.write(it);
      ++out.writes;
    } else {
      out.sink += t.read(it).size();
      ++out.reads;
    }
    if (timed) {
      out.latency.record(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - started)
              .count()));
    }
    ++out.ops;
  }
}

// Runs `threads` threads over the streams for `duration` (or `total_ops` in all).
std::vector<thread_result> phase(target& t, const options& o, unsigned threads, const streams& ops,
                                 std::vector<std::size_t>& positions,
                                 std::chrono::duration<double> duration,
                                 std::optional<std::uint64_t> total_ops, bool record,
                                 const std::function<void(double)>& progress, double& seconds) {
  std::vector<thread_result> results(threads);
  std::atomic<bool> stop{false};
  std::latch ready(threads + 1);
  const auto interval = o.invalidate_rate > 0
                            ? std::chrono::duration_cast<clock_type::duration>(
                                  std::chrono::duration<double>(threads / o.invalidate_rate))
                            : clock_type::duration::zero();
  const std::uint64_t per_thread =
      total_ops ? (*total_ops + threads - 1) / threads : std::numeric_limits<std::uint64_t>::max();
  std::vector<std::jthread> workers;
  workers.reserve(threads);
  for (unsigned k = 0; k < threads; ++k) {
    workers.emplace_back([&, k] {
      ready.arrive_and_wait();
      drive(t, ops[k], positions[k], per_thread, stop, interval, o.users(),
            o.seed * 7919 + k + (record ? 1000 : 0), o.sample_every, record, results[k]);
    });
  }
  ready.arrive_and_wait();
  const auto started = clock_type::now();
  if (!total_ops) {
    // The timer of the run: the main thread wakes every 100 ms to report progress.
    const auto end = started + std::chrono::duration_cast<clock_type::duration>(duration);
    for (auto now = started; now < end; now = clock_type::now()) {
      if (progress) progress(std::chrono::duration<double>(now - started) / duration);
      std::this_thread::sleep_until(std::min(end, now + std::chrono::milliseconds(100)));
    }
    stop.store(true);
  }
  workers.clear();  // joins
  seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  return results;
}

}  // namespace

streams make_streams(const options& o, unsigned threads) {
  constexpr std::size_t length = std::size_t{1} << 20;
  streams s;
  for (unsigned k = 0; k < threads; ++k) s.push_back(make_stream(o, k, length));
  return s;
}

std::string run_metrics_name(const std::string& target_name, unsigned threads) {
  return fmt::format("{} ×{}", target_name, threads);
}

struct target_metrics::state {
  std::mutex mutex;
  const target* live = nullptr;  // null once frozen
  gencache::store_stats store;
  std::optional<gencache::memoize_stats> memo;
};

gencache::store_stats target_metrics::store_source::stats() const {
  const std::lock_guard lock(s->mutex);
  return s->live != nullptr ? s->live->store_stats() : s->store;
}

gencache::memoize_stats target_metrics::memoize_source::stats() const {
  const std::lock_guard lock(s->mutex);
  return (s->live != nullptr ? s->live->memoize_stats() : s->memo)
      .value_or(gencache::memoize_stats{});
}

target_metrics::target_metrics(gencache::metrics_registry& registry, const target& t,
                               const std::string& name)
    : state_(std::make_unique<state>()) {
  state_->live = &t;
  add(registry, name, t.memoize_stats().has_value());
}

target_metrics::target_metrics(gencache::metrics_registry& registry, const run_result& r)
    : state_(std::make_unique<state>()) {
  state_->store = r.store_stats;
  state_->memo = r.memoize_stats;
  add(registry, r.metrics_name, r.memoize_stats.has_value());
}

void target_metrics::add(gencache::metrics_registry& registry, const std::string& name,
                         bool memoized) {
  store_.s = state_.get();
  memo_.s = state_.get();
  store_registration_ = registry.add(name, store_);
  if (memoized) memo_registration_ = registry.add(name + " memoized", memo_);
}

target_metrics::~target_metrics() = default;

void target_metrics::freeze() {
  const std::lock_guard lock(state_->mutex);  // waits for a collection reading the target
  if (state_->live == nullptr) return;
  state_->store = state_->live->store_stats();
  state_->memo = state_->live->memoize_stats();
  state_->live = nullptr;
}

run_result run(const std::string& store, const options& o, unsigned threads, const streams& ops,
               const progress_fn& progress, const watch_fn& watch) {
  const std::uint64_t heap_before = heap_in_use();
  auto t = make_target(store, o);
  const std::string metrics_name = run_metrics_name(t->metrics_name(), threads);
  // Destroyed before the target (declared after it).
  const std::shared_ptr<void> watching = watch ? watch(*t, metrics_name) : nullptr;
  std::vector<std::size_t> positions(threads, 0);
  const double planned = o.ops ? 0 : (o.warmup + o.duration).count();
  auto report = [&](double offset, double weight) {
    return [&, offset, weight](double done) {
      if (progress) progress(metrics_name, offset + weight * done);
    };
  };
  double seconds = 0;
  const double warm_share = planned > 0 ? o.warmup.count() / planned : 0;
  phase(*t, o, threads, ops, positions, o.warmup,
        o.ops ? std::optional<std::uint64_t>(*o.ops / 4) : std::nullopt, false,
        report(0, warm_share), seconds);
  const target_counts before = t->counts();
  const auto results = phase(*t, o, threads, ops, positions, o.duration, o.ops, true,
                             report(warm_share, 1 - warm_share), seconds);
  const target_counts after = t->counts();

  run_result r;
  r.store = display_name(store);
  r.threads = threads;
  r.seconds = seconds;
  for (const auto& part : results) {
    r.ops += part.ops;
    r.reads += part.reads;
    r.writes += part.writes;
    r.invalidations += part.invalidations;
    r.latency.merge(part.latency);
  }
  r.hits = after.hits - before.hits;
  r.misses = after.misses - before.misses;
  r.errors = after.errors - before.errors;
  r.entries = after.entries;
  r.store_stats = t->store_stats();
  r.memoize_stats = t->memoize_stats();
  r.metrics_name = metrics_name;
  r.accounted_bytes = after.bytes;
  if (t->in_process()) {
    const std::uint64_t heap = heap_in_use();
    r.heap_bytes = heap > heap_before ? heap - heap_before : 0;
  }
  return r;
}

}  // namespace shootout
