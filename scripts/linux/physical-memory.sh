#!/bin/bash
# Inventory settings PhysicalMemory (CIM_PhysicalMemory): the installed memory modules dmidecode
# -t 17 lists (SMBIOS; dmidecode needs root). Discovery and the update of every property in one
# script; the agent says which run it is in CIMDB_PROPERTY. Without dmidecode, or not root:
# nothing (exit 0; no module is made up from /proc/meminfo).
#
# Discovery (CIMDB_PROPERTY unset or empty): one line per module. Keys CreationClassName, Tag;
# the Tag is "<node>:<slot locator>", e.g. "n1:DIMM_A1" (CIM_PhysicalMemory's key has no system
# part).
#
# Updates (CIMDB_PROPERTY names the property): for every cached module its key fields, then the
# value; the module is gone, or no dmidecode: no line.
#   Capacity (uint64, bytes): the module's size (dmidecode Size); a size dmidecode does not know
#     is GS (NULL).
#   MemoryType (uint16): the CIM MemoryType of dmidecode's Type: Unknown 0, Other 1, DRAM 2,
#     SDRAM 17, DDR 20, DDR2 21, DDR2 FB-DIMM 23, DDR3 24, FBD2 25, DDR4 26, LPDDR 27, LPDDR2 28,
#     LPDDR3 29, LPDDR4 30, ...; types CIM has no value for (DDR5, LPDDR5, HBM) 1, Other.
#   FormFactor (uint16): the CIM_Chip FormFactor of dmidecode's Form Factor: Unknown 0, Other
#     1, SIP 2, DIP 3, ZIP 4, Proprietary Card 6, SIMM 7, DIMM 8 (FB-DIMM too), TSOP 9, RIMM 11,
#     SODIMM 12, SRIMM 13; others (Chip, Row Of Chips, Die, CAMM) 1, Other.
# Another CIMDB_PROPERTY: a message on stderr, exit 2.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
node=${CIMDB_NODE:-$(hostname 2>/dev/null || uname -n)}
property=${CIMDB_PROPERTY:-}

# modules: one line per installed memory module of `dmidecode -t 17` (needs root; nothing
# without it): tag RS capacity in bytes (empty: unknown) RS CIM MemoryType RS CIM FormFactor.
# The tag is the slot's Locator ("DIMM_A1"; "Handle 0x1100" when it has none; " #2", " #3"
# appended to a Locator that repeats).
modules() {
    local dmi
    dmi=$(cimdb_tool dmidecode) || return 0
    "$dmi" -t 17 2>/dev/null | awk -v rs="$CIMDB_RS" '
        function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
        function flush(   tag, size, n, u, mul) {
            if (!dev) return
            dev = 0; size = a["Size"]
            if (size == "" || size ~ /^(No Module Installed|Not Installed|0( [kMGT]?B)?)$/) return
            n = size; sub(/ .*/, "", n); u = size; sub(/^[^ ]* */, "", u)
            mul = (u == "bytes" || u == "B") ? 1 : (u == "kB" || u == "KB") ? 1024 : (u == "MB") ? 1048576 : \
                  (u == "GB") ? 1073741824 : (u == "TB") ? 1099511627776 : 0
            size = (n ~ /^[0-9]+$/ && mul) ? sprintf("%.0f", n * mul) : ""
            tag = a["Locator"]
            if (tag == "" || tag ~ /^(Not Specified|Unknown)$/) tag = "Handle " handle
            if (++seen[tag] > 1) tag = tag " #" seen[tag]
            print tag rs size rs ((a["Type"] in mt) ? mt[a["Type"]] : (a["Type"] == "" ? 0 : 1)) \
                rs ((a["Form Factor"] in ff) ? ff[a["Form Factor"]] : (a["Form Factor"] == "" ? 0 : 1))
        }
        BEGIN {
            # SMBIOS memory type (dmidecode) -> CIM MemoryType (the ValueMap of
            # CIM_MemoryCapacity.MemoryType, which CIM_PhysicalMemory.MemoryType follows);
            # types the ValueMap lacks (DDR5, LPDDR5, HBM, ...) are 1, Other.
            split("Unknown:0 Other:1 DRAM:2 EDRAM:6 VRAM:7 SRAM:8 RAM:9 ROM:10 Flash:11 EEPROM:12 " \
                  "FEPROM:13 EPROM:14 CDRAM:15 3DRAM:16 SDRAM:17 SGRAM:18 RDRAM:19 DDR:20 DDR2:21 " \
                  "DDR2_FB-DIMM:23 DDR3:24 FBD2:25 DDR4:26 LPDDR:27 LPDDR2:28 LPDDR3:29 LPDDR4:30", t, " ")
            for (i in t) { split(t[i], p, ":"); k = p[1]; gsub(/_/, " ", k); mt[k] = p[2] }
            # SMBIOS form factor -> CIM_Chip.FormFactor.
            split("Unknown:0 Other:1 SIP:2 DIP:3 ZIP:4 Proprietary_Card:6 SIMM:7 DIMM:8 TSOP:9 " \
                  "RIMM:11 SODIMM:12 SRIMM:13 FB-DIMM:8", t, " ")
            for (i in t) { split(t[i], p, ":"); k = p[1]; gsub(/_/, " ", k); ff[k] = p[2] }
        }
        /^Handle 0x/ { flush(); handle = $2; sub(/,$/, "", handle); dev = 0; next }
        $0 == "Memory Device" { split("", a); dev = 1; next }
        dev && /^\t[^\t]/ { i = index($0, ":"); if (i) a[trim(substr($0, 1, i - 1))] = trim(substr($0, i + 1)) }
        END { flush() }
    '
}

# update PROPERTY: the update lines of PROPERTY (lower case).
update() {
    local tag size type form line v
    local -a key
    local -A value=()
    while IFS=$CIMDB_RS read -r tag size type form; do
        case $1 in
            capacity) value[$node:$tag]=$size ;;
            memorytype) value[$node:$tag]=$type ;;
            formfactor) value[$node:$tag]=$form ;;
        esac
    done < <(modules)
    cimdb_instance_cache 'PhysicalMemory.*' | while IFS= read -r line; do
        IFS=$CIMDB_RS read -r -a key <<<"$line"
        cimdb_decode -v tag "${key[1]}"
        [[ -n $tag && -n ${value[$tag]+set} ]] || continue
        cimdb_encode -v v "${value[$tag]}"
        printf '%s%s%s\n' "$line" "$CIMDB_RS" "$v"
    done
}

case ${property,,} in   # property names compare case-insensitively, as in CIM
    '')
        modules | while IFS=$CIMDB_RS read -r tag _; do
            cimdb_echo CIM_PhysicalMemory "$node:$tag"
        done ;;
    capacity | memorytype | formfactor) update "${property,,}" ;;
    *)
        printf 'physical-memory.sh: settings PhysicalMemory has no property %s (Capacity, MemoryType, FormFactor)\n' "$property" >&2
        exit 2 ;;
esac
exit 0
