#!/bin/bash
# Inventory settings Mainboard (CIM_Card): the node's mainboard. Discovery and the update of
# every property in one script; the agent says which run it is in CIMDB_PROPERTY.
#
# Discovery (CIMDB_PROPERTY unset or empty): the mainboard, known when its manufacturer or
# model is ($CIMDB_SYS/class/dmi/id/board_vendor, board_name; else dmidecode -t 2 when it runs,
# i.e. as root). Keys CreationClassName, Tag; the Tag is "<node>:Mainboard" (CIM_Card's key has
# no system part, so the node name keeps tags of different nodes apart). No DMI data
# (containers, many VMs): no instance.
#
# Updates (CIMDB_PROPERTY names the property): for the cached "<node>:Mainboard" its key
# fields, then the value:
#   HostingBoard (boolean): true — the card the discovery reports is the mainboard.
#   Manufacturer (string): the board's manufacturer (board_vendor; else dmidecode -t 2
#     Manufacturer), firmware placeholders ignored. Unknown: no line.
#   Model (string): the board's product name (board_name; else dmidecode -t 2 Product Name),
#     firmware placeholders ignored. Unknown: no line.
# Another CIMDB_PROPERTY: a message on stderr, exit 2.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
node=${CIMDB_NODE:-$(hostname 2>/dev/null || uname -n)}
sys=${CIMDB_SYS:-/sys}
property=${CIMDB_PROPERTY:-}

# clean VAR: VAR with blanks trimmed; false when empty or a firmware placeholder.
clean() {
    local -n _clean_v=$1
    _clean_v=${_clean_v#"${_clean_v%%[![:space:]]*}"}
    _clean_v=${_clean_v%"${_clean_v##*[![:space:]]}"}
    case ${_clean_v,,} in
        '' | 'to be filled by o.e.m.' | 'default string' | 'not specified' | 'not available' | \
            'not applicable' | none | n/a | unknown | 'base board product name' | 'o.e.m.')
            _clean_v=
            return 1 ;;
    esac
}

# board vendor|name: the mainboard's manufacturer or model: $CIMDB_SYS/class/dmi/id/board_*,
# else the first base board of `dmidecode -t 2`; false when unknown.
board() {
    local v= key dmi
    { IFS= read -r v || [[ -n $v ]]; } 2>/dev/null <"$sys/class/dmi/id/board_$1"
    if ! clean v; then
        case $1 in vendor) key=Manufacturer ;; *) key="Product Name" ;; esac
        dmi=$(cimdb_tool dmidecode) || return 1
        v=$("$dmi" -q -t 2 2>/dev/null | awk -v want="$key" '
            { i = index($0, ":"); k = substr($0, 1, i - 1); gsub(/^[ \t]+|[ \t]+$/, "", k) }
            i > 0 && k == want { v = substr($0, i + 1); gsub(/^[ \t]+|[ \t]+$/, "", v); print v; exit }')
        clean v || return 1
    fi
    printf '%s' "$v"
}

# update VALUE: the cached mainboard's key fields, then VALUE (encoded here).
update() {
    local value line tag
    local -a key
    cimdb_encode -v value "$1"
    cimdb_instance_cache 'Mainboard.*' | while IFS= read -r line; do
        IFS=$CIMDB_RS read -r -a key <<<"$line"
        cimdb_decode -v tag "${key[1]}"
        [[ $tag == "$node:Mainboard" ]] || continue
        printf '%s%s%s\n' "$line" "$CIMDB_RS" "$value"
    done
}

case ${property,,} in   # property names compare case-insensitively, as in CIM
    '')
        if board vendor >/dev/null || board name >/dev/null; then
            cimdb_echo CIM_Card "$node:Mainboard"
        fi ;;
    hostingboard) update true ;;
    manufacturer) found=$(board vendor) && update "$found" ;;
    model) found=$(board name) && update "$found" ;;
    *)
        printf 'mainboard.sh: settings Mainboard has no property %s (HostingBoard, Model, Manufacturer)\n' "$property" >&2
        exit 2 ;;
esac
exit 0
