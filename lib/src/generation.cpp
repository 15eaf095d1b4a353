// Fresh generation values and the generation spec's error (generation.hpp).
#include "gencache/generation.hpp"

#include <chrono>

namespace gencache::detail {

std::uint64_t next_generation_value() noexcept {
  // Wall-clock nanoseconds at first use: a restarted process starts above every value the
  // previous one could have handed out at one value per nanosecond.
  static std::atomic<std::uint64_t> source{
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count())};
  return source.fetch_add(1, std::memory_order_relaxed) + 1;
}

void throw_bad_generation_spec(std::string_view spec) {
  if (spec.empty()) throw std::invalid_argument("gencache: a generation spec cannot be empty");
  throw std::invalid_argument("gencache: generation spec '" + std::string(spec) +
                              "' must be 'name' or 'name:parameter'");
}

}  // namespace gencache::detail
