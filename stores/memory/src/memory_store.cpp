// The memory store's slow paths (memory_store.hpp holds the inline hit path): construction
// and destruction, inserts and their bounds and eviction, erase and expiry, retiring
// entries to the reclaimer, generation counters (created, bumped, pinned) and statistics.
#include "gencache/memory_store.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <urcu-bp.h>  // synchronize_rcu, rcu_read_ongoing: the exported calls

#include "gencache/generation.hpp"
#include "reclamation.hpp"

namespace gencache {

namespace {

// A value shard's `live` and `bytes` are written under its lock and read by stats()
// without it: written here atomically, read with relaxed loads.
void store_size(std::size_t& field, std::size_t value) noexcept {
  std::atomic_ref<std::size_t>(field).store(value, std::memory_order_relaxed);
}

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

}  // namespace

void detail::destroy_generation(generation_node* node) noexcept {
  node->~generation_node();
  ::operator delete(node);
}

namespace {

using detail::retired_payload;

// Retired entries are handed to the reclaimer in batches of this many (or of 1/16 of a
// shard's bytes), so that a set at the bound does not allocate a batch of its own; what a
// shard keeps below that is handed over by the reclaimer's next tick.
constexpr std::size_t retire_batch = 64;

// Slots of a shard's first table (and of one after clear()).
constexpr std::size_t initial_table = 16;

// Removed values awaiting their grace period may hold up to max(max_bytes / 4, this)
// before sets fail with errc::busy: room for the reclaimer to fall behind a little.
constexpr std::size_t min_pending_bound = std::size_t{4} << 20;

// How often a set over that bound gives the reclaimer the processor before it fails: a
// reclaimer that only lacked a core catches up within a few; one stuck behind a read
// section that user code holds open does not, and the set fails instead of waiting.
constexpr int busy_yields = 256;

bool default_tagged_slots() {
  static const bool tagged_heap = detail::heap_addresses_are_tagged();
  return !tagged_heap && !detail::force_untagged_slots.load(std::memory_order_relaxed);
}

}  // namespace

bool detail::heap_addresses_are_tagged(const void* sample) {
  const auto above_48_bits = [](const void* p) {
    return (static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p)) &
            detail::entry_table::hash_bits) != 0;
  };
  if (sample != nullptr && above_48_bits(sample)) return true;
  // Sizes of small entries and of tables; a tagging heap (MTE: 4 random bits a block)
  // tags at least one of 16 blocks but with odds of 16^-16.
  bool tagged = false;
  for (std::size_t i = 0; i < 16; ++i) {
    void* block = ::operator new(64 + 64 * i);
    tagged = tagged || above_48_bits(block);
    ::operator delete(block);
  }
  return tagged;
}

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
  max_pending_bytes_ = std::max(options_.max_bytes / 4, min_pending_bound);
  tagged_slots_ = default_tagged_slots();
  promotion_window_ = options_.lru_promotion_window.value_or(
      static_cast<std::uint32_t>(std::min<std::size_t>(shard_max_entries_ / 16, UINT32_MAX)));
  static std::atomic<std::uint64_t> next_store_id{1};
  id_ = next_store_id.fetch_add(1, std::memory_order_relaxed);
  values_ = std::make_unique<detail::value_shard[]>(shards);
  generations_ = std::make_unique<detail::generation_shard[]>(shards);
  for (std::size_t i = 0; i < shards; ++i) {
    values_[i].table.store(new_entry_table(initial_table), std::memory_order_release);
    generations_[i].table.store(
        detail::node_table<detail::generation_node>::create(initial_table, tagged_slots_),
        std::memory_order_release);
  }
  detail::install_fork_handlers();
  detail::store_registry& registry = detail::registry();
  const std::lock_guard lock(registry.mutex);
  registry.stores.emplace(id_, this);
}

namespace {

/// Waits (under the registry mutex, held by `lock`) until the reclaimer destroys no batch of
/// a store, whose count is `freeing`. On the reclaimer thread the count is its own (it is
/// destroying a value that called the store, or owned it): no wait.
void wait_for_reclaimer(std::unique_lock<std::mutex>& lock, const std::size_t& freeing) {
  detail::registry().freed.wait(
      lock, [&] { return freeing == 0 || detail::reclaimer::on_this_thread(); });
}

}  // namespace

memory_store::~memory_store() {
  // No other thread may use the store, so nothing removed from it is still read: what it
  // holds and what it retired is freed here, without a grace period. A value's destructor
  // may still retire generation counters or a table (clear()): rounds repeat until a round
  // finds nothing.
  closing_.store(true, std::memory_order_relaxed);
  for (int round = 0; round < 16; ++round) {
    if (!free_everything(round)) break;
  }
  for (std::size_t i = 0; i <= mask_; ++i) {
    detail::entry_table::destroy(values_[i].table.load(std::memory_order_relaxed));
    auto* table = generations_[i].table.load(std::memory_order_relaxed);
    table->for_each(&detail::destroy_generation);
    detail::node_table<detail::generation_node>::destroy(table);
  }
}

bool memory_store::free_everything(int round) {
  // Entries are unlinked under the shard locks before any is destroyed: a value's
  // destructor that calls the store finds it empty (sets fail with errc::busy), never an
  // entry being destroyed.
  detail::store_registry& registry = detail::registry();
  bool found = false;
  retired_payload unlinked;  // every shard's entries: spliced, no allocation
  for (std::size_t i = 0; i <= mask_; ++i) {
    detail::value_shard& s = values_[i];
    retired_payload tables;  // swapped into: no allocation
    {
      const std::lock_guard lock(s.mutex);
      unlinked.entries.splice(unlinked.entries.end(), s.lru);
      s.fifo.take_all(unlinked.entries);
      unlinked.entries.splice(unlinked.entries.end(), s.retired);
      tables.tables.swap(s.retired_tables);
      if (s.live != 0) s.table.load(std::memory_order_relaxed)->clear_slots();
      s.retired_bytes = 0;
      store_size(s.live, 0);
      s.used = 0;
      store_size(s.bytes, 0);
    }
    found = found || !tables.empty();
    detail::destroy_contents(tables);  // no user code
  }
  found = found || !unlinked.empty();
  // Value destructors, once no shard holds an entry: they may call this store.
  detail::destroy_contents(unlinked);
  for (std::size_t i = 0; i <= mask_; ++i) {
    detail::generation_shard& g = generations_[i];
    retired_payload local;
    {
      const std::lock_guard lock(g.mutex);
      local.generations.swap(g.retired);
      local.generation_tables.swap(g.retired_tables);
    }
    found = found || !local.empty();
    detail::destroy_contents(local);
  }
  retired_payload* stolen = nullptr;
  {
    std::unique_lock lock(registry.mutex);
    if (round == 0) {
      // The reclaimer, destroying a value of ours that owned this store, looks the store
      // up again before it counts down.
      wait_for_reclaimer(lock, reclaimer_freeing_);
      registry.stores.erase(id_);
    }
    stolen = detail::reclaimer::instance().steal(id_);
  }
  {
    const std::lock_guard lock(ready_mutex_);
    retired_payload** tail = &stolen;
    while (*tail != nullptr) tail = &(*tail)->next;
    *tail = std::exchange(ready_, nullptr);
  }
  found = found || stolen != nullptr;
  detail::free_list(stolen);
  return found;
}

detail::store_counters& memory_store::take_counters() {
  const std::lock_guard lock(counters_mutex_);
  if (!free_counters_.empty()) {
    detail::store_counters* block = free_counters_.back();
    free_counters_.pop_back();
    return *block;
  }
  counters_.push_back(std::make_unique<detail::store_counters>());
  free_counters_.reserve(counters_.size());  // so that give_back_counters cannot throw
  return *counters_.back();
}

void memory_store::give_back_counters(detail::store_counters& block) noexcept {
  const std::lock_guard lock(counters_mutex_);
  block.take_into(exited_);
  free_counters_.push_back(&block);  // reserved when the block was made: cannot throw
}

void memory_store::retire(detail::value_shard& s, detail::entry* e) noexcept {
  if (s.retired.empty()) keeps_retired_.store(true, std::memory_order_relaxed);
  s.retired.push_back(*e);
  s.retired_bytes += e->weight();
}

detail::retired_payload* memory_store::new_payload() const noexcept {
  auto* payload = new (std::nothrow) retired_payload;
  if (payload != nullptr) payload->store = id_;
  return payload;
}

detail::retired_payload* memory_store::take_retired(detail::value_shard& s, bool all) noexcept {
  if (s.retired.empty() && s.retired_tables.empty()) return nullptr;
  if (!all && s.retired_tables.empty() && s.retired.size() < retire_batch &&
      s.retired_bytes < shard_max_bytes_ / 16) {
    return nullptr;
  }
  retired_payload* payload = new_payload();
  if (payload == nullptr) return nullptr;  // out of memory: kept for the next writer
  payload->entries.swap(s.retired);
  payload->tables.swap(s.retired_tables);
  payload->bytes = s.retired_bytes;
  s.retired_bytes = 0;
  return payload;
}

void memory_store::hand_all_retired() {
  for (std::size_t i = 0; i <= mask_; ++i) {
    retired_payload* garbage = nullptr;
    {
      detail::value_shard& s = values_[i];
      const std::lock_guard lock(s.mutex);
      garbage = take_retired(s, true);
    }
    if (garbage != nullptr) {
      pending_bytes_.fetch_add(garbage->bytes, std::memory_order_relaxed);
      detail::reclaimer::instance().enqueue(garbage);
    }
    {
      detail::generation_shard& g = generations_[i];
      const std::lock_guard lock(g.mutex);
      garbage = take_retired(g);
    }
    if (garbage != nullptr) detail::reclaimer::instance().enqueue(garbage);
  }
}

/// A new table for the `live` nodes of `old` and room to grow (twice as many slots, at
/// least `initial_table`), holding them; `old` is left for the caller to retire. Value and
/// generation shards grow and clean their tables this one way.
template <class Table>
Table* regrown(const Table& old, std::size_t live) {
  Table* fresh =
      Table::create(std::max(initial_table, std::bit_ceil(2 * (live + 1))), old.tagged_slots());
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
  store_size(s.live, s.live - 1);
  store_size(s.bytes, s.bytes - e->weight());
}

std::int64_t memory_store::expiry_after(std::chrono::nanoseconds ttl) noexcept {
  ttl_used_.store(true, std::memory_order_relaxed);
  const std::int64_t now = clock_->now().count();
  return ttl.count() >= never - now ? never - 1 : now + ttl.count();
}

status memory_store::reject_too_large(std::size_t weight, std::size_t key_size) {
  counters().count_error(errc::too_large);
  if (key_size > detail::entry::max_key_size) {
    return {errc::too_large,
            fmt::format("gencache: a key of {} bytes exceeds the memory store's bound of {} bytes",
                        key_size, detail::entry::max_key_size)};
  }
  return {errc::too_large,
          fmt::format("gencache: entry of {} bytes exceeds the memory store's per-shard bound of "
                      "{} bytes (max_bytes {} over {} shards)",
                      weight, shard_max_bytes_, options_.max_bytes, shard_count())};
}

status memory_store::reject_busy() {
  detail::reclaimer::instance().urge();
  for (int i = 0; i < busy_yields && !closing_.load(std::memory_order_relaxed); ++i) {
    free_ready();
    if (admits_writes()) return {};
    std::this_thread::yield();
  }
  counters().count_error(errc::busy);
  if (closing_.load(std::memory_order_relaxed)) {
    return {errc::busy, "gencache: the memory store is being destroyed"};
  }
  return {errc::busy,
          fmt::format("gencache: the memory store holds {} bytes of removed values that readers "
                      "may still see (bound: {}); a read section is held open, by a visit "
                      "callback or a value's copy constructor that waits",
                      pending_bytes_.load(std::memory_order_relaxed), max_pending_bytes_)};
}

status memory_store::insert(detail::entry* e) {
  detail::value_shard& s = values_[e->hash & mask_];
  try {
    detail::entry_table::check_address(e, tagged_slots_);
  } catch (...) {
    detail::entry::destroy(e);
    throw;
  }
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
      store_size(s.bytes, s.bytes - replaced->weight());
      retire(s, replaced);
    } else {
      if ((s.used + 1) * 8 > table->capacity() * 5) {
        try {
          rehash(s);
        } catch (...) {  // out of memory: nothing changed yet
          lock.unlock();
          detail::entry::destroy(e);
          throw;
        }
        table = s.table.load(std::memory_order_relaxed);
      }
      if (table->insert(e)) ++s.used;
      store_size(s.live, s.live + 1);
    }
    const std::uint32_t inserts = s.inserts.load(std::memory_order_relaxed);
    s.inserts.store(inserts + 1, std::memory_order_relaxed);
    if (options_.eviction == eviction_policy::s3fifo) {
      s.fifo.insert(*e);
    } else {
      e->mark.lru_promoted_at.store(inserts, std::memory_order_relaxed);
      s.lru.push_front(*e);
    }
    store_size(s.bytes, s.bytes + e->weight());
    counts.sets.increment();

    evict_over_bounds(s, e, now, counts);
    garbage = take_retired(s, false);
  }
  hand_garbage(garbage);
  return {};
}

void memory_store::evict_over_bounds(detail::value_shard& s, const detail::entry* kept,
                                     std::optional<std::int64_t> now,
                                     detail::store_counters& counts) noexcept {
  // Nothing in here allocates or throws: an eviction never stops halfway.
  while (s.live > shard_max_entries_ || s.bytes > shard_max_bytes_) {
    detail::entry* victim = nullptr;
    const bool over_entries = s.live > shard_max_entries_;
    if (options_.eviction == eviction_policy::s3fifo) {
      victim = &s.fifo.evict(shard_max_entries_, shard_max_bytes_, kept);  // out of its queue
      forget(s, victim);
    } else {
      victim = &s.lru.back();
      unlink(s, victim);
    }
    // Without a reading (another thread's first ttl raced ours), an expired victim is
    // counted as an eviction.
    if (victim->has_expiry() && now && *now >= victim->expires_at()) {
      counts.expirations.increment();
    } else if (over_entries) {
      counts.evictions.increment();
    } else {
      counts.evictions_for_bytes.increment();
    }
    retire(s, victim);
  }
}

bool memory_store::erase(key_view key) {
  detail::value_shard& s = values_[key.hash & mask_];
  retired_payload* garbage = nullptr;
  {
    const std::lock_guard lock(s.mutex);
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

void memory_store::reclaim_expired(detail::value_shard& s, key_view key) {
  // After the read section: the entry is looked up again under the lock.
  detail::store_counters& counts = counters();
  std::optional<std::int64_t> now = clock_->now().count();  // before the lock: user code
  retired_payload* garbage = nullptr;
  {
    const std::lock_guard lock(s.mutex);
    detail::entry_table* table = s.table.load(std::memory_order_relaxed);
    const std::size_t slot = table->locate(key);
    if (slot != detail::entry_table::npos) {
      detail::entry* e = table->at(slot);
      if (e->has_expiry() && *now >= e->expires_at()) {
        unlink(s, e);
        retire(s, e);
        counts.expirations.increment();
        garbage = take_retired(s, false);
      }
    }
  }
  counts.misses.increment();
  hand_garbage(garbage);
}

void memory_store::promote(detail::value_shard& s, detail::entry* e) {
  const std::lock_guard lock(s.mutex);
  const detail::entry_table* table = s.table.load(std::memory_order_relaxed);
  const std::size_t slot = table->locate(e->key());
  if (slot == detail::entry_table::npos || table->at(slot) != e) return;  // gone meanwhile
  s.lru.splice(s.lru.begin(), s.lru, s.lru.iterator_to(*e));
  e->mark.lru_promoted_at.store(s.inserts.load(std::memory_order_relaxed),
                                std::memory_order_relaxed);
}

void memory_store::clear() {
  for (std::size_t i = 0; i <= mask_; ++i) {
    detail::value_shard& s = values_[i];
    retired_payload* garbage = nullptr;
    {
      const std::lock_guard lock(s.mutex);
      detail::entry_table* fresh = new_entry_table(initial_table);
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
      store_size(s.live, 0);
      s.used = 0;
      store_size(s.bytes, 0);
      garbage = take_retired(s, true);
    }
    hand_garbage(garbage);
  }
}

bool memory_store::flush() {
  hand_all_retired();
  // Inside a read section the grace period would wait for this very reader, and value
  // destructors must not run here: the reclaimer has everything, and frees it later.
  if (rcu_read_ongoing()) return false;
  retired_payload* doomed = nullptr;
  {
    std::unique_lock lock(detail::registry().mutex);
    wait_for_reclaimer(lock, reclaimer_freeing_);
    doomed = detail::reclaimer::instance().steal(id_);
  }
  synchronize_rcu();  // every reader that could see them has finished
#ifdef GENCACHE_TSAN
  __tsan_acquire(&detail::rcu_readers_done);
#endif
  pending_bytes_.fetch_sub(detail::bytes_of(doomed), std::memory_order_relaxed);
  detail::free_list(doomed);
  has_ready_.store(true, std::memory_order_relaxed);
  free_ready();
  // The reclaimer's tick may have taken ready batches of ours during the grace period:
  // they are destroyed before this returns too.
  std::unique_lock lock(detail::registry().mutex);
  wait_for_reclaimer(lock, reclaimer_freeing_);
  return true;
}

detail::generation_node& memory_store::find_or_create_generation(detail::generation_shard& g,
                                                                 key_view id) {
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
    table_type::check_address(node, tagged_slots_);
    if ((g.used + 1) * 8 > table->capacity() * 5) {  // as a value shard's rehash
      g.retired_tables.reserve(g.retired_tables.size() + 1);
      table_type* fresh = regrown(*table, g.live);
      g.table.store(fresh, std::memory_order_release);
      g.retired_tables.push_back(table);
      table = fresh;
      g.used = g.live;
    }
  } catch (...) {  // out of memory before anything changed
    detail::destroy_generation(node);
    throw;
  }
  // Nothing below allocates or throws: evicted counters go to an intrusive list.
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
    generation_changes_->version.fetch_add(1, std::memory_order_seq_cst);
    g.retired.push_back(*victim);
  }
  return *node;
}

detail::retired_payload* memory_store::take_retired(detail::generation_shard& g) noexcept {
  if (g.retired.empty() && g.retired_tables.empty()) return nullptr;
  retired_payload* payload = new_payload();
  if (payload == nullptr) return nullptr;  // out of memory: kept for the next writer
  payload->generations.swap(g.retired);
  payload->generation_tables.swap(g.retired_tables);
  return payload;
}

std::uint64_t memory_store::read_generation_locked(key_view id) {
  detail::generation_shard& g = generations_[id.hash & mask_];
  retired_payload* garbage = nullptr;
  std::uint64_t value = 0;
  {
    const std::lock_guard lock(g.mutex);
    value = find_or_create_generation(g, id).value.load(std::memory_order_relaxed);
    garbage = take_retired(g);
  }
  hand_garbage(garbage);
  return value;
}

std::uint64_t memory_store::bump_generation(key_view id) {
  detail::generation_shard& g = generations_[id.hash & mask_];
  detail::store_counters& counts = counters();
  retired_payload* garbage = nullptr;
  std::uint64_t fresh = 0;
  {
    const std::lock_guard lock(g.mutex);
    detail::generation_node& node = find_or_create_generation(g, id);
    fresh = detail::next_generation_value();
    // seq_cst: once invalidate() returns, a lookup that starts afterwards on any thread
    // reads the new value through a handle's load or a lock-free read (G1).
    node.value.store(fresh, std::memory_order_seq_cst);
    counts.invalidations.increment();
    // Retire every thread's remembered value of this counter before invalidate() returns
    // (G1), and those of the other counters of its stripe.
    stripe_of(id).version.fetch_add(1, std::memory_order_seq_cst);
    generation_changes_->version.fetch_add(1, std::memory_order_seq_cst);
    garbage = take_retired(g);
  }
  hand_garbage(garbage);
  return fresh;
}

const std::atomic<std::uint64_t>& memory_store::pin_generation(key_view id) {
  detail::generation_shard& g = generations_[id.hash & mask_];
  retired_payload* garbage = nullptr;
  detail::generation_node* node = nullptr;
  {
    const std::lock_guard lock(g.mutex);
    node = &find_or_create_generation(g, id);
    if (!node->pinned) {
      g.lru.erase(g.lru.iterator_to(*node));
      node->pinned = true;
    }
    garbage = take_retired(g);
  }
  hand_garbage(garbage);
  return node->value;
}

void memory_store::hand_garbage(retired_payload* garbage) {
  if (garbage != nullptr) {
    const std::size_t pending =
        pending_bytes_.fetch_add(garbage->bytes, std::memory_order_relaxed) + garbage->bytes;
    detail::reclaimer::instance().enqueue(garbage);
    if (pending > max_pending_bytes_ / 2) detail::reclaimer::instance().urge();
  }
  if (keeps_retired_.load(std::memory_order_relaxed)) {
    detail::reclaimer::instance().note_outstanding();
  }
  free_ready();
}

void memory_store::free_ready() noexcept {
  // Value destructors are user code: never inside a read section (they may destroy a
  // store, or wait), never under a lock.
  if (!has_ready_.load(std::memory_order_relaxed) || rcu_read_ongoing()) return;
  retired_payload* ready = nullptr;
  {
    const std::lock_guard lock(ready_mutex_);
    ready = std::exchange(ready_, nullptr);
    has_ready_.store(false, std::memory_order_relaxed);
  }
  pending_bytes_.fetch_sub(detail::bytes_of(ready), std::memory_order_relaxed);
  detail::free_list(ready);  // nothing of the store is touched once value destructors run
}

store_stats memory_store::stats() const {
  store_stats out;
  {
    const std::lock_guard lock(counters_mutex_);
    out = exited_;
    for (const auto& c : counters_) c->add_to(out);
    late_counters_.add_to(out);
  }
  out.entries = 0;
  out.bytes = 0;
  for (std::size_t i = 0; i <= mask_; ++i) {  // no shard lock: a scrape reads 64 shards
    detail::value_shard& s = values_[i];
    out.entries += std::atomic_ref<std::size_t>(s.live).load(std::memory_order_relaxed);
    out.bytes += std::atomic_ref<std::size_t>(s.bytes).load(std::memory_order_relaxed);
  }
  return out;
}

void memory_store::lock_for_fork() noexcept {
  for (std::size_t i = 0; i <= mask_; ++i) values_[i].mutex.lock();
  for (std::size_t i = 0; i <= mask_; ++i) generations_[i].mutex.lock();
  counters_mutex_.lock();
}

void memory_store::unlock_after_fork() noexcept {
  counters_mutex_.unlock();
  for (std::size_t i = 0; i <= mask_; ++i) generations_[i].mutex.unlock();
  for (std::size_t i = 0; i <= mask_; ++i) values_[i].mutex.unlock();
}

}  // namespace gencache
