#include "targets.hpp"

#include <atomic>
#include <charconv>
#include <cstring>
#include <stdexcept>

#if GENCACHE_HAVE_TBB
#define TBB_PREVIEW_CONCURRENT_LRU_CACHE 1
#include <tbb/concurrent_lru_cache.h>
#endif

#if GENCACHE_HAVE_POCO
#include <Poco/LRUCache.h>
#endif
#if GENCACHE_HAVE_ROCKSDB
#include <rocksdb/cache.h>
#endif

#include <fmt/format.h>
#include <gencache/any_store.hpp>
#include <gencache/gencache.hpp>
#include <gencache/store_url.hpp>

#include "../naive_port.hpp"

namespace shootout {

std::string compute_value(const item& it, std::size_t size) {
  std::string value(size, static_cast<char>('a' + it.id % 26));
  std::memcpy(value.data(), &it.id, std::min(size, sizeof it.id));
  return value;
}

namespace {

/// Entries the peers may hold: they bound entries only, so a byte capacity is converted
/// with a nominal 128 bytes of key and bookkeeping per entry.
std::size_t entry_capacity(const options& o) {
  if (o.capacity_entries != 0) return o.capacity_entries;
  if (o.capacity_bytes != 0)
    return std::max<std::size_t>(1, o.capacity_bytes / (o.value_size + 128));
  return std::size_t{1} << 40;
}

struct compute_fn {
  std::size_t size;
  std::string operator()(const item& it) const { return compute_value(it, size); }
};

auto make_memo(gencache::any_cache& cache, std::size_t size) {
  return gencache::memoized(cache, compute_fn{size}, "bench",
                            gencache::gen("bench:user", &item::user),
                            gencache::memoize_options{.name = "bench.compute"});
}

// gencache itself, over the store its URL names (any_store.hpp): the shoot-out chooses the
// store at run time, as an application reading it from its configuration does.
class gencache_target final : public target {
 public:
  gencache_target(std::string name, std::shared_ptr<gencache::any_store> store,
                  std::size_t value_size)
      : name_(std::move(name)), cache_(std::move(store)), memo_(make_memo(cache_, value_size)) {}

  [[nodiscard]] std::string_view name() const override { return name_; }
  [[nodiscard]] bool in_process() const override { return cache_.store().memory() != nullptr; }
  std::string read(const item& it) override { return memo_(it); }
  void write(const item& it) override { memo_.refresh(it); }
  bool invalidate_user(std::uint32_t user) override {
    try {
      cache_.invalidate({"bench:user", user});
      return true;
    } catch (const gencache::store_error&) {
      return false;  // counted by the store
    }
  }
  [[nodiscard]] std::string metrics_name() const override {
    // A shortcut ("memory", "memory-lru") or a memory:// URL (no secrets) as given; a remote
    // URL by its location, which holds no credentials and no options.
    const bool remote = name_.find("://") != std::string::npos && !name_.starts_with("memory://");
    return remote ? cache_.store().location() : name_;
  }
  [[nodiscard]] gencache::store_stats store_stats() const override { return cache_.stats(); }
  [[nodiscard]] std::optional<gencache::memoize_stats> memoize_stats() const override {
    return memo_.stats();
  }
  [[nodiscard]] target_counts counts() const override {
    const auto memo = memo_.stats();
    const auto store = cache_.stats();
    target_counts c;
    c.hits = memo.hits;
    c.misses = memo.misses;
    c.errors = store.errors + memo.errors;
    if (in_process()) {
      c.entries = store.entries;
      c.bytes = store.bytes;
    }
    return c;
  }

 private:
  std::string name_;
  gencache::any_cache cache_;
  decltype(make_memo(std::declval<gencache::any_cache&>(), 0)) memo_;
};

}  // namespace

gencache::store_stats target::store_stats() const {
  const target_counts c = counts();
  gencache::store_stats s;
  s.hits = c.hits;
  s.misses = c.misses;
  s.errors = c.errors;
  s.entries = c.entries.value_or(0);
  s.bytes = c.bytes.value_or(0);
  return s;
}

namespace {

// The naive port (benchmarks/naive_port.hpp): one mutex, std::unordered_map of fmt-formatted
// keys, std::list LRU, generation counters as entries looked up by name on every call.
class naive_target final : public target {
 public:
  naive_target(const options& o) : port_(entry_capacity(o)), value_size_(o.value_size) {}

  [[nodiscard]] std::string_view name() const override { return "naive"; }
  [[nodiscard]] bool in_process() const override { return true; }
  std::string read(const item& it) override {
    const std::string key = key_of(it);
    if (auto hit = port_.get(key)) {
      hits_.increment();
      return std::move(*hit);
    }
    misses_.increment();
    std::string value = compute_value(it, value_size_);
    port_.set(key, value);
    return value;
  }
  void write(const item& it) override { port_.set(key_of(it), compute_value(it, value_size_)); }
  bool invalidate_user(std::uint32_t user) override {
    port_.invalidate(fmt::format("bench:user:{}", user));
    return true;
  }
  [[nodiscard]] target_counts counts() const override {
    target_counts c;
    c.hits = hits_.load();
    c.misses = misses_.load();
    c.entries = port_.size();
    return c;
  }

 private:
  std::string key_of(const item& it) {
    const std::uint64_t catalog = port_.generation("bench");
    const std::uint64_t user = port_.generation(fmt::format("bench:user:{}", it.user));
    return fmt::format("[cached]bench.compute({{'id': {}, 'user': {}}}) bench:{} bench:user:{}",
                       it.id, it.user, catalog, user);
  }

  mutable bench::naive_port<std::string> port_;
  std::size_t value_size_;
  gencache::detail::striped_counter hits_, misses_;
};

#if GENCACHE_HAVE_TBB
// tbb::concurrent_lru_cache: values are made by the cache's own function on a miss, and it
// has no set or erase. Generations are entries too, as in the naive port: a counter cell
// that an invalidation increments in place; an evicted counter comes back from the clock.
class tbb_target final : public target {
  struct value {
    std::shared_ptr<std::atomic<std::uint64_t>> counter;
    std::string payload;
  };
  using cache_type =
      tbb::concurrent_lru_cache<std::string, value, std::function<value(std::string)>>;

 public:
  tbb_target(const options& o)
      : value_size_(o.value_size),
        cache_([this](const std::string& key) { return make(key); }, entry_capacity(o)) {}

  [[nodiscard]] std::string_view name() const override { return "tbb-lru"; }
  [[nodiscard]] bool in_process() const override { return true; }
  std::string read(const item& it) override {
    reads_.increment();
    const std::uint64_t catalog = cache_["g:bench"].value().counter->load();
    const std::uint64_t user =
        cache_[fmt::format("g:bench:user:{}", it.user)].value().counter->load();
    auto handle = cache_[fmt::format("k:{}:{}:{}:{}", it.id, it.user, catalog, user)];
    return handle.value().payload;
  }
  void write(const item& it) override { (void)read(it); }
  bool invalidate_user(std::uint32_t user) override {
    cache_[fmt::format("g:bench:user:{}", user)].value().counter->fetch_add(1);
    return true;
  }
  [[nodiscard]] target_counts counts() const override {
    const std::uint64_t misses = misses_.load();
    target_counts c;
    c.hits = reads_.load() - misses;
    c.misses = misses;
    return c;
  }

 private:
  value make(const std::string& key) {
    if (key.starts_with("g:")) {
      const auto now =
          static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
      return {std::make_shared<std::atomic<std::uint64_t>>(now), {}};
    }
    misses_.increment();
    item it{};
    const char* p = key.data() + 2;  // "k:<id>:<user>:…"
    p = std::from_chars(p, key.data() + key.size(), it.id).ptr + 1;
    std::from_chars(p, key.data() + key.size(), it.user);
    return {nullptr, compute_value(it, value_size_)};
  }

  std::size_t value_size_;
  gencache::detail::striped_counter reads_, misses_;
  cache_type cache_;
};
#endif  // GENCACHE_HAVE_TBB

#if GENCACHE_HAVE_POCO
// Poco::LRUCache (Poco 1.11): one mutex around a std::map and an LRU list; `get` hands out a
// Poco::SharedPtr copy of the value. Generations are entries too, as in the naive port: a
// counter stored as text under its name, read on every call; an evicted counter comes back
// from the clock. (An invalidation reads and writes its counter without a lock of its own,
// so two concurrent ones may count as one: enough for a benchmark, not for a real cache.)
class poco_target final : public target {
 public:
  poco_target(const options& o)
      : value_size_(o.value_size), cache_(static_cast<long>(entry_capacity(o))) {}

  [[nodiscard]] std::string_view name() const override { return "poco-lru"; }
  [[nodiscard]] bool in_process() const override { return true; }
  std::string read(const item& it) override {
    const std::string key = key_of(it);
    if (const auto hit = cache_.get(key)) {
      hits_.increment();
      return *hit;
    }
    misses_.increment();
    std::string value = compute_value(it, value_size_);
    cache_.add(key, value);
    return value;
  }
  void write(const item& it) override { cache_.add(key_of(it), compute_value(it, value_size_)); }
  bool invalidate_user(std::uint32_t user) override {
    const std::string name = fmt::format("g:bench:user:{}", user);
    cache_.add(name, std::to_string(generation(name) + 1));
    return true;
  }
  [[nodiscard]] target_counts counts() const override {
    target_counts c;
    c.hits = hits_.load();
    c.misses = misses_.load();
    c.entries = cache_.size();
    return c;
  }

 private:
  std::uint64_t generation(const std::string& name) {
    if (const auto cell = cache_.get(name)) return std::stoull(*cell);
    const auto now =
        static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    cache_.add(name, std::to_string(now));
    return now;
  }
  std::string key_of(const item& it) {
    return fmt::format("k:{}:{}:{}:{}", it.id, it.user, generation("g:bench"),
                       generation(fmt::format("g:bench:user:{}", it.user)));
  }

  std::size_t value_size_;
  mutable Poco::LRUCache<std::string, std::string> cache_;
  gencache::detail::striped_counter hits_, misses_;
};
#endif  // GENCACHE_HAVE_POCO

#if GENCACHE_HAVE_ROCKSDB
// RocksDB's block cache (rocksdb::NewLRUCache, RocksDB 7.8, its default options): sharded
// (64 shards here), a mutex per shard, handles pinned by reference counts, and midpoint
// insertion (high_pri_pool_ratio 0.5: entries hit again move to a high-priority pool), so a
// segmented LRU rather than a plain one, as RocksDB users run it. Every entry is charged 1 and
// nothing for its metadata, so its capacity counts entries (split over the shards). Generations are
// entries too: an atomic counter cell under its name, incremented in place by an invalidation; an
// evicted counter comes back from the clock.
class rocksdb_target final : public target {
  using counter = std::atomic<std::uint64_t>;

 public:
  rocksdb_target(const options& o)
      : value_size_(o.value_size), cache_(rocksdb::NewLRUCache(cache_options(o))) {}

  [[nodiscard]] std::string_view name() const override { return "rocksdb-lru"; }
  [[nodiscard]] bool in_process() const override { return true; }
  std::string read(const item& it) override {
    const std::string key = key_of(it);
    if (rocksdb::Cache::Handle* h = cache_->Lookup(key)) {
      std::string value = *static_cast<const std::string*>(cache_->Value(h));
      cache_->Release(h);
      hits_.increment();
      return value;
    }
    misses_.increment();
    std::string value = compute_value(it, value_size_);
    store(key, value);
    return value;
  }
  void write(const item& it) override { store(key_of(it), compute_value(it, value_size_)); }
  bool invalidate_user(std::uint32_t user) override {
    with_counter(fmt::format("g:bench:user:{}", user), [](counter& c) { return ++c; });
    return true;
  }
  [[nodiscard]] target_counts counts() const override {
    target_counts c;
    c.hits = hits_.load();
    c.misses = misses_.load();
    c.entries = cache_->GetUsage();  // every entry is charged 1
    return c;
  }

 private:
  static rocksdb::LRUCacheOptions cache_options(const options& o) {
    rocksdb::LRUCacheOptions c;
    c.capacity = entry_capacity(o);
    c.num_shard_bits = 6;
    // By default an entry is also charged its handle and key bytes; then a capacity no
    // longer counts entries.
    c.metadata_charge_policy = rocksdb::kDontChargeCacheMetadata;
    return c;
  }
  void store(const std::string& key, const std::string& value) {
    (void)cache_->Insert(key, new std::string(value), 1, [](const rocksdb::Slice&, void* v) {
      delete static_cast<std::string*>(v);
    });
  }
  template <class Use>
  std::uint64_t with_counter(const std::string& name, Use use) {
    rocksdb::Cache::Handle* h = cache_->Lookup(name);
    if (h == nullptr) {
      const auto now =
          static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
      auto* cell = new counter(now);
      const rocksdb::Status s = cache_->Insert(
          name, cell, 1, [](const rocksdb::Slice&, void* v) { delete static_cast<counter*>(v); },
          &h);
      if (!s.ok()) delete cell;  // on an error the value stays the caller's (rocksdb/cache.h)
      if (!s.ok() || h == nullptr) return now;
    }
    const std::uint64_t value = use(*static_cast<counter*>(cache_->Value(h)));
    cache_->Release(h);
    return value;
  }
  std::string key_of(const item& it) {
    const auto read = [](counter& c) { return c.load(); };
    return fmt::format("k:{}:{}:{}:{}", it.id, it.user, with_counter("g:bench", read),
                       with_counter(fmt::format("g:bench:user:{}", it.user), read));
  }

  std::size_t value_size_;
  std::shared_ptr<rocksdb::Cache> cache_;
  gencache::detail::striped_counter hits_, misses_;
};
#endif  // GENCACHE_HAVE_ROCKSDB

std::unique_ptr<target> remote_target(const std::string& url, std::size_t value_size) {
  // A prefix of this run's own, so that runs never read each other's entries.
  const std::string with_prefix = fmt::format(
      "{}{}prefix=gencache-bench:{}:", url, url.find('?') == std::string::npos ? "?" : "&",
      std::chrono::system_clock::now().time_since_epoch().count());
  auto store = gencache::make_store(url.find("prefix=") == std::string::npos ? with_prefix : url);
  // A server that does not answer is found here, not in the middle of a measurement.
  gencache::any_cache probe(store);
  if (const auto s = probe.set(probe.key({}, "gencache-bench probe"), std::string("ok")); !s.ok()) {
    throw std::runtime_error(fmt::format("{}: unreachable: {}", display_name(url), s.message()));
  }
  return std::make_unique<gencache_target>(url, std::move(store), value_size);
}

/// The memory:// URL of the shoot-out's `memory` and `memory-lru` stores for `o`.
std::string memory_url(const std::string& store, const options& o) {
  std::string url = "memory://?eviction=";
  url += store == "memory-lru" ? "lru" : "s3fifo";
  if (o.capacity_entries != 0) url += fmt::format("&max_entries={}", o.capacity_entries);
  if (o.capacity_bytes != 0) url += fmt::format("&max_bytes={}", o.capacity_bytes);
  return url;
}

}  // namespace

/// Throws std::invalid_argument for a store this build left out (a CMake option or a
/// missing package).
void check_built(const std::string& store, bool built, const char* how) {
  if (!built) {
    throw std::invalid_argument(
        fmt::format("store '{}' is not in this build: {}", store.substr(0, store.find(':')), how));
  }
}

void check_store_name(const std::string& store) {
  if (store == "memory" || store == "memory-lru" || store == "naive") return;
  if (store == "tbb-lru") {
    return check_built(store, GENCACHE_HAVE_TBB, "install TBB (libtbb-dev) and reconfigure");
  }
  if (store == "poco-lru") {
    return check_built(store, GENCACHE_HAVE_POCO, "install Poco (libpoco-dev) and reconfigure");
  }
  if (store == "rocksdb-lru") {
    return check_built(store, GENCACHE_HAVE_ROCKSDB,
                       "install RocksDB (librocksdb-dev) and reconfigure");
  }
  if (store.starts_with("redis://")) {
    check_built(store, GENCACHE_HAVE_REDIS, "configure with -DGENCACHE_WITH_REDIS=ON");
  } else if (store.starts_with("memcached://")) {
    check_built(store, GENCACHE_HAVE_MEMCACHED, "configure with -DGENCACHE_WITH_MEMCACHED=ON");
  } else if (!store.starts_with("memory://")) {
    throw std::invalid_argument(
        fmt::format("unknown store '{}': use memory, memory-lru, naive, tbb-lru, poco-lru, "
                    "rocksdb-lru, or a store URL: "
                    "memory://[?options], redis://host:port[?options] or "
                    "memcached://host:port[,host:port...][?options]",
                    store));
  }
  // The URL's own errors (std::invalid_argument). Remote stores connect lazily, so this
  // does not reach the server; a memory store is only allocated.
  (void)gencache::make_store(store);
}

std::unique_ptr<target> make_target(const std::string& store, const options& o) {
  check_store_name(store);
  if (store == "memory" || store == "memory-lru") {
    return std::make_unique<gencache_target>(store, gencache::make_store(memory_url(store, o)),
                                             o.value_size);
  }
  if (store.starts_with("memory://")) {
    return std::make_unique<gencache_target>(store, gencache::make_store(store), o.value_size);
  }
  if (store == "naive") return std::make_unique<naive_target>(o);
#if GENCACHE_HAVE_TBB
  if (store == "tbb-lru") return std::make_unique<tbb_target>(o);
#endif
#if GENCACHE_HAVE_POCO
  if (store == "poco-lru") return std::make_unique<poco_target>(o);
#endif
#if GENCACHE_HAVE_ROCKSDB
  if (store == "rocksdb-lru") return std::make_unique<rocksdb_target>(o);
#endif
  return remote_target(store, o.value_size);
}

std::string display_name(const std::string& store) {
  // A memory:// URL holds no secret: its options stay readable.
  return store.starts_with("memory://") ? store : gencache::detail::redacted_url(store);
}

}  // namespace shootout
