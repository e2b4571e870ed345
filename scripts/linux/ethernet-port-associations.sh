#!/bin/bash
# Association script for inventory settings EthernetPort: CIM_SystemDevice from the node's
# CIM_ComputerSystem (GroupComponent) to every port the discovery reported (PartComponent, from
# the instance cache).
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
node=${CIMDB_NODE:-$(hostname 2>/dev/null || uname -n)}

cs=$(cimdb_path CIM_ComputerSystem CreationClassName=CIM_ComputerSystem Name="$node")
cimdb_instance_paths EthernetPort CIM_EthernetPort | while IFS= read -r port; do
    cimdb_path CIM_SystemDevice GroupComponent="$cs" PartComponent="$port"
done
exit 0
