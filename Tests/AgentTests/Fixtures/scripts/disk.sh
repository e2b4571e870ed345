#!/bin/bash
# One file system per file in $FIXTURE_DIR/NODE/disks/ (the file's name is the mount point's).
shopt -s nullglob
for disk in "$FIXTURE_DIR/$CIMDB_NODE"/disks/*; do
    cimdb_echo CIM_FileSystem CIM_ComputerSystem "$CIMDB_NODE" "/${disk##*/}"
done
