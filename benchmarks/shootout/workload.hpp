#pragma once
// The shoot-out's options and workload: key distributions and per-thread operation streams.
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace shootout {

enum class workload_kind { zipf, uniform, scan_mix };

/// Everything a shoot-out run is told (see `gencache-bench --help`).
struct options {
  /// memory, naive, tbb-lru, poco-lru, rocksdb-lru, redis://…, memcached://…
  std::vector<std::string> stores;
  workload_kind workload = workload_kind::zipf;
  std::uint32_t keys = 100'000;
  double zipf_s = 0.99;
  std::size_t value_size = 100;
  double read_ratio = 0.95;
  double invalidate_rate = 100;  ///< generation bumps per second, all threads together
  std::vector<unsigned> threads = {1, 2};
  std::chrono::duration<double> duration{2.5};  ///< measured time per store and thread count
  std::optional<std::uint64_t> ops;             ///< instead of duration: operations per run
  std::chrono::duration<double> warmup{0.75};
  std::size_t capacity_entries = 0;  ///< 0: not bounded by entries
  std::size_t capacity_bytes = 0;    ///< 0: not bounded by bytes
  std::uint64_t seed = 42;
  unsigned sample_every = 8;  ///< latency is timed on every Nth operation
  std::string json_file;
  std::string chart_file;
  /// Serve the run as Prometheus metrics on metrics_address:port while it runs (0: a free
  /// port, printed); needs the gencache::prometheus component.
  std::optional<std::uint16_t> metrics_port;
  std::string metrics_address = "127.0.0.1";

  /// Keys per value-based generation ("bench:user"); invalidating one user drops its keys.
  static constexpr std::uint32_t keys_per_user = 16;
  [[nodiscard]] std::uint32_t users() const noexcept {
    return keys < keys_per_user ? 1 : keys / keys_per_user;
  }
};

[[nodiscard]] std::string to_string(workload_kind k);

/// Zipf ranks 1..n with P(k) ∝ k^-s, by rejection-inversion (Hörmann and Derflinger 1996):
/// O(1) per draw with no table, so a million keys cost no memory. Written here because
/// neither the standard library nor Boost.Random has a Zipf distribution.
class zipf_distribution {
 public:
  zipf_distribution(std::uint64_t n, double s);
  template <class Engine>
  std::uint64_t operator()(Engine& engine) {
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    for (;;) {
      const double u = h_integral_n_ + uniform(engine) * (h_integral_x1_ - h_integral_n_);
      const double x = h_integral_inverse(u);
      auto k = static_cast<std::uint64_t>(x + 0.5);
      if (k < 1) k = 1;
      if (k > n_) k = n_;
      if (static_cast<double>(k) - x <= threshold_ ||
          u >= h_integral(static_cast<double>(k) + 0.5) - h(static_cast<double>(k))) {
        return k;
      }
    }
  }

 private:
  [[nodiscard]] double h(double x) const;
  [[nodiscard]] double h_integral(double x) const;
  [[nodiscard]] double h_integral_inverse(double x) const;

  std::uint64_t n_;
  double s_;
  double h_integral_x1_;
  double h_integral_n_;
  double threshold_;
};

/// One operation of a stream: a read (memoized call) or a write (recompute and store).
struct operation {
  std::uint32_t key;
  bool write;
};

/// The operations of thread `index`, replayed in a loop. Zipf ranks go through a fixed
/// random permutation, so hot keys are spread over the key space (and the stores' shards).
/// scan-mix: after every 9 × L Zipf operations, L reads of cold keys never read before in
/// the stream (L = keys / 10), as a batch job scanning a table would.
[[nodiscard]] std::vector<operation> make_stream(const options& o, unsigned index,
                                                 std::size_t length);

}  // namespace shootout
