#!/bin/bash
# Records its process id ($FIXTURE_DIR/NODE/slow.pid), then takes almost the monitor's 2 m timeout
# (long enough that a loaded machine restarts its agent before it ends on its own).
echo $$ > "$FIXTURE_DIR/$CIMDB_NODE/slow.pid"
sleep 110
cimdb_echo CIM_ComputerSystem "$CIMDB_NODE"
