#!/bin/bash
# Tests the default Linux inventory scripts (scripts/linux/, wired by scripts/inventory.yaml)
# and the node-side helper library (scripts/helpers.sh). From the repository root:
#
#   bash Tests/scripts/check-default-scripts.sh            run every check
#   bash Tests/scripts/check-default-scripts.sh --record   rewrite the expected fixture outputs
#                                                          (then fails: review and rerun)
#
# 0. inventory.yaml: 7 settings, 22 properties, each property's updateScript the settings'
#    discoveryScript (one script per settings object, told the property by CIMDB_PROPERTY);
#    every script it names exists, is executable, is bash; every script in linux/ is named.
# 1. helpers.sh: cimdb_echo, cimdb_array, cimdb_encode/decode, cimdb_instance_cache,
#    cimdb_path, cimdb_instance_paths, sourcing twice, under set -euo pipefail.
# 2. Fixture: every run the agent makes against Tests/Fixtures/linux-node (CIMDB_PROC,
#    CIMDB_SYS, test doubles of dmidecode, ethtool and stat in CIMDB_BIN,
#    CIMDB_NODE=fixture-node), settings in inventory.yaml order, CIMDB_SETTINGS set as the agent
#    sets it: the settings script without CIMDB_PROPERTY (discovery), then the instance cache
#    file (header = KeyPropertyOrder, then the discovery output), then the association script;
#    then the settings script once per property with CIMDB_PROPERTY=<property> (update). Each
#    output must equal its expected file byte for byte — expected/<script>.out for discovery and
#    association runs, expected/<script>.<Property>.out for updates (a diff shows control bytes
#    via cat -v: ^^ is RS, ^] GS, ^_ US) — exit 0 and write nothing on stderr. Run once per awk
#    found (mawk, gawk, gawk --posix, busybox awk), each put first on PATH as awk. Then: no
#    expected file that no run writes; an unknown CIMDB_PROPERTY is refused (exit 2, stderr);
#    CIMDB_PROPERTY set but empty is discovery; property names compare case-insensitively;
#    variations of the fixture (a cached instance that is gone, no DMI, a container, no cache).
# 3. This machine: every run without overrides: exit 0, nothing on stderr, well-formed
#    lines (field count, no empty field, GS only as a whole field or array entry, only \n and
#    \\ escapes), association lines of a known association class whose references all name
#    instances the node reports; the /proc fallbacks for IPv4 agree with ip(8).
# 4. pywbem (CIMDB_PYTHON, default /opt/cimxml-venv/bin/python) reads every association line
#    as DSP0207 says, to the same references (skipped, and said so, when it is missing).
#
# Prints "ok N - ..." / "not ok N - ..." and a closing "N passed, N failed"; exits 0 only when
# nothing failed.
set -u

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
scripts=$root/scripts
helpers=$scripts/helpers.sh
fixture=$root/Tests/Fixtures/linux-node
expected=$fixture/expected
record=
if [[ ${1-} == --record ]]; then record=1; elif [[ $# -gt 0 ]]; then echo "usage: $0 [--record]" >&2; exit 2; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cimdb-scripts.XXXXXX")
trap 'rm -rf "$work"' EXIT
RS=$'\x1e' GS=$'\x1d' US=$'\x1f'
n=0 passed=0 failed=0 recorded=0
associations=(CIM_SystemDevice CIM_HostedFileSystem CIM_SystemPackaging CIM_PortImplementsEndpoint)

ok() { n=$((n + 1)) passed=$((passed + 1)); printf 'ok %d - %s\n' "$n" "$1"; }
not_ok() {
    n=$((n + 1)) failed=$((failed + 1))
    printf 'not ok %d - %s\n' "$n" "$1"
    shift
    (($#)) && printf '%s\n' "$@" | sed 's/^/    # /'
    return 0
}
# visible FILE: FILE with control bytes shown (cat -v) and a $ at each line end.
visible() { cat -v -e -- "$1"; }
# same DESC EXPECTED ACTUAL: compares two strings byte for byte.
same() {
    if [[ $2 == "$3" ]]; then ok "$1"; else
        printf '%s' "$2" >"$work/exp"
        printf '%s' "$3" >"$work/act"
        not_ok "$1" "expected: $(visible "$work/exp")" "actual:   $(visible "$work/act")"
    fi
}

# --- inventory.yaml: settings (in order) and update scripts -------------------------------
ids=()
declare -A class=() keys=() discovery=() association=()
props=()   # "id RS property RS script"
while IFS=$RS read -r kind a b c d e; do
    case $kind in
        settings) ids+=("$a"); class[$a]=$b; keys[$a]=$c; discovery[$a]=$d; association[$a]=$e ;;
        property) props+=("$a$RS$b$RS$c") ;;
    esac
done < <(awk -v rs="$RS" '
    function flush() { if (id != "") print "settings" rs id rs cls rs k rs disc rs assoc; id = "" }
    /^settings:/ { in_settings = 1; next }
    /^[^ #]/ { flush(); in_settings = 0 }
    !in_settings { next }
    /^  [A-Za-z0-9_.-]+:[ \t]*$/ { flush(); id = $1; sub(/:$/, "", id); cls = k = disc = assoc = ""; next }
    /^    class:/ { cls = $2 }
    /^    keyPropertyOrder:/ { k = $0; sub(/.*\[/, "", k); sub(/\].*/, "", k); gsub(/[ \t]/, "", k) }
    /^    discoveryScript:/ { disc = $2 }
    /^    associationScript:/ { assoc = $2 }
    /^      [A-Za-z0-9_]+: *\{.*updateScript:/ {
        p = $1; sub(/:$/, "", p); u = $0; sub(/.*updateScript: */, "", u); sub(/[,} ].*/, "", u)
        props[++np] = id rs p rs u
    }
    END { flush(); for (i = 1; i <= np; i++) print "property" rs props[i] }
' "$scripts/inventory.yaml")
if ((${#ids[@]} == 7 && ${#props[@]} == 22)); then
    ok "inventory.yaml: 7 settings objects, 22 properties"
else
    not_ok "inventory.yaml: 7 settings objects, 22 properties" "found ${#ids[@]} settings, ${#props[@]} properties"
fi
# runs: every run the agent makes, in order, as "name RS settings id RS script RS property"
# (property empty: discovery or association). The name is that of the expected output:
# <script> for discovery and association, <script>.<Property> for an update.
runs=() all_scripts=() mismatched=()
base() { local b=${1##*/}; printf '%s' "${b%.sh}"; }
for id in "${ids[@]}"; do
    runs+=("$(base "${discovery[$id]}")$RS$id$RS${discovery[$id]}$RS")
    all_scripts+=("${discovery[$id]}")
    if [[ -n ${association[$id]} ]]; then
        runs+=("$(base "${association[$id]}")$RS$id$RS${association[$id]}$RS")
        all_scripts+=("${association[$id]}")
    fi
done
for p in "${props[@]}"; do
    IFS=$RS read -r id prop s <<<"$p"
    runs+=("$(base "$s").$prop$RS$id$RS$s$RS$prop")
    [[ $s == "${discovery[$id]}" ]] || mismatched+=("$id.$prop: updateScript $s, discoveryScript ${discovery[$id]}")
done
if ((${#mismatched[@]} == 0)); then ok "inventory.yaml: every property's updateScript is its settings' discoveryScript"; else
    not_ok "inventory.yaml: every property's updateScript is its settings' discoveryScript" "${mismatched[@]}"; fi
missing=()
for s in "${all_scripts[@]}"; do [[ -x $scripts/$s && $(head -c 12 "$scripts/$s") == '#!/bin/bash' ]] || missing+=("$s"); done
if ((${#missing[@]} == 0)); then ok "every script inventory.yaml names exists, is executable and starts with #!/bin/bash"; else
    not_ok "every script inventory.yaml names exists, is executable and starts with #!/bin/bash" "${missing[@]}"; fi
for f in "$scripts"/linux/*.sh; do
    rel=linux/${f##*/}
    [[ " ${all_scripts[*]} " == *" $rel "* ]] || not_ok "script $rel is named by inventory.yaml"
done

# --- 1. helpers.sh ---------------------------------------------------------------------------
helper_tests() {   # $1: label of the awk in use
    local label=$1 out rc cache=$work/hcache
    # shellcheck source=/dev/null
    . "$helpers"
    same "[$label] cimdb_echo: fields joined by RS, LF at the end" "a${RS}b c"$'\n.' "$(cimdb_echo a 'b c'; echo .)"
    same "[$label] cimdb_echo: empty values are GS" "$GS${RS}x$RS$GS"$'\n.' "$(cimdb_echo '' x ''; echo .)"
    same "[$label] cimdb_echo: a backslash is \\\\" 'a\\b'"$RS"'\\\\'$'\n.' "$(cimdb_echo 'a\b' '\\'; echo .)"
    same "[$label] cimdb_echo: a line feed is \\n (also a trailing one)" 'l1\nl2'"$RS"'x\n'$'\n.' "$(cimdb_echo $'l1\nl2' $'x\n'; echo .)"
    same "[$label] cimdb_echo -e: escapes interpreted, then encoded" $'a\tb'"$RS"'c\nd'"$RS"'e\\f'"$RS$GS"$'\n.' "$(cimdb_echo -e 'a\tb' 'c\nd' 'e\\f' ''; echo .)"
    same "[$label] cimdb_echo -e: \\x and octal escapes" "AB${RS}C"$'\n.' "$(cimdb_echo -e '\x41\0102' C; echo .)"
    same "[$label] cimdb_echo --: a first value -e" "-e${RS}x"$'\n.' "$(cimdb_echo -- -e x; echo .)"
    same "[$label] cimdb_echo: no value prints nothing" "." "$(cimdb_echo; echo .)"
    out=$(cimdb_array 'a\b' '' $'c\nd')
    same "[$label] cimdb_array: entries encoded, empty entry GS, joined by US, no newline" 'a\\b'"$US$GS$US"'c\nd' "$out"
    same "[$label] cimdb_echo passes an array through without re-encoding" 'k\\'"$RS"'a\\b'"$US$GS$US"'c\nd'$'\n.' "$(cimdb_echo 'k\' "$out"; echo .)"
    same "[$label] cimdb_array: no entries is GS" "$GS" "$(cimdb_array)"
    same "[$label] cimdb_array: one empty entry is GS" "$GS" "$(cimdb_array '')"
    same "[$label] cimdb_echo passes GS (empty array) through" "k$RS$GS"$'\n.' "$(cimdb_echo k "$(cimdb_array)"; echo .)"
    same "[$label] cimdb_array: one entry is the encoded value" 'x\\y' "$(cimdb_array 'x\y')"
    out=$(cimdb_echo a "b${RS}c" 2>"$work/err"); rc=$?
    same "[$label] cimdb_echo: a value holding RS prints nothing, returns 1, says why" "1||yes" "$rc|$out|$([[ -s $work/err ]] && echo yes)"
    out=$(cimdb_echo a "b${GS}c" 2>"$work/err"); rc=$?
    same "[$label] cimdb_echo: GS beside text prints nothing, returns 1" "1|" "$rc|$out"
    out=$(cimdb_array a "b${US}c" 2>"$work/err"); rc=$?
    same "[$label] cimdb_array: an entry holding US prints nothing, returns 1, says why" "1||yes" "$rc|$out|$([[ -s $work/err ]] && echo yes)"
    local v enc dec printed round=ok
    for v in '' 'plain' 'a\b' $'a\nb' 'a\nb' '\\n' $'\n\n' '\' 'tab	x' 'ü'; do
        cimdb_encode -v enc "$v"
        cimdb_decode -v dec "$enc"
        printed=$(cimdb_decode "$(cimdb_encode "$v")"; echo .)
        [[ $dec == "$v" && ${printed%.} == "$v" ]] || round="failed for $(printf '%q' "$v")"
    done
    same "[$label] cimdb_decode(cimdb_encode(v)) == v, with -v and printed" ok "$round"
    same "[$label] cimdb_encode: the empty value is GS" "$GS" "$(cimdb_encode '')"
    same "[$label] cimdb_decode: GS is empty, \\\\n is backslash n" '|\n' "$(cimdb_decode "$GS")|$(cimdb_decode '\\n')"

    rm -rf "$cache"; mkdir -p "$cache"
    printf 'CreationClassName%sDeviceID%sSystemCreationClassName%sSystemName\n' "$RS" "$RS" "$RS" >"$cache/Disk"
    printf 'CIM_DiskDrive%ssda%sCIM_ComputerSystem%sn1\n' "$RS" "$RS" "$RS" >>"$cache/Disk"
    printf 'CIM_DiskDrive%s%s%sCIM_ComputerSystem%sn1\n' "$RS" 'a\\b\nc' "$RS" "$RS" >>"$cache/Disk"
    printf 'CIM_DiskDrive%s%s%sCIM_ComputerSystem%sn1\n' "$RS" "$GS" "$RS" "$RS" >>"$cache/Disk"
    printf 'broken line%sonly two fields\n' "$RS" >>"$cache/Disk"
    printf 'Name\nfirst\nsecond\n' >"$cache/my.settings.v2"
    local CIMDB_INSTANCE_CACHE=$cache
    out=$(cimdb_instance_cache 'Disk.*' 2>"$work/err"); rc=$?
    same "[$label] cimdb_instance_cache S.*: the instance lines unchanged, malformed ones skipped (stderr)" \
        "0|CIM_DiskDrive${RS}sda${RS}CIM_ComputerSystem${RS}n1"$'\n'"CIM_DiskDrive${RS}"'a\\b\nc'"${RS}CIM_ComputerSystem${RS}n1"$'\n'"CIM_DiskDrive${RS}${GS}${RS}CIM_ComputerSystem${RS}n1|yes" \
        "$rc|$out|$([[ -s $work/err ]] && echo yes)"
    same "[$label] cimdb_instance_cache S.Property: one column, encoded as cached" "sda"$'\n''a\\b\nc'$'\n'"$GS" "$(cimdb_instance_cache Disk.DeviceID 2>/dev/null)"
    same "[$label] cimdb_instance_cache: two columns in the order asked, RS-separated" \
        "n1${RS}sda"$'\n'"n1${RS}"'a\\b\nc'$'\n'"n1${RS}$GS" "$(cimdb_instance_cache Disk.SystemName Disk.DeviceID 2>/dev/null)"
    same "[$label] cimdb_instance_cache: property names compare case-insensitively" "sda${RS}n1" "$(cimdb_instance_cache Disk.deviceid Disk.SYSTEMNAME 2>/dev/null | head -1)"
    out=$(cimdb_instance_cache Disk.deviceid DISK.systemname 2>&1); rc=$?
    same "[$label] cimdb_instance_cache: settings ids compare exactly (Disk, DISK: two settings)" "2|yes" "$rc|$([[ $out == *"two settings"* ]] && echo yes)"
    same "[$label] cimdb_instance_cache: a settings id holding dots" $'first\nsecond' "$(cimdb_instance_cache my.settings.v2.name)"
    out=$(cimdb_instance_cache 'Nothing.*' 2>&1); rc=$?
    same "[$label] cimdb_instance_cache: unknown settings (S.*) print nothing, return 0" "0|" "$rc|$out"
    out=$(cimdb_instance_cache Nothing.Name 2>&1); rc=$?
    same "[$label] cimdb_instance_cache: unknown settings (S.Property) print nothing, return 0" "0|" "$rc|$out"
    out=$(cimdb_instance_cache Disk.Size 2>"$work/err"); rc=$?
    same "[$label] cimdb_instance_cache: an unknown property prints nothing, returns 2, says why" "2||yes" "$rc|$out|$(grep -q Size "$work/err" && echo yes)"
    out=$(cimdb_instance_cache Disk.DeviceID my.settings.v2.Name 2>"$work/err"); rc=$?
    same "[$label] cimdb_instance_cache: columns of two settings objects return 2" "2||yes" "$rc|$out|$([[ -s $work/err ]] && echo yes)"
    out=$(cimdb_instance_cache 'Disk.*' Disk.DeviceID 2>/dev/null); rc=$?
    same "[$label] cimdb_instance_cache: S.* with another column returns 2" "2|" "$rc|$out"
    out=$(cimdb_instance_cache Disk 2>/dev/null); rc=$?
    same "[$label] cimdb_instance_cache: an argument without a property returns 2" "2|" "$rc|$out"
    out=$(unset CIMDB_INSTANCE_CACHE; cimdb_instance_cache 'Disk.*' 2>/dev/null); rc=$?
    same "[$label] cimdb_instance_cache: CIMDB_INSTANCE_CACHE unset returns 2" "2|" "$rc|$out"

    same "[$label] cimdb_path: \\ \" and line feed escaped, KEY:= literal, LF at the end" \
        'C.k="a\"b\\c",n=42,l="x\ny",b=true'$'\n.' "$(cimdb_path C k='a"b\c' n:=42 l=$'x\ny' b:=true; echo .)"
    same "[$label] cimdb_path: a nested reference is quoted and escaped once more" \
        'A.r="B.k=\"q\\\"\\\\\""' "$(cimdb_path A r="$(cimdb_path B k='q"\')")"
    same "[$label] cimdb_path: no key is the class alone; an empty value is \"\"" 'C|C.k=""' "$(cimdb_path C)|$(cimdb_path C k=)"
    out=$(cimdb_path C novalue 2>/dev/null); rc=$?
    same "[$label] cimdb_path: an argument without = returns 2" "2|" "$rc|$out"
    same "[$label] cimdb_instance_paths: cached keys decoded, then quoted" \
        'CIM_DiskDrive.CreationClassName="CIM_DiskDrive",DeviceID="sda",SystemCreationClassName="CIM_ComputerSystem",SystemName="n1"'$'\n''CIM_DiskDrive.CreationClassName="CIM_DiskDrive",DeviceID="a\\b\nc",SystemCreationClassName="CIM_ComputerSystem",SystemName="n1"'$'\n''CIM_DiskDrive.CreationClassName="CIM_DiskDrive",DeviceID="",SystemCreationClassName="CIM_ComputerSystem",SystemName="n1"' \
        "$(cimdb_instance_paths Disk CIM_DiskDrive)"
    same "[$label] cimdb_instance_paths: unknown settings print nothing" "" "$(cimdb_instance_paths Nothing C)"

    out=$(CIMDB_INSTANCE_CACHE=$cache bash -c 'set -euo pipefail; . "$1"; . "$1"; cimdb_echo a; cimdb_instance_cache my.settings.v2.Name; cimdb_instance_cache Nothing.X; cimdb_array; echo; echo end' _ "$helpers" 2>&1)
    same "[$label] helpers.sh sourced twice under set -euo pipefail: silent, functions work" "a"$'\n'"first"$'\n'"second"$'\n'"$GS"$'\n'"end" "$out"
    out=$(env -i PATH="$PATH" BASH_ENV="$helpers" bash -c 'declare -F cimdb_echo cimdb_array cimdb_encode cimdb_decode cimdb_instance_cache cimdb_instance_paths cimdb_path cimdb_tool | wc -l; [[ -o nounset ]] && echo nounset; true' 2>&1)
    same "[$label] BASH_ENV=helpers.sh gives a script every function and sets no option" "8" "$out"
}

# awks: each implementation found, put first on PATH as `awk` (gawk also in its strict POSIX mode).
awks=()
for a in mawk gawk gawk-posix busybox; do
    case $a in
        gawk-posix) command -v gawk >/dev/null || continue; run='exec gawk --posix "$@"' ;;
        busybox) busybox awk 'BEGIN {}' 2>/dev/null || continue; run='exec busybox awk "$@"' ;;
        *) command -v "$a" >/dev/null || continue; run="exec $a \"\$@\"" ;;
    esac
    mkdir -p "$work/awk-$a"
    printf '#!/bin/sh\n%s\n' "$run" >"$work/awk-$a/awk"
    chmod +x "$work/awk-$a/awk"
    awks+=("$a")
done
if ((${#awks[@]} == 0)); then
    awks=(awk)
    mkdir -p "$work/awk-awk"
fi

for a in "${awks[@]}"; do
    (PATH=$work/awk-$a:$PATH; helper_tests "$a"; printf '%s %s %s\n' "$n" "$passed" "$failed" >"$work/counts")
    read -r n passed failed <"$work/counts"
done

# --- running scripts ---------------------------------------------------------------------------
# A working directory full of files that an unquoted SETTINGS.* would glob to.
cwd=$work/cwd
mkdir -p "$cwd"
for id in "${ids[@]}"; do : >"$cwd/$id.glob-trap"; done

# script_env SETTINGS PROPERTY: sets env_args to the variables the agent gives a run: the
# helpers, CIMDB_SETTINGS, and CIMDB_PROPERTY for an update (PROPERTY not empty). Runs start
# from `env -u CIMDB_PROPERTY`, so that a discovery run never inherits one.
script_env() {
    env_args=(BASH_ENV="$helpers" CIMDB_HELPERS="$helpers" CIMDB_SETTINGS="$1")
    [[ -n $2 ]] && env_args+=(CIMDB_PROPERTY="$2")
}

# run_all OUT CACHE ENV...: makes every run in inventory.yaml order with ENV: OUT/<name>.out,
# .err and .rc; fills CACHE after each discovery, as the agent does.
run_all() {
    local out=$1 cache=$2 r name id s prop
    local -a env_args
    shift 2
    mkdir -p "$out" "$cache"
    for r in "${runs[@]}"; do
        IFS=$RS read -r name id s prop <<<"$r"
        script_env "$id" "$prop"
        (cd "$cwd" && env -u CIMDB_PROPERTY "$@" CIMDB_INSTANCE_CACHE="$cache" "${env_args[@]}" "$scripts/$s" >"$out/$name.out" 2>"$out/$name.err" </dev/null)
        echo $? >"$out/$name.rc"
        if [[ -z $prop && $s == "${discovery[$id]}" ]]; then
            { printf '%s\n' "${keys[$id]//,/$RS}"; cat "$out/$name.out"; } >"$cache/$id"
        fi
    done
}

# kind_of NAME: discovery, association or update, and the settings id: sets kind and sid.
kind_of() {
    local r name id s prop
    for r in "${runs[@]}"; do
        IFS=$RS read -r name id s prop <<<"$r"
        [[ $name == "$1" ]] || continue
        sid=$id
        if [[ -n $prop ]]; then kind=update; elif [[ $s == "${discovery[$id]}" ]]; then kind=discovery; else kind=association; fi
        return
    done
    kind= sid=
}

# known_paths CACHE NODE: the instance path of every instance the node reports (ComputerSystem
# from its discovery output, the others from the cache), one a line.
known_paths() {
    local cache=$1 id
    (
        export CIMDB_INSTANCE_CACHE=$cache
        . "$helpers"
        for id in "${ids[@]}"; do cimdb_instance_paths "$id" "${class[$id]}"; done
    )
}

# check_output NAME DIR CACHE: the output's form (lines, fields, escapes, references).
check_output() {
    local name=$1 dir=$2 cache=$3 kind sid nkeys want
    kind_of "$name"
    nkeys=$(($(tr -cd , <<<"${keys[$sid]}" | wc -c) + 1))
    want=$nkeys
    [[ $kind == update ]] && want=$((nkeys + 1))
    if [[ -s $dir/$name.out && $(tail -c 1 "$dir/$name.out" | od -An -c | tr -d ' ') != '\n' ]]; then
        echo "the last line has no LF"
    fi
    if [[ $kind == association ]]; then
        known_paths "$cache" >"$work/known"
        awk -v classes="${associations[*]}" '
            function quoted(line,   i, c, inq, cur, k) {   # the top-level quoted values, unescaped
                k = 0; inq = 0; cur = ""
                for (i = index(line, ".") + 1; i <= length(line); i++) {
                    c = substr(line, i, 1)
                    if (!inq) { if (c == "\"") { inq = 1; cur = "" } continue }
                    if (c == "\\") { i++; c = substr(line, i, 1); cur = cur (c == "n" ? "\n" : c); continue }
                    if (c == "\"") { inq = 0; vals[++k] = cur; continue }
                    cur = cur c
                }
                return k
            }
            BEGIN { split(classes, cl, " "); for (i in cl) known_class[cl[i]] = 1 }
            FNR == NR { known[$0] = 1; next }
            {
                cls = $0; sub(/\..*/, "", cls)
                if (!(cls in known_class)) { print "line " FNR ": " cls " is not a default association class"; next }
                k = quoted($0)
                if (k != 2) print "line " FNR ": " k " quoted references, expected 2"
                for (j = 1; j <= k; j++) if (!(vals[j] in known)) print "line " FNR ": refers to " vals[j] ", which the node does not report"
            }
        ' "$work/known" "$dir/$name.out"
        return
    fi
    awk -v FS="$RS" -v want="$want" -v nkeys="$nkeys" -v gs="$GS" -v us="$US" '
        NF != want { print "line " NR ": " NF " fields, expected " want; next }
        {
            for (i = 1; i <= NF; i++) {
                f = $i
                if (f == "") { print "line " NR ", field " i ": empty (must be GS)"; continue }
                if (i <= nkeys && index(f, us)) print "line " NR ", field " i ": a key field holds US"
                m = split(f, e, us)
                for (j = 1; j <= m; j++) {
                    if (e[j] == "") print "line " NR ", field " i ": an empty array entry"
                    else if (e[j] != gs && index(e[j], gs)) print "line " NR ", field " i ": GS beside other text"
                    s = e[j]
                    while ((p = index(s, "\\")) > 0) {
                        c = substr(s, p + 1, 1)
                        if (c != "n" && c != "\\") { print "line " NR ", field " i ": invalid escape \\" c; break }
                        s = substr(s, p + 2)
                    }
                }
            }
        }
    ' "$dir/$name.out"
}

# --- 2. fixture -----------------------------------------------------------------------------------
fixture_env=(CIMDB_PROC="$fixture/proc" CIMDB_SYS="$fixture/sys" CIMDB_BIN="$fixture/bin" CIMDB_NODE=fixture-node)
for a in "${awks[@]}"; do
    out=$work/fixture-$a
    PATH=$work/awk-$a:$PATH run_all "$out" "$work/fixture-cache-$a" "${fixture_env[@]}"
    for r in "${runs[@]}"; do
        IFS=$RS read -r name id s prop <<<"$r"
        what=$s${prop:+ (CIMDB_PROPERTY=$prop)}
        problems=()
        [[ $(<"$out/$name.rc") == 0 ]] || problems+=("exit status $(<"$out/$name.rc")")
        [[ -s $out/$name.err ]] && problems+=("stderr: $(<"$out/$name.err")")
        if [[ -n $record && $a == "${awks[0]}" ]]; then
            cp "$out/$name.out" "$expected/$name.out"
            recorded=$((recorded + 1))
        fi
        if [[ ! -f $expected/$name.out ]]; then
            problems+=("no expected output $expected/$name.out (record it with --record)")
        elif ! cmp -s "$expected/$name.out" "$out/$name.out"; then
            problems+=("output differs from expected/$name.out (cat -v: ^^ RS, ^] GS, ^_ US):" "$(diff -u --label expected --label actual <(visible "$expected/$name.out") <(visible "$out/$name.out"))")
        fi
        mapfile -t form < <(check_output "$name" "$out" "$work/fixture-cache-$a")
        ((${#form[@]})) && problems+=("${form[@]}")
        if ((${#problems[@]})); then not_ok "[$a] fixture: $what" "${problems[@]}"; else ok "[$a] fixture: $what"; fi
    done
done
# Every expected file belongs to a run (--record removes the others).
stray=()
for f in "$expected"/*.out; do
    name=${f##*/}; name=${name%.out}
    kind_of "$name"
    [[ -n $kind ]] && continue
    if [[ -n $record ]]; then rm -f -- "$f"; stray+=("removed $f"); else stray+=("$f"); fi
done
if ((${#stray[@]} == 0)); then ok "fixture: every file in expected/ is the output of a run"; else
    not_ok "fixture: every file in expected/ is the output of a run" "${stray[@]}"; fi

# Fixture variations (first awk only). fixture_run SCRIPT PROPERTY ENV...: the run's stdout, then
# "[exit N]" and "[stderr: ...]" when it has them. PROPERTY empty: a discovery or association run.
fixture_run() {
    local s=$1 out rc id
    local -a env_args
    for id in "${ids[@]}"; do [[ $s == "${discovery[$id]}" || $s == "${association[$id]}" ]] && break; done
    script_env "$id" "$2"
    shift 2
    out=$(cd "$cwd" && env -u CIMDB_PROPERTY "$@" "${env_args[@]}" "$scripts/$s" 2>"$work/err" </dev/null)
    rc=$?
    ((rc == 0)) || out+="[exit $rc]"
    [[ -s $work/err ]] && out+="[stderr: $(<"$work/err")]"
    printf '%s' "$out"
}
first=$work/fixture-${awks[0]}
# An instance the cache still lists but that is gone gets no line from any update script.
stale=$work/stale-cache
cp -r "$work/fixture-cache-${awks[0]}" "$stale"
for id in "${ids[@]}"; do
    [[ $id == ComputerSystem ]] && continue
    field=2
    [[ $id == FileSystem ]] && field=4
    sed -n 2p "$stale/$id" | awk -v FS="$RS" -v OFS="$RS" -v f="$field" '{ $f = "cimdb-gone"; print }' >>"$stale/$id"
done
gone=() refused=() empty=() cases=()
for r in "${runs[@]}"; do
    IFS=$RS read -r name id s prop <<<"$r"
    [[ -n $prop && $id != ComputerSystem ]] || continue
    out=$(fixture_run "$s" "$prop" "${fixture_env[@]}" CIMDB_INSTANCE_CACHE="$stale")
    [[ $out == "$(<"$first/$name.out")" ]] || gone+=("$s, CIMDB_PROPERTY=$prop: $(printf '%s' "$out" | cat -v)")
done
if ((${#gone[@]} == 0)); then ok "fixture: updates print no line for a cached instance that is gone"; else
    not_ok "fixture: updates print no line for a cached instance that is gone" "${gone[@]}"; fi
cache=$work/fixture-cache-${awks[0]}
for id in "${ids[@]}"; do
    s=${discovery[$id]}; name=$(base "$s")
    # An unknown property: nothing on stdout, a message naming it on stderr, exit 2.
    out=$(fixture_run "$s" NoSuchProperty "${fixture_env[@]}" CIMDB_INSTANCE_CACHE="$cache")
    [[ $out == "[exit 2][stderr: "*NoSuchProperty*"]" ]] || refused+=("$s, CIMDB_PROPERTY=NoSuchProperty: $(printf '%s' "$out" | cat -v)")
    # CIMDB_PROPERTY set but empty: discovery.
    out=$(cd "$cwd" && env "${fixture_env[@]}" CIMDB_INSTANCE_CACHE="$cache" CIMDB_SETTINGS="$id" CIMDB_PROPERTY= BASH_ENV="$helpers" CIMDB_HELPERS="$helpers" "$scripts/$s" 2>&1 </dev/null)
    [[ $out == "$(<"$first/$name.out")" ]] || empty+=("$s, CIMDB_PROPERTY='': $(printf '%s' "$out" | cat -v)")
done
for r in "${runs[@]}"; do
    IFS=$RS read -r name id s prop <<<"$r"
    [[ -n $prop ]] || continue
    out=$(fixture_run "$s" "${prop,,}" "${fixture_env[@]}" CIMDB_INSTANCE_CACHE="$cache")
    [[ $out == "$(<"$first/$name.out")" ]] || cases+=("$s, CIMDB_PROPERTY=${prop,,}: $(printf '%s' "$out" | cat -v)")
done
if ((${#refused[@]} == 0)); then ok "fixture: every settings script refuses an unknown CIMDB_PROPERTY (exit 2, stderr, no line)"; else
    not_ok "fixture: every settings script refuses an unknown CIMDB_PROPERTY (exit 2, stderr, no line)" "${refused[@]}"; fi
if ((${#empty[@]} == 0)); then ok "fixture: CIMDB_PROPERTY set but empty is a discovery run"; else
    not_ok "fixture: CIMDB_PROPERTY set but empty is a discovery run" "${empty[@]}"; fi
if ((${#cases[@]} == 0)); then ok "fixture: CIMDB_PROPERTY compares case-insensitively (currentclockspeed = CurrentClockSpeed)"; else
    not_ok "fixture: CIMDB_PROPERTY compares case-insensitively (currentclockspeed = CurrentClockSpeed)" "${cases[@]}"; fi
# No DMI in sysfs: the mainboard from dmidecode -t 2; the caption falls back to the kernel.
nodmi=$work/sys-without-dmi
mkdir -p "$nodmi"
same "fixture without sysfs DMI: mainboard from dmidecode -t 2" \
    "CIM_Card${RS}fixture-node:Mainboard"$'\n'"CIM_Card${RS}fixture-node:Mainboard${RS}ASUSTeK COMPUTER INC."$'\n'"CIM_Card${RS}fixture-node:Mainboard${RS}Z11PA-D8 Series" \
    "$(for prop in '' Manufacturer Model; do fixture_run linux/mainboard.sh "$prop" "${fixture_env[@]}" CIMDB_SYS="$nodmi" CIMDB_INSTANCE_CACHE="$cache"; echo; done)"
same "fixture without DMI: the caption is the kernel release" \
    "CIM_ComputerSystem${RS}fixture-node${RS}Linux 6.1.0-18-amd64" \
    "$(fixture_run linux/computer-system.sh Caption "${fixture_env[@]}" CIMDB_SYS="$nodmi" CIMDB_INSTANCE_CACHE="$cache")"
# A container: no DMI, no dmidecode, no ethtool: nothing made up, nothing failing.
mkdir -p "$work/nobin"
same "fixture as a container (no DMI, no commands): no mainboard, no memory, PortType 0 (Unknown)" \
    "||CIM_EthernetPort${RS}eth0${RS}CIM_ComputerSystem${RS}fixture-node${RS}0" \
    "$(fixture_run linux/mainboard.sh '' "${fixture_env[@]}" CIMDB_SYS="$nodmi" CIMDB_BIN="$work/nobin")|$(fixture_run linux/physical-memory.sh '' "${fixture_env[@]}" CIMDB_BIN="$work/nobin")|$(fixture_run linux/ethernet-port.sh PortType "${fixture_env[@]}" CIMDB_BIN="$work/nobin" CIMDB_INSTANCE_CACHE="$cache" | head -1)"
same "fixture: scripts without an instance cache print nothing (update) and exit 0" \
    "[stderr: cimdb_instance_cache: CIMDB_INSTANCE_CACHE is not set (the cimdb agent sets it)]" \
    "$(fixture_run linux/processor.sh Family "${fixture_env[@]}")"

# --- 3. this machine ------------------------------------------------------------------------------
real=$work/real
run_all "$real" "$work/real-cache" -u CIMDB_PROC -u CIMDB_SYS -u CIMDB_BIN -u CIMDB_NODE
for r in "${runs[@]}"; do
    IFS=$RS read -r name id s prop <<<"$r"
    what=$s${prop:+ (CIMDB_PROPERTY=$prop)}
    problems=()
    [[ $(<"$real/$name.rc") == 0 ]] || problems+=("exit status $(<"$real/$name.rc")")
    [[ -s $real/$name.err ]] && problems+=("stderr: $(<"$real/$name.err")")
    mapfile -t form < <(check_output "$name" "$real" "$work/real-cache")
    ((${#form[@]})) && problems+=("${form[@]}" "output (cat -v):" "$(visible "$real/$name.out")")
    if ((${#problems[@]})); then not_ok "this machine: $what" "${problems[@]}"; else ok "this machine: $what ($(wc -l <"$real/$name.out") lines)"; fi
done
node=$(hostname)
same "this machine: ComputerSystem reports the host name" "CIM_ComputerSystem$RS$node" "$(<"$real/computer-system.out")"
# The /proc fallback for IPv4 (no commands: CIMDB_BIN is an empty directory) agrees with ip(8).
mkdir -p "$work/nobin"
fallback=$work/real-fallback
run_all "$fallback" "$work/real-fallback-cache" -u CIMDB_PROC -u CIMDB_SYS -u CIMDB_NODE CIMDB_BIN="$work/nobin"
for name in ip-protocol-endpoint ip-protocol-endpoint.IPv4Address ip-protocol-endpoint.SubnetMask; do
    if cmp -s "$real/$name.out" "$fallback/$name.out"; then
        ok "this machine: $name from /proc/net/fib_trie and route equals ip -o -4 addr"
    else
        not_ok "this machine: $name from /proc/net/fib_trie and route equals ip -o -4 addr" \
            "$(diff -u --label ip --label proc <(visible "$real/$name.out") <(visible "$fallback/$name.out"))"
    fi
done

# --- 4. pywbem reads the association lines --------------------------------------------------------
python=${CIMDB_PYTHON:-/opt/cimxml-venv/bin/python}
if "$python" -c 'import pywbem' 2>/dev/null; then
    for dir in "$work/fixture-${awks[0]}" "$real"; do
        cache=$work/fixture-cache-${awks[0]}
        [[ $dir == "$real" ]] && cache=$work/real-cache
        known_paths "$cache" >"$work/known"
        cat "$dir"/*-associations.out >"$work/assoc"
        if msg=$("$python" - "$work/known" "$work/assoc" 2>&1 <<'EOF'
import sys
from pywbem import CIMInstanceName
known = [CIMInstanceName.from_wbem_uri(l.rstrip("\n")) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
count = 0
for number, line in enumerate(open(sys.argv[2], encoding="utf-8"), 1):
    path = CIMInstanceName.from_wbem_uri(line.rstrip("\n"))
    refs = list(path.keybindings.values())
    if len(refs) != 2 or not all(isinstance(r, CIMInstanceName) for r in refs):
        sys.exit(f"line {number}: pywbem does not read two references: {path!r}")
    for r in refs:
        if r not in known:
            sys.exit(f"line {number}: pywbem reads a reference to {r}, which is not reported")
    count += 1
print(count)
EOF
        ); then
            ok "pywbem reads every association line ($msg) of $([[ $dir == "$real" ]] && echo "this machine" || echo "the fixture") to reported instances"
        else
            not_ok "pywbem reads every association line of $dir" "$msg"
        fi
    done
else
    ok "pywbem reads the association lines # skip: no pywbem at $python (set CIMDB_PYTHON)"
fi

if [[ -n $record ]]; then
    not_ok "recorded $recorded expected outputs in $expected: review them (git diff) and rerun without --record"
fi
printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
