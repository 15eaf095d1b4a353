#include "gencache/detail/striped_counter.hpp"

#include <atomic>

namespace gencache::detail {

std::size_t thread_slot() noexcept {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t slot = next.fetch_add(1, std::memory_order_relaxed);
  return slot;
}

}  // namespace gencache::detail
