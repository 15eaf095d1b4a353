#pragma once
// S3-FIFO eviction (Yang et al., "FIFO queues are all you need for cache eviction", SOSP
// '23), the memory store's default policy, written from the paper. Chosen by measurement
// over LRU, SIEVE and a W-TinyLFU model (`gencache-bench simulate`, docs/benchmarks.md):
// its hit ratio is within 1 point of the W-TinyLFU model's on every stream tried (0.94
// points under it on Zipf 0.8, at most 0.2 on the others), and a hit writes one byte of its
// own entry (a 2-bit frequency, only when it changes) instead of a shared list or sketch.
//
// - New entries go to a small FIFO (~10 % of the shard); entries evicted from it without a
//   second access leave their key hash in a ghost FIFO; a miss whose key is in the ghost
//   goes straight to the main FIFO.
// - A hit raises the entry's frequency, saturating at 3.
// - Eviction takes the small queue's tail while it holds its share: with a frequency of at
//   least 1 it moves to the main queue, otherwise it is the victim. Else the main queue's
//   tail: with a frequency above 0 it is reinserted at the head with one less, otherwise
//   it is the victim.
//
// Not thread-safe: a shard's lock guards its queues. Only `hit` may run concurrently with
// everything (the frequency is a relaxed atomic), since hits will not take the lock.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

namespace gencache::detail {

/// Key hashes of entries recently evicted from the small queue, oldest forgotten first. A
/// hash pushed again counts from its last push.
class ghost_fifo {
 public:
  /// Remembers `hash`, forgetting the oldest while more than `capacity` are remembered.
  /// Never throws: the ghost is a hint, so a hash it has no memory for is forgotten (an
  /// eviction must not fail halfway, issue 25).
  void push(std::uint64_t hash, std::size_t capacity) noexcept {
    ++next_;
    try {
      // `order_` first: a push it holds that the map does not is skipped as superseded.
      order_.push_back({hash, next_});
      seq_of_[hash] = next_;
    } catch (...) {  // NOLINT(bugprone-empty-catch): std::bad_alloc: remember nothing new
    }
    while (seq_of_.size() > capacity && head_ < order_.size()) pop_oldest();
    // Popped and skipped pushes are dropped once they outnumber the remembered hashes, so
    // `order_` stays within twice them (plus slack) and each push costs O(1) amortized.
    if (order_.size() > 2 * seq_of_.size() + 16) compact();
  }
  /// True if `hash` is remembered; forgets it.
  bool take(std::uint64_t hash) { return seq_of_.erase(hash) != 0; }
  [[nodiscard]] std::size_t size() const noexcept { return seq_of_.size(); }
  /// Pushes held, remembered or not yet dropped: at most 2 × size() + 17.
  [[nodiscard]] std::size_t held() const noexcept { return order_.size(); }
  void clear() {
    seq_of_.clear();
    order_.clear();
    head_ = 0;
  }

 private:
  [[nodiscard]] bool live(const std::pair<std::uint64_t, std::uint64_t>& pushed) const noexcept {
    const auto it = seq_of_.find(pushed.first);
    return it != seq_of_.end() && it->second == pushed.second;
  }
  // Forgets the oldest remembered hash; pushes superseded or taken since are skipped.
  void pop_oldest() noexcept {
    while (head_ < order_.size()) {
      const auto pushed = order_[head_++];
      if (live(pushed)) {
        seq_of_.erase(pushed.first);
        return;
      }
    }
  }
  // Drops the popped prefix and the skipped pushes (in place: no allocation).
  void compact() noexcept {
    std::size_t kept = 0;
    for (std::size_t i = head_; i < order_.size(); ++i) {
      if (live(order_[i])) order_[kept++] = order_[i];
    }
    order_.resize(kept);
    head_ = 0;
  }

  std::uint64_t next_ = 0;
  boost::unordered_flat_map<std::uint64_t, std::uint64_t> seq_of_;  // hash -> its last push
  std::vector<std::pair<std::uint64_t, std::uint64_t>> order_;      // (hash, push), oldest first
  std::size_t head_ = 0;                                            // order_[0, head_): popped
};

/// What S3-FIFO needs of an entry beyond its queue's hook, a weight and a hash: a saturating
/// frequency and which queue holds it.
struct s3fifo_entry_state {
  std::atomic<std::uint8_t> frequency{0};
  bool in_small = true;

  /// An entry type that derives from this state is its own state.
  s3fifo_entry_state& s3fifo_state() noexcept { return *this; }
  const s3fifo_entry_state& s3fifo_state() const noexcept { return *this; }
};

/// The two queues and the ghost of one shard. `Entry` has `List`'s hook, `hash`, `weight()`
/// and `s3fifo_state()` (deriving from `s3fifo_entry_state` gives it; the memory store's
/// entry keeps its state beside the LRU policy's, in the same bytes).
template <class Entry, class List>
class s3fifo {
 public:
  /// The small queue's share of a shard, in entries and in bytes (the paper's 10 %).
  static constexpr std::size_t small_share_percent = 10;

  /// A hit: one relaxed byte written, only when the frequency changes.
  static void hit(Entry& e) noexcept {
    const std::uint8_t f = state(e).frequency.load(std::memory_order_relaxed);
    if (f < 3)
      state(e).frequency.store(static_cast<std::uint8_t>(f + 1), std::memory_order_relaxed);
  }

  /// Links a new entry: into the main queue if its key was evicted from the small queue
  /// recently, else into the small queue.
  void insert(Entry& e) {
    state(e).frequency.store(0, std::memory_order_relaxed);
    if (ghost_.take(e.hash)) {
      state(e).in_small = false;
      main_.push_front(e);
    } else {
      state(e).in_small = true;
      small_.push_front(e);
      small_weight_ += e.weight();
    }
  }

  /// Unlinks an entry (erased, replaced or expired).
  void remove(Entry& e) noexcept {
    if (state(e).in_small) {
      small_.erase(small_.iterator_to(e));
      small_weight_ -= e.weight();
    } else {
      main_.erase(main_.iterator_to(e));
    }
  }

  /// Unlinks and returns the entry to evict, moving survivors as the policy says, for a
  /// shard of at most `max_entries` entries and `max_bytes` bytes. `keep`, the entry being
  /// inserted, is evicted only if nothing else is left, in whichever queue it is (a ghost
  /// hit puts it straight into the main queue). Precondition: not empty. Never throws.
  Entry& evict(std::size_t max_entries, std::size_t max_bytes,
               const Entry* keep = nullptr) noexcept {
    for (;;) {
      const bool small_has_other =
          small_.size() > (keep != nullptr && state(*keep).in_small ? 1 : 0);
      const bool main_has_other =
          main_.size() > (keep != nullptr && !state(*keep).in_small ? 1 : 0);
      if (!small_has_other && !main_has_other) {  // only `keep` is left
        Entry& last = const_cast<Entry&>(*keep);
        remove(last);
        state(last).in_small = false;
        return last;
      }
      if (small_has_other &&
          (!main_has_other || small_.size() * 100 >= max_entries * small_share_percent ||
           small_weight_ * 100 >= max_bytes * small_share_percent)) {
        if (&small_.back() == keep) {  // passed over: it stays the newest
          small_.splice(small_.begin(), small_, small_.iterator_to(small_.back()));
          continue;
        }
        Entry& tail = small_.back();
        small_.pop_back();
        small_weight_ -= tail.weight();
        if (state(tail).frequency.load(std::memory_order_relaxed) >= 1) {
          state(tail).frequency.store(0, std::memory_order_relaxed);
          state(tail).in_small = false;
          main_.push_front(tail);
          continue;
        }
        ghost_.push(tail.hash, main_.size() + small_.size() + 1);
        state(tail).in_small = false;  // unlinked: remove() must not touch a queue
        return tail;
      }
      if (&main_.back() == keep) {
        main_.splice(main_.begin(), main_, main_.iterator_to(main_.back()));
        continue;
      }
      Entry& tail = main_.back();
      main_.pop_back();
      const std::uint8_t f = state(tail).frequency.load(std::memory_order_relaxed);
      if (f > 0) {
        state(tail).frequency.store(static_cast<std::uint8_t>(f - 1), std::memory_order_relaxed);
        main_.push_front(tail);
        continue;
      }
      return tail;
    }
  }

  /// Unlinks everything into `out` (the ghost is forgotten too).
  void take_all(List& out) {
    out.splice(out.end(), small_);
    out.splice(out.end(), main_);
    small_weight_ = 0;
    ghost_.clear();
  }

 private:
  static s3fifo_entry_state& state(Entry& e) noexcept { return e.s3fifo_state(); }
  static const s3fifo_entry_state& state(const Entry& e) noexcept { return e.s3fifo_state(); }

  List small_, main_;
  std::size_t small_weight_ = 0;
  ghost_fifo ghost_;
};

}  // namespace gencache::detail
