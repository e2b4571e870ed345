#!/bin/bash
# Association script for inventory settings IPProtocolEndpoint: CIM_PortImplementsEndpoint
# from the Ethernet port (Antecedent) to each endpoint the discovery reported (Dependent, from
# the instance cache; the port is the endpoint Name up to its last ":"). An endpoint whose port
# the EthernetPort settings did not report is left out (said on stderr): no dangling reference.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
node=${CIMDB_NODE:-$(hostname 2>/dev/null || uname -n)}

declare -A known=()
while IFS= read -r id; do
    cimdb_decode -v id "$id"
    [[ -n $id ]] && known[$id]=1
done < <(cimdb_instance_cache EthernetPort.DeviceID)

cimdb_instance_cache 'IPProtocolEndpoint.*' | while IFS= read -r line; do
    IFS=$CIMDB_RS read -r -a key <<<"$line"
    ((${#key[@]} == 4)) || continue
    for i in 0 1 2 3; do cimdb_decode -v "k$i" "${key[i]}"; done
    port=${k1%:*}
    if [[ $port == "$k1" || -z ${known[$port]+set} ]]; then
        printf 'ip-protocol-endpoint-associations: no reported Ethernet port for endpoint %s\n' "$k1" >&2
        continue
    fi
    cimdb_path CIM_PortImplementsEndpoint \
        Antecedent="$(cimdb_path CIM_EthernetPort CreationClassName=CIM_EthernetPort DeviceID="$port" \
            SystemCreationClassName=CIM_ComputerSystem SystemName="$node")" \
        Dependent="$(cimdb_path CIM_IPProtocolEndpoint CreationClassName="$k0" Name="$k1" \
            SystemCreationClassName="$k2" SystemName="$k3")"
done
exit 0
