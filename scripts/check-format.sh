#!/usr/bin/env bash
# Checks that every C++ file of the tree is as clang-format 14 (Debian 12's) writes it under
# .clang-format, naming each file that is not; `scripts/check-format.sh --fix` rewrites them.
# The version is pinned: clang-format 19 (installed for the fuzz preset) formats differently.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null
files=()
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- '*.cpp' '*.hpp' '*.h')
else
  mapfile -t files < <(find lib stores benchmarks tests docs -name '*.cpp' -o -name '*.hpp' -o -name '*.h')
fi
if [ "${1:-}" = "--fix" ]; then
  clang-format-14 -i "${files[@]}"
  exit 0
fi
if ! clang-format-14 --dry-run --Werror "${files[@]}" 2>/tmp/gencache-format.$$; then
  grep -o '^[^:]*\.\(cpp\|hpp\|h\):' /tmp/gencache-format.$$ | sort -u | sed 's/:$//; s/^/format: not clang-format clean: /' >&2
  rm -f /tmp/gencache-format.$$
  echo "format: run scripts/check-format.sh --fix" >&2
  exit 1
fi
rm -f /tmp/gencache-format.$$
echo "format: ${#files[@]} C++ files are clang-format clean"
