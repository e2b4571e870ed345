#!/bin/bash
# Update script for CIM_Processor.Description (string; settings Processor): the model name
# from $CIMDB_PROC/cpuinfo ("model name"; POWER "cpu", MIPS "cpu model", RISC-V "uarch", older
# ARM "Processor"; else "ARM implementer 0x.. part 0x.."), blanks collapsed. Unknown: no line.
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
        id = ids[j]; v = get(id, "model name")
        if (v == "") v = get(id, "cpu model")
        if (v == "") v = get(id, "cpu")
        if (v == "") v = get(id, "uarch")
        if (v == "") v = get(id, "Processor")
        if (v == "" && get(id, "CPU implementer") != "") v = "ARM implementer " get(id, "CPU implementer") " part " get(id, "CPU part")
        gsub(/[ \t]+/, " ", v)
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
