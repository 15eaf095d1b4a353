#!/usr/bin/env bash
# Runs clang-tidy 19 with the tree's .clang-tidy (tests/.clang-tidy for the tests) over every
# translation unit of the release build, and fails naming each finding. Needs only the
# release preset configured (its compile_commands.json), not built. The *_reject.cpp tests
# are left out: they are built to fail. Arguments replace the files' regex, e.g.
#   scripts/check-tidy.sh 'stores/redis/'
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null
cmake --preset release >/dev/null
files=("$@")
if [ ${#files[@]} -eq 0 ]; then files=('^(?!.*_reject\.cpp$)'); fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# -Wno-unknown-warning-option: the database holds GCC's flags, which clang parses.
if run-clang-tidy-19 -p build/release -quiet -j "$(nproc)" \
  -extra-arg=-Wno-unknown-warning-option "${files[@]}" >"$log" 2>&1; then
  echo "tidy: no finding"
else
  grep -E '(error|warning): .*\[[a-z0-9.,-]+\]$' "$log" | sed 's|^'"$PWD"'/||' | sort -u >&2 ||
    tail -40 "$log" >&2
  echo "tidy: fix each finding above, or mark a deliberate one // NOLINT(check): reason" >&2
  exit 1
fi
