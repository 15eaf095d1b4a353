#pragma once
// `gencache-bench throughput`: one key stream, all keys cached, replayed through a flat-map
// floor, gencache's direct get and a memoized call; benchmarks/peers/CaffeineThroughput.java
// replays the same stream through Caffeine (docs/benchmarks.md, "Hit path against Caffeine").

namespace shootout {

/// The subcommand's main: parses argv (argv[0] is "throughput"), runs, prints a table.
int run_throughput(int argc, const char* const* argv);

}  // namespace shootout
