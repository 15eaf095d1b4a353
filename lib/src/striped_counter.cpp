// Thread slots of detail/striped_counter.hpp.
#include "gencache/detail/striped_counter.hpp"

namespace gencache::detail {

namespace {

static_assert(owned_stripes <= 64);
std::atomic<std::uint64_t> taken_slots{0};  // bit i: slot i held by a live thread
std::atomic<std::size_t> unowned_threads{0};

// Gives the slot back when its thread exits. A counter incremented later in the thread's
// exit (another thread_local's destructor) then takes a shared stripe.
struct slot_release {
  std::size_t slot = unassigned_slot;
  ~slot_release() {
    current_thread_slot = owned_stripes + slot % 64;  // shared from now on, never re-taken
    if (slot < owned_stripes) {
      taken_slots.fetch_and(~(std::uint64_t{1} << slot), std::memory_order_release);
    }
  }
};

}  // namespace

std::size_t assign_thread_slot() noexcept {
  std::uint64_t taken = taken_slots.load(std::memory_order_relaxed);
  std::size_t slot = owned_stripes + unowned_threads.fetch_add(1, std::memory_order_relaxed);
  for (;;) {
    const auto free = ~taken & ((std::uint64_t{1} << owned_stripes) - 1);
    if (free == 0) break;
    const auto bit = static_cast<std::size_t>(__builtin_ctzll(free));
    if (taken_slots.compare_exchange_weak(taken, taken | (std::uint64_t{1} << bit),
                                          std::memory_order_acquire, std::memory_order_relaxed)) {
      slot = bit;
      break;
    }
  }
  current_thread_slot = slot;
  thread_local slot_release release;
  release.slot = slot;
  return slot;
}

}  // namespace gencache::detail
