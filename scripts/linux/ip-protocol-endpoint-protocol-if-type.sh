#!/bin/bash
# Update script for CIM_IPProtocolEndpoint.ProtocolIFType (uint16; settings IPProtocolEndpoint):
# 4096 (IPv4) for "<port>:IPv4" endpoints, 4097 (IPv6) for "<port>:IPv6" ones — an endpoint
# stands for one IP version (4098, IPv4/v6, is not used).
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"

cimdb_instance_cache 'IPProtocolEndpoint.*' | while IFS= read -r line; do
    IFS=$CIMDB_RS read -r -a key <<<"$line"
    cimdb_decode -v name "${key[1]}"
    case $name in
        *:IPv4) v=4096 ;;
        *:IPv6) v=4097 ;;
        *) continue ;;
    esac
    printf '%s%s%s\n' "$line" "$CIMDB_RS" "$v"
done
exit 0
