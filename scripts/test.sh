#!/usr/bin/env bash
# The README's second command: set up, build, start the servers the remote suites use, and
# run the whole test suite; a remote suite that skips is a failure here. With a preset name (asan, tsan, debug), runs it under that
# preset instead.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
scripts/setup.sh
scripts/build.sh "$preset"
source scripts/servers.sh  # stops them on exit
# The servers are there, so a remote suite that would skip fails instead.
export GENCACHE_REQUIRE_SERVERS=1
ctest --preset "$preset" --no-tests=error
