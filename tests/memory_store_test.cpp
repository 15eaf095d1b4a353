#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include <catch2/catch.hpp>
#include <gencache/gencache.hpp>

#include "support/test_key.hpp"

using namespace std::chrono_literals;
using gencache::memory_store;
using gencache::memory_store_options;

namespace {

using test::test_key;

memory_store_options exact_lru(std::size_t max_entries) {
  return {.max_entries = max_entries,
          .shards = 1,
          .eviction = gencache::eviction_policy::lru,
          .lru_promotion_window = 0};
}

struct big {
  std::vector<double> samples;
};

}  // namespace

TEST_CASE("memory_store: holds inline, boxed and shared values", "[memory_store]") {
  memory_store store;
  REQUIRE(store.set(test_key("int"), 42).ok());
  REQUIRE(store.set(test_key("string"), std::string(100, 'x')).ok());
  REQUIRE(store.set(test_key("literal"), "abc").ok());  // stored as std::string
  REQUIRE(store.set(test_key("empty"), std::string()).ok());
  CHECK(store.get<int>(test_key("int")) == 42);
  CHECK(store.get<std::string>(test_key("string")) == std::string(100, 'x'));
  CHECK(store.get<std::string>(test_key("literal")) == "abc");
  CHECK(store.get<std::string>(test_key("empty")) == std::string());  // cached, and empty
  CHECK_FALSE(store.get<std::string>(test_key("absent")));
}

namespace {
std::atomic<int> live_values{0};

// A value that counts its live copies, of a given size and alignment, with an owning member.
template <std::size_t Size, std::size_t Align>
struct alignas(Align) counted_value {
  explicit counted_value(int n) : text(std::to_string(n) + std::string(40, 'v')), number(n) {
    ++live_values;
  }
  counted_value(const counted_value& o) : text(o.text), number(o.number) { ++live_values; }
  counted_value& operator=(const counted_value&) = delete;
  ~counted_value() { --live_values; }
  std::string text;
  int number;
  char padding[Size]{};
};

template <class T>
void round_trip_after_keys_of_every_length(memory_store& store) {
  for (int length = 0; length < 40; ++length) {
    const auto key = test_key(std::string(static_cast<std::size_t>(length), 'k') + "/" +
                              std::to_string(alignof(T)) + "/" + std::to_string(sizeof(T)));
    REQUIRE(store.set(key, T(length)).ok());
    const bool visited = store.visit<T>(key, [&](const T& held) {
      CHECK(reinterpret_cast<std::uintptr_t>(&held) % alignof(T) == 0);
      CHECK(held.number == length);
      CHECK(held.text == std::to_string(length) + std::string(40, 'v'));
    });
    CHECK(visited);
  }
}
}  // namespace

TEST_CASE(
    "memory_store: values of every size and alignment live after keys of every length, "
    "and each is destroyed once",
    "[memory_store][value]") {
  const auto policy = GENERATE(gencache::eviction_policy::s3fifo, gencache::eviction_policy::lru);
  {
    memory_store store({.eviction = policy});
    round_trip_after_keys_of_every_length<counted_value<1, 8>>(store);
    round_trip_after_keys_of_every_length<counted_value<3, 16>>(store);
    round_trip_after_keys_of_every_length<counted_value<500, 8>>(store);
    round_trip_after_keys_of_every_length<counted_value<7, 64>>(store);  // over-aligned: boxed
    round_trip_after_keys_of_every_length<counted_value<100, 128>>(store);
    CHECK(live_values.load() == 5 * 40);
    // Replaced, erased and cleared values are destroyed once their grace period is over.
    const auto replaced = test_key("/8/" + std::to_string(sizeof(counted_value<1, 8>)));
    REQUIRE(store.peek<counted_value<1, 8>>(replaced));
    REQUIRE(store.set(replaced, counted_value<1, 8>(1)).ok());
    CHECK(store.get<counted_value<1, 8>>(replaced)->number == 1);
    CHECK(store.erase(replaced));
    store.clear();
    CHECK(store.flush());
    CHECK(live_values.load() == 0);
    round_trip_after_keys_of_every_length<counted_value<3, 16>>(store);
  }
  CHECK(live_values.load() == 0);  // the store's destructor destroys what it held
}

namespace {
// A value whose copy throws once armed: a set of it must store nothing and leak nothing.
template <std::size_t Align>
struct alignas(Align) throwing_copy {
  explicit throwing_copy(bool arm) : armed(arm) { ++live_values; }
  throwing_copy(const throwing_copy& o) : armed(o.armed) {
    if (armed) throw std::runtime_error("copy refused");
    ++live_values;
  }
  throwing_copy& operator=(const throwing_copy&) = delete;
  ~throwing_copy() { --live_values; }
  bool armed;
  std::string text = std::string(64, 't');
};
}  // namespace

TEST_CASE("memory_store: a value whose copy throws is not stored, in place or boxed",
          "[memory_store][value]") {
  memory_store store;
  {
    const throwing_copy<8> in_place(true);
    const throwing_copy<64> boxed(true);
    CHECK_THROWS_AS(store.set(test_key("in place"), in_place), std::runtime_error);
    CHECK_THROWS_AS(store.set(test_key("boxed"), boxed), std::runtime_error);
    CHECK(live_values.load() == 2);  // the two originals only
  }
  CHECK_FALSE(store.peek<throwing_copy<8>>(test_key("in place")));
  CHECK_FALSE(store.peek<throwing_copy<64>>(test_key("boxed")));
  CHECK(store.stats().entries == 0);
  CHECK(live_values.load() == 0);
}

TEST_CASE("memory_store: shared_ptr<const T> values are shared, never deep-copied",
          "[memory_store][value]") {
  memory_store store;
  auto heavy = std::make_shared<const big>(big{std::vector<double>(1000, 1.5)});
  REQUIRE(store.set(test_key("heavy"), heavy).ok());
  const auto hit = store.get<std::shared_ptr<const big>>(test_key("heavy"));
  REQUIRE(hit);
  CHECK(hit->get() == heavy.get());                    // the same object
  CHECK(store.stats().bytes > 1000 * sizeof(double));  // weighed by what it holds
}

TEST_CASE("memory_store: a value of another type is a miss and an error", "[memory_store][value]") {
  memory_store store;
  REQUIRE(store.set(test_key("k"), std::uint64_t{7}).ok());
  CHECK_FALSE(store.get<std::int64_t>(test_key("k")));
  CHECK_FALSE(store.get<std::string>(test_key("k")));
  CHECK(store.get<std::uint64_t>(test_key("k")) == 7u);
  const auto stats = store.stats();
  CHECK(stats.errors == 2);
  CHECK(stats.misses == 2);
  CHECK(stats.hits == 1);
}

TEST_CASE("memory_store: evicts the least recently used entry when full",
          "[memory_store][eviction]") {
  memory_store store(exact_lru(3));
  for (const char* k : {"a", "b", "c"}) REQUIRE(store.set(test_key(k), 1).ok());
  CHECK(store.get<int>(test_key("a")));  // a is now the most recent; b the least
  REQUIRE(store.set(test_key("d"), 1).ok());
  CHECK_FALSE(store.peek<int>(test_key("b")));
  CHECK(store.peek<int>(test_key("a")));
  CHECK(store.peek<int>(test_key("c")));
  CHECK(store.peek<int>(test_key("d")));
  CHECK(store.stats().evictions == 1);
  CHECK(store.stats().entries == 3);
}

TEST_CASE("memory_store: peek neither refreshes recency nor counts", "[memory_store][eviction]") {
  memory_store store(exact_lru(2));
  REQUIRE(store.set(test_key("a"), 1).ok());
  REQUIRE(store.set(test_key("b"), 2).ok());
  CHECK(store.peek<int>(test_key("a")) == 1);
  REQUIRE(store.set(test_key("c"), 3).ok());
  CHECK_FALSE(store.peek<int>(test_key("a")));  // a stayed least recent
  CHECK(store.stats().hits == 0);
  CHECK(store.stats().misses == 0);
}

TEST_CASE("memory_store: delayed promotion moves a hit entry only once per window",
          "[memory_store][eviction]") {
  // Window 5: `a`, inserted 4 inserts ago, is not moved by a hit yet, so it still ages out;
  // exact LRU moves it and evicts `b` instead.
  memory_store delayed({.max_entries = 4,
                        .shards = 1,
                        .eviction = gencache::eviction_policy::lru,
                        .lru_promotion_window = 5});
  memory_store exact(exact_lru(4));
  for (memory_store* store : {&delayed, &exact}) {
    for (const char* k : {"a", "b", "c", "d"}) REQUIRE(store->set(test_key(k), 1).ok());
    CHECK(store->get<int>(test_key("a")));
    REQUIRE(store->set(test_key("e"), 1).ok());
  }
  CHECK_FALSE(delayed.peek<int>(test_key("a")));
  CHECK(delayed.peek<int>(test_key("b")));
  CHECK(exact.peek<int>(test_key("a")));
  CHECK_FALSE(exact.peek<int>(test_key("b")));
}

TEST_CASE("memory_store: the byte bound holds and counts keys, values and overhead",
          "[memory_store][eviction]") {
  const std::size_t bound = 8 * (memory_store::entry_overhead + 200);
  memory_store store({.max_entries = 1000, .max_bytes = bound, .shards = 1});
  for (int i = 0; i < 100; ++i) {
    REQUIRE(
        store.set(test_key(std::to_string(i)), std::string(static_cast<std::size_t>(i), 'v')).ok());
    REQUIRE(store.stats().bytes <= bound);
  }
  const auto stats = store.stats();
  CHECK(stats.evictions > 0);
  CHECK(stats.entries + stats.evictions == 100);
  CHECK(stats.bytes > stats.entries * memory_store::entry_overhead);
}

TEST_CASE("memory_store: an entry larger than a shard's share is rejected, not stored",
          "[memory_store][errors]") {
  const std::size_t bound = 2 * (memory_store::entry_overhead + 100);
  memory_store store({.max_entries = 10, .max_bytes = bound, .shards = 2});
  REQUIRE(store.set(test_key("small"), 1).ok());
  const auto result = store.set(test_key("huge"), std::string(bound, 'x'));
  CHECK(result.code() == gencache::errc::too_large);
  CHECK_THAT(result.message(), Catch::Contains("exceeds"));
  CHECK_FALSE(store.get<std::string>(test_key("huge")));
  CHECK(store.get<int>(test_key("small")) == 1);  // nothing evicted for it
  CHECK(store.stats().errors == 1);
}

TEST_CASE("memory_store: entries expire after their ttl on the injected clock",
          "[memory_store][ttl]") {
  auto time = std::make_shared<gencache::fake_clock>();
  memory_store store({.clock = time});
  REQUIRE(store.set(test_key("short"), 1, 10s).ok());
  REQUIRE(store.set(test_key("forever"), 2).ok());
  REQUIRE(store.set(test_key("huge ttl"), 3, std::chrono::nanoseconds::max()).ok());
  time->advance(9s);
  CHECK(store.get<int>(test_key("short")) == 1);
  time->advance(1s);
  CHECK_FALSE(store.get<int>(test_key("short")));
  CHECK_FALSE(store.peek<int>(test_key("short")));
  time->advance(std::chrono::hours(24 * 365));
  CHECK(store.get<int>(test_key("forever")) == 2);
  CHECK(store.get<int>(test_key("huge ttl")) == 3);
  const auto stats = store.stats();
  CHECK(stats.expirations == 1);
  CHECK(stats.entries == 2);
}

namespace {
struct alignas(16) wide {
  std::int64_t low, high;
};
struct alignas(64) over_aligned {
  std::int64_t v;
};
/// Trivially copyable, but weighed by its own rule: its entry stores the weight.
struct declared_weight {
  std::uint32_t bytes;
};
}  // namespace

template <>
struct gencache::value_weight<declared_weight> {
  static std::size_t of(const declared_weight& v) { return v.bytes; }
};

TEST_CASE("memory_store: an entry keeps its expiry and weight after its value, in every layout",
          "[memory_store][ttl][eviction]") {
  static_assert(gencache::detail::fixed_weight<int> == sizeof(int));
  static_assert(gencache::detail::fixed_weight<declared_weight> == 0);
  static_assert(gencache::detail::fixed_weight<std::string> == 0);
  // Values whose type fixes their weight (no bytes stored for it) and values that store it,
  // in place or boxed (over-aligned), with and without a ttl, after keys of every length
  // mod 16: each entry's expiry and weight are read back from where its layout puts them.
  auto time = std::make_shared<gencache::fake_clock>();
  memory_store store(
      {.max_entries = 10'000, .max_bytes = std::size_t{64} << 20, .shards = 1, .clock = time});
  std::size_t expected_bytes = 0;
  std::vector<std::string> expiring, lasting;
  const auto put = [&](const std::string& name, const auto& value, bool ttl) {
    const test_key key(name);
    expected_bytes +=
        key.bytes.size() + gencache::detail::weigh(value) + memory_store::entry_overhead;
    REQUIRE(store.set(key, value, ttl ? std::optional<std::chrono::nanoseconds>(10s) : std::nullopt)
                .ok());
    (ttl ? expiring : lasting).push_back(name);
  };
  for (int length = 0; length < 16; ++length) {
    for (const bool ttl : {false, true}) {
      const std::string stem =
          std::string(static_cast<std::size_t>(length), 'k') + (ttl ? "t" : "n");
      put(stem + "char", static_cast<char>(length), ttl);
      put(stem + "int", length, ttl);
      put(stem + "wide", wide{length, -length}, ttl);
      put(stem + "over", over_aligned{length}, ttl);
      put(stem + "declared", declared_weight{static_cast<std::uint32_t>(length) * 1000 + 3}, ttl);
      put(stem + "string", std::string(static_cast<std::size_t>(length) * 3, 's'), ttl);
      put(stem + "shared",
          std::make_shared<const std::vector<int>>(static_cast<std::size_t>(length), 7), ttl);
    }
  }
  CHECK(store.stats().bytes == expected_bytes);
  const auto check_values = [&](const std::string& name, int length) {
    CHECK(store.get<char>(test_key(name + "char")) == static_cast<char>(length));
    CHECK(store.get<int>(test_key(name + "int")) == length);
    CHECK(store.get<wide>(test_key(name + "wide"))->high == -length);
    CHECK(store.get<over_aligned>(test_key(name + "over"))->v == length);
    CHECK(store.get<declared_weight>(test_key(name + "declared"))->bytes ==
          static_cast<std::uint32_t>(length) * 1000 + 3);
    CHECK(store.get<std::string>(test_key(name + "string"))->size() ==
          static_cast<std::size_t>(length) * 3);
    CHECK(
        (*store.get<std::shared_ptr<const std::vector<int>>>(test_key(name + "shared")))->size() ==
        static_cast<std::size_t>(length));
  };
  time->advance(9s);
  for (int length = 0; length < 16; ++length) {
    check_values(std::string(static_cast<std::size_t>(length), 'k') + "t", length);
    check_values(std::string(static_cast<std::size_t>(length), 'k') + "n", length);
  }
  time->advance(1s);
  for (const std::string& name : expiring) CHECK_FALSE(store.peek<char>(test_key(name)));
  for (int length = 0; length < 16; ++length) {
    CHECK_FALSE(
        store.get<int>(test_key(std::string(static_cast<std::size_t>(length), 'k') + "tint")));
    check_values(std::string(static_cast<std::size_t>(length), 'k') + "n", length);
  }
  for (const std::string& name : lasting) CHECK(store.erase(test_key(name)));
  CHECK(store.stats().expirations == 16);  // the expired ints, reclaimed by their get
  for (const std::string& name : expiring) {
    CHECK(store.erase(test_key(name)) == !name.ends_with("tint"));  // peek reclaims nothing
  }
  // Every entry's weight came off the bound again, as each layout stored it.
  CHECK(store.stats().bytes == 0);
}

TEST_CASE("memory_store: expired entries reclaimed by eviction count as expirations",
          "[memory_store][ttl]") {
  auto time = std::make_shared<gencache::fake_clock>();
  memory_store store({.max_entries = 2, .shards = 1, .clock = time});
  REQUIRE(store.set(test_key("a"), 1, 1s).ok());
  REQUIRE(store.set(test_key("b"), 1).ok());
  time->advance(2s);
  REQUIRE(store.set(test_key("c"), 1).ok());
  CHECK(store.stats().expirations == 1);
  CHECK(store.stats().evictions == 0);
}

TEST_CASE("memory_store: bad options and ttls are rejected with the bad value",
          "[memory_store][errors]") {
  CHECK_THROWS_WITH(memory_store({.shards = 3}), Catch::Contains("got 3"));
  CHECK_THROWS_WITH(memory_store({.max_entries = 2, .shards = 4}),
                    Catch::Contains("max_entries (2)"));
  CHECK_THROWS_WITH(memory_store({.max_bytes = 100, .shards = 1}),
                    Catch::Contains("max_bytes (100)"));
  CHECK_THROWS_AS(memory_store({.max_generations = 0}), std::invalid_argument);
  CHECK_THROWS_WITH(memory_store({.max_entries = 0}), Catch::Contains("max_entries (0)"));
  CHECK_THROWS_WITH(memory_store({.max_bytes = 0}), Catch::Contains("max_bytes (0)"));
  memory_store store;
  CHECK_THROWS_WITH(store.set(test_key("k"), 1, 0s), Catch::Contains("ttl must be positive"));
  CHECK_THROWS_AS(store.set(test_key("k"), 1, -5ms), std::invalid_argument);
  CHECK_FALSE(store.peek<int>(test_key("k")));
}

TEST_CASE("memory_store: the default shard count leaves every shard a useful share",
          "[memory_store]") {
  const memory_store large;
  CHECK(std::has_single_bit(large.shard_count()));
  CHECK(large.shard_count() >= 32);  // many more than threads: a hot set contends less
  CHECK(memory_store({.max_entries = std::size_t{64} * 4}).shard_count() <= 4);
  CHECK(memory_store({.max_bytes = std::size_t{2} << 20}).shard_count() <= 2);
  CHECK(memory_store({.max_generations = 2}).shard_count() <= 2);
  CHECK(memory_store({.max_entries = 1}).shard_count() == 1);
}

TEST_CASE("memory_store: erase and clear remove entries", "[memory_store]") {
  memory_store store;
  REQUIRE(store.set(test_key("a"), 1).ok());
  REQUIRE(store.set(test_key("b"), 2).ok());
  CHECK(store.erase(test_key("a")));
  CHECK_FALSE(store.erase(test_key("a")));
  CHECK_FALSE(store.get<int>(test_key("a")));
  store.clear();
  CHECK_FALSE(store.get<int>(test_key("b")));
  CHECK(store.stats().entries == 0);
  CHECK(store.stats().bytes == 0);
}

TEST_CASE("memory_store: matches a reference LRU on random operations",
          "[memory_store][differential]") {
  // Reference: std::list in recency order + std::unordered_map, bounded by the same entry
  // count and byte bound, with the store's documented weights.
  const std::size_t max_entries = 8;
  const std::size_t max_bytes = 6 * (memory_store::entry_overhead + 64);
  memory_store store({.max_entries = max_entries,
                      .max_bytes = max_bytes,
                      .shards = 1,
                      .eviction = gencache::eviction_policy::lru,
                      .lru_promotion_window = 0});
  struct ref_entry {
    std::string key;
    std::string value;
    std::size_t weight;
  };
  std::list<ref_entry> order;  // front = most recent
  std::unordered_map<std::string, std::list<ref_entry>::iterator> index;
  std::size_t ref_bytes = 0;

  std::mt19937 rng(7);
  for (int step = 0; step < 20000; ++step) {
    const std::string name = fmt::format("k{}", rng() % 16);
    const test_key key(name);
    const auto op = rng() % 10;
    if (op < 5) {
      const auto got = store.get<std::string>(key);
      const auto it = index.find(name);
      REQUIRE(got.has_value() == (it != index.end()));
      if (got) {
        REQUIRE(*got == it->second->value);
        order.splice(order.begin(), order, it->second);
      }
    } else if (op < 9) {
      std::string value(rng() % 120, static_cast<char>('a' + step % 26));
      const std::size_t weight =
          key.bytes.size() + gencache::detail::weigh(value) + memory_store::entry_overhead;
      REQUIRE(store.set(key, value).ok());
      if (const auto it = index.find(name); it != index.end()) {
        ref_bytes -= it->second->weight;
        order.erase(it->second);
        index.erase(it);
      }
      order.push_front({name, value, weight});
      index[name] = order.begin();
      ref_bytes += weight;
      while (index.size() > max_entries || ref_bytes > max_bytes) {
        ref_bytes -= order.back().weight;
        index.erase(order.back().key);
        order.pop_back();
      }
    } else {
      const bool erased = store.erase(key);
      const auto it = index.find(name);
      REQUIRE(erased == (it != index.end()));
      if (erased) {
        ref_bytes -= it->second->weight;
        order.erase(it->second);
        index.erase(it);
      }
    }
    const auto stats = store.stats();
    REQUIRE(stats.entries == index.size());
    REQUIRE(stats.bytes == ref_bytes);
  }
}

namespace {

/// S3-FIFO written as plainly as the paper says it, for the differential test: two deques
/// of keys (front = newest), a ghost list of keys (front = oldest), a map of frequencies.
class reference_s3fifo {
 public:
  struct item {
    std::string value;
    std::size_t weight;
    int frequency = 0;
    bool in_small = true;
  };
  reference_s3fifo(std::size_t max_entries, std::size_t max_bytes)
      : max_entries_(max_entries), max_bytes_(max_bytes) {}

  std::optional<std::string> get(const std::string& key) {
    const auto it = items_.find(key);
    if (it == items_.end()) return std::nullopt;
    it->second.frequency = std::min(it->second.frequency + 1, 3);
    return it->second.value;
  }
  bool erase(const std::string& key) {
    const auto it = items_.find(key);
    if (it == items_.end()) return false;
    unlink(key, it->second);
    items_.erase(it);
    return true;
  }
  void set(const std::string& key, std::string value, std::size_t weight) {
    erase(key);
    item& i = items_[key] = item{std::move(value), weight};
    bytes_ += weight;
    if (const auto g = std::find(ghost_.begin(), ghost_.end(), key); g != ghost_.end()) {
      ghost_.erase(g);
      i.in_small = false;
      main_.push_front(key);
    } else {
      small_.push_front(key);
      small_bytes_ += weight;
    }
    while (items_.size() > max_entries_ || bytes_ > max_bytes_) evict(key);
  }
  [[nodiscard]] std::size_t size() const { return items_.size(); }
  [[nodiscard]] std::size_t bytes() const { return bytes_; }
  [[nodiscard]] bool contains(const std::string& key) const { return items_.count(key) != 0; }

 private:
  void unlink(const std::string& key, const item& i) {
    auto& queue = i.in_small ? small_ : main_;
    queue.erase(std::find(queue.begin(), queue.end(), key));
    if (i.in_small) small_bytes_ -= i.weight;
    bytes_ -= i.weight;
  }
  void evict(const std::string& inserted) {
    for (;;) {
      const bool only_inserted = small_.size() == 1 && small_.back() == inserted;
      if (!small_.empty() &&
          (main_.empty() || (!only_inserted && (small_.size() * 10 >= max_entries_ ||
                                                small_bytes_ * 10 >= max_bytes_)))) {
        const std::string key = small_.back();
        item& i = items_.at(key);
        small_.pop_back();
        small_bytes_ -= i.weight;
        if (i.frequency >= 1) {
          i.frequency = 0;
          i.in_small = false;
          main_.push_front(key);
          continue;
        }
        ghost_.erase(std::remove(ghost_.begin(), ghost_.end(), key), ghost_.end());
        ghost_.push_back(key);
        while (ghost_.size() > items_.size()) ghost_.pop_front();  // as many as resident
        bytes_ -= i.weight;
        items_.erase(key);
        return;
      }
      const std::string key = main_.back();
      item& i = items_.at(key);
      main_.pop_back();
      if (i.frequency > 0) {
        --i.frequency;
        main_.push_front(key);
        continue;
      }
      bytes_ -= i.weight;
      items_.erase(key);
      return;
    }
  }

  std::size_t max_entries_, max_bytes_;
  std::map<std::string, item> items_;
  std::deque<std::string> small_, main_, ghost_;
  std::size_t bytes_ = 0, small_bytes_ = 0;
};

}  // namespace

TEST_CASE("memory_store: S3-FIFO matches a plain reference model on random operations",
          "[memory_store][differential][s3fifo]") {
  const std::size_t max_entries = 20;
  const std::size_t max_bytes = 14 * (memory_store::entry_overhead + 64);
  memory_store store({.max_entries = max_entries, .max_bytes = max_bytes, .shards = 1});
  reference_s3fifo model(max_entries, max_bytes);
  std::mt19937 rng(11);
  for (int step = 0; step < 30000; ++step) {
    // Skewed keys, so that some are used again and reach the main queue.
    const std::string name = fmt::format("k{}", std::min(rng() % 64, rng() % 64));
    const test_key key(name);
    const auto op = rng() % 10;
    INFO("step " << step << ", key " << name << ", op " << op);
    if (op < 5) {
      const auto got = store.get<std::string>(key);
      REQUIRE(got == model.get(name));
    } else if (op < 9) {
      std::string value(rng() % 120, static_cast<char>('a' + step % 26));
      const std::size_t weight =
          key.bytes.size() + gencache::detail::weigh(value) + memory_store::entry_overhead;
      REQUIRE(store.set(key, value).ok());
      model.set(name, value, weight);
    } else {
      REQUIRE(store.erase(key) == model.erase(name));
    }
    const auto stats = store.stats();
    REQUIRE(stats.entries == model.size());
    REQUIRE(stats.bytes == model.bytes());
    if (step % 97 == 0) {
      for (int k = 0; k < 64; ++k) {
        const std::string other = fmt::format("k{}", k);
        REQUIRE(store.peek<std::string>(test_key(other)).has_value() == model.contains(other));
      }
    }
  }
}

TEST_CASE("memory_store: with S3-FIFO, entries used again survive a scan of new keys",
          "[memory_store][eviction][s3fifo]") {
  memory_store s3fifo({.max_entries = 100, .shards = 1});
  memory_store lru(exact_lru(100));
  for (memory_store* store : {&s3fifo, &lru}) {
    for (int i = 0; i < 50; ++i) {
      REQUIRE(store->set(test_key(fmt::format("hot{}", i)), i).ok());
      CHECK(store->get<int>(test_key(fmt::format("hot{}", i))) == i);  // used again
    }
    for (int i = 0; i < 1000; ++i) REQUIRE(store->set(test_key(fmt::format("scan{}", i)), i).ok());
  }
  int s3fifo_kept = 0, lru_kept = 0;
  for (int i = 0; i < 50; ++i) {
    s3fifo_kept += s3fifo.peek<int>(test_key(fmt::format("hot{}", i))).has_value();
    lru_kept += lru.peek<int>(test_key(fmt::format("hot{}", i))).has_value();
  }
  CHECK(s3fifo_kept == 50);
  CHECK(lru_kept == 0);
}

TEST_CASE("memory_store: the S3-FIFO ghost holds a bounded number of hashes",
          "[memory_store][s3fifo]") {
  gencache::detail::ghost_fifo ghost;
  for (std::uint64_t h = 0; h < 100'000; ++h) {
    ghost.push(h, 100);
    if (h % 3 == 0) (void)ghost.take(h - h % 7);  // some taken, some pushed again
    if (h % 5 == 0) ghost.push(h / 2, 100);
    REQUIRE(ghost.size() <= 100);
    REQUIRE(ghost.held() <= 2 * 100 + 17);
  }
  CHECK(ghost.take(99'999));        // the newest is remembered
  CHECK_FALSE(ghost.take(1'000));   // the oldest are forgotten
  CHECK_FALSE(ghost.take(99'999));  // taken once
}

TEST_CASE("memory_store: with S3-FIFO, a key evicted once comes back into the main queue",
          "[memory_store][eviction][s3fifo]") {
  memory_store store({.max_entries = 10, .shards = 1});
  REQUIRE(store.set(test_key("again"), 1).ok());
  for (int i = 0; i < 10; ++i) REQUIRE(store.set(test_key(fmt::format("x{}", i)), i).ok());
  REQUIRE_FALSE(store.peek<int>(test_key("again")));  // evicted unused, remembered by the ghost
  REQUIRE(store.set(test_key("again"), 2).ok());      // straight to the main queue
  for (int i = 10; i < 30; ++i) REQUIRE(store.set(test_key(fmt::format("x{}", i)), i).ok());
  CHECK(store.peek<int>(test_key("again")) == 2);  // one-time keys went first
}

TEST_CASE("memory_store: values are weighed by what they own, optionals, variants and nodes too",
          "[memory_store][bytes]") {
  using gencache::detail::weigh;
  const std::string big(1 << 20, 'x');
  CHECK(weigh(std::optional<std::string>(big)) >= big.size());
  CHECK(weigh(std::optional<std::string>()) == sizeof(std::optional<std::string>));
  CHECK(weigh(std::variant<int, std::string>(big)) >= big.size());
  std::map<int, int> nodes;
  std::list<int> links;
  for (int i = 0; i < 1000; ++i) {
    nodes.emplace(i, i);
    links.push_back(i);
  }
  CHECK(weigh(nodes) >= 1000 * (sizeof(std::pair<const int, int>) + 32));
  CHECK(weigh(links) >= 1000 * (sizeof(int) + 16));
  CHECK(weigh(std::vector<bool>(1000)) < 2000);  // no node overhead per element
  const std::filesystem::path path("/var/lib/gencache/some/file");
  CHECK(weigh(path) >= path.native().size());

  // 50 optional strings of 1 MiB against a 1 MiB bound: never held at once.
  gencache::memory_store store(
      gencache::memory_store_options{.max_bytes = std::size_t{4} << 20, .shards = 1});
  for (int i = 0; i < 50; ++i) {
    (void)store.set(test_key("optional " + std::to_string(i)), std::optional<std::string>(big));
    CHECK(store.stats().bytes <= std::size_t{4} << 20);
  }
  CHECK(store.stats().entries <= 4);
}

TEST_CASE("memory_store: a std::filesystem::path value is stored and read back", "[memory_store]") {
  gencache::memory_store store;
  const std::filesystem::path path("/var/lib/gencache");
  REQUIRE(store.set(test_key("path"), path).ok());
  CHECK(store.get<std::filesystem::path>(test_key("path")) == path);
}

namespace {
/// A clock that reads the store it times, as a clock that reports metrics might: it must
/// never be called while the store holds a lock (that would deadlock).
class store_reading_clock final : public gencache::clock {
 public:
  [[nodiscard]] std::chrono::nanoseconds now() const noexcept override {
    if (const auto* store = store_.load()) (void)store->stats();
    calls_.fetch_add(1);
    return time_;
  }
  std::atomic<const memory_store*> store_{nullptr};
  std::chrono::nanoseconds time_{1'000'000'000};
  mutable std::atomic<int> calls_{0};
};
}  // namespace

TEST_CASE("memory_store: the injected clock is never read under a store lock",
          "[memory_store][ttl]") {
  auto time = std::make_shared<store_reading_clock>();
  memory_store store(memory_store_options{.max_entries = 2,
                                          .shards = 1,
                                          .eviction = gencache::eviction_policy::lru,
                                          .lru_promotion_window = 0,
                                          .clock = time});
  time->store_ = &store;
  REQUIRE(store.set(test_key("a"), 1, std::chrono::seconds(5)).ok());
  CHECK(store.get<int>(test_key("a")) == 1);
  CHECK(store.peek<int>(test_key("a")) == 1);
  REQUIRE(store.set(test_key("b"), 2).ok());
  REQUIRE(store.set(test_key("c"), 3).ok());  // evicts "a", which has a ttl
  CHECK_FALSE(store.get<int>(test_key("a")));
  CHECK(time->calls_ > 0);
}

TEST_CASE("memory_store: two keys whose 64-bit hashes collide stay apart", "[memory_store]") {
  memory_store store;
  test_key a("a"), b("b");
  b.hash = a.hash;  // forced collision: same shard, same hash, other bytes
  REQUIRE(store.set(a, 1).ok());
  REQUIRE(store.set(b, 2).ok());
  CHECK(store.get<int>(a) == 1);
  CHECK(store.get<int>(b) == 2);
  CHECK(store.erase(a));
  CHECK_FALSE(store.get<int>(a));
  CHECK(store.get<int>(b) == 2);
}

TEST_CASE("memory_store: get_hit serves only a live hit of the type asked, and counts only it",
          "[memory_store][hit_path]") {
  auto time = std::make_shared<gencache::fake_clock>();
  memory_store store({.clock = time});
  const test_key key("k");
  const test_key expiring("e");
  REQUIRE(store.set(key, 7).ok());
  REQUIRE(store.set(expiring, 8, 10s).ok());
  const auto same = [&](const test_key& k) {
    return [&k](std::string_view bytes) {
      return bytes == std::string_view(k.bytes.data(), k.bytes.size());
    };
  };
  CHECK(store.get_hit<int>(key.hash, same(key)) == 7);
  CHECK(store.stats().hits == 1);
  CHECK_FALSE(store.get_hit<int>(key.hash, [](std::string_view) { return false; }));
  CHECK_FALSE(store.get_hit<long>(key.hash, same(key)));     // another type
  CHECK_FALSE(store.get_hit<int>(key.hash ^ 1, same(key)));  // another hash
  CHECK_FALSE(store.get_hit<int>(test_key("absent").hash, same(key)));
  time->advance(10s);
  CHECK_FALSE(store.get_hit<int>(expiring.hash, same(expiring)));  // expired
  const auto stats = store.stats();
  CHECK(stats.hits == 1);  // none of the others counted: the caller's ordinary path counts
  CHECK(stats.misses == 0);
  CHECK(stats.errors == 0);
  CHECK(stats.expirations == 0);
  CHECK_FALSE(store.get<int>(expiring));  // the ordinary path reclaims and counts it
  CHECK(store.stats().expirations == 1);
}

TEST_CASE("memory_store: remembered_generation answers until the counter's stripe moves",
          "[memory_store][hit_path]") {
  memory_store store;
  const test_key id("g:user_id=1");
  const std::string_view bytes(id.bytes.data(), id.bytes.size());
  const auto same = [&](std::string_view b) { return b == bytes; };
  CHECK_FALSE(store.remembered_generation(id.hash, bytes.size(), same));  // never read
  const std::uint64_t first = store.read_generation(id);
  CHECK(store.remembered_generation(id.hash, bytes.size(), same) == first);
  CHECK_FALSE(
      store.remembered_generation(id.hash, bytes.size(), [](std::string_view) { return false; }));
  CHECK_FALSE(store.remembered_generation(id.hash, bytes.size() + 1, same));
  const std::uint64_t bumped = store.bump_generation(id);
  CHECK_FALSE(store.remembered_generation(id.hash, bytes.size(), same));  // G1
  CHECK(store.read_generation(id) == bumped);
  CHECK(store.remembered_generation(id.hash, bytes.size(), same) == bumped);
  memory_store other;  // another store never answers with this one's counters
  CHECK_FALSE(other.remembered_generation(id.hash, bytes.size(), same));
}

TEST_CASE("memory_store: existing_generation finds a counter by its fields without creating one",
          "[memory_store][hit_path]") {
  memory_store store;
  const test_key id("g:user_id=2");
  const std::string_view bytes(id.bytes.data(), id.bytes.size());
  const auto same = [&](std::string_view b) { return b == bytes; };
  CHECK_FALSE(store.existing_generation(id.hash, bytes.size(), same));  // absent: not created
  CHECK_FALSE(store.existing_generation(id.hash, bytes.size(), same));
  std::uint64_t first = 0;
  std::thread([&] { first = store.read_generation(id); }).join();  // another thread creates it
  CHECK_FALSE(store.remembered_generation(id.hash, bytes.size(), same));     // not this thread's
  CHECK(store.existing_generation(id.hash, bytes.size(), same) == first);    // from the table
  CHECK(store.remembered_generation(id.hash, bytes.size(), same) == first);  // now remembered
  CHECK(store.read_generation(id) == first);
  CHECK_FALSE(
      store.existing_generation(id.hash, bytes.size(), [](std::string_view) { return false; }));
  CHECK_FALSE(store.existing_generation(id.hash, bytes.size() + 1, same));
  std::uint64_t bumped = 0;
  std::thread([&] { bumped = store.bump_generation(id); }).join();
  CHECK(bumped > first);
  CHECK(store.existing_generation(id.hash, bytes.size(), same) == bumped);  // G1
  memory_store other;
  CHECK_FALSE(other.existing_generation(id.hash, bytes.size(), same));
  CHECK(store.stats().errors == 0);
}

TEST_CASE("memory_store: existing_generation forgets a counter evicted after it was remembered",
          "[memory_store][hit_path][g1]") {
  memory_store store(memory_store_options{.max_generations = 1});  // one counter at a time
  const test_key id("g:user_id=3");
  const test_key other("g:user_id=4");
  const std::string_view bytes(id.bytes.data(), id.bytes.size());
  const auto same = [&](std::string_view b) { return b == bytes; };
  std::uint64_t first = 0;
  std::thread([&] { first = store.read_generation(id); }).join();
  REQUIRE(store.existing_generation(id.hash, bytes.size(), same) == first);  // remembered
  std::thread([&] { (void)store.read_generation(other); }).join();  // evicts `id`'s counter
  // Neither the remembered value nor a node: the counter is gone, and nothing recreates it.
  CHECK_FALSE(store.existing_generation(id.hash, bytes.size(), same));
  CHECK_FALSE(store.existing_generation(id.hash, bytes.size(), same));
  const std::uint64_t recreated = store.read_generation(id);
  CHECK(recreated > first);  // a recreated counter never reuses a value (G2)
  CHECK(store.existing_generation(id.hash, bytes.size(), same) == recreated);
}
