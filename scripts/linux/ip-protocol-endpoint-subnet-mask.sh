#!/bin/bash
# Update script for CIM_IPProtocolEndpoint.SubnetMask (string; settings IPProtocolEndpoint): for
# "<port>:IPv4" endpoints the mask of the port's primary IPv4 address, dotted ("255.255.255.0").
# IPv6 endpoints (the property is for IPv4 only), and ports without an IPv4 address: no line.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
proc=${CIMDB_PROC:-/proc}
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

# ipv4: "interface RS address RS prefix length" for every IPv4 address, an interface's primary
# address first: from `ip -o -4 addr`, else (no ip, it failed, or a fixture) from
# $CIMDB_PROC/net/fib_trie (the local addresses) and $CIMDB_PROC/net/route (the interface and
# prefix length of the longest directly connected route that holds the address: addresses
# without one are missed).
ipv4() {
    local ip out bo=
    if ip=$(tool ip) && out=$("$ip" -o -4 addr show 2>/dev/null </dev/null); then
        printf '%s\n' "$out" | awk -v rs="$CIMDB_RS" '
            {
                for (i = 3; i < NF; i++) if ($i == "inet") {
                    n = $2; sub(/:$/, "", n); sub(/@.*/, "", n)
                    k = split($(i + 1), a, "/")
                    print n rs a[1] rs (k > 1 ? a[2] : 32)
                    break
                }
            }'
        return 0
    fi
    [[ -r $proc/net/route && -r $proc/net/fib_trie ]] || return 0
    { IFS= read -r bo; } 2>/dev/null <"$sys/kernel/cpu_byteorder"
    awk -v rs="$CIMDB_RS" -v big="$([[ $bo == big ]] && echo 1)" '
        function hex(s,   i, n) {
            n = 0; s = toupper(s)
            for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1
            return n
        }
        # /proc/net/route prints addresses as the 32-bit word in host byte order.
        function word(h) { return big ? hex(h) : hex(substr(h, 7, 2) substr(h, 5, 2) substr(h, 3, 2) substr(h, 1, 2)) }
        function quad(s,   p) { split(s, p, "."); return ((p[1] * 256 + p[2]) * 256 + p[3]) * 256 + p[4] }
        FNR == 1 { file++ }
        file == 1 && FNR > 1 && NF >= 8 {
            fl = hex($4)
            if (fl % 2 == 0 || int(fl / 2) % 2 == 1) next          # not up, or via a gateway
            len = 0; x = word($8)
            while (x >= 2147483648) { len++; x = (x - 2147483648) * 2 }
            if (len == 0) next
            r++; rif[r] = $1; rdst[r] = word($2); rlen[r] = len
            next
        }
        file == 2 && /\|-- [0-9.]+[ \t]*$/ { leaf = $NF; next }
        file == 2 && /\/32 host LOCAL/ && leaf != "" && !(leaf in seen) { seen[leaf] = 1; loc[++nl] = leaf }
        END {
            pw[0] = 1
            for (i = 1; i <= 32; i++) pw[i] = pw[i - 1] * 2      # no ^: busybox awk may lack it
            for (i = 1; i <= nl; i++) {
                a = quad(loc[i]); best = 0
                for (j = 1; j <= r; j++) {
                    d = pw[32 - rlen[j]]
                    if (int(a / d) == int(rdst[j] / d) && (best == 0 || rlen[j] > rlen[best])) best = j
                }
                if (best) print rif[best] rs loc[i] rs rlen[best]
            }
        }' "$proc/net/route" "$proc/net/fib_trie"
}

# mask LENGTH: the dotted IPv4 mask of a prefix length.
mask() {
    local l=$1 i out=
    for i in 1 2 3 4; do
        if ((l >= 8)); then out+=255; l=$((l - 8)); else out+=$(((256 - (1 << (8 - l))) & 255)); l=0; fi
        ((i < 4)) && out+=.
    done
    printf '%s' "$out"
}

declare -A value=()
while IFS=$CIMDB_RS read -r port _ length; do
    [[ $length =~ ^[0-9]+$ ]] && ((length <= 32)) || continue
    [[ -n ${value[$port:IPv4]+set} ]] || value[$port:IPv4]=$(mask "$length")
done < <(ipv4)

cimdb_instance_cache 'IPProtocolEndpoint.*' | while IFS= read -r line; do
    IFS=$CIMDB_RS read -r -a key <<<"$line"
    cimdb_decode -v name "${key[1]}"
    [[ -n $name && -n ${value[$name]+set} ]] || continue
    cimdb_encode -v v "${value[$name]}"
    printf '%s%s%s\n' "$line" "$CIMDB_RS" "$v"
done
exit 0
