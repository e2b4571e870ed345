#!/bin/bash
# FileSystemSize: the number in the disk's file.
set -f
cimdb_instance_cache 'Disk.*' | while IFS= read -r keys; do
    name=${keys##*$'\036'}
    size=$(cat "$FIXTURE_DIR/$CIMDB_NODE/disks/${name#/}" 2>/dev/null) || continue
    printf '%s\036%s\n' "$keys" "$size"
done
