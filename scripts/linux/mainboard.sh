#!/bin/bash
# Discovery for inventory settings Mainboard (CIM_Card): the node's mainboard, known when its
# manufacturer or model is ($CIMDB_SYS/class/dmi/id/board_vendor, board_name; else dmidecode
# -t 2 when it runs, i.e. as root). Keys CreationClassName, Tag; the Tag is "<node>:Mainboard"
# (CIM_Card's key has no system part, so the node name keeps tags of different nodes apart).
# No DMI data (containers, many VMs): no instance.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
node=${CIMDB_NODE:-$(hostname 2>/dev/null || uname -n)}
sys=${CIMDB_SYS:-/sys}

# tool NAME: the command to run for NAME: from $CIMDB_BIN when that is set (test doubles), else
# from PATH, but never while CIMDB_PROC or CIMDB_SYS point at a fixture (it would read this
# machine instead).
tool() {
    if [[ -n ${CIMDB_BIN:-} ]]; then
        [[ -x $CIMDB_BIN/$1 ]] && printf '%s\n' "$CIMDB_BIN/$1"
    elif [[ -z ${CIMDB_PROC:-}${CIMDB_SYS:-} ]]; then
        command -v "$1"
    else
        return 1
    fi
}

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
        dmi=$(tool dmidecode) || return 1
        v=$("$dmi" -q -t 2 2>/dev/null | awk -v want="$key" '
            { i = index($0, ":"); k = substr($0, 1, i - 1); gsub(/^[ \t]+|[ \t]+$/, "", k) }
            i > 0 && k == want { v = substr($0, i + 1); gsub(/^[ \t]+|[ \t]+$/, "", v); print v; exit }')
        clean v || return 1
    fi
    printf '%s' "$v"
}

if board vendor >/dev/null || board name >/dev/null; then
    cimdb_echo CIM_Card "$node:Mainboard"
fi
exit 0
