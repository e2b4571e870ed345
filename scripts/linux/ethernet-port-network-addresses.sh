#!/bin/bash
# Update script for CIM_EthernetPort.NetworkAddresses (string[]; settings EthernetPort): the
# port's MAC address ($CIMDB_SYS/class/net/<port>/address) as CIM_EthernetPort wants it:
# twelve hexadecimal digits, no separators ("0002B3A1B2C3"; upper case), one entry. No
# usable address (all zeros): GS (NULL). The port is gone: no line.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
sys=${CIMDB_SYS:-/sys}

# value DIR: sets v to the encoded value for the port DIR.
value() {
    local mac=
    { IFS= read -r mac; } 2>/dev/null <"$1/address"
    mac=${mac//:/}
    mac=${mac^^}
    if [[ $mac =~ ^[0-9A-F]{12}$ && $mac != 000000000000 ]]; then
        v=$(cimdb_array "$mac")
    else
        v=$CIMDB_GS
    fi
}

cimdb_instance_cache 'EthernetPort.*' | while IFS= read -r line; do
    IFS=$CIMDB_RS read -r -a key <<<"$line"
    cimdb_decode -v dev "${key[1]}"
    d=$sys/class/net/$dev
    [[ -n $dev && $dev != */* && -d $d ]] || continue   # gone: no line
    value "$d" || continue
    printf '%s%s%s\n' "$line" "$CIMDB_RS" "$v"
done
exit 0
