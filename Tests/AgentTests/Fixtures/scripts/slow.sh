#!/bin/bash
# Records its process id ($FIXTURE_DIR/NODE/slow.pid), then takes a minute.
echo $$ > "$FIXTURE_DIR/$CIMDB_NODE/slow.pid"
sleep 60
cimdb_echo CIM_ComputerSystem "$CIMDB_NODE"
