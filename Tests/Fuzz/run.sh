#!/usr/bin/env bash
# Fuzzes the MOF compiler for a bounded time:  Tests/Fuzz/run.sh SECONDS [extra libFuzzer flags]
# Builds .build-fuzz/mof_fuzz if needed, seeds .build-fuzz/corpus from mof/*.mof, mof/*/*.mof,
# Tests/Fuzz/seeds/* and the past findings Tests/Fuzz/findings/*.mof (regression inputs), runs libFuzzer
# with -max_total_time=SECONDS and exits non-zero on any crash, timeout or out-of-memory,
# leaving the reproducer (crash-*, timeout-*, oom-*, leak-*) in .build-fuzz/artifacts/.
# The corpus is kept between runs (grows over time).
#   FUZZ_JOBS=N   run N fuzzer processes in parallel (libFuzzer -fork=N; default 1)
# e.g. keep going after crashes to collect several:
#   FUZZ_JOBS=2 Tests/Fuzz/run.sh 600 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/.build-fuzz"
SECONDS_LIMIT="${1:?usage: Tests/Fuzz/run.sh SECONDS [libFuzzer flags...]}"
shift

"$ROOT/Tests/Fuzz/build.sh" || { echo "run-fuzz: build failed" >&2; exit 2; }

CORPUS="$OUT/corpus"
ARTIFACTS="$OUT/artifacts"
mkdir -p "$CORPUS" "$ARTIFACTS"
shopt -s nullglob
for f in "$ROOT"/mof/*.mof "$ROOT"/mof/*/*.mof "$ROOT"/Tests/Fuzz/seeds/* "$ROOT"/Tests/Fuzz/findings/*.mof; do
    # Named after the content (like libFuzzer's own corpus files): no duplicates across runs.
    cp -f "$f" "$CORPUS/seed-$(sha1sum < "$f" | cut -c1-16)"
done
before=( "$ARTIFACTS"/* )

# Allocation stacks are not collected while fuzzing (30-40% faster); reproduce a finding
# without this to get them.
export ASAN_OPTIONS="${ASAN_OPTIONS:-malloc_context_size=0}"
# Swift's own crash backtracer must stay off: under ASan it faults reading the stack, and
# its detached helper keeps the output pipe open. libFuzzer prints the stack instead.
export SWIFT_BACKTRACE=enable=no
# Fixed Hasher seed: Dictionary/Set layouts (and so hash-dependent bugs) reproduce.
export SWIFT_DETERMINISTIC_HASHING="${SWIFT_DETERMINISTIC_HASHING-1}"
LOG="$OUT/fuzz-$(date +%Y%m%d-%H%M%S).log"
JOBS="${FUZZ_JOBS:-1}"
args=(-max_total_time="$SECONDS_LIMIT" -timeout=10 -rss_limit_mb=2048 -max_len=65536
      -artifact_prefix="$ARTIFACTS/" -print_final_stats=1
      # LeakSanitizer checks make it 8x slower (Swift's lazy runtime caches and Dispatch's
      # thread pool trigger one after most inputs); pass -detect_leaks=1 to hunt leaks.
      -detect_leaks=0)
if (( JOBS > 1 )); then
    args+=(-fork="$JOBS" -ignore_crashes=0 -ignore_timeouts=0 -ignore_ooms=0)
fi
args+=("$@")  # last occurrence of a flag wins: callers can override the above
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
