#pragma once
// `gencache-bench simulate`: replays a stream of keys (Zipf draws, or a trace file of one
// key per line) against eviction policies at one capacity and prints each hit ratio, with
// the static optimum (the best fixed set of `capacity` keys) on the same stream. A miss
// inserts the key; every key weighs 1.
#include <cstdint>
#include <string>
#include <vector>

namespace shootout {

struct simulation {
  std::vector<std::string> policies{"lru", "sieve", "tinylfu", "s3fifo"};
  std::uint64_t keys = 1'000'000;
  std::uint64_t capacity = 100'000;
  double zipf_s = 0.99;
  std::uint64_t requests = 20'000'000;
  std::uint64_t seed = 42;
  std::string trace_file;              // replaces the Zipf draws
  std::string trace_format = "lines";  // lines, lis, oracle-general
  double capacity_fraction = 0;        // > 0: capacity is this fraction of the distinct keys
  std::string write_trace_file;        // writes the stream, one key per line (for other caches)
  /// As the shoot-out's scan-mix: after every 9 L draws, one pass over L keys never seen
  /// before (L = keys / 10), counted among the requests.
  bool scans = false;
};

struct policy_result {
  std::string policy;
  std::uint64_t hits = 0;
  std::uint64_t requests = 0;
  [[nodiscard]] double hit_ratio() const {
    return requests == 0 ? 0 : static_cast<double>(hits) / static_cast<double>(requests);
  }
};

/// The stream `s` describes: Zipf ranks 0..keys-1, or the trace's keys (in s.trace_format)
/// numbered in order of first appearance. Throws std::runtime_error for a trace that cannot
/// be read or parsed, std::invalid_argument for an unknown format.
[[nodiscard]] std::vector<std::uint32_t> make_stream(const simulation& s);

/// Writes `stream` to `file`, one key number per line (nothing if `file` is empty), for
/// other caches to replay. Throws std::runtime_error if the file cannot be written.
void write_trace(const std::vector<std::uint32_t>& stream, const std::string& file);

/// Replays `stream` against `policy` (lru, sieve, tinylfu, s3fifo, optimum, belady) at
/// `capacity`.
/// Throws std::invalid_argument for an unknown policy.
[[nodiscard]] policy_result replay(const std::string& policy,
                                   const std::vector<std::uint32_t>& stream,
                                   std::uint64_t capacity);

/// Runs the command line after "simulate"; returns the exit status.
int run_simulation(int argc, const char* const* argv);

}  // namespace shootout
