#!/usr/bin/env bash
# Fuzzes every target for a bounded total time:  Tests/Fuzz/run.sh SECONDS [extra libFuzzer flags]
# SECONDS is split evenly among the targets (at least 1 s each), which run one after the other:
#   mof_fuzz             the MOF compiler
#   script_output_fuzz   ScriptOutput.parse, encodeLine, encodeArray, check
#   envelope_fuzz        Envelope.decodeDiscovery/decodeUpdate, encode
#   instance_path_fuzz   InstancePath.parse and formatting
# Builds what is out of date (Tests/Fuzz/build.sh), seeds each target's corpus
# .build-fuzz/corpus/TARGET from its seeds (below), runs libFuzzer with its dictionary
# Tests/Fuzz/TARGET.dict if there is one, and exits non-zero if any target hits a crash, timeout
# or out-of-memory, leaving the reproducer in .build-fuzz/artifacts/TARGET-{crash,timeout,oom,leak}-*.
# Corpora are kept between runs (they grow over time).
#   FUZZ_TARGETS="envelope_fuzz ..."   fuzz only these
#   FUZZ_JOBS=N   run N fuzzer processes in parallel per target (libFuzzer -fork=N; default 1)
# e.g. one target for ten minutes, keep going after crashes to collect several:
#   FUZZ_TARGETS=envelope_fuzz FUZZ_JOBS=2 Tests/Fuzz/run.sh 600 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1
# Seeds: mof_fuzz: mof/*.mof, mof/*/*.mof, Tests/Fuzz/seeds/*.mof, Tests/Fuzz/findings/*.mof;
# the others: Tests/Fuzz/seeds/{script_output,envelope,instance_path}/*, and for instance_path_fuzz
# every path of Tests/crosscheck/instance_paths.txt.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/.build-fuzz"
SECONDS_LIMIT="${1:?usage: Tests/Fuzz/run.sh SECONDS [libFuzzer flags...]}"
shift
read -r -a targets <<< "${FUZZ_TARGETS:-mof_fuzz script_output_fuzz envelope_fuzz instance_path_fuzz}"

"$ROOT/Tests/Fuzz/build.sh" "${targets[@]}" || { echo "run-fuzz: build failed" >&2; exit 2; }

ARTIFACTS="$OUT/artifacts"
mkdir -p "$OUT/corpus" "$ARTIFACTS"
shopt -s nullglob
# Before there were several targets, the MOF corpus was .build-fuzz/corpus itself.
old=("$OUT"/corpus/seed-* "$OUT"/corpus/[0-9a-f][0-9a-f][0-9a-f][0-9a-f]*)
if (( ${#old[@]} )); then
    mkdir -p "$OUT/corpus/mof_fuzz"
    for f in "${old[@]}"; do [[ -f "$f" ]] && mv -f "$f" "$OUT/corpus/mof_fuzz/"; done
fi

# seed TARGET FILE...: copies files into the corpus, named after their content (no duplicates).
seed() {
    local corpus="$OUT/corpus/$1"
    shift
    for f in "$@"; do cp -f "$f" "$corpus/seed-$(sha1sum < "$f" | cut -c1-16)"; done
}

# Allocation stacks are not collected while fuzzing (30-40% faster); reproduce a finding
# without this to get them.
export ASAN_OPTIONS="${ASAN_OPTIONS:-malloc_context_size=0}"
# Swift's own crash backtracer must stay off: under ASan it faults reading the stack, and
# its detached helper keeps the output pipe open. libFuzzer prints the stack instead.
export SWIFT_BACKTRACE=enable=no
# Fixed Hasher seed: Dictionary/Set layouts (and so hash-dependent bugs) reproduce.
export SWIFT_DETERMINISTIC_HASHING="${SWIFT_DETERMINISTIC_HASHING-1}"
JOBS="${FUZZ_JOBS:-1}"
per=$(( SECONDS_LIMIT / ${#targets[@]} ))
(( per < 1 )) && per=1
stamp=$(date +%Y%m%d-%H%M%S)
echo "run-fuzz: ${#targets[@]} targets, ${per}s each"

failed=()
summary=()
for t in "${targets[@]}"; do
    corpus="$OUT/corpus/$t"
    mkdir -p "$corpus"
    case "$t" in
        mof_fuzz)
            seed "$t" "$ROOT"/mof/*.mof "$ROOT"/mof/*/*.mof "$ROOT"/Tests/Fuzz/seeds/*.mof "$ROOT"/Tests/Fuzz/findings/*.mof ;;
        instance_path_fuzz)
            seed "$t" "$ROOT"/Tests/Fuzz/seeds/instance_path/*
            while IFS= read -r line; do
                [[ -z "$line" || "$line" == \#* ]] && continue
                printf '%s' "$line" > "$corpus/seed-$(printf '%s' "$line" | sha1sum | cut -c1-16)"
            done < "$ROOT/Tests/crosscheck/instance_paths.txt" ;;
        *)
            seed "$t" "$ROOT"/Tests/Fuzz/seeds/"${t%_fuzz}"/* ;;
    esac
    before=("$ARTIFACTS"/*)
    LOG="$OUT/fuzz-$stamp-$t.log"
    args=(-max_total_time="$per" -timeout=10 -rss_limit_mb=2048 -max_len=65536
          -artifact_prefix="$ARTIFACTS/$t-" -print_final_stats=1
          # LeakSanitizer checks make it 8x slower (Swift's lazy runtime caches and Dispatch's
          # thread pool trigger one after most inputs); pass -detect_leaks=1 to hunt leaks.
          -detect_leaks=0)
    [[ -f "$ROOT/Tests/Fuzz/$t.dict" ]] && args+=(-dict="$ROOT/Tests/Fuzz/$t.dict")
    if (( JOBS > 1 )); then
        args+=(-fork="$JOBS" -ignore_crashes=0 -ignore_timeouts=0 -ignore_ooms=0)
    fi
    args+=("$@")  # last occurrence of a flag wins: callers can override the above
    echo
    echo "run-fuzz: $t for ${per}s; log in $LOG"
    "$OUT/$t" "${args[@]}" "$corpus" 2>&1 | tee "$LOG" | grep --line-buffered -vE "^#[0-9]+\s+(NEW|REDUCE|pulse)|^\"|^###### |^Dictionary: |^INFO: "
    status=${PIPESTATUS[0]}

    after=("$ARTIFACTS"/*)
    new=()
    for a in "${after[@]}"; do
        [[ " ${before[*]} " == *" $a "* ]] || new+=("$a")
    done
    runs=$(grep -E "stat::number_of_executed_units" "$LOG" | tail -1 | awk '{print $2}')
    rate=$(grep -E "stat::average_exec_per_sec" "$LOG" | tail -1 | awk '{print $2}')
    rss=$(grep -E "stat::peak_rss_mb" "$LOG" | tail -1 | awk '{print $2}')
    line="$t: ${runs:-?} runs, ${rate:-?}/s, peak RSS ${rss:-?} MB, corpus $(ls "$corpus" | wc -l) files"
    if (( status != 0 )) || (( ${#new[@]} > 0 )); then
        failed+=("$t")
        line+=" — FAILED (libFuzzer exit $status)"
        for a in "${new[@]}"; do line+=$'\n'"run-fuzz:   reproducer $a ($(stat -c %s "$a") bytes): $OUT/$t $a"; done
    fi
    summary+=("$line")
done

echo
for line in "${summary[@]}"; do echo "run-fuzz: $line"; done
if (( ${#failed[@]} )); then
    echo "run-fuzz: FAILED: ${failed[*]}"
    exit 1
fi
echo "run-fuzz: OK, no crash, timeout or OOM"
