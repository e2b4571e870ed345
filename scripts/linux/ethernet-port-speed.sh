#!/bin/bash
# Update script for CIM_EthernetPort.Speed (uint64, bits per second; settings EthernetPort):
# $CIMDB_SYS/class/net/<port>/speed (Mb/s) times 1,000,000; GS (NULL) while the kernel does not
# know it (-1, 4294967295 or 65535 for "unknown", link down, unreadable). The port is gone: no
# line.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
sys=${CIMDB_SYS:-/sys}

# value DIR: sets v to the encoded value for the port DIR.
value() {
    local speed=
    { IFS= read -r speed; } 2>/dev/null <"$1/speed"
    if [[ $speed =~ ^[0-9]{1,9}$ ]] && ((speed > 0 && speed != 65535)); then
        v=$((speed * 1000000))
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
