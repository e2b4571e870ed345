#!/bin/bash
# Caption: the content of $FIXTURE_DIR/NODE/caption (no line when the file is missing).
set -f
file="$FIXTURE_DIR/$CIMDB_NODE/caption"
[ -r "$file" ] || exit 0
cimdb_instance_cache 'System.*' | while IFS= read -r keys; do
    printf '%s\036%s\n' "$keys" "$(cat "$file")"
done
