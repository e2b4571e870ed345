#!/bin/bash
# Update script for CIM_IPProtocolEndpoint.IPv6Address (string; settings IPProtocolEndpoint):
# for "<port>:IPv6" endpoints the IPv6 address that stands for the port (see ipv6 below). IPv4
# endpoints, and ports without an IPv6 address now: no line.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
proc=${CIMDB_PROC:-/proc}

# ipv6: "interface RS address RS prefix length" for the IPv6 address that stands for each
# interface, from $CIMDB_PROC/net/if_inet6: global scope before site before link-local (host
# scope never), addresses that are tentative or failed duplicate detection after the others,
# then temporary or deprecated ones, then the first listed. The address in RFC 5952 form.
ipv6() {
    [[ -r $proc/net/if_inet6 ]] || return 0    # IPv6 disabled
    awk -v rs="$CIMDB_RS" '
        function hex(s,   i, n) {
            n = 0; s = toupper(s)
            for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1
            return n
        }
        function bit(n, b) { return int(n / b) % 2 }
        function v6(h,   g, i, best, bl, cs, cl, out) {
            for (i = 0; i < 8; i++) {
                g[i] = tolower(substr(h, i * 4 + 1, 4)); sub(/^0+/, "", g[i]); if (g[i] == "") g[i] = "0"
            }
            best = -1; bl = 0; cs = -1; cl = 0
            for (i = 0; i < 8; i++) {
                if (g[i] == "0") { if (cs < 0) { cs = i; cl = 0 } cl++; if (cl > bl) { best = cs; bl = cl } }
                else cs = -1
            }
            if (bl < 2) best = -1
            out = ""
            for (i = 0; i < 8; i++) {
                if (i == best) { out = out "::"; i += bl - 1; continue }
                if (out != "" && substr(out, length(out)) != ":") out = out ":"
                out = out g[i]
            }
            return out
        }
        NF >= 6 && $1 ~ /^[0-9a-fA-F]+$/ && length($1) == 32 {
            scope = hex($4); fl = hex($5)
            rank = (scope == 0) ? 0 : (scope == 64) ? 4 : (scope == 32) ? 8 : -1
            if (rank < 0) next
            if (bit(fl, 64) || bit(fl, 8)) rank += 2                # tentative, dadfailed
            if (bit(fl, 1) || bit(fl, 32)) rank += 1                # temporary, deprecated
            n = $6
            if (!(n in r)) order[++k] = n
            else if (rank >= r[n]) next
            r[n] = rank; addr[n] = v6($1); plen[n] = hex($3)
        }
        END { for (i = 1; i <= k; i++) print order[i] rs addr[order[i]] rs plen[order[i]] }
    ' "$proc/net/if_inet6"
}

declare -A value=()
while IFS=$CIMDB_RS read -r port address _; do
    value[$port:IPv6]=$address
done < <(ipv6)

cimdb_instance_cache 'IPProtocolEndpoint.*' | while IFS= read -r line; do
    IFS=$CIMDB_RS read -r -a key <<<"$line"
    cimdb_decode -v name "${key[1]}"
    [[ -n $name && -n ${value[$name]+set} ]] || continue
    cimdb_encode -v v "${value[$name]}"
    printf '%s%s%s\n' "$line" "$CIMDB_RS" "$v"
done
exit 0
