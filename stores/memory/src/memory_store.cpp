#include "gencache/memory_store.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <urcu-bp.h>  // call_rcu, rcu_barrier: the exported calls (not the inline ones)

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

/// What a shard unlinked, freed after a grace period.
struct detail::retired_payload {
  entry_list entries;
  std::vector<entry_table*> tables;
  std::vector<node_table<generation_node>*> generation_tables;
  std::vector<generation_node*> generations;       // evicted counters
  std::size_t bytes = 0;                           // the entries' weights
  std::atomic<std::size_t>* pending = nullptr;     // the store's count of retired bytes
  std::atomic<retired_payload*>* ready = nullptr;  // the store's list of freeable payloads
  retired_payload* next = nullptr;                 // in that list
};

namespace {

using detail::retired_payload;

struct retired_batch {  // standard layout, so that the rcu_head's address is the batch's
  rcu_head head;
  retired_payload* payload;
};
static_assert(std::is_standard_layout_v<retired_batch>);

// After a grace period, in a writer's thread.
void free_payload(retired_payload* payload) noexcept {
  payload->entries.clear_and_dispose(&detail::entry::destroy);
  for (detail::entry_table* t : payload->tables) detail::entry_table::destroy(t);
  for (auto* t : payload->generation_tables)
    detail::node_table<detail::generation_node>::destroy(t);
  for (detail::generation_node* node : payload->generations) destroy_generation(node);
  payload->pending->fetch_sub(payload->bytes, std::memory_order_relaxed);
  delete payload;
}

// call_rcu's callback, after a grace period: the payload goes to its store's ready list
// and the store's next writer frees it. Freeing here, on liburcu's thread, cost a third
// of the shoot-out's 2-thread throughput on 2 cores (a third busy thread, and frees into
// the workers' malloc arenas from outside).
void payload_ready(rcu_head* head) noexcept {
  auto* batch = reinterpret_cast<retired_batch*>(head);
#ifdef GENCACHE_TSAN
  __tsan_acquire(batch);                      // the writer's unlinking, before call_rcu
  __tsan_acquire(&detail::rcu_readers_done);  // the read sections before the grace period
#endif
  retired_payload* payload = batch->payload;
  delete batch;
  retired_payload* head_of_list = payload->ready->load(std::memory_order_relaxed);
  do {
    payload->next = head_of_list;
  } while (!payload->ready->compare_exchange_weak(head_of_list, payload, std::memory_order_release,
                                                  std::memory_order_relaxed));
}

// Frees the payloads whose grace period has passed.
void free_ready(std::atomic<retired_payload*>& ready) noexcept {
  if (ready.load(std::memory_order_relaxed) == nullptr) return;
  retired_payload* payload = ready.exchange(nullptr, std::memory_order_acquire);
  while (payload != nullptr) {
    retired_payload* next = payload->next;
    free_payload(payload);
    payload = next;
  }
}

// Hands what a writer unlinked to call_rcu, to be freed once no reader can see it. The
// call_rcu thread waits 10 ms between batches, while writers can retire gigabytes a
// second: once a store's retired bytes pass `budget`, the writer waits for a grace period
// itself (synchronize_rcu, about 1.3 us here) and frees them, which bounds the memory
// held past the store's bound. Not inside a read section (a set from a visitor): that
// would wait for itself.
void hand_to_rcu(retired_payload* payload, std::size_t budget) {
  if (payload == nullptr) return;
  const std::size_t pending =
      payload->pending->fetch_add(payload->bytes, std::memory_order_relaxed) + payload->bytes;
  if (pending > budget && !rcu_read_ongoing()) {
    synchronize_rcu();
#ifdef GENCACHE_TSAN
    __tsan_acquire(&detail::rcu_readers_done);
#endif
    free_payload(payload);
    return;
  }
  auto* batch = new retired_batch{{}, payload};
#ifdef GENCACHE_TSAN
  __tsan_release(batch);
#endif
  call_rcu(&batch->head, &payload_ready);
}

// Retired entries are handed to call_rcu in batches of this many (or of 1/16 of a shard's
// bytes), so that a set at the bound does not allocate a batch of its own.
constexpr std::size_t retire_batch = 64;

// Slots of a shard's first table (and of one after clear()).
constexpr std::size_t initial_table = 16;

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
  retired_budget_ = options_.max_bytes / 8;
  promotion_window_ = options_.lru_promotion_window.value_or(
      static_cast<std::uint32_t>(std::min<std::size_t>(shard_max_entries_ / 16, UINT32_MAX)));
  static std::atomic<std::uint64_t> next_store_id{1};
  id_ = next_store_id.fetch_add(1, std::memory_order_relaxed);
  values_ = std::make_unique<detail::value_shard[]>(shards);
  generations_ = std::make_unique<detail::generation_shard[]>(shards);
  for (std::size_t i = 0; i < shards; ++i) {
    values_[i].table.store(detail::entry_table::create(initial_table), std::memory_order_release);
    generations_[i].table.store(detail::node_table<detail::generation_node>::create(initial_table),
                                std::memory_order_release);
  }
}

memory_store::~memory_store() {
  // No reader may be running (destroying a store that is in use is the caller's bug), so
  // what is still linked is freed here; what was retired is freed by call_rcu, and waited
  // for, so that every value the store held is destroyed when it is.
  for (std::size_t i = 0; i <= mask_; ++i) {
    detail::value_shard& s = values_[i];
    detail::entry_table* table = s.table.load(std::memory_order_relaxed);
    table->for_each([](detail::entry* e) { detail::entry::destroy(e); });
    detail::entry_table::destroy(table);
    s.retired.clear_and_dispose(&detail::entry::destroy);
    for (detail::entry_table* t : s.retired_tables) detail::entry_table::destroy(t);
  }
  if (retired_any_.load(std::memory_order_relaxed)) {
    rcu_barrier();  // every callback has run: every payload is on the ready list
    free_ready(ready_);
  }
  for (std::size_t i = 0; i <= mask_; ++i) {
    auto* table = generations_[i].table.load(std::memory_order_relaxed);
    table->for_each(&destroy_generation);
    detail::node_table<detail::generation_node>::destroy(table);
  }
}

detail::store_counters& memory_store::add_counters() {
  std::lock_guard lock(counters_mutex_);
  counters_.push_back(std::make_unique<detail::store_counters>());
  return *counters_.back();
}

void memory_store::retire(detail::value_shard& s, detail::entry* e) noexcept {
  s.retired.push_back(*e);
  s.retired_bytes += e->weight;
}

detail::retired_payload* memory_store::take_retired(detail::value_shard& s, bool all) {
  if (s.retired.empty() && s.retired_tables.empty()) return nullptr;
  if (!all && s.retired_tables.empty() && s.retired.size() < retire_batch &&
      s.retired_bytes < shard_max_bytes_ / 16) {
    return nullptr;
  }
  auto* payload = new retired_payload;
  payload->entries.swap(s.retired);
  payload->tables.swap(s.retired_tables);
  payload->bytes = s.retired_bytes;
  payload->pending = &retired_bytes_;
  payload->ready = &ready_;
  s.retired_bytes = 0;
  retired_any_.store(true, std::memory_order_relaxed);
  return payload;
}

/// A new table for the `live` nodes of `old` and room to grow (twice as many slots, at
/// least `initial_table`), holding them; `old` is left for the caller to retire. Value and
/// generation shards grow and clean their tables this one way.
template <class Table>
Table* regrown(const Table& old, std::size_t live) {
  Table* fresh = Table::create(std::max(initial_table, std::bit_ceil(2 * (live + 1))));
  old.for_each([&](auto* node) { fresh->insert(node); });
  return fresh;
}

void memory_store::rehash(detail::value_shard& s) {
  detail::entry_table* old = s.table.load(std::memory_order_relaxed);
  detail::entry_table* fresh = regrown(*old, s.live);
  s.retired_tables.reserve(s.retired_tables.size() + 1);
  s.table.store(fresh, std::memory_order_release);
  s.retired_tables.push_back(old);
  s.used = s.live;
}

void memory_store::unlink(detail::value_shard& s, detail::entry* e) const noexcept {
  if (options_.eviction == eviction_policy::s3fifo) {
    s.fifo.remove(*e);
  } else {
    s.lru.erase(s.lru.iterator_to(*e));
  }
  forget(s, e);
}

void memory_store::forget(detail::value_shard& s, detail::entry* e) noexcept {
  detail::entry_table& table = *s.table.load(std::memory_order_relaxed);
  table.erase(table.locate(e->key()));
  --s.live;
  s.bytes -= e->weight;
}

std::int64_t memory_store::expiry_after(std::chrono::nanoseconds ttl) noexcept {
  ttl_used_.store(true, std::memory_order_relaxed);
  const std::int64_t now = clock_->now().count();
  return ttl.count() >= never - now ? never - 1 : now + ttl.count();
}

status memory_store::reject_too_large(std::size_t weight) {
  counters().errors.increment();
  return {errc::too_large,
          fmt::format("gencache: entry of {} bytes exceeds the memory store's per-shard bound of "
                      "{} bytes (max_bytes {} over {} shards)",
                      weight, shard_max_bytes_, options_.max_bytes, shard_count())};
}

status memory_store::insert(detail::entry* e) {
  try {
    detail::entry_table::check_address(e);
  } catch (...) {
    detail::entry::destroy(e);
    throw;
  }
  detail::value_shard& s = values_[e->hash & mask_];
  detail::store_counters& counts = counters();
  std::optional<std::int64_t> now;  // read before the lock: the clock is user code
  if (ttl_used_.load(std::memory_order_relaxed)) now = clock_->now().count();
  retired_payload* garbage = nullptr;
  {
    std::unique_lock lock(s.mutex);
    detail::entry_table* table = s.table.load(std::memory_order_relaxed);
    if (const std::size_t slot = table->locate(e->key()); slot != detail::entry_table::npos) {
      detail::entry* replaced = table->at(slot);
      table->replace(slot, e);  // readers see the old entry or the new one, never neither
      if (options_.eviction == eviction_policy::s3fifo) {
        s.fifo.remove(*replaced);
      } else {
        s.lru.erase(s.lru.iterator_to(*replaced));
      }
      s.bytes -= replaced->weight;
      retire(s, replaced);
    } else {
      if ((s.used + 1) * 8 > table->capacity() * 5) {
        rehash(s);
        table = s.table.load(std::memory_order_relaxed);
      }
      if (table->insert(e)) ++s.used;
      ++s.live;
    }
    const std::uint32_t inserts = s.inserts.load(std::memory_order_relaxed);
    e->promoted_at.store(inserts, std::memory_order_relaxed);
    s.inserts.store(inserts + 1, std::memory_order_relaxed);
    if (options_.eviction == eviction_policy::s3fifo) {
      s.fifo.insert(*e);
    } else {
      s.lru.push_front(*e);
    }
    s.bytes += e->weight;
    counts.sets.increment();

    while (s.live > shard_max_entries_ || s.bytes > shard_max_bytes_) {
      detail::entry* victim = nullptr;
      if (options_.eviction == eviction_policy::s3fifo) {
        victim = &s.fifo.evict(shard_max_entries_, shard_max_bytes_, e);  // out of its queue
        forget(s, victim);
      } else {
        victim = &s.lru.back();
        unlink(s, victim);
      }
      // Without a reading (another thread's first ttl raced ours), an expired victim is
      // counted as an eviction.
      if (victim->expires_at != never && now && *now >= victim->expires_at) {
        counts.expirations.increment();
      } else {
        counts.evictions.increment();
      }
      retire(s, victim);
    }
    garbage = take_retired(s, false);
  }
  hand_garbage(garbage);
  return {};
}

bool memory_store::erase(key_view key) {
  detail::value_shard& s = values_[key.hash & mask_];
  retired_payload* garbage = nullptr;
  {
    std::lock_guard lock(s.mutex);
    detail::entry_table* table = s.table.load(std::memory_order_relaxed);
    const std::size_t slot = table->locate(key);
    if (slot == detail::entry_table::npos) return false;
    detail::entry* e = table->at(slot);
    unlink(s, e);
    retire(s, e);
    garbage = take_retired(s, false);
  }
  hand_garbage(garbage);
  return true;
}

void memory_store::reclaim_expired(detail::value_shard& s, detail::entry* e) {
  // Inside the caller's read section: `e` is still allocated, though maybe unlinked.
  detail::store_counters& counts = counters();
  retired_payload* garbage = nullptr;
  {
    std::lock_guard lock(s.mutex);
    detail::entry_table* table = s.table.load(std::memory_order_relaxed);
    const std::size_t slot = table->locate(e->key());
    if (slot != detail::entry_table::npos && table->at(slot) == e) {
      unlink(s, e);
      retire(s, e);
      counts.expirations.increment();
      garbage = take_retired(s, false);
    }
  }
  counts.misses.increment();
  hand_garbage(garbage);
}

void memory_store::promote(detail::value_shard& s, detail::entry* e) {
  std::lock_guard lock(s.mutex);
  const detail::entry_table* table = s.table.load(std::memory_order_relaxed);
  const std::size_t slot = table->locate(e->key());
  if (slot == detail::entry_table::npos || table->at(slot) != e) return;  // gone meanwhile
  s.lru.splice(s.lru.begin(), s.lru, s.lru.iterator_to(*e));
  e->promoted_at.store(s.inserts.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

void memory_store::clear() {
  for (std::size_t i = 0; i <= mask_; ++i) {
    detail::value_shard& s = values_[i];
    retired_payload* garbage = nullptr;
    {
      std::lock_guard lock(s.mutex);
      detail::entry_table* fresh = detail::entry_table::create(initial_table);
      s.retired_tables.reserve(s.retired_tables.size() + 1);
      detail::entry_list all;
      all.swap(s.lru);
      s.fifo.take_all(all);
      while (!all.empty()) {
        detail::entry& e = all.front();
        all.pop_front();
        retire(s, &e);
      }
      s.retired_tables.push_back(s.table.load(std::memory_order_relaxed));
      s.table.store(fresh, std::memory_order_release);
      s.live = 0;
      s.used = 0;
      s.bytes = 0;
      garbage = take_retired(s, true);
    }
    hand_garbage(garbage);
  }
}

detail::generation_node& memory_store::find_or_create_generation(detail::generation_shard& g,
                                                                 key_view id,
                                                                 retired_payload*& garbage) {
  using table_type = detail::node_table<detail::generation_node>;
  table_type* table = g.table.load(std::memory_order_relaxed);
  if (const std::size_t slot = table->locate(id); slot != table_type::npos) {
    detail::generation_node& node = *table->at(slot);
    if (!node.pinned && detail::promotion_due(g.inserts, node.promoted_at, promotion_window_)) {
      g.lru.splice(g.lru.begin(), g.lru, g.lru.iterator_to(node));
      node.promoted_at = g.inserts;
    }
    return node;
  }
  auto* node = detail::allocate_node_with_key<detail::generation_node>(id);
  new (node) detail::generation_node(id, detail::next_generation_value());
  try {
    table_type::check_address(node);
  } catch (...) {
    destroy_generation(node);
    throw;
  }
  const auto collect = [&]() -> retired_payload& {
    if (garbage == nullptr) {
      garbage = new retired_payload;
      garbage->pending = &retired_bytes_;
      garbage->ready = &ready_;
    }
    return *garbage;
  };
  if ((g.used + 1) * 8 > table->capacity() * 5) {  // as a value shard's rehash
    table_type* fresh = regrown(*table, g.live);
    g.table.store(fresh, std::memory_order_release);
    collect().generation_tables.push_back(table);
    table = fresh;
    g.used = g.live;
  }
  if (table->insert(node)) ++g.used;
  ++g.live;
  node->promoted_at = g.inserts++;
  g.lru.push_front(*node);
  while (g.lru.size() > shard_max_generations_) {
    detail::generation_node* victim = &g.lru.back();
    g.lru.pop_back();
    // A counter read lock-free since it was last passed over gets a second chance (the
    // lock-free reads do not move it in the list); the new one is never the victim.
    if (victim == node || victim->read.load(std::memory_order_relaxed)) {
      victim->read.store(false, std::memory_order_relaxed);
      g.lru.push_front(*victim);
      continue;
    }
    table->erase(table->locate(victim->id()));
    --g.live;
    stripe_of(victim->id()).version.fetch_add(1, std::memory_order_seq_cst);
    collect().generations.push_back(victim);
  }
  return *node;
}

std::uint64_t memory_store::read_generation_locked(key_view id) {
  detail::generation_shard& g = generations_[id.hash & mask_];
  retired_payload* garbage = nullptr;
  std::uint64_t value = 0;
  {
    std::lock_guard lock(g.mutex);
    value = find_or_create_generation(g, id, garbage).value.load(std::memory_order_relaxed);
  }
  hand_garbage(garbage);
  return value;
}

std::uint64_t memory_store::bump_generation(key_view id) {
  detail::generation_shard& g = generations_[id.hash & mask_];
  retired_payload* garbage = nullptr;
  std::uint64_t fresh = 0;
  {
    std::lock_guard lock(g.mutex);
    detail::generation_node& node = find_or_create_generation(g, id, garbage);
    fresh = detail::next_generation_value();
    // seq_cst: once invalidate() returns, a lookup that starts afterwards on any thread
    // reads the new value through a handle's load or a lock-free read (G1).
    node.value.store(fresh, std::memory_order_seq_cst);
    counters().invalidations.increment();
    // Retire every thread's remembered value of this counter before invalidate() returns
    // (G1), and those of the other counters of its stripe.
    stripe_of(id).version.fetch_add(1, std::memory_order_seq_cst);
  }
  hand_garbage(garbage);
  return fresh;
}

const std::atomic<std::uint64_t>& memory_store::pin_generation(key_view id) {
  detail::generation_shard& g = generations_[id.hash & mask_];
  retired_payload* garbage = nullptr;
  detail::generation_node* node = nullptr;
  {
    std::lock_guard lock(g.mutex);
    node = &find_or_create_generation(g, id, garbage);
    if (!node->pinned) {
      g.lru.erase(g.lru.iterator_to(*node));
      node->pinned = true;
    }
  }
  hand_garbage(garbage);
  return node->value;
}

void memory_store::hand_garbage(retired_payload* garbage) {
  if (garbage != nullptr) {
    retired_any_.store(true, std::memory_order_relaxed);
    hand_to_rcu(garbage, retired_budget_);
  }
  free_ready(ready_);
}

store_stats memory_store::stats() const {
  store_stats out;
  {
    std::lock_guard lock(counters_mutex_);
    for (const auto& c : counters_) {
      out.hits += c->hits.load();
      out.misses += c->misses.load();
      out.sets += c->sets.load();
      out.evictions += c->evictions.load();
      out.expirations += c->expirations.load();
      out.errors += c->errors.load();
      out.invalidations += c->invalidations.load();
    }
  }
  for (std::size_t i = 0; i <= mask_; ++i) {
    detail::value_shard& s = values_[i];
    std::lock_guard lock(s.mutex);
    out.entries += s.live;
    out.bytes += s.bytes;
  }
  return out;
}

}  // namespace gencache
