#include "workload.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace shootout {

std::string to_string(workload_kind k) {
  switch (k) {
    case workload_kind::zipf:
      return "zipf";
    case workload_kind::uniform:
      return "uniform";
    case workload_kind::scan_mix:
      return "scan-mix";
  }
  return "?";
}

namespace {
// log1p(x)/x and expm1(x)/x, accurate near 0.
double helper1(double x) {
  return std::abs(x) > 1e-8 ? std::log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
}
double helper2(double x) {
  return std::abs(x) > 1e-8 ? std::expm1(x) / x : 1 + x * 0.5 * (1 + x / 3 * (1 + 0.25 * x));
}
}  // namespace

zipf_distribution::zipf_distribution(std::uint64_t n, double s) : n_(n), s_(s) {
  h_integral_x1_ = h_integral(1.5) - 1;
  h_integral_n_ = h_integral(static_cast<double>(n) + 0.5);
  threshold_ = 2 - h_integral_inverse(h_integral(2.5) - h(2));
}

double zipf_distribution::h(double x) const { return std::exp(-s_ * std::log(x)); }

double zipf_distribution::h_integral(double x) const {
  const double log_x = std::log(x);
  return helper2((1 - s_) * log_x) * log_x;
}

double zipf_distribution::h_integral_inverse(double x) const {
  double t = x * (1 - s_);
  if (t < -1) t = -1;
  return std::exp(helper1(t) * x);
}

std::vector<operation> make_stream(const options& o, unsigned index, std::size_t length) {
  std::mt19937_64 random(o.seed);
  std::vector<std::uint32_t> permutation(o.keys);
  std::iota(permutation.begin(), permutation.end(), 0u);
  std::shuffle(permutation.begin(), permutation.end(), random);  // the same for every thread

  random.seed(o.seed + 1 + index);
  zipf_distribution zipf(o.keys, o.workload == workload_kind::uniform ? 0.0 : o.zipf_s);
  std::bernoulli_distribution is_write(1.0 - o.read_ratio);
  const std::uint32_t scan_length = std::max<std::uint32_t>(1, o.keys / 10);
  // Cold keys live above the hot key space; each thread scans its own stretch of them.
  std::uint64_t cold = std::uint64_t{o.keys} + std::uint64_t{index} * length;
  std::vector<operation> stream;
  stream.reserve(length);
  while (stream.size() < length) {
    const std::size_t zipf_run =
        o.workload == workload_kind::scan_mix ? std::size_t{9} * scan_length : length;
    for (std::size_t i = 0; i < zipf_run && stream.size() < length; ++i) {
      stream.push_back({permutation[zipf(random) - 1], is_write(random)});
    }
    if (o.workload != workload_kind::scan_mix) continue;
    for (std::uint32_t i = 0; i < scan_length && stream.size() < length; ++i) {
      stream.push_back({static_cast<std::uint32_t>(cold++), false});
    }
  }
  return stream;
}

}  // namespace shootout
