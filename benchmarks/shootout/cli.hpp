#pragma once
// gencache-bench's command line (CLI11).
#include <string>
#include <variant>

#include "workload.hpp"

namespace shootout {

/// The outcome of parsing: options to run, or a status to exit with and what to print
/// (--help: the help on stdout and 0; a bad option: one line on stderr and 2).
struct cli_exit {
  int status;
  std::string message;
};
[[nodiscard]] std::variant<options, cli_exit> parse_command_line(int argc, const char* const* argv);

/// "100000" (entries) or "64MiB", "512KB", "1GiB", "4096B" (bytes) into `o`; throws
/// std::invalid_argument for anything else or zero.
void parse_capacity(const std::string& text, options& o);

}  // namespace shootout
