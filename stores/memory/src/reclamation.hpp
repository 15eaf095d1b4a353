#pragma once
// What the memory stores of a process share: the registry of live stores, the reclaimer
// thread that waits for grace periods, the fork handlers, and each thread's table of
// statistics blocks. Private to the memory component (not installed).
//
// Lock hierarchy (a thread takes these only in this order, never the reverse):
//   registry mutex → a store's shard mutexes → a store's counters mutex → reclaimer mutex
//   → a store's ready mutex.
// A read section counts as a lock that a grace period (liburcu's gp lock) waits for, and a
// reader may take a shard or counters mutex inside one: no thread waits for a grace period
// while it holds one of ours. The fork handlers take liburcu's locks after ours (see
// fork_prepare for why, and the one deadlock that leaves).
// No user code (value copies or destructors, the clock, callbacks) runs under any of them.
//
// Invariants:
// - a store is in the registry from the end of its constructor until its destructor has
//   taken it out (under the registry mutex); the reclaimer and exiting threads reach a
//   store only through the registry, while holding its mutex, or while the store's
//   `reclaimer_freeing_` count keeps its destructor waiting;
// - a retired payload is in exactly one place: a writer's hands, the reclaimer's queue or
//   batch in grace (under the reclaimer mutex), a store's ready list (under its ready
//   mutex), or the hands of whoever frees it; only one that passed a grace period after it
//   was retired, or whose store is being destroyed (no reader left, by contract), is freed.
// - the reclaimer thread never holds a lock while it waits for a grace period, and never
//   runs inside a read section; writers never wait for a grace period at all (issue 25:
//   a visit callback or a value copy may hold a read section open while it waits for a lock
//   a writer holds).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "gencache/memory_store.hpp"

namespace gencache::detail {

/// What a store removed, freed after a grace period (or by its destructor).
struct retired_payload {
  entry_list entries;
  std::vector<entry_table*> tables;
  std::vector<node_table<generation_node>*> generation_tables;
  boost::intrusive::list<generation_node> generations;   // evicted counters
  std::size_t bytes = 0;                                 // the entries' weights
  std::uint64_t store = 0;                               // the id of the store that retired it
  std::chrono::steady_clock::time_point delivered_at{};  // when it passed its grace period
  retired_payload* next = nullptr;                       // in the reclaimer's queue or a ready list

  [[nodiscard]] bool empty() const noexcept {
    return entries.empty() && tables.empty() && generation_tables.empty() && generations.empty();
  }
};

/// Destroys what `payload` holds (value destructors: user code), leaving it empty.
void destroy_contents(retired_payload& payload) noexcept;
/// destroy_contents, then the payload itself.
void free_payload(retired_payload* payload) noexcept;
/// free_payload for each payload of a list linked by `next`.
void free_list(retired_payload* list) noexcept;
/// The removed bytes a list linked by `next` holds (taken off a store's pending count
/// before its values are destroyed: a destructor may end the store).
[[nodiscard]] std::size_t bytes_of(const retired_payload* list) noexcept;
void destroy_generation(generation_node* node) noexcept;

/// The registry of live memory stores, by id.
struct store_registry {
  std::mutex mutex;
  boost::unordered_flat_map<std::uint64_t, memory_store*> stores;
  std::condition_variable freed;  // a store's reclaimer_freeing_ fell (under `mutex`)
};
store_registry& registry() noexcept;

/// The process's reclaimer: one thread that waits for grace periods and hands what passed
/// one to its store's ready list; every `tick` it also hands over what idle stores keep in
/// their shards and frees ready payloads nobody freed for a tick, so that a removed value
/// is destroyed within a few ticks even when its store is never written again.
class reclaimer {
 public:
  static constexpr auto tick = std::chrono::milliseconds(20);
  /// The least time between the end of one grace period and the start of the next, unless
  /// a store urges: batches that arrive meanwhile share one grace period. (Back-to-back
  /// grace periods kept this thread busy and their membarrier IPIs interrupted every
  /// thread of the process: a replacing set cost 1.8x what it had.)
  static constexpr auto grace_gap = std::chrono::milliseconds(1);

  static reclaimer& instance() noexcept;
  /// True on the reclaimer thread (where it may be destroying values of a store).
  [[nodiscard]] static bool on_this_thread() noexcept;
  /// Queues `payload` (not null) for a grace period. Never waits for one.
  void enqueue(retired_payload* payload);
  /// Says that a store keeps retired entries or ready payloads: the next ticks look at it.
  void note_outstanding();
  /// Says that a store's removed bytes near its bound: the next grace period starts now.
  void urge();
  /// Takes out of the queue and the batch in grace every payload of store `id`, as a list
  /// linked by `next`. Precondition: the registry mutex is held.
  [[nodiscard]] retired_payload* steal(std::uint64_t id);

  // Fork handlers (pthread_atfork), after the registry's.
  void before_fork();
  void after_fork_parent();
  void after_fork_child();

 private:
  reclaimer() = default;
  void run();
  // Under mutex_ and the registry mutex: hands the batch in grace to the ready lists of
  // its stores; returns the payloads of stores that are gone.
  [[nodiscard]] retired_payload* deliver();
  void idle_pass();                 // hands over and frees what idle stores keep
  void start_if_needed() noexcept;  // under mutex_

  std::mutex mutex_;
  std::condition_variable wake_;
  retired_payload* queue_ = nullptr;      // waiting for the next grace period
  retired_payload* in_grace_ = nullptr;   // the batch the thread is waiting a grace period for
  std::atomic<bool> outstanding_{false};  // a store keeps something for a later tick
  std::atomic<bool> urgent_{false};       // a store waits for the next grace period
  bool running_ = false;
};

/// Registers the process-wide fork handlers, once.
void install_fork_handlers();

}  // namespace gencache::detail
