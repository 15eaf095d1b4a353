#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release), using ccache when present.
# Further arguments name targets (default: all). Used by demo.sh and test.sh; usable alone:
#   scripts/build.sh asan
#   scripts/build.sh release example_quickstart
set -euo pipefail
preset="${1:-release}"
shift || true
targets=()
if [ $# -gt 0 ]; then targets=(--target "$@"); fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if command -v ccache >/dev/null; then export CMAKE_CXX_COMPILER_LAUNCHER=ccache; fi
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" "${targets[@]}"
