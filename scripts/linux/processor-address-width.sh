#!/bin/bash
# Update script for CIM_Processor.AddressWidth (uint16, bits; settings Processor): the width
# of the processor's architecture: 64 for x86 CPUs with long mode ("lm" in the cpuinfo flags),
# ARMv8 ("CPU architecture: 8"), RV64 ("isa : rv64...") and ppc64; 32 for x86 without long
# mode, ARMv7 and older, RV32. Unknown: no line.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
proc=${CIMDB_PROC:-/proc}

declare -A value=()
while IFS=$CIMDB_RS read -r id v; do
    [[ -n $v ]] && value[CPU$id]=$v
done < <(awk -v rs="$CIMDB_RS" 'function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
function get(id, k) { return ((id, k) in f) ? f[id, k] : ((k in g) ? g[k] : "") }
{
    i = index($0, ":"); if (i == 0) next
    k = trim(substr($0, 1, i - 1)); v = trim(substr($0, i + 1))
}
k == "processor" && v ~ /^[0-9]+$/ { cur = v; ids[++n] = v; next }
{ if (cur != "") f[cur, k] = v; g[k] = v }
END {
    for (j = 1; j <= n; j++) {
        id = ids[j]; v = ""
        fl = get(id, "flags"); arch = get(id, "CPU architecture"); isa = get(id, "isa"); cpu = get(id, "cpu")
        if (fl != "") v = ((" " fl " ") ~ /[ \t]lm[ \t]/) ? 64 : 32
        else if (arch ~ /^[0-9]+/) v = (arch + 0 >= 8) ? 64 : 32
        else if (arch ~ /^AArch64/) v = 64
        else if (isa ~ /^rv64/) v = 64
        else if (isa ~ /^rv32/) v = 32
        else if (cpu ~ /^POWER([4-9]|1[0-9])/ || cpu ~ /PPC970/) v = 64
        print id rs v
    }
}' "$proc/cpuinfo")

cimdb_instance_cache 'Processor.*' | while IFS= read -r line; do
    IFS=$CIMDB_RS read -r -a key <<<"$line"
    cimdb_decode -v dev "${key[1]}"
    [[ -n $dev && -n ${value[$dev]+set} ]] || continue
    cimdb_encode -v v "${value[$dev]}"
    printf '%s%s%s\n' "$line" "$CIMDB_RS" "$v"
done
exit 0
