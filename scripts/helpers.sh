# cimdb node-side helpers for bash discovery, association and update scripts.
#
# The cimdb agent sets BASH_ENV to this file, so every bash script it runs has these
# functions; a script can also load it explicitly with  . "$CIMDB_HELPERS"  (sourcing it twice
# is harmless). It defines functions and the variables CIMDB_RS, CIMDB_GS and CIMDB_US only:
# it prints nothing, sets no shell option and works under set -u, set -e and pipefail.
#
# Output format (docs/wire-formats.md, SPEC §4). One line per instance, LF-terminated; fields
# separated by RS (0x1E); an empty value is the single byte GS (0x1D) — the empty string for
# string properties, NULL for every other type; inside a value a line feed is written as the
# two characters \n and a backslash as \\ (no other escapes exist). An array value is its
# entries joined by US (0x1F), an empty entry being GS; no entries is GS.
#   discovery script: the key values in the settings' KeyPropertyOrder, one line per instance
#   update script:    the key values, then the property's value as the last field; an
#                     instance the script prints no line for keeps its value
#   association script: one instance path per line, e.g.
#     CIM_SystemDevice.GroupComponent="CIM_ComputerSystem.CreationClassName=\"CIM_ComputerSystem\",Name=\"n1\"",PartComponent="CIM_Processor.CreationClassName=\"CIM_Processor\",DeviceID=\"CPU0\",SystemCreationClassName=\"CIM_ComputerSystem\",SystemName=\"n1\""
#
# Functions (names starting with _cimdb_ are the library's own; do not use them as variables)
#   cimdb_echo [-e] [--] VALUE...
#       Prints ONE output line: every VALUE encoded (\ -> \\, line feed -> \n, empty -> GS),
#       joined by RS, then LF. -e first: VALUEs' backslash escapes are interpreted first, as
#       bash's echo -e does (\t, \n, \x41, \0101, ...). A VALUE containing US, or exactly GS,
#       is an array from cimdb_array and is copied verbatim. A VALUE containing RS, or GS
#       that is not a whole value or array entry, cannot be written: cimdb_echo then prints
#       nothing (never a partial line), says why on stderr and returns 1. No VALUE: prints
#       nothing. -- ends the options (to print a first value "-e").
#   cimdb_array ENTRY...
#       Prints (without a newline) an array value: entries encoded as above (empty -> GS),
#       joined by US; no entries -> GS. An entry containing RS or US cannot be written:
#       prints nothing and returns 1. Use:  a=$(cimdb_array x "" y); cimdb_echo k1 k2 "$a"
#   cimdb_encode [-v VAR] VALUE     VALUE encoded as one field (\\, \n, GS for empty); printed
#                                    without a newline, or assigned to VAR (no subshell).
#   cimdb_decode [-v VAR] FIELD     the inverse: GS -> empty, \n -> line feed, \\ -> \.
#   cimdb_instance_cache SETTINGS.* | SETTINGS.Property [SETTINGS.Property...]
#       The instances the last discovery on this node found for the inventory settings object
#       SETTINGS (its InstanceID), one line each, fields encoded as the discovery script
#       printed them (cimdb_decode gives the raw value). SETTINGS.* prints the whole lines;
#       one or more SETTINGS.Property print those key fields, in the order asked, RS-separated
#       (property names compare case-insensitively; all from the same settings object). An
#       unknown settings object prints nothing and returns 0; an unknown property, or columns
#       of two settings objects, print nothing and return 2 (message on stderr).
#   cimdb_instance_paths SETTINGS CLASS
#       The instance path (as cimdb_path prints it) of every cached instance of SETTINGS, its
#       keys named by the cache's header; every key is written as a string.
#   cimdb_path CLASS [KEY=VALUE | KEY:=LITERAL]...
#       Prints an instance path and LF: CLASS.KEY="VALUE",... with \ " line feed and CR in
#       VALUE escaped as \\ \" \n \r (DSP0207 untyped WBEM URI without namespace). A reference
#       is a nested path as the VALUE: KEY="$(cimdb_path ...)". KEY:=LITERAL writes LITERAL
#       unquoted, for numeric and boolean keys (or '<c>' for char16). No key: CLASS alone.
#   cimdb_tool NAME
#       Prints the command to run for NAME and returns 0; false (nothing printed) when there is
#       none. From $CIMDB_BIN when that is set (test doubles), else from PATH — but never while
#       CIMDB_PROC or CIMDB_SYS point at a fixture, whose scripts would otherwise read this
#       machine through the tool. Use:  if dmi=$(cimdb_tool dmidecode); then "$dmi" -t 17; fi
#
# Environment the cimdb agent sets for every script: CIMDB_NODE (this node's name, the Name of
# its CIM_ComputerSystem), CIMDB_INSTANCE_CACHE (below), CIMDB_HELPERS (this file), BASH_ENV and
#   CIMDB_SETTINGS  the InstanceID of the inventory settings object the run is for (e.g.
#                   Processor): in discovery, association and update runs alike;
# and for update runs only
#   CIMDB_PROPERTY  the name of the property to print, as the inventory configuration spells it
#                   (e.g. CurrentClockSpeed). Discovery and association runs do not get it: read
#                   it as ${CIMDB_PROPERTY:-} (set -u).
# So one script can serve a settings object's discovery and the updates of all its properties,
# named as its discoveryScript and as each property's updateScript (the default scripts in
# linux/ are): CIMDB_PROPERTY empty, the discovery lines; a property's name, that property's
# update lines. Such a script should refuse a property it does not know (a message on stderr and
# a non-zero exit, 2 in linux/; the run then fails) rather than print some other value.
#
# The instance cache. $CIMDB_INSTANCE_CACHE is a directory holding one file per settings
# object, named exactly its InstanceID. Its first line is the key property names in
# KeyPropertyOrder, RS-separated; every following line is one instance's discovery line as the
# discovery script printed it. The agent rewrites a settings object's file after each of its
# successful discovery runs, before it runs that settings object's association script.
#
# Example: an update script for a property of settings "Disk" (keys CreationClassName,
# DeviceID, SystemCreationClassName, SystemName), printing every known disk's size:
#
#   #!/bin/bash
#   cimdb_instance_cache 'Disk.*' | while IFS= read -r line; do     # quote: * is a glob
#       IFS=$CIMDB_RS read -r -a key <<<"$line"
#       cimdb_decode -v dev "${key[1]}"                       # e.g. sda
#       size=$(cat "/sys/block/$dev/size" 2>/dev/null) || continue   # gone: no line
#       cimdb_encode -v value "$((size * 512))"
#       printf '%s%s%s\n' "$line" "$CIMDB_RS" "$value"        # keys as cached, then value
#   done
#
# and its discovery and association scripts:
#
#   for d in /sys/block/sd*; do cimdb_echo CIM_DiskDrive "${d##*/}" CIM_ComputerSystem "$CIMDB_NODE"; done
#
#   cs=$(cimdb_path CIM_ComputerSystem CreationClassName=CIM_ComputerSystem Name="$CIMDB_NODE")
#   cimdb_instance_paths Disk CIM_DiskDrive | while IFS= read -r disk; do
#       cimdb_path CIM_SystemDevice GroupComponent="$cs" PartComponent="$disk"
#   done

CIMDB_RS=$'\x1e'
CIMDB_GS=$'\x1d'
CIMDB_US=$'\x1f'

# _cimdb_enc VALUE: sets _cimdb_out to VALUE encoded as one field or array entry.
_cimdb_enc() {
    local _cimdb_v=$1 _cimdb_bs='\' _cimdb_nl=$'\n'
    if [[ -z $_cimdb_v ]]; then
        _cimdb_out=$CIMDB_GS
        return 0
    fi
    _cimdb_v=${_cimdb_v//"$_cimdb_bs"/"$_cimdb_bs$_cimdb_bs"}
    _cimdb_v=${_cimdb_v//"$_cimdb_nl"/"${_cimdb_bs}n"}
    _cimdb_out=$_cimdb_v
}

cimdb_encode() {
    local _cimdb_var= _cimdb_out=
    if [[ ${1-} == -v ]]; then
        _cimdb_var=${2-}
        shift 2 || return 2
    fi
    _cimdb_enc "${1-}"
    if [[ -n $_cimdb_var ]]; then
        printf -v "$_cimdb_var" '%s' "$_cimdb_out"
    else
        printf '%s' "$_cimdb_out"
    fi
}

cimdb_decode() {
    local _cimdb_var= _cimdb_s _cimdb_o= _cimdb_r _cimdb_c _cimdb_bs='\'
    if [[ ${1-} == -v ]]; then
        _cimdb_var=${2-}
        shift 2 || return 2
    fi
    _cimdb_s=${1-}
    if [[ $_cimdb_s != "$CIMDB_GS" ]]; then
        while [[ $_cimdb_s == *"$_cimdb_bs"* ]]; do
            _cimdb_o+=${_cimdb_s%%"$_cimdb_bs"*}
            _cimdb_r=${_cimdb_s#*"$_cimdb_bs"}
            _cimdb_c=${_cimdb_r:0:1}
            case $_cimdb_c in
                n) _cimdb_o+=$'\n' ;;
                *) _cimdb_o+=$_cimdb_c ;;   # \\ -> \ (anything else is not valid output; kept as is)
            esac
            _cimdb_s=${_cimdb_r:1}
        done
        _cimdb_o+=$_cimdb_s
    fi
    if [[ -n $_cimdb_var ]]; then
        printf -v "$_cimdb_var" '%s' "$_cimdb_o"
    else
        printf '%s' "$_cimdb_o"
    fi
}

cimdb_echo() {
    local interpret= v line= sep= _cimdb_out=
    if [[ ${1-} == -e ]]; then
        interpret=1
        shift
    fi
    [[ ${1-} == -- ]] && shift
    (($# > 0)) || return 0
    for v in "$@"; do
        if [[ -n $interpret ]]; then
            printf -v v '%b' "$v"
        fi
        if [[ $v == *"$CIMDB_RS"* ]]; then
            printf 'cimdb_echo: a value contains RS (0x1E), which no output line can carry: line not printed\n' >&2
            return 1
        fi
        if [[ $v == *"$CIMDB_US"* || $v == "$CIMDB_GS" ]]; then
            _cimdb_out=$v               # an array from cimdb_array (or NULL): already encoded
        elif [[ $v == *"$CIMDB_GS"* ]]; then
            printf 'cimdb_echo: a value contains GS (0x1D) beside other text: line not printed\n' >&2
            return 1
        else
            _cimdb_enc "$v"
        fi
        line+=$sep$_cimdb_out
        sep=$CIMDB_RS
    done
    printf '%s\n' "$line"
}

cimdb_array() {
    local e out= sep= _cimdb_out=
    if (($# == 0)); then
        printf '%s' "$CIMDB_GS"
        return 0
    fi
    for e in "$@"; do
        if [[ $e == *"$CIMDB_RS"* || $e == *"$CIMDB_US"* ]]; then
            printf 'cimdb_array: an entry contains RS or US, which no array can carry: nothing printed\n' >&2
            return 1
        fi
        if [[ $e == "$CIMDB_GS" ]]; then
            _cimdb_out=$CIMDB_GS
        elif [[ $e == *"$CIMDB_GS"* ]]; then
            printf 'cimdb_array: an entry contains GS (0x1D) beside other text: nothing printed\n' >&2
            return 1
        else
            _cimdb_enc "$e"
        fi
        out+=$sep$_cimdb_out
        sep=$CIMDB_US
    done
    printf '%s' "$out"
}

# _cimdb_cache_file SETTINGS: sets _cimdb_file (empty when the settings object has no file);
# returns 2 (with a message) for a missing cache directory or an impossible id.
_cimdb_cache_file() {
    _cimdb_file=
    if [[ -z ${CIMDB_INSTANCE_CACHE:-} ]]; then
        printf '%s: CIMDB_INSTANCE_CACHE is not set (the cimdb agent sets it)\n' "$_cimdb_fn" >&2
        return 2
    fi
    if [[ -z $1 || $1 == */* || $1 == . || $1 == .. ]]; then
        printf '%s: "%s" is not an inventory settings id\n' "$_cimdb_fn" "$1" >&2
        return 2
    fi
    [[ -f $CIMDB_INSTANCE_CACHE/$1 ]] && _cimdb_file=$CIMDB_INSTANCE_CACHE/$1
    return 0
}

cimdb_instance_cache() {
    local _cimdb_fn=cimdb_instance_cache _cimdb_file arg settings= s p header cols= i n found
    local -a names
    if (($# == 0)); then
        printf 'usage: cimdb_instance_cache SETTINGS.* | SETTINGS.Property [SETTINGS.Property...]\n' >&2
        return 2
    fi
    for arg in "$@"; do
        if [[ $arg != ?*.?* ]]; then
            printf '%s: "%s" is not SETTINGS.Property or SETTINGS.*\n' "$_cimdb_fn" "$arg" >&2
            return 2
        fi
        s=${arg%.*}         # settings ids may hold dots; property names cannot
        p=${arg##*.}
        if [[ -n $settings && $s != "$settings" ]]; then
            printf '%s: columns from two settings objects (%s, %s)\n' "$_cimdb_fn" "$settings" "$s" >&2
            return 2
        fi
        settings=$s
        if [[ $p == '*' && $# -gt 1 ]]; then
            printf '%s: %s must be the only argument\n' "$_cimdb_fn" "$arg" >&2
            return 2
        fi
    done
    _cimdb_cache_file "$settings" || return 2
    [[ -n $_cimdb_file ]] || return 0
    IFS= read -r header <"$_cimdb_file" || header=
    IFS=$CIMDB_RS read -r -a names <<<"$header"
    n=${#names[@]}
    if [[ $p == '*' ]]; then
        cols=
    else
        for arg in "$@"; do
            p=${arg##*.}
            found=
            for ((i = 0; i < n; i++)); do
                if [[ ${names[i],,} == "${p,,}" ]]; then
                    found=$((i + 1))
                    break
                fi
            done
            if [[ -z $found ]]; then
                printf '%s: settings %s has no key property %s (its keys: %s)\n' "$_cimdb_fn" "$settings" "$p" "${header//$CIMDB_RS/, }" >&2
                return 2
            fi
            cols+=${cols:+ }$found
        done
    fi
    # Lines with another field count than the header are not instance lines: skipped.
    awk -v FS="$CIMDB_RS" -v OFS="$CIMDB_RS" -v n="$n" -v cols="$cols" -v f="$_cimdb_file" '
        BEGIN { k = split(cols, c, " ") }
        NR == 1 || $0 == "" { next }
        NF != n { bad++; next }
        k == 0 { print; next }
        { out = $(c[1]); for (i = 2; i <= k; i++) out = out OFS $(c[i]); print out }
        END { if (bad) print "cimdb_instance_cache: " f ": " bad " line(s) without " n " fields skipped" | "cat 1>&2" }
    ' "$_cimdb_file"
}

cimdb_path() {
    local class=${1-} arg key value out sep='.' bs='\' q='"' nl=$'\n' cr=$'\r'
    if [[ -z $class ]]; then
        printf 'usage: cimdb_path CLASS [KEY=VALUE | KEY:=LITERAL]...\n' >&2
        return 2
    fi
    shift
    out=$class
    for arg in "$@"; do
        key=${arg%%=*}
        if [[ $arg != *=* || -z $key || $key == : ]]; then
            printf 'cimdb_path: "%s" is not KEY=VALUE or KEY:=LITERAL\n' "$arg" >&2
            return 2
        fi
        value=${arg#*=}
        if [[ $key == *: ]]; then
            out+=$sep${key%:}=$value
        else
            value=${value//"$bs"/"$bs$bs"}
            value=${value//"$q"/"$bs$q"}
            value=${value//"$nl"/"${bs}n"}
            value=${value//"$cr"/"${bs}r"}
            out+=$sep$key=$q$value$q
        fi
        sep=,
    done
    printf '%s\n' "$out"
}

cimdb_instance_paths() {
    local _cimdb_fn=cimdb_instance_paths _cimdb_file settings=${1-} class=${2-} header line i v
    local -a names fields args
    if [[ -z $settings || -z $class ]]; then
        printf 'usage: cimdb_instance_paths SETTINGS CLASS\n' >&2
        return 2
    fi
    _cimdb_cache_file "$settings" || return 2
    [[ -n $_cimdb_file ]] || return 0
    {
        IFS= read -r header || return 0
        IFS=$CIMDB_RS read -r -a names <<<"$header"
        while IFS= read -r line || [[ -n $line ]]; do
            [[ -n $line ]] || continue
            IFS=$CIMDB_RS read -r -a fields <<<"$line"
            ((${#fields[@]} == ${#names[@]})) || continue
            args=()
            for ((i = 0; i < ${#names[@]}; i++)); do
                cimdb_decode -v v "${fields[i]}"
                args+=("${names[i]}=$v")
            done
            cimdb_path "$class" "${args[@]}"
        done
    } <"$_cimdb_file"
}

cimdb_tool() {
    [[ -n ${CIMDB_BIN:-} ]] && { [[ -x $CIMDB_BIN/$1 ]] && printf '%s\n' "$CIMDB_BIN/$1"; return; }
    [[ -z ${CIMDB_PROC:-}${CIMDB_SYS:-} ]] && command -v "$1"
}
