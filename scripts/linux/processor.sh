#!/bin/bash
# Inventory settings Processor (CIM_Processor): the node's logical CPUs. Discovery and the
# update of every property in one script; the agent says which run it is in CIMDB_PROPERTY.
#
# Discovery (CIMDB_PROPERTY unset or empty): one instance per logical CPU the kernel lists in
# $CIMDB_PROC/cpuinfo ("processor : N"), DeviceID "CPU<N>" (the Linux CPU number); without such
# lines (s390, ...) the cpu<N> directories of $CIMDB_SYS/devices/system/cpu. Key fields
# (KeyPropertyOrder): CreationClassName, DeviceID, SystemCreationClassName, SystemName.
#
# Updates (CIMDB_PROPERTY names the property): for every cached CPU its key fields, then the
# value; unknown, or the CPU is gone: no line. From $CIMDB_PROC/cpuinfo:
#   CurrentClockSpeed (uint32, MHz): the kernel's current frequency of each CPU,
#     $CIMDB_SYS/devices/system/cpu/cpuN/cpufreq/scaling_cur_freq (kHz), else "cpu MHz" (x86)
#     or "clock" (POWER) of cpuinfo, rounded to whole MHz.
#   Family (uint16). CIM 2.51 gives Family no ValueMap; its MappingStrings
#     (MIF.DMTF|Processor|017.3) are the SMBIOS processor family codes (DSP0134 7.5.2, Processor
#     Family and Processor Family 2), used here: Intel Xeon 179, Core i3/i5/i7/i9
#     206/205/198/207, Core Ultra 3/5/7/9 772..775, Core 2 Duo/Solo/Extreme/Quad 191..194,
#     Celeron 15, Pentium 11, Atom 43; AMD EPYC, Ryzen, Threadripper and other family >= 17h
#     (Zen) 107, Opteron 132, Athlon 29, Sempron 133, Phenom II 236; ARMv7 256, ARMv8 257;
#     RISC-V RV32 512, RV64 513; POWER 32; z/Architecture 204; anything else 2 (Unknown).
#   Description (string): the model name ("model name"; POWER "cpu", MIPS "cpu model", RISC-V
#     "uarch", older ARM "Processor"; else "ARM implementer 0x.. part 0x.."), blanks collapsed.
#   Stepping (string): the revision of the CPU within its family, "stepping" (x86), else "CPU
#     revision" (ARM), else "revision" (POWER).
#   AddressWidth (uint16, bits): the width of the processor's architecture: 64 for x86 CPUs
#     with long mode ("lm" in the flags), ARMv8 ("CPU architecture: 8"), RV64 ("isa :
#     rv64...") and ppc64; 32 for x86 without long mode, ARMv7 and older, RV32.
# Another CIMDB_PROPERTY: a message on stderr, exit 2.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
node=${CIMDB_NODE:-$(hostname 2>/dev/null || uname -n)}
proc=${CIMDB_PROC:-/proc}
sys=${CIMDB_SYS:-/sys}
property=${CIMDB_PROPERTY:-}

# cpuinfo [PROPERTY]: one line per "processor : N" block of $CIMDB_PROC/cpuinfo, in order: N;
# with PROPERTY (lower case) N RS the property's value from cpuinfo (empty: unknown). A key
# outside any block, or missing from a block, has the value it had last.
cpuinfo() {
    awk -v rs="$CIMDB_RS" -v want="${1-}" '
        function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
        function get(id, k) { return ((id, k) in f) ? f[id, k] : ((k in g) ? g[k] : "") }
        {
            i = index($0, ":"); if (i == 0) next
            k = trim(substr($0, 1, i - 1)); v = trim(substr($0, i + 1))
        }
        k == "processor" && v ~ /^[0-9]+$/ { cur = v; ids[++n] = v; next }
        { if (cur != "") f[cur, k] = v; g[k] = v }
        function mhz(id,   v) {
            v = get(id, "cpu MHz"); if (v == "") v = get(id, "clock")
            if (v ~ /^[0-9]+(\.[0-9]*)?/) { sub(/[^0-9.].*/, "", v); v = sprintf("%d", v + 0.5) } else v = ""
            return (v == "0") ? "" : v
        }
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
        function description(id,   v) {
            v = get(id, "model name")
            if (v == "") v = get(id, "cpu model")
            if (v == "") v = get(id, "cpu")
            if (v == "") v = get(id, "uarch")
            if (v == "") v = get(id, "Processor")
            if (v == "" && get(id, "CPU implementer") != "") v = "ARM implementer " get(id, "CPU implementer") " part " get(id, "CPU part")
            gsub(/[ \t]+/, " ", v)
            return v
        }
        function stepping(id,   v) {
            v = get(id, "stepping")
            if (v == "") v = get(id, "CPU revision")
            if (v == "") v = get(id, "revision")
            return v
        }
        function width(id,   v, fl, arch, isa, cpu) {
            v = ""
            fl = get(id, "flags"); arch = get(id, "CPU architecture"); isa = get(id, "isa"); cpu = get(id, "cpu")
            if (fl != "") v = ((" " fl " ") ~ /[ \t]lm[ \t]/) ? 64 : 32
            else if (arch ~ /^[0-9]+/) v = (arch + 0 >= 8) ? 64 : 32
            else if (arch ~ /^AArch64/) v = 64
            else if (isa ~ /^rv64/) v = 64
            else if (isa ~ /^rv32/) v = 32
            else if (cpu ~ /^POWER([4-9]|1[0-9])/ || cpu ~ /PPC970/) v = 64
            return v
        }
        function value(id) {
            if (want == "currentclockspeed") return mhz(id)
            if (want == "family") return family(id)
            if (want == "description") return description(id)
            if (want == "stepping") return stepping(id)
            return width(id)
        }
        END { for (j = 1; j <= n; j++) if (want == "") print ids[j]; else print ids[j] rs value(ids[j]) }
    ' "$proc/cpuinfo"
}

# discover: the discovery lines.
discover() {
    local ids id d
    ids=$(cpuinfo)
    if [[ -z $ids ]]; then
        ids=$(for d in "$sys"/devices/system/cpu/cpu[0-9]*; do
            [[ -d $d ]] && printf '%s\n' "${d##*/cpu}"
        done | sort -n)
    fi
    for id in $ids; do
        cimdb_echo CIM_Processor "CPU$id" CIM_ComputerSystem "$node"
    done
}

# update PROPERTY: the update lines of PROPERTY (lower case).
update() {
    local id v khz line dev
    local -a key
    local -A value=()
    while IFS=$CIMDB_RS read -r id v; do
        if [[ $1 == currentclockspeed ]]; then
            khz=
            { IFS= read -r khz; } 2>/dev/null <"$sys/devices/system/cpu/cpu$id/cpufreq/scaling_cur_freq"
            if [[ $khz =~ ^[0-9]+$ ]] && ((khz > 0)); then v=$(((khz + 500) / 1000)); fi
        fi
        [[ -n $v ]] && value[CPU$id]=$v
    done < <(cpuinfo "$1")
    cimdb_instance_cache 'Processor.*' | while IFS= read -r line; do
        IFS=$CIMDB_RS read -r -a key <<<"$line"
        cimdb_decode -v dev "${key[1]}"
        [[ -n $dev && -n ${value[$dev]+set} ]] || continue
        cimdb_encode -v v "${value[$dev]}"
        printf '%s%s%s\n' "$line" "$CIMDB_RS" "$v"
    done
}

case ${property,,} in   # property names compare case-insensitively, as in CIM
    '') discover ;;
    currentclockspeed | family | description | stepping | addresswidth) update "${property,,}" ;;
    *)
        printf 'processor.sh: settings Processor has no property %s (CurrentClockSpeed, Family, Description, Stepping, AddressWidth)\n' "$property" >&2
        exit 2 ;;
esac
exit 0
