#!/bin/bash
# Update script for CIM_EthernetPort.FullDuplex (boolean; settings EthernetPort): true or false
# from $CIMDB_SYS/class/net/<port>/duplex (full, half); GS (NULL) while the kernel does not
# know (link down, virtual port: "unknown" or unreadable). The port is gone: no line.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
sys=${CIMDB_SYS:-/sys}

# value DIR: sets v to the encoded value for the port DIR.
value() {
    local duplex=
    { IFS= read -r duplex; } 2>/dev/null <"$1/duplex"
    case $duplex in
        full) v=true ;;
        half) v=false ;;
        *) v=$CIMDB_GS ;;
    esac
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
