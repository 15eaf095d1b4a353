#!/usr/bin/env bash
# Instructions and simulated data-cache misses per memoized hit (benchmarks/hit_cost.cpp),
# counted by valgrind's cachegrind: the program runs with one and with two timed passes of
# 1M calls, and the difference is divided by 1M, so the untimed fill and the set-up cancel.
#   scripts/hit-cost.sh [build/release/benchmarks/hit_cost] [keys]
set -euo pipefail
binary=${1:-build/release/benchmarks/hit_cost}
keys=${2:-100000}
command -v valgrind >/dev/null || { echo "hit-cost.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
count() {  # mode passes -> "Ir D1-misses LL-misses"
  valgrind --tool=cachegrind --cache-sim=yes --D1=32768,8,64 --LL=2097152,16,64 \
    --cachegrind-out-file=/dev/null "$binary" "$1" "$2" "$keys" 2>&1 >/dev/null |
    awk '/I *refs:/ {i=$4} /D1 *misses:/ {d=$4} /LLd misses:/ {l=$4} END {gsub(",","",i); gsub(",","",d); gsub(",","",l); print i, d, l}'
}
echo "| mode | instructions per call | L1d misses per call | 2 MiB LL misses per call |"
echo "|---|---:|---:|---:|"
for mode in per-user plain; do
  read -r i1 d1 l1 <<<"$(count "$mode" 1)"
  read -r i2 d2 l2 <<<"$(count "$mode" 2)"
  awk -v m="$mode" -v i="$((i2 - i1))" -v d="$((d2 - d1))" -v l="$((l2 - l1))" \
    'BEGIN {printf "| %s | %.0f | %.2f | %.2f |\n", m, i / 1e6, d / 1e6, l / 1e6}'
done
