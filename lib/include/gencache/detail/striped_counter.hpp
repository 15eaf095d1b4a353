#pragma once
// A counter that many threads increment without sharing a cache line and, for up to
// `owned_stripes` live threads, without a locked instruction: each live thread that holds
// one of the first `owned_stripes` thread slots is the only writer of its stripe and adds
// with a relaxed load and store; other threads add with a relaxed RMW on a few shared
// stripes. A read sums them. Hand-written because the alternative, TBB's
// enumerable_thread_specific, would make the core depend on TBB for one counter.
// Slots are taken from a lock-free bitmap on a thread's first increment and given back
// when it exits (fork-safe: no lock); a slot given back and taken again passes its stripe
// from one thread to the next through the bitmap's release and acquire.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace gencache::detail {

/// Thread slots below this are held by at most one live thread each.
inline constexpr std::size_t owned_stripes = 16;
/// The calling thread's slot: < owned_stripes if it holds one, else a larger number.
inline constexpr std::size_t unassigned_slot = ~std::size_t{0};
inline thread_local std::size_t current_thread_slot = unassigned_slot;
/// Takes the lowest free slot (or none), and gives it back at thread exit.
std::size_t assign_thread_slot() noexcept;
inline std::size_t thread_slot() noexcept {
  const std::size_t slot = current_thread_slot;
  if (slot == unassigned_slot) [[unlikely]]
    return assign_thread_slot();
  return slot;
}

class striped_counter {
 public:
  static constexpr std::size_t shared_stripes = 4;
  static constexpr std::size_t stripes = owned_stripes + shared_stripes;

  void increment() noexcept {
    const std::size_t slot = thread_slot();
    if (slot < owned_stripes) [[likely]] {
      std::atomic<std::uint64_t>& v = stripes_[slot].value;
      v.store(v.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    } else {
      stripes_[owned_stripes + slot % shared_stripes].value.fetch_add(1, std::memory_order_relaxed);
    }
  }
  [[nodiscard]] std::uint64_t load() const noexcept {
    std::uint64_t total = 0;
    for (const auto& s : stripes_) total += s.value.load(std::memory_order_relaxed);
    return total;
  }

 private:
  struct alignas(64) stripe {
    std::atomic<std::uint64_t> value{0};
  };
  std::array<stripe, stripes> stripes_{};
};

}  // namespace gencache::detail
