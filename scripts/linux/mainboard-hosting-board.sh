#!/bin/bash
# Update script for CIM_Card.HostingBoard (boolean; settings Mainboard): true — the card the
# discovery reports is the mainboard.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
node=${CIMDB_NODE:-$(hostname 2>/dev/null || uname -n)}

value=true
cimdb_instance_cache 'Mainboard.*' | while IFS= read -r line; do
    IFS=$CIMDB_RS read -r -a key <<<"$line"
    cimdb_decode -v tag "${key[1]}"
    [[ $tag == "$node:Mainboard" ]] || continue
    printf '%s%s%s\n' "$line" "$CIMDB_RS" "$value"
done
exit 0
