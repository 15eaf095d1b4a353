#pragma once
// Concurrency of the memory store.
//
// Hits take no lock and write no shared cache line (but an LRU promotion, at most once per
// promotion window, which locks the shard). A lookup runs inside an RCU read section
// (detail/rcu.hpp): it loads its shard's `entry_table` and probes it with acquire loads; an
// entry is immutable once published, but for its S3-FIFO frequency (a relaxed byte a hit
// writes only when it changes) and its LRU promotion mark. Counters are per thread
// (`store_counters`: each thread writes only its own block, stats() sums them; a thread
// finds its block through a per-thread table, and gives it back when it exits).
//
// Writers (set, erase, clear, evictions, an expired entry found by a get) take their
// shard's std::mutex. A thread holds one shard mutex at a time and takes no other lock under
// it, but for the fork handlers, which take them all; the process-wide locks and their order
// are in src/reclamation.hpp. No user code runs under a lock: a writer reads the clock and
// builds the value before it locks (a lookup reads the clock, for an entry with a TTL,
// inside its read section). What a writer unlinks goes to the shard's `retired` list, then
// in batches to the process's reclaimer thread (src/reclamation.hpp), which waits for a
// grace period and hands it back to the store's ready list; the store's next writer, or the
// reclaimer after a tick, destroys it, never inside a read section and never under a lock.
// No writer waits for a grace period: a read section held open by user code (a visit
// callback, a value copy or a clock that waits) delays only the freeing, and past
// `max(max_bytes / 4, 4 MiB)` of unfreed removals a set is refused with errc::busy instead.
//
// Invariants of a value shard, under its mutex:
// - `table` maps exactly the entries linked in the policy's queues (`lru`, front = most
//   recently used; or `fifo`'s small and main queues); a replaced key's slot is rewritten
//   in place, so a reader always sees the old or the new entry;
// - an unlinked entry goes to `retired` and is freed only after a grace period;
// - `bytes` is the sum of the entries' weights, and after every insert the shard holds at
//   most its share of `max_entries` and of `max_bytes`.
// Invariants of a generation shard, under its mutex:
// - `table` maps every counter (read lock-free under RCU, like a value shard's; a counter
//   read that way sets its `read` flag, a second chance against eviction); `lru` links
//   exactly the unpinned ones, which may be evicted, and are freed after a grace period;
// - pinned counters live until the store dies, so handles read them lock-free (acquire);
// - a counter's value only grows: bumps are serialized by the shard lock and take their
//   values from the process-wide increasing source, and a re-created counter starts from
//   that source too, so a value is never reused (G2).
// Per-thread generation cache: each thread remembers recently read counters, tagged with
// the *version* of the counter's stripe as loaded *before* the table read. A store has
// `generation_stripes` versions, each on its own cache line; a counter's stripe is picked
// by its id hash. Every bump increments its counter's stripe version (seq_cst) after
// storing the new value and before returning, so a read that starts after an invalidation
// returned sees a new version, drops its remembered value and reads the table (G1).
// Evicting a counter bumps its stripe too, so that every thread sees the re-created
// counter's new value, as the table does. A bump drops only the remembered values whose ids
// share its stripe (1 in 1,024), not every thread's whole cache.
// Destruction unlinks every entry under the shard locks first and destroys the values
// afterwards, so a value's destructor that calls the store finds it empty (a miss), and
// sets are refused (errc::busy) from the moment destruction begins.
// fork(): process-wide handlers take every store's locks and liburcu's before the fork and
// release them in both processes after it (src/reclamation.cpp), so a child can use, fill
// and destroy the stores it inherited.

#include <algorithm>
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
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/intrusive/list.hpp>

#include "gencache/clock.hpp"
#include "gencache/detail/rcu.hpp"
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
  /// Number of lock shards, a power of two up to 65,536; 0 picks 32 × hardware threads
  /// (rounded up to a power of two), halved, down to 1, while a shard would hold fewer than
  /// 64 entries, 1 MiB or one generation counter (so max_generations = 4 gives 4 shards).
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

/// The LRU promotion rule, for entries and generation counters alike: move an item to the
/// front only when `window` items were inserted into its shard since it was last moved.
/// Insert counts are 32-bit and wrap; the unsigned difference stays right across a wrap.
[[nodiscard]] constexpr bool promotion_due(std::uint32_t inserts, std::uint32_t promoted_at,
                                           std::uint32_t window) noexcept {
  return inserts - promoted_at >= window;
}

/// A counter with one writing thread, read by any: relaxed load + store, no locked RMW.
class thread_counter {
 public:
  void increment() noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t load() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }
  /// The count, leaving 0 (for a block whose thread has exited).
  std::uint64_t take() noexcept { return value_.exchange(0, std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// One thread's counts for one store, on its own cache lines.
struct alignas(64) store_counters {
  // `evictions` counts entries dropped for the entry bound; `evictions_for_bytes` those
  // dropped for the bytes bound (store_stats::evictions is their sum). Errors are counted
  // by kind only; store_stats::errors is their sum.
  thread_counter hits, misses, sets, evictions, expirations, invalidations;
  thread_counter evictions_for_bytes;
  std::array<thread_counter, errc_count> errors_by_kind;

  void count_error(errc kind) noexcept {
    errors_by_kind[static_cast<std::size_t>(kind)].increment();
  }
  /// Adds this block's counts to `out`.
  void add_to(store_stats& out) const noexcept {
    each(*this, out, [](const thread_counter& c) { return c.load(); });
  }
  /// The same, leaving 0 (for a block whose thread has exited).
  void take_into(store_stats& out) noexcept {
    each(*this, out, [](thread_counter& c) { return c.take(); });
  }

 private:
  template <class Self, class Read>
  static void each(Self& self, store_stats& out, Read read) noexcept {
    out.hits += read(self.hits);
    out.misses += read(self.misses);
    out.sets += read(self.sets);
    const std::uint64_t for_bytes = read(self.evictions_for_bytes);  // read once: summed
    out.evictions += read(self.evictions) + for_bytes;
    out.evictions_for_bytes += for_bytes;
    out.expirations += read(self.expirations);
    out.invalidations += read(self.invalidations);
    for (std::size_t i = 0; i < errc_count; ++i) {
      const std::uint64_t kind = read(self.errors_by_kind[i]);  // read once: summed
      out.errors_by_kind[i] += kind;
      out.errors += kind;
    }
  }
};

/// A node followed by its key bytes, in one allocation of `size` bytes (an entry's value
/// follows its key).
template <class Node>
Node* allocate_node_with_key(key_view key, std::size_t size = 0) {
  void* memory = ::operator new(std::max(size, sizeof(Node) + key.bytes.size()));
  if (!key.bytes.empty()) {
    std::memcpy(static_cast<char*>(memory) + sizeof(Node), key.bytes.data(), key.bytes.size());
  }
  return static_cast<Node*>(memory);
}

/// The eviction policy's mark in an entry. A store uses one policy for all its entries, so
/// the two share the same 4 bytes: the member its policy uses is the only one ever built.
union entry_policy_mark {
  entry_policy_mark() noexcept : lru_promoted_at(0) {}
  /// LRU: the shard's insert count when the entry last moved to the front.
  std::atomic<std::uint32_t> lru_promoted_at;
  /// S3-FIFO: the entry's frequency and queue.
  s3fifo_entry_state s3fifo;
};
static_assert(sizeof(entry_policy_mark) == 4);

/// "No expiry", as an entry's `expires_at` (memory_store::never).
inline constexpr std::int64_t no_expiry = std::numeric_limits<std::int64_t>::max();

/// A stored value: this 40-byte header, then the key's bytes, then the value (`value_slot`;
/// in place at its alignment after the key, or a pointer to a heap copy), then what only
/// some entries need (the trailer): the expiry of an entry set with a ttl, and the weight of
/// a value whose type does not fix it (`fixed_weight`); all in one allocation. Immutable
/// once published in a table, but for its policy mark (atomics written by hits), and the
/// queue links and `in_small` (writers, under the lock).
struct entry : lru_hook {
  entry(key_view k, bool expires, eviction_policy policy) noexcept
      : hash(k.hash),
        size_and_expiry_(static_cast<std::uint32_t>(k.bytes.size()) | (expires ? expiry_bit : 0)) {
    if (policy == eviction_policy::s3fifo) std::construct_at(&mark.s3fifo);
  }

  [[nodiscard]] key_view key() const noexcept {
    return {{reinterpret_cast<const char*>(this + 1), key_size()}, hash};
  }
  [[nodiscard]] bool has_key(key_view k) const noexcept {
    return hash == k.hash && detail::same_bytes(key().bytes, k.bytes);
  }
  [[nodiscard]] std::size_t key_size() const noexcept { return size_and_expiry_ & ~expiry_bit; }
  /// Whether the entry was set with a ttl (else `expires_at` is `no_expiry`, read from no
  /// byte beyond the header).
  [[nodiscard]] bool has_expiry() const noexcept { return (size_and_expiry_ & expiry_bit) != 0; }
  /// When the entry expires, on the store's clock in ns; `no_expiry` if it does not.
  [[nodiscard]] std::int64_t expires_at() const noexcept {
    return has_expiry() ? static_cast<std::int64_t>(trailer_word(0)) : no_expiry;
  }
  /// `expires_at` of an entry whose value is a T (its layout known at compile time).
  template <class T>
  [[nodiscard]] std::int64_t expires_at_as() const noexcept {
    if (!has_expiry()) return no_expiry;
    std::int64_t at = 0;
    std::memcpy(&at,
                reinterpret_cast<const char*>(this) +
                    trailer_offset(key_size(), value_kind_of<T>::alignment, value_kind_of<T>::size),
                sizeof at);
    return at;
  }
  /// What the byte bound counts for the entry (key, value, `entry_overhead`), as `set`
  /// weighed it: recomputed from the value's kind when its type fixes the weight, else read
  /// from the trailer.
  [[nodiscard]] std::size_t weight() const noexcept;
  /// The value, of the type it was stored as (checked by the caller against `value.type()`).
  template <class T>
  [[nodiscard]] const T& value_as() const noexcept {
    return value_slot::get<T>(value_storage(value_kind_of<T>::alignment));
  }
  [[nodiscard]] s3fifo_entry_state& s3fifo_state() noexcept { return mark.s3fifo; }
  [[nodiscard]] const s3fifo_entry_state& s3fifo_state() const noexcept { return mark.s3fifo; }

  /// A new entry of `weight` (which must be the key's size plus the value's `fixed_weight`
  /// plus `entry_overhead` for a value whose type fixes it) expiring at `expires`.
  template <class V>
  static entry* create(key_view k, V&& v, std::size_t weight, std::int64_t expires,
                       eviction_policy policy) {
    using T = std::remove_cvref_t<V>;
    using layout = value_kind_of<T>;
    const std::size_t trailer = trailer_offset(k.bytes.size(), layout::alignment, layout::size);
    const bool expiring = expires != no_expiry;
    constexpr bool weighed = fixed_weight<T> == 0;
    entry* memory =
        allocate_node_with_key<entry>(k, trailer + (expiring ? sizeof(std::uint64_t) : 0) +
                                             (weighed ? sizeof(std::uint64_t) : 0));
    entry* e = new (memory) entry(k, expiring, policy);
    if (expiring) e->set_trailer_word(trailer, 0, static_cast<std::uint64_t>(expires));
    if constexpr (weighed) e->set_trailer_word(trailer, expiring ? 1 : 0, weight);
    try {
      e->value.emplace(e->value_storage(layout::alignment), std::forward<V>(v));
    } catch (...) {
      destroy(e);
      throw;
    }
    return e;
  }
  static void destroy(entry* e) noexcept {
    if (e->value.type() != nullptr) {  // null if the value's constructor threw
      e->value.destroy(e->value_storage(e->value.alignment()));
    }
    e->~entry();
    ::operator delete(e);
  }

  /// The longest key an entry holds (its size is 31 bits): `set` refuses longer ones.
  static constexpr std::size_t max_key_size = (std::size_t{1} << 31) - 1;

  std::uint64_t hash;
  value_slot value;

 private:
  static constexpr std::uint32_t expiry_bit = std::uint32_t{1} << 31;
  std::uint32_t size_and_expiry_;  // the key's size, and expiry_bit if set with a ttl

 public:
  entry_policy_mark mark;

 private:
  // Where the value starts, from the entry's address (which operator new aligns to 16).
  static constexpr std::size_t value_offset(std::size_t key_size, std::size_t alignment) {
    return (sizeof(entry) + key_size + alignment - 1) & ~(alignment - 1);
  }
  // Where the trailer starts: after the value, 8-byte aligned.
  static constexpr std::size_t trailer_offset(std::size_t key_size, std::size_t alignment,
                                              std::size_t value_size) {
    return (value_offset(key_size, alignment) + value_size + 7) & ~std::size_t{7};
  }
  [[nodiscard]] void* value_storage(std::size_t alignment) const noexcept {
    // The value's bytes are not the entry's: const is the entry's, not the value's.
    return const_cast<char*>(reinterpret_cast<const char*>(this)) +
           value_offset(key_size(), alignment);
  }
  // The trailer's `index`th 8-byte word (the expiry first, if any, then the weight).
  [[nodiscard]] std::uint64_t trailer_word(std::size_t index) const noexcept {
    std::uint64_t word = 0;
    std::memcpy(&word,
                reinterpret_cast<const char*>(this) +
                    trailer_offset(key_size(), value.alignment(), value.size()) +
                    index * sizeof word,
                sizeof word);
    return word;
  }
  void set_trailer_word(std::size_t trailer, std::size_t index, std::uint64_t word) noexcept {
    std::memcpy(reinterpret_cast<char*>(this) + trailer + index * sizeof word, &word, sizeof word);
  }
};
static_assert(sizeof(entry) == 40, "hook, hash, kind, key size and expiry flag, policy mark");

/// Accounted bytes per entry beyond key and value (memory_store::entry_overhead).
inline constexpr std::size_t entry_overhead = sizeof(entry) + 48 + 64;

inline std::size_t entry::weight() const noexcept {
  if (const std::size_t fixed = value.fixed_weight(); fixed != 0) {
    return key_size() + fixed + entry_overhead;
  }
  return static_cast<std::size_t>(trailer_word(has_expiry() ? 1 : 0));
}

using entry_list = boost::intrusive::list<entry>;

/// One shard's index: open addressing with linear probing, readable without the lock.
///
/// Written here rather than taken from a library because its readers must run under RCU
/// without a lock: Boost 1.81 has no concurrent map, and liburcu's own `cds_lfht` costs a
/// node per entry and a chain walk per probe. A slot is one 64-bit word: 0 empty, 1 erased,
/// else the entry's address in the low 48 bits and the top 16 bits of its key's hash above
/// (a probe dereferences an entry only when those bits match: one cache miss for the slot,
/// one for the entry). Where heap addresses carry a tag in their top bits (ARM top-byte
/// ignore, MTE, HWASan, Intel LAM), found at construction by `heap_addresses_are_tagged`,
/// a slot holds the whole address and no hash bits (`tagged_slots` false): every probe
/// then compares the entry's hash, one more cache miss per colliding slot. Writers (under the
/// shard's lock) publish a slot with one release store; a reader loads it with acquire and compares
/// the whole key. A slot is never emptied again, so a probe that meets an empty slot has seen every
/// slot the key could be in; the table is replaced (grown, or cleaned of erased slots) before it is
/// 5/8 used, and a replaced table is frozen and freed after a grace period.
template <class Node>
class node_table {
 public:
  static constexpr std::uint64_t empty = 0;
  static constexpr std::uint64_t erased = 1;
  static constexpr std::size_t npos = ~std::size_t{0};
  static constexpr std::uint64_t hash_bits = ~((std::uint64_t{1} << 48) - 1);

  /// A table of `capacity` slots (a power of two >= 16); `tagged_slots`: hash bits in the
  /// slot words' top 16 bits (heap addresses fit 48 bits).
  [[nodiscard]] static node_table* create(std::size_t capacity, bool tagged_slots) {
    char* memory = static_cast<char*>(
        ::operator new(sizeof(node_table) + capacity * sizeof(std::atomic<std::uint64_t>)));
    auto* slots = reinterpret_cast<std::atomic<std::uint64_t>*>(memory + sizeof(node_table));
    std::uninitialized_value_construct_n(slots, capacity);
    return new (memory) node_table(capacity, slots, tagged_slots ? hash_bits : 0);
  }
  static void destroy(node_table* table) noexcept {
    table->~node_table();  // the slots are trivially destructible atomics
    ::operator delete(table);
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }
  [[nodiscard]] bool tagged_slots() const noexcept { return tag_mask_ != 0; }

  /// The entry under `key`, or null. Lock-free; the result is valid until the caller's
  /// RCU read section ends.
  [[nodiscard]] Node* find(key_view key) const noexcept {
    return find(key.hash, [&](const Node& e) { return e.has_key(key); });
  }
  /// The entry whose hash is `hash` and for which `matches(const Node&)` holds, or null:
  /// `find` for a caller that compares a key's fields without building its bytes.
  template <class Match>
  [[nodiscard]] Node* find(std::uint64_t hash, Match&& matches) const noexcept {
    const std::uint64_t tag = hash & tag_mask_;
    for (std::size_t i = home_of(hash);; i = (i + 1) & mask_) {
      const std::uint64_t word = slots_[i].load(std::memory_order_acquire);
      if (word == empty) return nullptr;
      if ((word & tag_mask_) == tag && word != erased) {
        Node* e = address_of(word);
        if (e->hash == hash && matches(*e)) return e;
      }
    }
  }
  /// Brings the home slot of `hash` towards the cache (a batch's first pass).
  void prefetch(std::uint64_t hash) const noexcept { __builtin_prefetch(&slots_[home_of(hash)]); }
  /// Brings towards the cache the node the home slot of `hash` points at, if the slot's hash
  /// bits match (a batch's next pass, once the slot is near): the line of the node's hash
  /// and the first 64 bytes after the node, where its key starts.
  void prefetch_node(std::uint64_t hash) const noexcept {
    const std::uint64_t word = slots_[home_of(hash)].load(std::memory_order_acquire);
    if (word > erased && (word & tag_mask_) == (hash & tag_mask_)) {
      const Node* node = address_of(word);
      __builtin_prefetch(&node->hash);
      __builtin_prefetch(node + 1);
      __builtin_prefetch(reinterpret_cast<const char*>(node + 1) + 63);
    }
  }

  // Writers only, under the shard's lock.
  /// The slot holding `key`, or npos.
  [[nodiscard]] std::size_t locate(key_view key) const noexcept {
    const std::uint64_t tag = key.hash & tag_mask_;
    for (std::size_t i = home_of(key.hash);; i = (i + 1) & mask_) {
      const std::uint64_t word = slots_[i].load(std::memory_order_relaxed);
      if (word == empty) return npos;
      if ((word & tag_mask_) == tag && word != erased && address_of(word)->has_key(key)) return i;
    }
  }
  [[nodiscard]] Node* at(std::size_t slot) const noexcept {
    return address_of(slots_[slot].load(std::memory_order_relaxed));
  }
  /// Puts an entry whose key is absent into the first empty or erased slot of its probe;
  /// returns true if that slot was empty (one more slot used).
  bool insert(Node* e) noexcept {
    const std::uint64_t word = word_of(e);
    for (std::size_t i = home_of(e->hash);; i = (i + 1) & mask_) {
      const std::uint64_t w = slots_[i].load(std::memory_order_relaxed);
      if (w == empty || w == erased) {
        slots_[i].store(word, std::memory_order_release);
        return w == empty;
      }
    }
  }
  void replace(std::size_t slot, Node* e) noexcept {
    slots_[slot].store(word_of(e), std::memory_order_release);
  }
  void erase(std::size_t slot) noexcept { slots_[slot].store(erased, std::memory_order_release); }
  /// Empties every slot (the store's destructor: no reader left).
  void clear_slots() noexcept {
    for (std::size_t i = 0; i <= mask_; ++i) slots_[i].store(empty, std::memory_order_relaxed);
  }
  /// Calls f(Node*) for every entry.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i <= mask_; ++i) {
      if (slots_[i].load(std::memory_order_relaxed) > erased) f(at(i));
    }
  }
  /// Whether `e` can be put in this table: with hash bits in the slots, its address must
  /// fit 48 bits (a heap that starts tagging after the store was built: std::bad_alloc).
  /// Every table of a store has the same `tagged_slots`, so a caller without the shard's
  /// lock checks against the store's flag rather than reading a table that may be replaced.
  static void check_address(const Node* e, bool tagged_slots) {
    const auto address = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(e));
    if (tagged_slots && (address & hash_bits) != 0) throw std::bad_alloc();
  }

 private:
  node_table(std::size_t capacity, std::atomic<std::uint64_t>* slots,
             std::uint64_t tag_mask) noexcept
      : mask_(capacity - 1), tag_mask_(tag_mask), slots_(slots) {}
  std::uint64_t word_of(const Node* e) const noexcept {
    return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(e)) | (e->hash & tag_mask_);
  }
  Node* address_of(std::uint64_t word) const noexcept {
    // NOLINTNEXTLINE(performance-no-int-to-ptr): a slot word is an address with hash bits
    return reinterpret_cast<Node*>(static_cast<std::uintptr_t>(word & ~tag_mask_));
  }
  // The shard takes the hash's low bits; the home slot the next ones.
  [[nodiscard]] std::size_t home_of(std::uint64_t hash) const noexcept {
    return static_cast<std::size_t>(hash >> 16) & mask_;
  }

  std::size_t mask_;
  std::uint64_t tag_mask_;  // hash_bits, or 0 where heap addresses carry tags
  std::atomic<std::uint64_t>* slots_;
};

using entry_table = node_table<entry>;

/// True if any of a few fresh heap blocks has an address above 48 bits (a tagging heap);
/// `sample` adds one address to look at (tests pass a synthetic tagged one). Evaluated
/// once per process for the stores' default.
[[nodiscard]] bool heap_addresses_are_tagged(const void* sample = nullptr);
/// Tests only: build stores whose tables keep whole addresses, as on a tagging heap.
inline std::atomic<bool> force_untagged_slots{false};

struct retired_payload;

struct alignas(64) value_shard {
  // Read by hits.
  std::atomic<entry_table*> table{nullptr};
  std::atomic<std::uint32_t> inserts{0};  // written under the mutex; LRU hits read it
  // Writers only.
  alignas(64) std::mutex mutex;
  std::size_t live = 0;            // entries in `table` (stored atomically: stats() reads it)
  std::size_t used = 0;            // slots of `table` not empty (live or erased)
  entry_list lru;                  // eviction_policy::lru
  s3fifo<entry, entry_list> fifo;  // eviction_policy::s3fifo
  std::size_t bytes = 0;           // stored atomically, as `live`
  entry_list retired;              // unlinked, waiting to be handed to the reclaimer
  std::size_t retired_bytes = 0;
  std::vector<entry_table*> retired_tables;
};

struct generation_node : lru_hook {
  generation_node(key_view id, std::uint64_t initial) noexcept
      : hash(id.hash), value(initial), id_size(static_cast<std::uint32_t>(id.bytes.size())) {}

  [[nodiscard]] key_view id() const noexcept {
    return {{reinterpret_cast<const char*>(this + 1), id_size}, hash};
  }
  [[nodiscard]] bool has_key(key_view k) const noexcept {
    return hash == k.hash && detail::same_bytes(id().bytes, k.bytes);
  }

  std::uint64_t hash;
  std::atomic<std::uint64_t> value;
  std::uint32_t promoted_at = 0;
  std::uint32_t id_size;
  bool pinned = false;
  std::atomic<bool> read{false};  // set by lock-free reads: a second chance against eviction
};

struct alignas(64) generation_shard {
  std::atomic<node_table<generation_node>*> table{nullptr};  // read lock-free
  alignas(64) std::mutex mutex;
  std::size_t live = 0;                         // counters in `table`
  std::size_t used = 0;                         // slots not empty
  boost::intrusive::list<generation_node> lru;  // unpinned counters only
  std::uint32_t inserts = 0;
  boost::intrusive::list<generation_node> retired;  // evicted, for the reclaimer
  std::vector<node_table<generation_node>*> retired_tables;
};

/// A stripe's version, alone on its cache line: bumps write it, reads of remembered
/// generations load it.
struct alignas(64) generation_stripe {
  std::atomic<std::uint64_t> version{0};
};

/// One remembered generation value of the per-thread cache (see the comment at the top), on
/// one cache line: a lookup that finds it touches no other line of the table. The id's
/// bytes, not its hash, say whose value it is (G5).
struct alignas(64) remembered_generation {
  std::uint64_t store = 0;    // 0: empty (store ids start at 1)
  std::uint64_t version = 0;  // of the id's stripe, before the value was read
  std::uint64_t value = 0;
  std::uint8_t size = 0;
  char id[39];  // ids up to 39 bytes are remembered ("nav_portal:user_id" + an integer: 29)
};
static_assert(sizeof(remembered_generation) == 64);

/// Whether two ids of equal size are equal, their last 8 bytes first: the ids of one spec
/// differ there (the value), so a remembered slot held by another user's counter is told
/// apart with one load.
[[nodiscard]] inline bool same_generation_id(std::string_view held, std::string_view id) noexcept {
  std::uint64_t held_tail = 0;
  std::uint64_t id_tail = 0;
  if (held.size() >= sizeof held_tail) {
    std::memcpy(&held_tail, held.data() + held.size() - sizeof held_tail, sizeof held_tail);
    std::memcpy(&id_tail, id.data() + held.size() - sizeof id_tail, sizeof id_tail);
  }
  return held_tail == id_tail && same_bytes(held, id);
}

/// The calling thread's slot for a generation id hash: a direct-mapped table of 512 entries
/// (32 KiB per thread), so a few hundred hot value-based generations rarely collide.
inline remembered_generation& remembered_generation_for(std::uint64_t hash) noexcept {
  thread_local std::array<remembered_generation, 512> table{};
  return table[(hash >> 20) & 511];
}

/// The calling thread's most recently used statistics blocks, by store id modulo 8: the
/// hit path's way to its block. A miss here asks the thread's full table
/// (`memory_store::counters_slow`), which never allocates twice for one store.
struct recent_counters_slot {
  std::uint64_t store = 0;  // 0: empty (store ids start at 1)
  store_counters* counters = nullptr;
};
inline thread_local std::array<recent_counters_slot, 8> recent_counters{};

class thread_counter_table;
class reclaimer;
void fork_prepare() noexcept;
void fork_parent() noexcept;
void fork_child() noexcept;

}  // namespace detail

/// The in-process store: sharded, bounded by entries and bytes, S3-FIFO eviction (or LRU
/// with delayed promotion), per-entry TTL, and its own sharded table of generation
/// counters.
///
/// Complexity: get, peek, visit, set, erase are O(1) expected (one hash lookup in one shard;
/// a set may evict several entries to make room). Thread-safety: all members may be called
/// concurrently; get, peek and visit take no lock (see the top of this file; with LRU, a
/// get that promotes its entry does), writers take a per-shard lock. A hit for an inline
/// trivially copyable value (see value.hpp) allocates nothing and takes no lock, whatever
/// the number of stores and threads in the process, once the calling thread has counted in
/// this store: its first counted call there takes a statistics block (under a lock,
/// allocated unless one is free), and its first read section registers it with liburcu.
///
/// User code and the store (docs/design.md, "User code inside the store"):
/// - Value copy constructors run in `get` inside a read section; value destructors run
///   outside every store lock, and outside every read section of gencache's: in a later
///   writer of the store, in `flush()`, on gencache's reclaimer thread, or in the store's
///   destructor, which runs them where it is called (inside a read section if the store is
///   destroyed in another store's visit callback). A removed (replaced, erased, evicted,
///   expired) value is destroyed within about 100 ms, unless a read section is held open
///   meanwhile (a visit callback, a value copy or a clock that waits), and always by the
///   time `flush()` or the store's destructor returns. Destructors must not throw (a type
///   whose destructor is `noexcept(false)` is rejected at compile time).
/// - A value's copy constructor, destructor, a `visit` callback and the clock may call any
///   member of any store, this one included, and may take locks; they must not destroy the
///   store that is calling them, and a visit callback, copy constructor or clock that waits
///   for another thread holds up the freeing of removed values (never a writer): past
///   `max(max_bytes / 4, 4 MiB)` of unfreed removals, sets fail with errc::busy until it returns.
///   The clock runs inside a lookup's read section for an entry with a TTL. `flush()` inside
///   a read section destroys nothing and returns false (it cannot wait for itself).
/// - Destroying the store: no other thread may be using it. Values are unlinked first and
///   destroyed afterwards: a destructor that calls the store then sees it empty (gets miss,
///   erase returns false, sets fail with errc::busy).
/// - fork(): the child may use, fill and destroy the stores it inherited, whatever other
///   threads were doing at the fork, but a fork can deadlock while another thread waits for
///   a store's lock inside a read section during a grace period (its first use of a store,
///   an LRU promotion, or a visit callback, value copy or clock that calls a store):
///   fork while no other thread is inside a store call (docs/design.md, "fork()").
///
///     gencache::memory_store store({.max_entries = 100'000, .max_bytes = 64 << 20});
class memory_store {
 public:
  using options_type = memory_store_options;
  /// "No expiry".
  static constexpr std::int64_t never = detail::no_expiry;
  /// Accounted bytes per entry beyond key and value: the entry node, its index slot, the
  /// allocator's bookkeeping, and the S3-FIFO ghost slot its key may take once evicted.
  static constexpr std::size_t entry_overhead = detail::entry_overhead;

  memory_store() : memory_store(memory_store_options{}) {}
  explicit memory_store(memory_store_options options);
  ~memory_store();
  memory_store(const memory_store&) = delete;
  memory_store& operator=(const memory_store&) = delete;

  /// The value under `key` if present, unexpired and of type T; refreshes recency. A value
  /// of another type counts as a miss and an error. Lock-free (see the top of this file).
  template <class T>
  [[nodiscard]] std::optional<T> get(key_view key) {
    std::optional<T> out;
    find_value<T, true>(key, [&](const detail::entry& e) { out.emplace(e.value_as<T>()); });
    return out;
  }
  /// Like `get`, but changes nothing: no recency refresh, no statistics, no reclaiming.
  template <class T>
  [[nodiscard]] std::optional<T> peek(key_view key) {
    std::optional<T> out;
    find_value<T, false>(key, [&](const detail::entry& e) { out.emplace(e.value_as<T>()); });
    return out;
  }
  /// Calls `f(const T&)` on the value stored under `key` if present, unexpired and of type
  /// T, without copying it (a boxed value's reference count is not touched either), and
  /// returns whether it did. Counts and refreshes recency like `get`. `f` runs inside a
  /// read section: the reference is valid only during the call. `f` may call any store
  /// (this one too) and may throw (the exception reaches the caller, the store is
  /// unchanged); it must not destroy this store, and while it runs no value removed from
  /// any memory store is freed. A value stored as `std::shared_ptr<const U>` is visited as
  /// that pointer, touching no reference count.
  template <class T, class F>
  bool visit(key_view key, F&& f) {
    return find_value<T, true>(key, [&](const detail::entry& e) { f(e.value_as<T>()); });
  }

  /// The hit path of a front end that compares a key's fields instead of building its
  /// bytes (the memoizer): the value under the key whose hash is `hash` and whose bytes
  /// satisfy `matches(std::string_view)`, if present, unexpired and of type T, counted and
  /// refreshed as `get`'s hit. Anything else returns nullopt and counts nothing: the caller
  /// then builds the key and calls `get`, which counts the miss. `hash` is the hash the
  /// key's bytes were stored under. Allocation-free (but T's copy); lock-free as `get` is
  /// (an LRU promotion takes the shard's lock).
  template <class T, class Match>
  [[nodiscard]] std::optional<T> get_hit(std::uint64_t hash, Match&& matches) {
    detail::value_shard& s = values_[hash & mask_];
    const detail::rcu_read_section section;
    detail::entry* e =
        s.table.load(std::memory_order_acquire)->find(hash, [&](const detail::entry& c) {
          return matches(c.key().bytes);
        });
    if (e == nullptr || e->value.type() != detail::type_id<T>) return std::nullopt;
    if (e->has_expiry() && clock_->now().count() >= e->expires_at_as<T>()) return std::nullopt;
    record_hit(s, *e);
    return std::optional<T>(e->value_as<T>());
  }
  /// What a pass of a batch of lookups brings towards the cache, for each hash: an entry's
  /// home index slot, the entry that slot points at (once the slot is near), and the same
  /// two for a generation counter whose id hashes to it.
  enum class prefetch_pass { entry_slots, entries, generation_slots, generations };
  /// One pass of a batch (the memoizer's `call_many`): each pass touches what the previous
  /// one fetched, so the cache misses of independent lookups overlap. One read section (a
  /// table may be replaced and freed meanwhile); never locks.
  void prefetch(std::span<const std::uint64_t> hashes, prefetch_pass pass) const noexcept {
    const detail::rcu_read_section section;
    const auto fetch = [&](const auto* shards, bool nodes) {
      for (const std::uint64_t hash : hashes) {
        const auto* table = shards[hash & mask_].table.load(std::memory_order_acquire);
        nodes ? table->prefetch_node(hash) : table->prefetch(hash);
      }
    };
    switch (pass) {
      case prefetch_pass::entry_slots:
        return fetch(values_.get(), false);
      case prefetch_pass::entries:
        return fetch(values_.get(), true);
      case prefetch_pass::generation_slots:
        return fetch(generations_.get(), false);
      case prefetch_pass::generations:
        return fetch(generations_.get(), true);
    }
  }

  /// Stores `value` under `key`, replacing any entry there, evicting entries of the shard
  /// as the eviction policy says. Fails, storing nothing, with errc::too_large if the
  /// entry outweighs one shard's byte share or its key is 2 GiB or longer, and with errc::busy
  /// while removed values awaiting their grace period exceed `max(max_bytes / 4, 4 MiB)` (a read
  /// section held open) or while the store is being destroyed. String literals, `const char*` and
  /// `std::string_view` are stored as std::string (a view would dangle). Throws
  /// std::invalid_argument for a ttl that is not positive.
  template <class V>
  status set(key_view key, V&& value, std::optional<std::chrono::nanoseconds> ttl = std::nullopt) {
    if constexpr (detail::stored_as_string<V>) {
      return set(key, std::string(value), ttl);
    } else {
      detail::check_ttl(ttl);
      const std::size_t weight = key.bytes.size() + detail::weigh(value) + entry_overhead;
      const std::int64_t expires = ttl ? expiry_after(*ttl) : never;
      if (weight > shard_max_bytes_ || key.bytes.size() > detail::entry::max_key_size) {
        return reject_too_large(weight, key.bytes.size());
      }
      if (!admits_writes()) [[unlikely]] {
        if (status busy = reject_busy(); !busy.ok()) return busy;
      }
      return insert(
          detail::entry::create(key, std::forward<V>(value), weight, expires, options_.eviction));
    }
  }

  /// Removes the entry under `key`; true if there was one.
  bool erase(key_view key);
  /// Removes every entry (generation counters stay).
  void clear();
  /// Destroys every value removed from this store so far (replaced, erased, evicted,
  /// expired) before it returns, and returns true. Waits until read sections that began
  /// before it have ended (a grace period). Inside a read section (a visit callback, a
  /// value's copy constructor, the clock during a lookup), where that wait would never end,
  /// it hands the values to the reclaimer, destroys none and returns false.
  bool flush();

  /// The counter's value, created from the process-wide source if absent. Served from a
  /// per-thread cache, without a lock, until a counter of the same stripe (1 in 1,024) is
  /// bumped or evicted.
  [[nodiscard]] std::uint64_t read_generation(key_view id) {
    if (const auto existing = existing_generation(
            id.hash, id.bytes.size(),
            [&](std::string_view held) { return detail::same_generation_id(held, id.bytes); })) {
      return *existing;
    }
    return create_and_remember_generation(id);
  }
  /// The counter's value if this thread remembers it, valid as `read_generation`'s (no
  /// counter of its stripe bumped or evicted since): for a front end that compares an id's
  /// fields (`matches(std::string_view)`, given the id's `size` bytes) instead of building
  /// it. Nullopt otherwise: build the id and call `read_generation`. Never locks.
  template <class Match>
  [[nodiscard]] std::optional<std::uint64_t> remembered_generation(std::uint64_t hash,
                                                                   std::size_t size,
                                                                   Match&& matches) const noexcept {
    const detail::remembered_generation& r = detail::remembered_generation_for(hash);
    const std::uint64_t version = stripe_of(hash).version.load(std::memory_order_acquire);
    if (remembers(r, version, size, matches)) return r.value;
    return std::nullopt;
  }
  /// The counter's value if it exists, valid as `read_generation`'s: remembered by this
  /// thread, else read lock-free from the store's table, where the node matched is the one
  /// whose id (of `size` bytes) satisfies `matches`, and then remembered. Nullopt if the
  /// counter does not exist: build the id and call `read_generation`, which creates it.
  /// For a front end that compares an id's fields instead of building it. Lock-free, but
  /// for a thread's first read section in the process, which registers it with liburcu
  /// (under liburcu's registry lock, once per thread, as any first lookup does).
  template <class Match>
  [[nodiscard]] std::optional<std::uint64_t> existing_generation(std::uint64_t hash,
                                                                 std::size_t size,
                                                                 Match&& matches) const noexcept {
    detail::remembered_generation& r = detail::remembered_generation_for(hash);
    const std::uint64_t version = stripe_of(hash).version.load(std::memory_order_acquire);
    if (remembers(r, version, size, matches)) return r.value;
    const detail::generation_shard& g = generations_[hash & mask_];
    const detail::rcu_read_section section;
    detail::generation_node* node =
        g.table.load(std::memory_order_acquire)->find(hash, [&](const detail::generation_node& n) {
          return n.id_size == size && matches(n.id().bytes);
        });
    if (node == nullptr) return std::nullopt;
    const std::uint64_t value = read_found_generation(*node);
    remember_generation(r, version, node->id().bytes, value);
    return value;
  }
  /// How many times a counter of this store was bumped or evicted so far (seq_cst; it moves
  /// before `bump_generation` returns): a front end that read counters ahead of using them
  /// (the memoizer's `call_many`) reads them again when it moved meanwhile. Never locks.
  [[nodiscard]] std::uint64_t generation_changes() const noexcept {
    return generation_changes_->version.load(std::memory_order_seq_cst);
  }
  /// Gives the counter a new value from the process-wide source and returns it.
  std::uint64_t bump_generation(key_view id);
  /// The counter, pinned: never evicted, valid until the store is destroyed.
  [[nodiscard]] const std::atomic<std::uint64_t>& pin_generation(key_view id);

  [[nodiscard]] store_stats stats() const;
  [[nodiscard]] const memory_store_options& options() const noexcept { return options_; }
  [[nodiscard]] std::size_t shard_count() const noexcept { return mask_ + 1; }

 private:
  // Whether `r` holds, for this store, the counter of this id (size, bytes that satisfy
  // `matches`) as it stood at its stripe's `version`.
  template <class Match>
  bool remembers(const detail::remembered_generation& r, std::uint64_t version, std::size_t size,
                 Match&& matches) const noexcept {
    return r.store == id_ && r.version == version && r.size == size &&
           matches(std::string_view(r.id, size));
  }
  // A counter `existing_generation` did not find: read, or created, under its shard's lock,
  // and remembered under its stripe's version loaded before that read.
  std::uint64_t create_and_remember_generation(key_view id) {
    detail::remembered_generation& r = detail::remembered_generation_for(id.hash);
    const std::uint64_t version = stripe_of(id).version.load(std::memory_order_acquire);
    const std::uint64_t value = read_generation_locked(id);
    remember_generation(r, version, id.bytes, value);
    return value;
  }
  // Remembers `value` of counter `id` in this thread's slot `r`, tagged with its stripe's
  // `version` loaded before the value was read (ids over the slot's size are not remembered).
  void remember_generation(detail::remembered_generation& r, std::uint64_t version,
                           std::string_view id, std::uint64_t value) const noexcept {
    if (id.size() <= sizeof r.id) {
      r.store = id_;
      r.version = version;
      r.value = value;
      r.size = static_cast<std::uint8_t>(id.size());
      std::memcpy(r.id, id.data(), id.size());
    }
  }
  // A counter found lock-free in its table, inside the caller's read section.
  static std::uint64_t read_found_generation(detail::generation_node& node) noexcept {
    if (!node.read.load(std::memory_order_relaxed)) {
      node.read.store(true, std::memory_order_relaxed);
    }
    // seq_cst, as the bump's store: a read that starts after a bump returned sees it.
    return node.value.load(std::memory_order_seq_cst);
  }
  friend class detail::thread_counter_table;
  friend class detail::reclaimer;
  friend struct memory_store_probe;  // tests
  friend void detail::fork_prepare() noexcept;
  friend void detail::fork_parent() noexcept;
  friend void detail::fork_child() noexcept;

  // The lookup of get, peek and visit: calls use(slot) on a live entry's value inside the
  // read section. An expired entry is removed after the section, never inside it.
  template <class T, bool Refresh, class Use>
  bool find_value(key_view key, Use&& use) {
    detail::value_shard& s = values_[key.hash & mask_];
    {
      const detail::rcu_read_section section;
      detail::entry* e = s.table.load(std::memory_order_acquire)->find(key);
      if (e == nullptr) {
        if constexpr (Refresh) counters().misses.increment();
        return false;
      }
      // The clock is user code, read outside every lock.
      if (!e->has_expiry() || clock_->now().count() < e->expires_at()) [[likely]] {
        if (e->value.type() != detail::type_id<T>) {
          if constexpr (Refresh) {
            detail::store_counters& c = counters();
            c.count_error(errc::type_mismatch);
            c.misses.increment();
          }
          return false;
        }
        if constexpr (Refresh) record_hit(s, *e);
        use(*e);
        return true;
      }
    }
    if constexpr (Refresh) reclaim_expired(s, key);
    return false;
  }

  /// A hit's effects inside its read section: the policy's recency mark and the count.
  void record_hit(detail::value_shard& s, detail::entry& e) {
    if (options_.eviction == eviction_policy::s3fifo) {
      detail::s3fifo<detail::entry, detail::entry_list>::hit(e);
    } else if (detail::promotion_due(s.inserts.load(std::memory_order_relaxed),
                                     e.mark.lru_promoted_at.load(std::memory_order_relaxed),
                                     promotion_window_)) {
      promote(s, &e);
    }
    counters().hits.increment();
  }

  /// The calling thread's counters for this store: found through the recent slots, else
  /// through the thread's table, which takes a block once per store and gives it back at
  /// thread exit.
  detail::store_counters& counters() {
    detail::recent_counters_slot& slot = detail::recent_counters[id_ & 7];
    if (slot.store != id_) [[unlikely]]
      return counters_slow();
    return *slot.counters;
  }
  detail::store_counters& counters_slow();
  // Under counters_mutex_: a zeroed block for a thread, reused if one was given back.
  detail::store_counters& take_counters();
  // A thread's block, from its exit: its counts go to `exited_`, the block to the free list.
  void give_back_counters(detail::store_counters& block) noexcept;

  [[nodiscard]] bool admits_writes() const noexcept {
    return !closing_.load(std::memory_order_relaxed) &&
           pending_bytes_.load(std::memory_order_relaxed) <= max_pending_bytes_;
  }
  // Frees ready payloads, then says whether a set may go on (ok) or fails (errc::busy).
  status reject_busy();
  void reclaim_expired(detail::value_shard& s, key_view key);
  void promote(detail::value_shard& s, detail::entry* e);
  // Under the shard's lock: queues an unlinked entry for freeing after a grace period;
  // takes the queue once it is long (or if `all`), for `hand_garbage` after the lock.
  void retire(detail::value_shard& s, detail::entry* e) noexcept;
  [[nodiscard]] detail::retired_payload* take_retired(detail::value_shard& s, bool all) noexcept;
  [[nodiscard]] detail::retired_payload* new_payload() const noexcept;
  // Hands what every shard keeps retired to the reclaimer (its idle pass, and flush).
  void hand_all_retired();
  void rehash(detail::value_shard& s);
  /// Takes `e` out of its shard: its queue, then `forget`.
  void unlink(detail::value_shard& s, detail::entry* e) const noexcept;
  /// Takes `e`, no longer in any queue, out of its shard's table and counts.
  static void forget(detail::value_shard& s, detail::entry* e) noexcept;
  [[nodiscard]] std::int64_t expiry_after(std::chrono::nanoseconds ttl) noexcept;
  [[nodiscard]] detail::generation_stripe& stripe_of(key_view id) const noexcept {
    return stripe_of(id.hash);
  }
  [[nodiscard]] detail::generation_stripe& stripe_of(std::uint64_t id_hash) const noexcept {
    return generation_stripes_[(id_hash >> 40) & (generation_stripes - 1)];
  }
  [[nodiscard]] detail::entry_table* new_entry_table(std::size_t capacity) const {
    return detail::entry_table::create(capacity, tagged_slots_);
  }
  status insert(detail::entry* e);
  /// Under the shard's lock: evicts (and counts) until the shard is within its bounds,
  /// never `kept` (the entry just inserted). Allocates and throws nothing.
  void evict_over_bounds(detail::value_shard& s, const detail::entry* kept,
                         std::optional<std::int64_t> now, detail::store_counters& counts) noexcept;
  /// One round of the destructor: frees what the store holds and retired; true if it found
  /// anything (a value's destructor may have retired more).
  bool free_everything(int round);
  status reject_too_large(std::size_t weight, std::size_t key_size);
  // Under the generation shard's lock; evicted counters go to the shard's `retired`.
  detail::generation_node& find_or_create_generation(detail::generation_shard& g, key_view id);
  [[nodiscard]] detail::retired_payload* take_retired(detail::generation_shard& g) noexcept;
  std::uint64_t read_generation_locked(key_view id);
  // After the lock: hands `garbage` (may be null or empty) to the reclaimer, and frees
  // this store's ready payloads unless inside a read section.
  void hand_garbage(detail::retired_payload* garbage);
  void free_ready() noexcept;
  // Fork handlers: every mutex of this store, in the lock hierarchy's order.
  void lock_for_fork() noexcept;
  void unlock_after_fork() noexcept;

  memory_store_options options_;
  std::shared_ptr<const clock> clock_;
  std::atomic<bool> ttl_used_{false};  // set once an entry has had a ttl
  std::size_t mask_ = 0;
  std::size_t shard_max_entries_ = 0;
  std::size_t shard_max_bytes_ = 0;
  std::size_t shard_max_generations_ = 0;
  std::uint32_t promotion_window_ = 0;
  bool tagged_slots_ = true;
  std::uint64_t id_ = 0;  // process-unique, tags this store's entries in per-thread caches
  static constexpr std::size_t generation_stripes = 1024;
  std::unique_ptr<detail::generation_stripe[]> generation_stripes_ =
      std::make_unique<detail::generation_stripe[]>(generation_stripes);
  // Counts bumps and evictions of every counter (`generation_changes`), on its own line.
  std::unique_ptr<detail::generation_stripe> generation_changes_ =
      std::make_unique<detail::generation_stripe>();
  std::unique_ptr<detail::value_shard[]> values_;
  std::unique_ptr<detail::generation_shard[]> generations_;
  // Statistics blocks, one per thread that counted and is alive; given-back ones are
  // zeroed and reused, their counts kept in `exited_`.
  mutable std::mutex counters_mutex_;
  std::vector<std::unique_ptr<detail::store_counters>> counters_;
  std::vector<detail::store_counters*> free_counters_;
  store_stats exited_{};
  detail::store_counters late_counters_;  // counting from thread-exit code, after the table
  // Reclamation (src/reclamation.hpp).
  std::atomic<bool> closing_{false};           // the destructor has begun
  std::atomic<std::size_t> pending_bytes_{0};  // removed, not yet freed
  std::size_t max_pending_bytes_ = 0;          // past it, sets fail with errc::busy
  std::atomic<bool> keeps_retired_{false};     // a shard holds retired entries unhanded
  std::mutex ready_mutex_;                     // guards ready_
  detail::retired_payload* ready_ = nullptr;   // past their grace period
  std::atomic<bool> has_ready_{false};
  std::size_t reclaimer_freeing_ = 0;  // under the registry mutex
};

static_assert(pinning_store<memory_store>);

}  // namespace gencache
