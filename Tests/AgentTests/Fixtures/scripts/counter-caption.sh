#!/bin/bash
# Caption as a counter: each run prints the next number ($FIXTURE_DIR/NODE/counter), or, once
# $FIXTURE_DIR/frozen exists, the last one again. Nothing is counted before the node's
# instance is in the cache (no line to print it on).
set -f
dir="$FIXTURE_DIR/$CIMDB_NODE"
keys=$(cimdb_instance_cache 'System.*')
[ -n "$keys" ] || exit 0
n=$(cat "$dir/counter" 2>/dev/null || echo 0)
if [ ! -e "$FIXTURE_DIR/frozen" ]; then
    n=$((n + 1))
    echo "$n" > "$dir/counter.new" && mv "$dir/counter.new" "$dir/counter"
fi
printf '%s\036%s\n' "$keys" "$n"
