#!/usr/bin/env bash
# Builds the libFuzzer targets in .build-fuzz/ with swiftc (not SwiftPM), with coverage
# instrumentation and AddressSanitizer:
#   mof_fuzz             the MOF compiler (modules CIM, MOF)            Tests/Fuzz/mof_fuzz.swift
#   script_output_fuzz   ScriptOutput.parse and its encoders (CIM, wire) Tests/Fuzz/script_output_fuzz.swift
#   envelope_fuzz        Envelope.decodeDiscovery/decodeUpdate (wire)   Tests/Fuzz/envelope_fuzz.swift
#   instance_path_fuzz   InstancePath.parse and format (CIM)            Tests/Fuzz/instance_path_fuzz.swift
# "wire" is a module named Inventory made of Sources/Inventory/Wire/*.swift alone: those files
# import only CIM and Foundation, so the fuzzers need neither ORM, Store, libpq nor Yams.
#   Tests/Fuzz/build.sh [TARGET...]   (default: all; each step is skipped when up to date)
#   FUZZ_OPT   optimisation flags (default "-O"; e.g. "-Onone" for debugging)
#   FORCE=1    rebuild even when up to date
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/.build-fuzz"
OBJ="$OUT/obj"
SWIFTC="${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}"
OPT="${FUZZ_OPT:--O}"
ALL_TARGETS=(mof_fuzz script_output_fuzz envelope_fuzz instance_path_fuzz)
if (( $# )); then targets=("$@"); else targets=("${ALL_TARGETS[@]}"); fi
mkdir -p "$OBJ"

# The modules each target links (in dependency order).
modules_of() {
    case "$1" in
        mof_fuzz) echo "CIM MOF" ;;
        script_output_fuzz | envelope_fuzz) echo "CIM Inventory" ;;
        instance_path_fuzz) echo "CIM" ;;
        *) echo "build-fuzz: unknown target $1 (known: ${ALL_TARGETS[*]})" >&2; return 1 ;;
    esac
}
sources_of() {
    case "$1" in
        CIM) echo "$ROOT"/Sources/CIM/*.swift ;;
        MOF) echo "$ROOT"/Sources/MOF/*.swift ;;
        Inventory) echo "$ROOT"/Sources/Inventory/Wire/*.swift ;;
    esac
}

# Any change of compiler or flags rebuilds everything.
stamp="$OBJ/flags"
flags_now="$SWIFTC $OPT"
force="${FORCE:-0}"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$flags_now" ]]; then force=1; fi
# stale OUTPUT INPUT...: whether OUTPUT is missing or older than one of the inputs.
stale() {
    local out="$1"
    shift
    [[ "$force" == 1 || ! -e "$out" ]] && return 0
    [[ -n "$(find "$@" -newer "$out" | head -1)" ]]
}

# -g for symbolised stacks; -sanitize=fuzzer on the library modules only adds coverage
# instrumentation (libFuzzer's main comes in at the final link).
COMMON=(-sanitize=fuzzer,address -parse-as-library $OPT -g -swift-version 6 -wmo -num-threads 0)
start=$(date +%s)

needed=()
for t in "${targets[@]}"; do
    for m in $(modules_of "$t"); do [[ " ${needed[*]} " == *" $m "* ]] || needed+=("$m"); done
done
for m in CIM MOF Inventory; do
    [[ " ${needed[*]} " == *" $m "* ]] || continue
    # shellcheck disable=SC2207
    sources=($(sources_of "$m"))
    deps=("$ROOT/Tests/Fuzz/build.sh")
    [[ "$m" != CIM ]] && deps+=("$OBJ/CIM.o")
    if stale "$OBJ/$m.o" "${sources[@]}" "${deps[@]}"; then
        echo "build-fuzz: module $m"
        "$SWIFTC" "${COMMON[@]}" -module-name "$m" -I "$OBJ" -emit-module -emit-module-path "$OBJ/$m.swiftmodule" \
            -emit-object -o "$OBJ/$m.o" "${sources[@]}"
    fi
done

for t in "${targets[@]}"; do
    objects=()
    for m in $(modules_of "$t"); do objects+=("$OBJ/$m.o"); done
    entry="$ROOT/Tests/Fuzz/$t.swift"
    if stale "$OUT/$t" "$entry" "${objects[@]}" "$ROOT/Tests/Fuzz/build.sh"; then
        echo "build-fuzz: $t"
        # ld.gold warns "Cannot export local symbol '__asan_...'": harmless, filtered out.
        "$SWIFTC" "${COMMON[@]}" -module-name "${t%_fuzz}_fuzz_main" -I "$OBJ" "$entry" "${objects[@]}" \
            -o "$OUT/$t.tmp" 2> >(grep -v "Cannot export local symbol" >&2)
        mv "$OUT/$t.tmp" "$OUT/$t"
    else
        echo "build-fuzz: $OUT/$t is up to date"
    fi
done
echo "$flags_now" > "$stamp"
echo "build-fuzz: done in $(( $(date +%s) - start ))s"
