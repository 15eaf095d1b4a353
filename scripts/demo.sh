#!/usr/bin/env bash
# The README's first command: set up, build, and run the store shoot-out (gencache-bench)
# with its defaults: the memory store against the in-process peers (the naive port, and
# TBB's, Poco's and RocksDB's caches where installed), about 35 s. Arguments
# go to gencache-bench, e.g. scripts/demo.sh --workload scan-mix --json run.json
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release gencache-bench
build/release/benchmarks/gencache-bench "$@"
