#!/usr/bin/env bash
# Fuzzes the MOF compiler for a bounded time:  Fuzz/run.sh SECONDS [extra libFuzzer flags]
# Builds .build-fuzz/mof_fuzz if needed, seeds .build-fuzz/corpus from mof/*.mof, mof/*/*.mof
# and Fuzz/seeds/*, runs libFuzzer with -max_total_time=SECONDS and exits non-zero on any
# crash, timeout or out-of-memory, leaving the reproducer (crash-*, timeout-*, oom-*,
# leak-*) in .build-fuzz/artifacts/. The corpus is kept between runs (grows over time).
#   FUZZ_JOBS=N   run N fuzzer processes in parallel (default 1)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/.build-fuzz"
SECONDS_LIMIT="${1:?usage: Fuzz/run.sh SECONDS [libFuzzer flags...]}"
shift

"$ROOT/Fuzz/build.sh" || { echo "run-fuzz: build failed" >&2; exit 2; }

CORPUS="$OUT/corpus"
ARTIFACTS="$OUT/artifacts"
mkdir -p "$CORPUS" "$ARTIFACTS"
shopt -s nullglob
for f in "$ROOT"/mof/*.mof "$ROOT"/mof/*/*.mof "$ROOT"/Fuzz/seeds/*; do
    # Named after the content (like libFuzzer's own corpus files): no duplicates across runs.
    cp -f "$f" "$CORPUS/seed-$(sha1sum < "$f" | cut -c1-16)"
done
before=( "$ARTIFACTS"/* )

# Allocation stacks are not collected while fuzzing (30-40% faster); reproduce a finding
# without this to get them.
export ASAN_OPTIONS="${ASAN_OPTIONS:-malloc_context_size=0}"
LOG="$OUT/fuzz-$(date +%Y%m%d-%H%M%S).log"
JOBS="${FUZZ_JOBS:-1}"
args=(-max_total_time="$SECONDS_LIMIT" -timeout=10 -rss_limit_mb=2048 -max_len=65536
      -artifact_prefix="$ARTIFACTS/" -print_final_stats=1 "$@")
if (( JOBS > 1 )); then
    args+=(-fork="$JOBS" -ignore_crashes=0 -ignore_timeouts=0 -ignore_ooms=0)
fi
echo "run-fuzz: fuzzing for ${SECONDS_LIMIT}s; log in $LOG"
"$OUT/mof_fuzz" "${args[@]}" "$CORPUS" 2>&1 | tee "$LOG" | grep --line-buffered -vE "^#[0-9]+\s+(NEW|REDUCE)"
status=${PIPESTATUS[0]}

after=( "$ARTIFACTS"/* )
new=()
for a in "${after[@]}"; do
    [[ " ${before[*]} " == *" $a "* ]] || new+=("$a")
done
echo
echo "run-fuzz: $(grep -E '^#[0-9]+\s+DONE' "$LOG" | tail -1)"
grep -E "stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)" "$LOG" | sed 's/^/run-fuzz: /'
echo "run-fuzz: corpus $(ls "$CORPUS" | wc -l) files"
if (( status != 0 )) || (( ${#new[@]} > 0 )); then
    echo "run-fuzz: FAILED (libFuzzer exit $status)"
    for a in "${new[@]}"; do echo "run-fuzz: reproducer $a ($(stat -c %s "$a") bytes)"; done
    echo "run-fuzz: reproduce with: $OUT/mof_fuzz <reproducer>"
    exit 1
fi
echo "run-fuzz: OK, no crash, timeout or OOM"
