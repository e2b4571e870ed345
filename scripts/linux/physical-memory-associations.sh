#!/bin/bash
# Association script for inventory settings PhysicalMemory: CIM_SystemPackaging from every
# memory module the discovery reported (Antecedent, from the instance cache) to the node's
# CIM_ComputerSystem (Dependent) — the default model's association between a system and its
# physical parts.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
node=${CIMDB_NODE:-$(hostname 2>/dev/null || uname -n)}

cs=$(cimdb_path CIM_ComputerSystem CreationClassName=CIM_ComputerSystem Name="$node")
cimdb_instance_paths PhysicalMemory CIM_PhysicalMemory | while IFS= read -r module; do
    cimdb_path CIM_SystemPackaging Antecedent="$module" Dependent="$cs"
done
exit 0
