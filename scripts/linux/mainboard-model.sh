#!/bin/bash
# Update script for CIM_Card.Model (string; settings Mainboard): the board's product name
# (board_name; else dmidecode -t 2 Product Name), firmware placeholders
# ignored. Unknown: no line.
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

found=$(board name) || exit 0
cimdb_encode -v value "$found"
cimdb_instance_cache 'Mainboard.*' | while IFS= read -r line; do
    IFS=$CIMDB_RS read -r -a key <<<"$line"
    cimdb_decode -v tag "${key[1]}"
    [[ $tag == "$node:Mainboard" ]] || continue
    printf '%s%s%s\n' "$line" "$CIMDB_RS" "$value"
done
exit 0
