#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release), using ccache when present.
# Further arguments name targets (default: all). GENCACHE_WARNINGS_AS_ERRORS=ON in the
# environment makes every compiler warning an error (CI does). Used by demo.sh and test.sh;
# usable alone:
#   scripts/build.sh asan
#   scripts/build.sh release example_quickstart
set -euo pipefail
preset="${1:-release}"
shift || true
targets=()
if [ $# -gt 0 ]; then targets=(--target "$@"); fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if command -v ccache >/dev/null; then export CMAKE_CXX_COMPILER_LAUNCHER=ccache; fi
cmake --preset "$preset" -DGENCACHE_WARNINGS_AS_ERRORS="${GENCACHE_WARNINGS_AS_ERRORS:-OFF}" >/dev/null
cmake --build --preset "$preset" "${targets[@]}"
