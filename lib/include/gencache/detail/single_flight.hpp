#pragma once
// Single flight for the memoizer: concurrent misses of one key run the computation once;
// the other callers wait for its result or its exception.
//
// Allocation-free: a flight lives on its leader's stack and is linked, while it runs, into
// one of a few stripes (a mutex, a condition variable and an intrusive list each). A waiter
// finds it there, counts itself as a reader, waits for `done`, and copies the result
// outside the lock; the leader unlinks its flight, marks it done and waits until its
// readers have copied before its frame is left. So a waiter holds no pointer past the
// leader's lifetime, and nothing is allocated per miss (the alternative, a map of
// `std::shared_future`s, cost a key copy, a shared state and a map node per miss).
//
// Hand-written because neither Boost 1.81 nor the standard library has a single-flight or
// allocation-free "compute once per key" primitive.
//
// A call that re-enters a flight its own thread leads (the function calling itself with
// the same arguments) computes without waiting: waiting for itself would never end. The
// flights a thread leads form a chain through `outer`, innermost in a thread_local.

#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

namespace gencache::detail {

struct flight_base {
  const void* table = nullptr;
  const void* owner = nullptr;  // keys of different owners (stores) never meet
  std::string_view key;
  std::uint64_t hash = 0;
  flight_base* next = nullptr;         // in its stripe, under the stripe's mutex
  const flight_base* outer = nullptr;  // the flight this thread led before this one
  std::size_t readers = 0;             // waiters that have not copied the outcome yet
  bool done = false;
};

/// The innermost flight the calling thread leads, if any.
inline thread_local const flight_base* innermost_flight = nullptr;

template <class R>
class flight_table {
 public:
  /// Runs `compute()` for `key` (its hash `hash`) of `owner` unless a flight for them is
  /// running, in which case it calls `on_join()` (under the stripe's lock: keep it short),
  /// waits for that flight and returns its result (or rethrows its exception).
  template <class Compute, class OnJoin>
  R run(const void* owner, std::string_view key, std::uint64_t hash, Compute&& compute,
        OnJoin&& on_join) {
    for (const flight_base* f = innermost_flight; f != nullptr; f = f->outer) {
      if (f->table == this && f->owner == owner && f->hash == hash && f->key == key) {
        return compute();
      }
    }
    stripe& s = stripes_[(hash >> 7) % stripe_count];
    flight mine;
    mine.table = this;
    mine.owner = owner;
    mine.key = key;
    mine.hash = hash;
    {
      std::unique_lock lock(s.mutex);
      for (flight_base* f = s.head; f != nullptr; f = f->next) {
        if (f->owner == owner && f->hash == hash && f->key == key) {
          on_join();
          return join(s, lock, static_cast<flight&>(*f));
        }
      }
      mine.next = s.head;
      s.head = &mine;
    }
    mine.outer = innermost_flight;
    innermost_flight = &mine;
    try {
      mine.value.emplace(compute());
    } catch (...) {
      mine.error = std::current_exception();
    }
    innermost_flight = mine.outer;
    {
      std::unique_lock lock(s.mutex);
      flight_base** link = &s.head;
      while (*link != &mine) link = &(*link)->next;
      *link = mine.next;
      mine.done = true;
      if (mine.readers > 0) {
        s.changed.notify_all();
        s.changed.wait(lock, [&] { return mine.readers == 0; });
      }
    }
    if (mine.error) std::rethrow_exception(mine.error);
    return std::move(*mine.value);
  }

 private:
  struct flight : flight_base {
    std::optional<R> value;
    std::exception_ptr error;
  };
  struct alignas(64) stripe {
    std::mutex mutex;
    std::condition_variable changed;
    flight_base* head = nullptr;
  };
  static constexpr std::size_t stripe_count = 16;

  /// Waits for `f` (found under `lock`) to land, then copies its outcome outside the lock.
  static R join(stripe& s, std::unique_lock<std::mutex>& lock, flight& f) {
    ++f.readers;
    s.changed.wait(lock, [&] { return f.done; });
    lock.unlock();
    std::exception_ptr error = f.error;
    std::optional<R> copy;
    if (!error) {
      try {
        copy.emplace(*f.value);
      } catch (...) {
        error = std::current_exception();
      }
    }
    lock.lock();
    if (--f.readers == 0) s.changed.notify_all();
    lock.unlock();
    if (error) std::rethrow_exception(error);
    return std::move(*copy);
  }

  std::array<stripe, stripe_count> stripes_;
};

}  // namespace gencache::detail
