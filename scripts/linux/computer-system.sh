#!/bin/bash
# Discovery for inventory settings ComputerSystem (CIM_ComputerSystem): the node itself.
# Prints one line: CreationClassName, Name (KeyPropertyOrder) = CIM_ComputerSystem, the node
# name ($CIMDB_NODE, which the agent sets; else hostname).
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
node=${CIMDB_NODE:-$(hostname 2>/dev/null || uname -n)}

cimdb_echo CIM_ComputerSystem "$node"
