#!/usr/bin/env bash
# Sets up, builds and runs every micro-benchmark, the remote ones against servers started on
# loopback for the run: the table on the terminal, the JSON report in build/bench.json.
# Arguments go to Google Benchmark, e.g. scripts/bench.sh --benchmark_filter=BM_Memoize
# (they replace the default of 5 repetitions reported as aggregates).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release microbench
source scripts/servers.sh  # stops them on exit
if [ $# -eq 0 ]; then set -- --benchmark_repetitions=5 --benchmark_report_aggregates_only=true; fi
cmake --preset release -DGENCACHE_BENCH_ARGS="$(IFS=';'; echo "$*")" >/dev/null
cmake --build --preset bench
