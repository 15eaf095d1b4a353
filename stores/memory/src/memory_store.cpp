#include "gencache/memory_store.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "gencache/generation.hpp"

namespace gencache {

namespace {

std::size_t choose_shards(const memory_store_options& o) {
  if (o.shards != 0) {
    if (!std::has_single_bit(o.shards) || o.shards > 65536) {
      throw std::invalid_argument(fmt::format(
          "gencache: memory_store shards must be a power of two up to 65536, got {}", o.shards));
    }
    return o.shards;
  }
  // Many more shards than threads: on a Zipf hot set two threads on one shard bounce its
  // lock's cache line, and 8 shards made 2 threads slower than 1 (docs/benchmarks.md,
  // BM_MemoryStore_ZipfGet). Fewer when the bounds are small, so that every shard still
  // holds a useful LRU (64 entries) and a large value (1 MiB).
  const std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
  std::size_t shards = std::bit_ceil(32 * threads);
  while (shards > 1 && (o.max_entries / shards < 64 || o.max_bytes / shards < (1u << 20) ||
                        o.max_generations < shards)) {
    shards /= 2;
  }
  return shards;
}

void destroy_generation(detail::generation_node* node) noexcept {
  node->~generation_node();
  ::operator delete(node);
}

}  // namespace

memory_store::memory_store(memory_store_options options)
    : options_(std::move(options)), clock_(options_.clock ? options_.clock : steady_clock()) {
  const std::size_t shards = choose_shards(options_);
  if (options_.max_entries < shards) {
    throw std::invalid_argument(fmt::format(
        "gencache: memory_store max_entries ({}) must be at least the shard count ({}); lower "
        "`shards`",
        options_.max_entries, shards));
  }
  if (options_.max_generations < shards) {
    throw std::invalid_argument(fmt::format(
        "gencache: memory_store max_generations ({}) must be at least the shard count ({})",
        options_.max_generations, shards));
  }
  constexpr std::size_t smallest_entry = entry_overhead + 64;
  if (options_.max_bytes / shards < smallest_entry) {
    throw std::invalid_argument(fmt::format(
        "gencache: memory_store max_bytes ({}) leaves each of the {} shards less than {} bytes, "
        "too little for one small entry",
        options_.max_bytes, shards, smallest_entry));
  }
  mask_ = shards - 1;
  shard_max_entries_ = options_.max_entries / shards;
  shard_max_bytes_ = options_.max_bytes / shards;
  shard_max_generations_ = options_.max_generations / shards;
  promotion_window_ = options_.lru_promotion_window.value_or(
      static_cast<std::uint32_t>(std::min<std::size_t>(shard_max_entries_ / 16, UINT32_MAX)));
  static std::atomic<std::uint64_t> next_store_id{1};
  id_ = next_store_id.fetch_add(1, std::memory_order_relaxed);
  values_ = std::make_unique<detail::value_shard[]>(shards);
  generations_ = std::make_unique<detail::generation_shard[]>(shards);
}

memory_store::~memory_store() {
  clear();
  for (std::size_t i = 0; i <= mask_; ++i) {
    for (auto& [id, node] : generations_[i].index) {
      if (!node->pinned) generations_[i].lru.erase(generations_[i].lru.iterator_to(*node));
      destroy_generation(node);
    }
  }
}

void memory_store::unlink(detail::value_shard& s, detail::entry* e) const noexcept {
  s.index.erase(e->key());
  if (options_.eviction == eviction_policy::s3fifo) {
    s.fifo.remove(*e);
  } else {
    s.lru.erase(s.lru.iterator_to(*e));
  }
  s.bytes -= e->weight;
}

std::int64_t memory_store::expiry_after(std::chrono::nanoseconds ttl) noexcept {
  ttl_used_.store(true, std::memory_order_relaxed);
  const std::int64_t now = clock_->now().count();
  return ttl.count() >= never - now ? never - 1 : now + ttl.count();
}

status memory_store::reject_too_large(key_view key, std::size_t weight) {
  detail::value_shard& s = values_[key.hash & mask_];
  {
    std::lock_guard lock(s.mutex);
    s.errors.increment();
  }
  return {errc::too_large,
          fmt::format("gencache: entry of {} bytes exceeds the memory store's per-shard bound of "
                      "{} bytes (max_bytes {} over {} shards)",
                      weight, shard_max_bytes_, options_.max_bytes, shard_count())};
}

status memory_store::insert(detail::entry* e) {
  detail::value_shard& s = values_[e->hash & mask_];
  detail::entry_list garbage;       // destroyed after the lock is released
  std::optional<std::int64_t> now;  // read before the lock: the clock is user code
  if (ttl_used_.load(std::memory_order_relaxed)) now = clock_->now().count();
  {
    std::lock_guard lock(s.mutex);
    if (const auto old = s.index.find(e->key()); old != s.index.end()) {
      detail::entry* replaced = old->second;
      unlink(s, replaced);
      garbage.push_back(*replaced);
    }
    e->promoted_at = s.inserts++;
    s.index.emplace(e->key(), e);
    if (options_.eviction == eviction_policy::s3fifo) {
      s.fifo.insert(*e);
    } else {
      s.lru.push_front(*e);
    }
    s.bytes += e->weight;
    s.sets.increment();

    while (s.index.size() > shard_max_entries_ || s.bytes > shard_max_bytes_) {
      detail::entry* victim = nullptr;
      if (options_.eviction == eviction_policy::s3fifo) {
        victim = &s.fifo.evict(shard_max_entries_, shard_max_bytes_, e);  // unlinked
        s.index.erase(victim->key());
        s.bytes -= victim->weight;
      } else {
        victim = &s.lru.back();
        unlink(s, victim);
      }
      // Without a reading (another thread's first ttl raced ours), an expired victim is
      // counted as an eviction.
      if (victim->expires_at != never && now && *now >= victim->expires_at) {
        s.expirations.increment();
      } else {
        s.evictions.increment();
      }
      garbage.push_back(*victim);
    }
  }
  garbage.clear_and_dispose(&detail::entry::destroy);
  return {};
}

bool memory_store::erase(key_view key) {
  detail::value_shard& s = values_[key.hash & mask_];
  detail::entry* e = nullptr;
  {
    std::lock_guard lock(s.mutex);
    const auto it = s.index.find(key);
    if (it == s.index.end()) return false;
    e = it->second;
    unlink(s, e);
  }
  detail::entry::destroy(e);
  return true;
}

void memory_store::clear() {
  for (std::size_t i = 0; i <= mask_; ++i) {
    detail::value_shard& s = values_[i];
    detail::entry_list garbage;
    {
      std::lock_guard lock(s.mutex);
      s.index.clear();
      garbage.swap(s.lru);
      s.fifo.take_all(garbage);
      s.bytes = 0;
    }
    garbage.clear_and_dispose(&detail::entry::destroy);
  }
}

detail::generation_node& memory_store::find_or_create_generation(detail::generation_shard& g,
                                                                 key_view id) {
  if (const auto it = g.index.find(id); it != g.index.end()) {
    detail::generation_node& node = *it->second;
    if (!node.pinned && g.inserts - node.promoted_at >= promotion_window_) {
      g.lru.splice(g.lru.begin(), g.lru, g.lru.iterator_to(node));
      node.promoted_at = g.inserts;
    }
    return node;
  }
  auto* node = detail::allocate_node_with_key<detail::generation_node>(id);
  new (node) detail::generation_node(id, detail::next_generation_value());
  node->promoted_at = g.inserts++;
  g.index.emplace(node->id(), node);
  g.lru.push_front(*node);
  while (g.lru.size() > shard_max_generations_) {
    detail::generation_node* victim = &g.lru.back();
    g.lru.pop_back();
    g.index.erase(victim->id());
    stripe_of(victim->id()).version.fetch_add(1, std::memory_order_seq_cst);
    destroy_generation(victim);
  }
  return *node;
}

std::uint64_t memory_store::read_generation_locked(key_view id) {
  detail::generation_shard& g = generations_[id.hash & mask_];
  std::lock_guard lock(g.mutex);
  return find_or_create_generation(g, id).value.load(std::memory_order_relaxed);
}

std::uint64_t memory_store::bump_generation(key_view id) {
  detail::generation_shard& g = generations_[id.hash & mask_];
  std::lock_guard lock(g.mutex);
  detail::generation_node& node = find_or_create_generation(g, id);
  const std::uint64_t fresh = detail::next_generation_value();
  // seq_cst: once invalidate() returns, a lookup that starts afterwards on any thread reads
  // the new value through a handle's load (G1).
  node.value.store(fresh, std::memory_order_seq_cst);
  g.invalidations.increment();
  // Retire every thread's remembered value of this counter before invalidate() returns
  // (G1), and those of the other counters of its stripe.
  stripe_of(id).version.fetch_add(1, std::memory_order_seq_cst);
  return fresh;
}

const std::atomic<std::uint64_t>& memory_store::pin_generation(key_view id) {
  detail::generation_shard& g = generations_[id.hash & mask_];
  std::lock_guard lock(g.mutex);
  detail::generation_node& node = find_or_create_generation(g, id);
  if (!node.pinned) {
    g.lru.erase(g.lru.iterator_to(node));
    node.pinned = true;
  }
  return node.value;
}

store_stats memory_store::stats() const {
  store_stats out;
  for (std::size_t i = 0; i <= mask_; ++i) {
    detail::value_shard& s = values_[i];
    out.hits += s.hits.load();
    out.misses += s.misses.load();
    out.sets += s.sets.load();
    out.evictions += s.evictions.load();
    out.expirations += s.expirations.load();
    out.errors += s.errors.load();
    out.invalidations += generations_[i].invalidations.load();
    std::lock_guard lock(s.mutex);
    out.entries += s.index.size();
    out.bytes += s.bytes;
  }
  return out;
}

}  // namespace gencache
