#pragma once
// A counter that many threads increment without sharing a cache line: each thread adds to
// one of several padded stripes, a read sums them. Hand-written because the alternative,
// TBB's enumerable_thread_specific, would make the core depend on TBB for one counter.
// Concurrency: increments are relaxed RMWs on a stripe that (with up to `stripes` threads)
// only one thread writes; `load()` is a relaxed sum, exact once writers are quiescent.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace gencache::detail {

/// A small per-thread number, assigned on a thread's first use.
std::size_t thread_slot() noexcept;

class striped_counter {
 public:
  static constexpr std::size_t stripes = 16;

  void increment() noexcept {
    stripes_[thread_slot() % stripes].value.fetch_add(1, std::memory_order_relaxed);
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
