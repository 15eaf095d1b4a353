// What an entry of the memory store costs in memory beyond its key and value bytes, at 1M
// entries (docs/benchmarks.md): heap held (mallinfo2) after filling a store, per entry,
// against what the store accounts for. Keys are direct keys of two generations (one plain,
// one value-based over 1,000 values) and an integer part; values are 8 bytes.
//
//   build/release/benchmarks/entry_overhead [entries]
#include <malloc.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <gencache/gencache.hpp>

namespace {

std::size_t heap_bytes() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

void measure(gencache::eviction_policy policy, std::size_t entries) {
  const std::size_t before = heap_bytes();
  std::size_t key_bytes = 0;
  {
    gencache::cache cache(gencache::memory_store_options{
        .max_entries = entries, .max_bytes = std::size_t{8} << 30, .eviction = policy});
    for (std::size_t i = 0; i < entries; ++i) {
      const auto key = cache.key({"nav", {"nav:user", static_cast<int>(i % 1000)}}, "item",
                                 static_cast<std::uint64_t>(i));
      key_bytes += key.bytes().size();
      (void)cache.set(key, std::uint64_t{i});
    }
    const auto stats = cache.stats();
    const std::size_t held = heap_bytes() - before;
    const double per_entry = static_cast<double>(held) / static_cast<double>(stats.entries);
    const double key_per_entry = static_cast<double>(key_bytes) / static_cast<double>(entries);
    fmt::print(
        "| {} | {} | {:.1f} | {:.1f} | 8 | {:.1f} | {:.1f} |\n",
        policy == gencache::eviction_policy::s3fifo ? "S3-FIFO" : "LRU", stats.entries, per_entry,
        key_per_entry, per_entry - key_per_entry - 8,
        static_cast<double>(stats.bytes) / static_cast<double>(stats.entries) - key_per_entry - 8);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t entries = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  fmt::print(
      "| policy | entries | heap B/entry | key B | value B | overhead B/entry (heap) | "
      "overhead B/entry (accounted) |\n|---|---:|---:|---:|---:|---:|---:|\n");
  measure(gencache::eviction_policy::s3fifo, entries);
  measure(gencache::eviction_policy::lru, entries);
}
