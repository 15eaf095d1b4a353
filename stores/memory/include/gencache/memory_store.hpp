#pragma once
// Concurrency of the memory store.
//
// Locks: one std::mutex per value shard and one per generation shard. A thread holds at
// most one of them at a time, and never while running user code: boxed values are copied
// out, and evicted or replaced values destroyed, after the lock is released, and the
// injected clock is read before the lock is taken (once any entry has a ttl: `ttl_used_`;
// a lookup that meets an expiring entry without a reading releases the lock, reads the
// clock and looks up again).
//
// Invariants of a value shard, under its mutex:
// - `index` maps exactly the entries linked in the policy's queues (`lru`, front = most
//   recently used; or `fifo`'s small and main queues), and each index key views its own
//   entry's key bytes;
// - an entry's S3-FIFO frequency is a relaxed atomic byte: a hit writes it only when it
//   changes, the only write of a hit to the entry (lock-free hits will rely on this).
// - `bytes` is the sum of the entries' weights, and after every insert the shard holds at
//   most its share of `max_entries` and of `max_bytes`;
// - the shard's counters are written only under the mutex (relaxed load + store, no RMW)
//   and read by `stats()` without it.
// Invariants of a generation shard, under its mutex:
// - `index` maps every counter; `lru` links exactly the unpinned ones, which may be evicted;
// - pinned counters live until the store dies, so handles read them lock-free (acquire);
// - a counter's value only grows: bumps are serialized by the shard lock and take their
//   values from the process-wide increasing source, and a re-created counter starts from
//   that source too, so a value is never reused (G2).
// Per-thread generation cache: each thread remembers recently read counters, tagged with
// the *version* of the counter's stripe as loaded *before* the locked read. A store has
// `generation_stripes` versions, each on its own cache line; a counter's stripe is picked
// by its id hash. Every bump increments its counter's stripe version (seq_cst) after
// storing the new value and before returning, so a read that starts after an invalidation
// returned sees a new version, drops its remembered value and reads the table (G1).
// Evicting a counter bumps its stripe too, so that every thread sees the re-created
// counter's new value, as the table does. A bump drops only the remembered values whose ids
// share its stripe (1 in 1,024), not every thread's whole cache.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/intrusive/list.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include "gencache/clock.hpp"
#include "gencache/detail/s3fifo.hpp"
#include "gencache/key.hpp"
#include "gencache/stats.hpp"
#include "gencache/status.hpp"
#include "gencache/store.hpp"
#include "gencache/value.hpp"

namespace gencache {

/// How a full shard picks what to evict.
enum class eviction_policy : std::uint8_t {
  /// S3-FIFO (SOSP '23): a small FIFO for new entries, a main FIFO for those used again,
  /// and a ghost of recently evicted keys. Frequency-aware and scan-resistant; a hit writes
  /// only a 2-bit frequency in its own entry. Hit ratios: docs/benchmarks.md.
  s3fifo,
  /// Least recently used, with delayed promotion (`lru_promotion_window`).
  lru,
};

/// Options of a `memory_store`, validated at construction (std::invalid_argument).
struct memory_store_options {
  /// Bound on entries, shared equally by the shards (each holds max_entries / shards).
  std::size_t max_entries = 1'000'000;
  /// Bound on accounted bytes (keys + values + `memory_store::entry_overhead` per entry),
  /// shared equally by the shards. A value heavier than one shard's share is rejected.
  std::size_t max_bytes = std::size_t{256} << 20;
  /// Number of lock shards, a power of two; 0 picks 32 × hardware threads (rounded up to a
  /// power of two), halved while a shard would hold fewer than 64 entries, 1 MiB or one
  /// generation counter.
  std::size_t shards = 0;
  /// Bound on generation counters that may be evicted (value-based ones and plain ones not
  /// pinned by a handle). An evicted counter comes back with a new value: its entries are
  /// lost, never served stale.
  std::size_t max_generations = 1'000'000;
  /// What a full shard evicts.
  eviction_policy eviction = eviction_policy::s3fifo;
  /// LRU only. A hit moves an entry to the front of its shard's LRU list only if this many entries
  /// were inserted into the shard since it was last moved (CacheLib's delayed promotion: hot
  /// entries stop writing the list on every hit). 0 = exact LRU; nullopt = 1/16 of a
  /// shard's entry bound.
  std::optional<std::uint32_t> lru_promotion_window{};
  /// Time source for TTLs; null = the steady clock.
  std::shared_ptr<const ::gencache::clock> clock{};
};

namespace detail {

using lru_hook =
    boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::normal_link>>;

struct key_view_hash {
  std::size_t operator()(const key_view& k) const noexcept { return k.hash; }
};
struct key_view_equal {
  bool operator()(const key_view& a, const key_view& b) const noexcept {
    return a.hash == b.hash && a.bytes == b.bytes;
  }
};

/// A counter written only under its shard's lock and read anywhere: relaxed load + store
/// instead of a locked RMW keeps counting off the contention path.
class shard_counter {
 public:
  void increment() noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t load() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// A node followed by its key bytes, in one allocation.
template <class Node>
Node* allocate_node_with_key(key_view key) {
  void* memory = ::operator new(sizeof(Node) + key.bytes.size());
  if (!key.bytes.empty()) {
    std::memcpy(static_cast<char*>(memory) + sizeof(Node), key.bytes.data(), key.bytes.size());
  }
  return static_cast<Node*>(memory);
}

struct entry : lru_hook, s3fifo_entry_state {
  entry(key_view k, value_slot&& v, std::size_t w, std::int64_t expires) noexcept
      : hash(k.hash),
        expires_at(expires),
        weight(w),
        key_size(static_cast<std::uint32_t>(k.bytes.size())),
        value(std::move(v)) {}

  [[nodiscard]] key_view key() const noexcept {
    return {{reinterpret_cast<const char*>(this + 1), key_size}, hash};
  }
  static entry* create(key_view k, value_slot&& v, std::size_t weight, std::int64_t expires) {
    entry* memory = allocate_node_with_key<entry>(k);
    return new (memory) entry(k, std::move(v), weight, expires);
  }
  static void destroy(entry* e) noexcept {
    e->~entry();
    ::operator delete(e);
  }

  std::uint64_t hash;
  std::int64_t expires_at;  // on the store's clock, in ns; memory_store::never if none
  std::size_t weight;
  std::uint32_t promoted_at = 0;
  std::uint32_t key_size;
  value_slot value;
};

using entry_list = boost::intrusive::list<entry>;

struct alignas(64) value_shard {
  std::mutex mutex;
  boost::unordered_flat_map<key_view, entry*, key_view_hash, key_view_equal> index;
  entry_list lru;                  // eviction_policy::lru
  s3fifo<entry, entry_list> fifo;  // eviction_policy::s3fifo
  std::size_t bytes = 0;
  std::uint32_t inserts = 0;
  shard_counter hits, misses, sets, evictions, expirations, errors;
};

struct generation_node : lru_hook {
  generation_node(key_view id, std::uint64_t initial) noexcept
      : hash(id.hash), value(initial), id_size(static_cast<std::uint32_t>(id.bytes.size())) {}

  [[nodiscard]] key_view id() const noexcept {
    return {{reinterpret_cast<const char*>(this + 1), id_size}, hash};
  }

  std::uint64_t hash;
  std::atomic<std::uint64_t> value;
  std::uint32_t promoted_at = 0;
  std::uint32_t id_size;
  bool pinned = false;
};

struct alignas(64) generation_shard {
  std::mutex mutex;
  boost::unordered_flat_map<key_view, generation_node*, key_view_hash, key_view_equal> index;
  boost::intrusive::list<generation_node> lru;  // unpinned counters only
  std::uint32_t inserts = 0;
  shard_counter invalidations;
};

/// A stripe's version, alone on its cache line: bumps write it, reads of remembered
/// generations load it.
struct alignas(64) generation_stripe {
  std::atomic<std::uint64_t> version{0};
};

/// One remembered generation value of the per-thread cache (see the comment at the top).
struct remembered_generation {
  std::uint64_t store = 0;    // 0: empty (store ids start at 1)
  std::uint64_t version = 0;  // of the id's stripe, before the value was read
  std::uint64_t hash = 0;
  std::uint64_t value = 0;
  std::uint32_t size = 0;
  char id[44];  // ids up to 44 bytes are remembered ("nav_portal:user_id" + an integer: 31)
};

/// The calling thread's slot for a generation id hash: a direct-mapped table of 256 entries
/// (20 KiB per thread), so a few dozen hot value-based generations rarely collide.
inline remembered_generation& remembered_generation_for(std::uint64_t hash) noexcept {
  thread_local std::array<remembered_generation, 256> table{};
  return table[(hash >> 20) & 255];
}

}  // namespace detail

/// The in-process store: lock-sharded, bounded by entries and bytes, S3-FIFO eviction (or
/// LRU with delayed promotion), per-entry TTL, and its own sharded table of generation
/// counters.
///
/// Complexity: get, peek, set, erase are O(1) expected (one hash lookup in one shard; a set
/// may evict several entries to make room). Thread-safety: all members may be called
/// concurrently. A hit for an inline value (see value.hpp) allocates nothing.
///
///     gencache::memory_store store({.max_entries = 100'000, .max_bytes = 64 << 20});
class memory_store {
 public:
  using options_type = memory_store_options;
  /// "No expiry".
  static constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();
  /// Accounted bytes per entry beyond key and value: the entry node, its index slot, the
  /// allocator's bookkeeping, and the S3-FIFO ghost slot its key may take once evicted.
  static constexpr std::size_t entry_overhead = sizeof(detail::entry) + 48 + 64;

  memory_store() : memory_store(memory_store_options{}) {}
  explicit memory_store(memory_store_options options);
  ~memory_store();
  memory_store(const memory_store&) = delete;
  memory_store& operator=(const memory_store&) = delete;

  /// The value under `key` if present, unexpired and of type T; refreshes recency. A value
  /// of another type counts as a miss and an error.
  template <class T>
  [[nodiscard]] std::optional<T> get(key_view key) {
    return lookup<T, true>(key);
  }
  /// Like `get`, but changes nothing: no recency refresh, no statistics, no reclaiming.
  template <class T>
  [[nodiscard]] std::optional<T> peek(key_view key) {
    return lookup<T, false>(key);
  }

  /// Stores `value` under `key`, replacing any entry there, evicting entries of the shard
  /// as the eviction policy says. Fails with errc::too_large, storing nothing, if the
  /// entry outweighs one shard's byte share. String literals, `const char*` and
  /// `std::string_view` are stored as std::string (a view would dangle). Throws
  /// std::invalid_argument for a ttl that is not positive.
  template <class V>
  status set(key_view key, V&& value, std::optional<std::chrono::nanoseconds> ttl = std::nullopt) {
    using T = std::remove_cvref_t<V>;
    if constexpr (std::is_array_v<T> || std::is_same_v<std::decay_t<T>, const char*> ||
                  std::is_same_v<std::decay_t<T>, char*> || std::is_same_v<T, std::string_view>) {
      return set(key, std::string(value), ttl);
    } else {
      detail::check_ttl(ttl);
      const std::size_t weight = key.bytes.size() + detail::weigh(value) + entry_overhead;
      const std::int64_t expires = ttl ? expiry_after(*ttl) : never;
      if (weight > shard_max_bytes_) return reject_too_large(key, weight);
      return insert(detail::entry::create(key, detail::value_slot::make(std::forward<V>(value)),
                                          weight, expires));
    }
  }

  /// Removes the entry under `key`; true if there was one.
  bool erase(key_view key);
  /// Removes every entry (generation counters stay).
  void clear();

  /// The counter's value, created from the process-wide source if absent. Served from a
  /// per-thread cache, without a lock, until a counter of the same stripe (1 in 1,024) is
  /// bumped or evicted.
  [[nodiscard]] std::uint64_t read_generation(key_view id) {
    detail::remembered_generation& r = detail::remembered_generation_for(id.hash);
    const std::uint64_t version = stripe_of(id).version.load(std::memory_order_acquire);
    if (r.store == id_ && r.version == version && r.hash == id.hash && r.size == id.bytes.size() &&
        std::memcmp(r.id, id.bytes.data(), id.bytes.size()) == 0) {
      return r.value;
    }
    const std::uint64_t value = read_generation_locked(id);
    if (id.bytes.size() <= sizeof r.id) {
      r.store = id_;
      r.version = version;
      r.hash = id.hash;
      r.value = value;
      r.size = static_cast<std::uint32_t>(id.bytes.size());
      std::memcpy(r.id, id.bytes.data(), id.bytes.size());
    }
    return value;
  }
  /// Gives the counter a new value from the process-wide source and returns it.
  std::uint64_t bump_generation(key_view id);
  /// The counter, pinned: never evicted, valid until the store is destroyed.
  [[nodiscard]] const std::atomic<std::uint64_t>& pin_generation(key_view id);

  [[nodiscard]] store_stats stats() const;
  [[nodiscard]] const memory_store_options& options() const noexcept { return options_; }
  [[nodiscard]] std::size_t shard_count() const noexcept { return mask_ + 1; }

 private:
  template <class T, bool Refresh>
  std::optional<T> lookup(key_view key) {
    std::optional<std::int64_t> now;
    if (ttl_used_.load(std::memory_order_relaxed)) now = clock_->now().count();
    detail::value_shard& s = values_[key.hash & mask_];
    std::unique_lock lock(s.mutex);
    auto it = s.index.find(key);
    if (it != s.index.end() && it->second->expires_at != never && !now) {
      lock.unlock();  // the clock is user code: never read it under the lock
      now = clock_->now().count();
      lock.lock();
      it = s.index.find(key);
    }
    if (it == s.index.end()) {
      if constexpr (Refresh) s.misses.increment();
      return std::nullopt;
    }
    detail::entry* e = it->second;
    if (e->expires_at != never && *now >= e->expires_at) {
      if constexpr (Refresh) {
        unlink(s, e);
        s.expirations.increment();
        s.misses.increment();
        lock.unlock();
        detail::entry::destroy(e);
      }
      return std::nullopt;
    }
    if (e->value.type() != detail::type_fingerprint<T>) {
      if constexpr (Refresh) {
        s.errors.increment();
        s.misses.increment();
      }
      return std::nullopt;
    }
    if constexpr (Refresh) {
      if (options_.eviction == eviction_policy::s3fifo) {
        detail::s3fifo<detail::entry, detail::entry_list>::hit(*e);
      } else if (s.inserts - e->promoted_at >= promotion_window_) {
        s.lru.splice(s.lru.begin(), s.lru, s.lru.iterator_to(*e));
        e->promoted_at = s.inserts;
      }
      s.hits.increment();
    }
    auto read = e->value.template read<T>();
    lock.unlock();
    return detail::value_slot::unbox<T>(std::move(read));
  }

  void unlink(detail::value_shard& s, detail::entry* e) const noexcept;
  [[nodiscard]] std::int64_t expiry_after(std::chrono::nanoseconds ttl) noexcept;
  [[nodiscard]] detail::generation_stripe& stripe_of(key_view id) const noexcept {
    return generation_stripes_[(id.hash >> 40) & (generation_stripes - 1)];
  }
  status insert(detail::entry* e);
  status reject_too_large(key_view key, std::size_t weight);
  detail::generation_node& find_or_create_generation(detail::generation_shard& g, key_view id);
  std::uint64_t read_generation_locked(key_view id);

  memory_store_options options_;
  std::shared_ptr<const clock> clock_;
  std::atomic<bool> ttl_used_{false};  // set once an entry has had a ttl
  std::size_t mask_ = 0;
  std::size_t shard_max_entries_ = 0;
  std::size_t shard_max_bytes_ = 0;
  std::size_t shard_max_generations_ = 0;
  std::uint32_t promotion_window_ = 0;
  std::uint64_t id_ = 0;  // process-unique, tags this store's entries in per-thread caches
  static constexpr std::size_t generation_stripes = 1024;
  std::unique_ptr<detail::generation_stripe[]> generation_stripes_ =
      std::make_unique<detail::generation_stripe[]>(generation_stripes);
  std::unique_ptr<detail::value_shard[]> values_;
  std::unique_ptr<detail::generation_shard[]> generations_;
};

static_assert(pinning_store<memory_store>);

}  // namespace gencache
