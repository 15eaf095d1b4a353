#!/usr/bin/env bash
# Compares micro-benchmark binaries on a noisy machine: runs each binary 6 times, alternating,
# and prints the min, median and max per case (times in ns, throughputs in M items/s).
#   scripts/bench-ab.sh 'BM_Memoize_Hit|FlatMapFloor$' OLD/microbench NEW/microbench
set -euo pipefail
filter=$1
shift
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
i=0
for _ in 1 2 3 4 5 6; do
  for binary in "$@"; do
    i=$((i + 1))
    "$binary" --benchmark_filter="$filter" --benchmark_min_time=0.2 --benchmark_format=json \
      >"$out/$i.json" 2>/dev/null
    echo "$binary" >"$out/$i.name"
  done
done
python3 - "$out" <<'PY'
import collections, glob, json, sys
runs = collections.defaultdict(list)
for path in glob.glob(sys.argv[1] + "/*.json"):
    binary = open(path[:-5] + ".name").read().strip()
    for b in json.load(open(path))["benchmarks"]:
        value = b["items_per_second"] / 1e6 if "items_per_second" in b else b["real_time"]
        runs[(b["name"], binary)].append(value)
for (name, binary), v in sorted(runs.items()):
    v.sort()
    print(f"{name:50s} {binary[-40:]:40s} min {v[0]:8.2f} med {v[len(v)//2]:8.2f} max {v[-1]:8.2f}")
PY
