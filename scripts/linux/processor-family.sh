#!/bin/bash
# Update script for CIM_Processor.Family (uint16; settings Processor). CIM 2.51 gives Family no
# ValueMap; its MappingStrings (MIF.DMTF|Processor|017.3) are the SMBIOS processor family codes
# (DSP0134 7.5.2, Processor Family and Processor Family 2), used here: recognised from
# $CIMDB_PROC/cpuinfo: Intel Xeon 179, Core i3/i5/i7/i9 206/205/198/207, Core Ultra 3/5/7/9
# 772..775, Core 2 Duo/Solo/Extreme/Quad 191..194, Celeron 15, Pentium 11, Atom 43; AMD EPYC,
# Ryzen, Threadripper and other family >= 17h (Zen) 107, Opteron 132, Athlon 29, Sempron 133,
# Phenom II 236; ARMv7 256, ARMv8 257; RISC-V RV32 512, RV64 513; POWER 32; z/Architecture 204;
# anything else 2 (Unknown). The CPU is gone: no line.
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
function family(id,   m, vendor, fam, arch, isa) {
    m = get(id, "model name"); vendor = get(id, "vendor_id"); fam = get(id, "cpu family")
    arch = get(id, "CPU architecture"); isa = get(id, "isa")
    if (m ~ /Xeon/) return 179
    if (m ~ /Core(\(TM\))? Ultra 9/) return 775
    if (m ~ /Core(\(TM\))? Ultra 7/) return 774
    if (m ~ /Core(\(TM\))? Ultra 5/) return 773
    if (m ~ /Core(\(TM\))? Ultra 3/) return 772
    if (m ~ /Core(\(TM\))? i9/) return 207
    if (m ~ /Core(\(TM\))? i7/) return 198
    if (m ~ /Core(\(TM\))? i5/) return 205
    if (m ~ /Core(\(TM\))? i3/) return 206
    if (m ~ /Core(\(TM\))? ?2 Duo/) return 191
    if (m ~ /Core(\(TM\))? ?2 Solo/) return 192
    if (m ~ /Core(\(TM\))? ?2 Extreme/) return 193
    if (m ~ /Core(\(TM\))? ?2 Quad/) return 194
    if (m ~ /Celeron/) return 15
    if (m ~ /Pentium/) return 11
    if (m ~ /Atom/) return 43
    if (m ~ /EPYC|Ryzen|Threadripper/) return 107
    if (m ~ /Opteron/) return 132
    if (m ~ /Phenom\(tm\) II|Phenom II/) return 236
    if (m ~ /Athlon/) return 29
    if (m ~ /Sempron/) return 133
    if (vendor == "AuthenticAMD" && fam + 0 >= 23) return 107
    if (arch ~ /^[0-9]+/) return (arch + 0 >= 8) ? 257 : 256
    if (arch ~ /^AArch64/) return 257
    if (isa ~ /^rv64/) return 513
    if (isa ~ /^rv32/) return 512
    if (get(id, "cpu") ~ /POWER|PPC/) return 32
    if (vendor ~ /S390/) return 204
    return 2
}
END { for (j = 1; j <= n; j++) print ids[j] rs family(ids[j]) }' "$proc/cpuinfo")

cimdb_instance_cache 'Processor.*' | while IFS= read -r line; do
    IFS=$CIMDB_RS read -r -a key <<<"$line"
    cimdb_decode -v dev "${key[1]}"
    [[ -n $dev && -n ${value[$dev]+set} ]] || continue
    cimdb_encode -v v "${value[$dev]}"
    printf '%s%s%s\n' "$line" "$CIMDB_RS" "$v"
done
exit 0
