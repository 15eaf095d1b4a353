#include <atomic>
#include <latch>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <gencache/detail/striped_counter.hpp>
#include <gencache/gencache.hpp>

#include "support/watchdog.hpp"

namespace {

/// What writers store: the generation value their key was built with, and the slot.
struct stamped {
  std::uint64_t generation;
  std::uint32_t slot;
  std::uint32_t writer;
};

}  // namespace

TEST_CASE("cache: concurrent readers never see a value older than a completed invalidation",
          "[cache][concurrency][g1]") {
  // Writers store, under key (g, per:user_id, slot), the value of g their key was built with.
  // An invalidator bumps g and publishes, after invalidate() returned, how many bumps have
  // completed and the value each produced. A reader that starts after k completed bumps must
  // only ever get values stored under a generation at least as new as bump k's (G1), and
  // only values really stored for its own key.
  gencache::cache cache(gencache::memory_store_options{.max_entries = 4096, .shards = 8});
  constexpr int invalidations = 2000;
  constexpr int workers = 3;
  constexpr int operations = 20000;
  constexpr std::uint32_t slots = 64;

  std::vector<std::atomic<std::uint64_t>> value_after(invalidations + 1);
  value_after[0].store(cache.generation_value("g"));
  std::atomic<int> completed{0};
  std::atomic<int> stale_reads{0};
  std::atomic<int> foreign_reads{0};
  std::atomic<int> hits{0};
  std::latch start(workers + 1);

  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    start.arrive_and_wait();
    std::mt19937 rng(1);
    for (int k = 1; k <= invalidations; ++k) {
      value_after[k].store(cache.invalidate("g"), std::memory_order_release);
      completed.store(k, std::memory_order_release);
      if (k % 8 == 0) cache.invalidate({"per:user_id", static_cast<int>(rng() % 4)});
    }
  });
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937 rng(static_cast<unsigned>(100 + w));
      start.arrive_and_wait();
      for (int i = 0; i < operations; ++i) {
        const std::uint32_t slot = rng() % slots;
        const int user = static_cast<int>(slot % 4);
        if (rng() % 2 == 0) {
          const auto floor = value_after[completed.load(std::memory_order_acquire)].load(
              std::memory_order_acquire);
          const auto key = cache.key({"g", {"per:user_id", user}}, slot);
          const auto got = cache.get_at<stamped>(key);
          if (!got) continue;
          hits.fetch_add(1, std::memory_order_relaxed);
          if (got->generation < floor) stale_reads.fetch_add(1);
          if (got->slot != slot || got->generation != key.generations()[0]) {
            foreign_reads.fetch_add(1);
          }
        } else {
          const auto key = cache.key({"g", {"per:user_id", user}}, slot);
          (void)cache.set(key, stamped{key.generations()[0], slot, static_cast<std::uint32_t>(w)});
        }
      }
    });
  }
  for (auto& t : threads) t.join();

  CHECK(stale_reads.load() == 0);
  CHECK(foreign_reads.load() == 0);
  CHECK(hits.load() > 0);  // the check ran on real hits
  CHECK(cache.stats().invalidations >= invalidations);
}

TEST_CASE("memory_store: concurrent sets keep every shard within its bounds",
          "[memory_store][concurrency]") {
  const std::size_t max_bytes = 64 * (gencache::memory_store::entry_overhead + 256);
  gencache::cache cache(
      gencache::memory_store_options{.max_entries = 64, .max_bytes = max_bytes, .shards = 4});
  std::latch start(2);
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937 rng(static_cast<unsigned>(w));
      start.arrive_and_wait();
      for (int i = 0; i < 20000; ++i) {
        const int k = static_cast<int>(rng() % 1000);
        if (rng() % 3 == 0) {
          (void)cache.set({"g"}, std::string(rng() % 200, 'x'), k);
        } else {
          (void)cache.get<std::string>({"g"}, k);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto stats = cache.stats();
  CHECK(stats.entries <= 64);
  CHECK(stats.bytes <= max_bytes);
  CHECK(stats.evictions > 0);
}

namespace {

/// A value a torn read would show: every field derives from `key` and `version`.
struct sealed_value {
  std::uint64_t key;
  std::uint64_t version;
  std::uint64_t key_times_version;
  std::uint64_t check;

  static sealed_value make(std::uint64_t key, std::uint64_t version) {
    return {key, version, key * version, ~(key ^ version)};
  }
  [[nodiscard]] bool intact_for(std::uint64_t k) const {
    return key == k && key_times_version == key * version && check == ~(key ^ version);
  }
};

std::string text_for(std::uint64_t key, std::uint64_t version) {
  std::string text = std::to_string(key) + ":" + std::to_string(version) + ":";
  text.append(40 + version % 200, static_cast<char>('a' + version % 26));
  return text;
}
bool text_intact_for(const std::string& text, std::uint64_t key) {
  const auto first = text.find(':');
  const auto second = text.find(':', first + 1);
  if (first == std::string::npos || second == std::string::npos) return false;
  if (text.substr(0, first) != std::to_string(key)) return false;
  const std::uint64_t version = std::stoull(text.substr(first + 1, second - first - 1));
  return text == text_for(key, version);
}

struct store_key {
  explicit store_key(std::uint64_t n) {
    gencache::encode_key_parts(bytes, std::string_view("stress"), n);
    hash = gencache::hash_bytes({bytes.data(), bytes.size()});
  }
  operator gencache::key_view() const { return {{bytes.data(), bytes.size()}, hash}; }
  gencache::key_bytes bytes;
  std::uint64_t hash = 0;
};

}  // namespace

TEST_CASE(
    "memory_store: lock-free hits racing sets, evictions, erases, clears and bumps read only "
    "whole, live values",
    "[memory_store][concurrency]") {
  // Readers run lock-free against writers that replace, evict, erase and clear the very
  // entries they read: under ASan a read of a freed entry fails the run, and every value
  // read must be whole (no field of another write) and belong to the key it was read under.
  const auto policy = GENERATE(gencache::eviction_policy::s3fifo, gencache::eviction_policy::lru);
  gencache::memory_store store({.max_entries = 256, .shards = 4, .eviction = policy});
  constexpr std::uint64_t keys = 512;  // twice the bound: sets evict all the time
  std::vector<store_key> key;
  for (std::uint64_t k = 0; k < keys; ++k) key.emplace_back(k);

  std::atomic<int> broken{0};
  std::atomic<int> hits{0};
  std::latch start(4);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      std::mt19937_64 rng(static_cast<unsigned>(r));
      start.arrive_and_wait();
      for (int i = 0; i < 40000; ++i) {
        const std::uint64_t k = rng() % keys;
        // A miss stores the value, as a cache does, so that readers hit however the
        // threads are scheduled.
        const std::uint64_t version =
            std::uint64_t{1'000'000} * (r + 1) + static_cast<std::uint64_t>(i);
        if (k % 2 == 0) {
          if (const auto v = store.get<sealed_value>(key[k])) {
            hits.fetch_add(1, std::memory_order_relaxed);
            if (!v->intact_for(k)) broken.fetch_add(1);
          } else {
            (void)store.set(key[k], sealed_value::make(k, version));
          }
        } else if (i % 2 == 0) {
          if (const auto v = store.get<std::string>(key[k])) {
            hits.fetch_add(1, std::memory_order_relaxed);
            if (!text_intact_for(*v, k)) broken.fetch_add(1);
          } else {
            (void)store.set(key[k], text_for(k, version));
          }
        } else {
          store.visit<std::string>(key[k], [&](const std::string& text) {
            hits.fetch_add(1, std::memory_order_relaxed);
            if (!text_intact_for(text, k)) broken.fetch_add(1);
          });
        }
      }
    });
  }
  threads.emplace_back([&] {  // replaces and evicts
    std::mt19937_64 rng(7);
    start.arrive_and_wait();
    for (std::uint64_t version = 1; version <= 30000; ++version) {
      const std::uint64_t k = rng() % keys;
      if (k % 2 == 0) {
        (void)store.set(key[k], sealed_value::make(k, version));
      } else {
        (void)store.set(key[k], text_for(k, version));
      }
    }
  });
  threads.emplace_back([&] {  // erases, clears, bumps
    std::mt19937_64 rng(8);
    start.arrive_and_wait();
    for (int i = 0; i < 20000; ++i) {
      const std::uint64_t k = rng() % keys;
      if (i % 5000 == 4999) {
        store.clear();
      } else if (i % 3 == 0) {
        (void)store.bump_generation(key[k]);
      } else {
        (void)store.erase(key[k]);
      }
    }
  });
  for (auto& t : threads) t.join();

  CHECK(broken.load() == 0);
  CHECK(hits.load() > 0);  // the checks ran on real hits
  const auto stats = store.stats();
  CHECK(stats.entries <= 256);
  CHECK(stats.evictions > 0);
}

TEST_CASE(
    "striped_counter: no increment is lost with more threads than owned stripes, nor "
    "across threads that exit and give their slot to the next",
    "[concurrency][striped_counter]") {
  gencache::detail::striped_counter counter;
  constexpr int per_thread = 20'000;
  const auto counted = test::within(std::chrono::seconds(600), "striped_counter", [&] {
    for (int wave = 0; wave < 4; ++wave) {  // short-lived threads: slots given back and reused
      std::latch start(48);
      std::vector<std::thread> threads;
      for (int t = 0; t < 48; ++t) {  // 3× the owned stripes at once
        threads.emplace_back([&] {
          start.arrive_and_wait();
          for (int i = 0; i < per_thread; ++i) counter.increment();
        });
      }
      for (auto& t : threads) t.join();
    }
    return counter.load();
  });
  CHECK(counted == std::uint64_t{4} * 48 * per_thread);
}
