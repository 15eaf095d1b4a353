#pragma once
// What tests read of a memory store's insides (a friend of memory_store).
#include <cstddef>
#include <mutex>

#include <gencache/memory_store.hpp>

namespace gencache {

struct memory_store_probe {
  /// Statistics blocks the store has made: one per thread counting in it at once.
  static std::size_t counter_blocks(const memory_store& store) {
    const std::lock_guard lock(store.counters_mutex_);
    return store.counters_.size();
  }
  /// Bytes of removed values handed to the reclaimer and not yet freed.
  static std::size_t pending_bytes(const memory_store& store) {
    return store.pending_bytes_.load();
  }
};

}  // namespace gencache
