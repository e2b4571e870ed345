#!/bin/bash
# Inventory settings ComputerSystem (CIM_ComputerSystem): the node itself. Discovery and the
# update of every property in one script; the agent says which run it is in CIMDB_PROPERTY.
#
# Discovery (CIMDB_PROPERTY unset or empty): one line: CreationClassName, Name
# (KeyPropertyOrder) = CIM_ComputerSystem, the node name ($CIMDB_NODE, which the agent sets;
# else hostname).
#
# Update (CIMDB_PROPERTY=Caption; every cached instance, its key fields then the value):
#   Caption: the hardware model, "<sys_vendor> <product_name>" from $CIMDB_SYS/class/dmi/id
#   (firmware placeholders such as "To be filled by O.E.M." ignored); without DMI data
#   (containers, some VMs) "Linux <kernel release>" from $CIMDB_PROC/sys/kernel/osrelease.
#   Nothing known: no line.
# Another CIMDB_PROPERTY: a message on stderr, exit 2.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
node=${CIMDB_NODE:-$(hostname 2>/dev/null || uname -n)}
proc=${CIMDB_PROC:-/proc}
sys=${CIMDB_SYS:-/sys}
property=${CIMDB_PROPERTY:-}

# val VAR FILE: FILE's first line, blanks trimmed, in VAR; false when unreadable, empty or a
# firmware placeholder.
val() {
    local -n _val_out=$1
    _val_out=
    { IFS= read -r _val_out || [[ -n $_val_out ]]; } 2>/dev/null <"$2" || return 1
    _val_out=${_val_out#"${_val_out%%[![:space:]]*}"}
    _val_out=${_val_out%"${_val_out##*[![:space:]]}"}
    case ${_val_out,,} in
        '' | 'to be filled by o.e.m.' | 'default string' | 'not specified' | 'not available' | \
            'not applicable' | none | n/a | unknown | 'system product name' | 'system manufacturer' | 'o.e.m.')
            _val_out=
            return 1 ;;
    esac
}

# caption: prints the Caption; false when nothing is known.
caption() {
    local caption= vendor product release
    if val vendor "$sys/class/dmi/id/sys_vendor"; then caption=$vendor; fi
    if val product "$sys/class/dmi/id/product_name"; then
        if [[ -n $caption && $product != "$caption"* ]]; then caption+=" $product"; else caption=$product; fi
    fi
    if [[ -z $caption ]] && val release "$proc/sys/kernel/osrelease"; then caption="Linux $release"; fi
    [[ -n $caption ]] && printf '%s' "$caption"
}

case ${property,,} in   # property names compare case-insensitively, as in CIM
    '')
        cimdb_echo CIM_ComputerSystem "$node" ;;
    caption)
        found=$(caption) || exit 0
        cimdb_encode -v value "$found"
        cimdb_instance_cache 'ComputerSystem.*' | while IFS= read -r line; do
            printf '%s%s%s\n' "$line" "$CIMDB_RS" "$value"
        done ;;
    *)
        printf 'computer-system.sh: settings ComputerSystem has no property %s (Caption)\n' "$property" >&2
        exit 2 ;;
esac
exit 0
