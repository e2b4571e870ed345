#!/bin/bash
# Discovery for inventory settings Processor (CIM_Processor): one instance per logical CPU the
# kernel lists in $CIMDB_PROC/cpuinfo ("processor : N"), DeviceID "CPU<N>" (the Linux CPU
# number); without such lines (s390, ...) the cpu<N> directories of
# $CIMDB_SYS/devices/system/cpu. Key fields (KeyPropertyOrder): CreationClassName, DeviceID,
# SystemCreationClassName, SystemName.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
node=${CIMDB_NODE:-$(hostname 2>/dev/null || uname -n)}
proc=${CIMDB_PROC:-/proc}
sys=${CIMDB_SYS:-/sys}

ids=$(awk 'function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
function get(id, k) { return ((id, k) in f) ? f[id, k] : ((k in g) ? g[k] : "") }
{
    i = index($0, ":"); if (i == 0) next
    k = trim(substr($0, 1, i - 1)); v = trim(substr($0, i + 1))
}
k == "processor" && v ~ /^[0-9]+$/ { cur = v; ids[++n] = v; next }
{ if (cur != "") f[cur, k] = v; g[k] = v }
END { for (j = 1; j <= n; j++) print ids[j] }' "$proc/cpuinfo")
if [[ -z $ids ]]; then
    ids=$(for d in "$sys"/devices/system/cpu/cpu[0-9]*; do
        [[ -d $d ]] && printf '%s\n' "${d##*/cpu}"
    done | sort -n)
fi
for id in $ids; do
    cimdb_echo CIM_Processor "CPU$id" CIM_ComputerSystem "$node"
done
exit 0
