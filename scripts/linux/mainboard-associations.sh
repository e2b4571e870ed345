#!/bin/bash
# Association script for inventory settings Mainboard: CIM_SystemPackaging from the mainboard
# (Antecedent, from the instance cache) to the node's CIM_ComputerSystem (Dependent).
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
node=${CIMDB_NODE:-$(hostname 2>/dev/null || uname -n)}

cs=$(cimdb_path CIM_ComputerSystem CreationClassName=CIM_ComputerSystem Name="$node")
cimdb_instance_paths Mainboard CIM_Card | while IFS= read -r card; do
    cimdb_path CIM_SystemPackaging Antecedent="$card" Dependent="$cs"
done
exit 0
