#!/usr/bin/env bash
# Builds the libFuzzer target .build-fuzz/mof_fuzz: modules CIM and MOF compiled with swiftc
# (not SwiftPM) with coverage instrumentation and AddressSanitizer, then linked with the entry
# Tests/Fuzz/mof_fuzz.swift and libFuzzer's main. Skips the build when nothing changed.
#   FUZZ_OPT   optimisation flags (default "-O"; e.g. "-Onone" for debugging)
#   FORCE=1    rebuild even when up to date
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/.build-fuzz"
SWIFTC="${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}"
OPT="${FUZZ_OPT:--O}"
BIN="$OUT/mof_fuzz"
mkdir -p "$OUT/obj"

inputs=("$ROOT"/Sources/CIM/*.swift "$ROOT"/Sources/MOF/*.swift "$ROOT/Tests/Fuzz/mof_fuzz.swift" "$ROOT/Tests/Fuzz/build.sh")
stamp="$OUT/obj/flags"
flags_now="$SWIFTC $OPT"
if [[ "${FORCE:-0}" != 1 && -x "$BIN" && -f "$stamp" && "$(cat "$stamp")" == "$flags_now" ]]; then
    newer=$(find "${inputs[@]}" -newer "$BIN" | head -1)
    if [[ -z "$newer" ]]; then
        echo "build-fuzz: $BIN is up to date"
        exit 0
    fi
fi

# -g for symbolised stacks; -sanitize=fuzzer on the library modules only adds coverage
# instrumentation (libFuzzer's main comes in at the final link).
COMMON=(-sanitize=fuzzer,address -parse-as-library $OPT -g -swift-version 6 -wmo -num-threads 0)
start=$(date +%s)

echo "build-fuzz: CIM"
"$SWIFTC" "${COMMON[@]}" -module-name CIM -emit-module -emit-module-path "$OUT/obj/CIM.swiftmodule" \
    -emit-object -o "$OUT/obj/CIM.o" "$ROOT"/Sources/CIM/*.swift

echo "build-fuzz: MOF"
"$SWIFTC" "${COMMON[@]}" -module-name MOF -I "$OUT/obj" -emit-module -emit-module-path "$OUT/obj/MOF.swiftmodule" \
    -emit-object -o "$OUT/obj/MOF.o" "$ROOT"/Sources/MOF/*.swift

echo "build-fuzz: mof_fuzz"
# ld.gold warns "Cannot export local symbol '__asan_...'": harmless, filtered out.
"$SWIFTC" "${COMMON[@]}" -module-name MOFFuzz -I "$OUT/obj" "$ROOT/Tests/Fuzz/mof_fuzz.swift" \
    "$OUT/obj/CIM.o" "$OUT/obj/MOF.o" -o "$BIN.tmp" 2> >(grep -v "Cannot export local symbol" >&2)
mv "$BIN.tmp" "$BIN"
echo "$flags_now" > "$stamp"
echo "build-fuzz: built $BIN in $(( $(date +%s) - start ))s"
