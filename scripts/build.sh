#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release), using ccache when present.
# Sourced by demo.sh and test.sh; usable alone: scripts/build.sh asan
set -euo pipefail
preset="${1:-release}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if command -v ccache >/dev/null; then export CMAKE_CXX_COMPILER_LAUNCHER=ccache; fi
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
