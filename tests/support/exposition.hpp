#pragma once
// Prometheus' text format read back, for tests that check what an exposition holds:
// each series (its name with its labels, as written) and its value, and each family's TYPE.
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

namespace test {

struct exposition {
  std::map<std::string, std::string> series;
  std::map<std::string, std::string> types;

  [[nodiscard]] double value(const std::string& key) const {
    const auto it = series.find(key);
    if (it == series.end()) throw std::out_of_range("no series " + key);
    return std::stod(it->second);
  }
};

/// Parses `text`, checking that no series repeats and, unless `blank_lines` (another
/// writer's output), that no line is blank.
inline exposition parse_exposition(const std::string& text, bool blank_lines = false) {
  exposition out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (blank_lines && line.empty()) continue;
    REQUIRE(!line.empty());
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::string rest = line.substr(7);
      const auto space = rest.find(' ');
      REQUIRE(space != std::string::npos);
      out.types[rest.substr(0, space)] = rest.substr(space + 1);
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0) continue;
    // The value follows the last space.
    const auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    const bool inserted = out.series.emplace(line.substr(0, space), line.substr(space + 1)).second;
    INFO(line);
    CHECK(inserted);  // no duplicate series
  }
  return out;
}

}  // namespace test
