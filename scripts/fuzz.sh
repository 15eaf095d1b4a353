#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`: clang-19, Address + UndefinedBehavior) and
# runs each for a bounded time, starting from the committed seed corpus in tests/fuzz/corpus.
# New inputs go to build/fuzz-corpus (not committed); a crash, leak, timeout or failed check
# stops with the input saved in build/fuzz-artifacts and a non-zero exit.
#   scripts/fuzz.sh            # 30 s per target
#   scripts/fuzz.sh 300 codec  # 5 minutes, one target
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(codec remote_key store_url key_injectivity); fi
scripts/setup.sh
scripts/build.sh fuzz
mkdir -p build/fuzz-artifacts
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
for t in "${targets[@]}"; do
  mkdir -p "build/fuzz-corpus/$t"
  log="build/fuzz-artifacts/$t.log"
  if "build/fuzz/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="build/fuzz-artifacts/$t-" \
      "build/fuzz-corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  corpus=$(find "build/fuzz-corpus/$t" "tests/fuzz/corpus/$t" -type f | wc -l)
  echo "fuzz: $t: $result, ${runs:-0} executions in $seconds s, $cov, $corpus inputs"
  if [ "$result" = FAILED ]; then tail -40 "$log"; fi
done
exit $status
