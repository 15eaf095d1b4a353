#pragma once
// A log-bucketed latency histogram: 16 linear sub-buckets per power of two, so a reported
// percentile is within 1/16 (6.25 %) of the true value, from 1 ns to 2^40 ns (18 min).
// Recording is an increment in a fixed array: no allocation, no lock (one per thread,
// merged afterwards). Hand-written because Debian 12 packages no HdrHistogram for C++, and
// this is all of it that the shoot-out needs.
#include <array>
#include <bit>
#include <cstdint>

namespace shootout {

class histogram {
 public:
  static constexpr int sub_bits = 4;
  static constexpr int sub_buckets = 1 << sub_bits;
  static constexpr int max_exponent = 40;
  static constexpr int bucket_count = sub_buckets * (max_exponent - sub_bits + 2);

  void record(std::uint64_t nanos) noexcept {
    ++counts_[index_of(nanos)];
    ++total_;
    if (nanos > max_) max_ = nanos;
  }

  void merge(const histogram& other) noexcept {
    for (int i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    if (other.max_ > max_) max_ = other.max_;
  }

  /// The value at quantile q in [0, 1]: the midpoint of the bucket holding it; 0 if empty.
  [[nodiscard]] std::uint64_t percentile(double q) const noexcept {
    if (total_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (int i = 0; i < bucket_count; ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        const std::uint64_t low = lower_bound_of(i);
        const std::uint64_t mid = low + (upper_bound_of(i) - low) / 2;
        return mid < max_ ? mid : max_;
      }
    }
    return max_;
  }

  [[nodiscard]] std::uint64_t count() const noexcept { return total_; }
  [[nodiscard]] std::uint64_t max() const noexcept { return max_; }

  static constexpr int index_of(std::uint64_t v) noexcept {
    if (v < sub_buckets) return static_cast<int>(v);
    const int exponent = static_cast<int>(std::bit_width(v)) - 1;  // >= sub_bits
    if (exponent > max_exponent) return bucket_count - 1;
    const auto sub = static_cast<int>((v >> (exponent - sub_bits)) & (sub_buckets - 1));
    return sub_buckets * (exponent - sub_bits + 1) + sub;
  }
  static constexpr std::uint64_t lower_bound_of(int index) noexcept {
    if (index < sub_buckets) return static_cast<std::uint64_t>(index);
    const int exponent = index / sub_buckets + sub_bits - 1;
    const auto sub = static_cast<std::uint64_t>(index % sub_buckets);
    return (std::uint64_t{1} << exponent) + (sub << (exponent - sub_bits));
  }
  static constexpr std::uint64_t upper_bound_of(int index) noexcept {  // exclusive
    if (index < sub_buckets) return static_cast<std::uint64_t>(index) + 1;
    const int exponent = index / sub_buckets + sub_bits - 1;
    return lower_bound_of(index) + (std::uint64_t{1} << (exponent - sub_bits));
  }

 private:
  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace shootout
