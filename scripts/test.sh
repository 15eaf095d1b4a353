#!/usr/bin/env bash
# The README's second command: set up, build, and run the whole test suite.
# With a preset name (asan, tsan, debug), runs the suite under that preset instead.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
scripts/setup.sh
scripts/build.sh "$preset"
ctest --preset "$preset"
