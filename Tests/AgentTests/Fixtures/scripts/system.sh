#!/bin/bash
# The node itself: its name is the agent's node name.
cimdb_echo CIM_ComputerSystem "$CIMDB_NODE"
