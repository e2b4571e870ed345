#!/bin/bash
# Update script for CIM_Processor.CurrentClockSpeed (uint32, MHz; settings Processor): the
# kernel's current frequency of each CPU, $CIMDB_SYS/devices/system/cpu/cpuN/cpufreq/
# scaling_cur_freq (kHz), else "cpu MHz" (x86) or "clock" (POWER) of $CIMDB_PROC/cpuinfo,
# rounded to whole MHz. Unknown, or the CPU is gone: no line.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
proc=${CIMDB_PROC:-/proc}
sys=${CIMDB_SYS:-/sys}

declare -A value=()
while IFS=$CIMDB_RS read -r id mhz; do
    khz=
    { IFS= read -r khz; } 2>/dev/null <"$sys/devices/system/cpu/cpu$id/cpufreq/scaling_cur_freq"
    if [[ $khz =~ ^[0-9]+$ ]] && ((khz > 0)); then mhz=$(((khz + 500) / 1000)); fi
    [[ -n $mhz ]] && value[CPU$id]=$mhz
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
        v = get(ids[j], "cpu MHz"); if (v == "") v = get(ids[j], "clock")
        if (v ~ /^[0-9]+(\.[0-9]*)?/) { sub(/[^0-9.].*/, "", v); v = sprintf("%d", v + 0.5) } else v = ""
        if (v == "0") v = ""
        print ids[j] rs v
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
