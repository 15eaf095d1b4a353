#!/usr/bin/env bash
# The README's first command: set up, build, and run the quickstart example.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release example_quickstart
build/release/docs/examples/example_quickstart
