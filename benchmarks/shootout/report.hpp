#pragma once
// What a shoot-out prints and writes: the table, the JSON file and the SVG chart.
#include <iosfwd>
#include <string>
#include <vector>

#include "runner.hpp"
#include "workload.hpp"

namespace shootout {

/// The machine the figures come from: host, CPU model, cores, memory, kernel, compiler.
struct machine_info {
  std::string host, cpu, kernel, compiler;
  unsigned cores = 0;
  std::uint64_t memory_bytes = 0;
};
[[nodiscard]] machine_info this_machine();

/// The table, one row per store and thread count.
[[nodiscard]] std::string format_table(const std::vector<run_result>& results);

/// All figures with the machine, the options and the date (UTC, ISO 8601).
[[nodiscard]] std::string to_json(const std::vector<run_result>& results, const options& o,
                                  const machine_info& machine, const std::string& date);

/// Two panels, throughput and p99 latency, one bar per store and thread count.
[[nodiscard]] std::string to_svg(const std::vector<run_result>& results, const options& o);

/// "1.2M", "850k", "93"
[[nodiscard]] std::string si(double value);
/// "95 ns", "4.1 µs", "2.3 ms"
[[nodiscard]] std::string nanos(std::uint64_t value);
/// "512 B", "6.1 MiB"
[[nodiscard]] std::string bytes(std::uint64_t value);

}  // namespace shootout
