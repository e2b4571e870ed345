#!/bin/bash
# Inventory settings IPProtocolEndpoint (CIM_IPProtocolEndpoint): per Ethernet port one endpoint
# per IP version it has an address of. Discovery and the update of every property in one
# script; the agent says which run it is in CIMDB_PROPERTY.
#
# Discovery (CIMDB_PROPERTY unset or empty): for each port the EthernetPort settings reported
# (the instance cache of EthernetPort, whose discovery the agent runs first: IPProtocolEndpoint
# is its child) Name "<port>:IPv4" and "<port>:IPv6" (stable while addresses change; the updates
# carry the address). Keys (KeyPropertyOrder) CreationClassName, Name, SystemCreationClassName,
# SystemName.
#
# Updates (CIMDB_PROPERTY names the property): for every cached endpoint its key fields, then
# the value:
#   IPv4Address (string): for "<port>:IPv4" endpoints the port's primary IPv4 address (see ipv4
#     below). IPv6 endpoints, and ports without an IPv4 address now: no line.
#   IPv6Address (string): for "<port>:IPv6" endpoints the IPv6 address that stands for the port
#     (see ipv6 below). IPv4 endpoints, and ports without an IPv6 address now: no line.
#   ProtocolIFType (uint16): 4096 (IPv4) for "<port>:IPv4" endpoints, 4097 (IPv6) for
#     "<port>:IPv6" ones — an endpoint stands for one IP version (4098, IPv4/v6, is not used).
#   SubnetMask (string): for "<port>:IPv4" endpoints the mask of the port's primary IPv4
#     address, dotted ("255.255.255.0"). IPv6 endpoints (the property is for IPv4 only), and
#     ports without an IPv4 address: no line.
# Another CIMDB_PROPERTY: a message on stderr, exit 2.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
node=${CIMDB_NODE:-$(hostname 2>/dev/null || uname -n)}
proc=${CIMDB_PROC:-/proc}
sys=${CIMDB_SYS:-/sys}
property=${CIMDB_PROPERTY:-}

# ipv4: "interface RS address RS prefix length" for every IPv4 address, an interface's primary
# address first: from `ip -o -4 addr`, else (no ip, it failed, or a fixture) from
# $CIMDB_PROC/net/fib_trie (the local addresses) and $CIMDB_PROC/net/route (the interface and
# prefix length of the longest directly connected route that holds the address: addresses
# without one are missed).
ipv4() {
    local ip out bo=
    if ip=$(cimdb_tool ip) && out=$("$ip" -o -4 addr show 2>/dev/null </dev/null); then
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

# mask LENGTH: the dotted IPv4 mask of a prefix length.
mask() {
    local l=$1 i out=
    for i in 1 2 3 4; do
        if ((l >= 8)); then out+=255; l=$((l - 8)); else out+=$(((256 - (1 << (8 - l))) & 255)); l=0; fi
        ((i < 4)) && out+=.
    done
    printf '%s' "$out"
}

# discover: the discovery lines.
discover() {
    local port
    local -A v4=() v6=()
    while IFS=$CIMDB_RS read -r port _; do [[ -n $port ]] && v4[$port]=1; done < <(ipv4)
    while IFS=$CIMDB_RS read -r port _; do [[ -n $port ]] && v6[$port]=1; done < <(ipv6)
    cimdb_instance_cache EthernetPort.DeviceID | while IFS= read -r port; do
        cimdb_decode -v port "$port"
        [[ -n $port ]] || continue
        [[ -n ${v4[$port]+set} ]] && cimdb_echo CIM_IPProtocolEndpoint "$port:IPv4" CIM_ComputerSystem "$node"
        [[ -n ${v6[$port]+set} ]] && cimdb_echo CIM_IPProtocolEndpoint "$port:IPv6" CIM_ComputerSystem "$node"
    done
}

# update PROPERTY: the update lines of PROPERTY (lower case).
update() {
    local port address length line name v
    local -a key
    local -A value=()
    case $1 in
        ipv4address)
            while IFS=$CIMDB_RS read -r port address _; do
                [[ -n ${value[$port:IPv4]+set} ]] || value[$port:IPv4]=$address
            done < <(ipv4) ;;
        subnetmask)
            while IFS=$CIMDB_RS read -r port _ length; do
                [[ $length =~ ^[0-9]+$ ]] && ((length <= 32)) || continue
                [[ -n ${value[$port:IPv4]+set} ]] || value[$port:IPv4]=$(mask "$length")
            done < <(ipv4) ;;
        ipv6address)
            while IFS=$CIMDB_RS read -r port address _; do
                value[$port:IPv6]=$address
            done < <(ipv6) ;;
    esac
    cimdb_instance_cache 'IPProtocolEndpoint.*' | while IFS= read -r line; do
        IFS=$CIMDB_RS read -r -a key <<<"$line"
        cimdb_decode -v name "${key[1]}"
        if [[ $1 == protocoliftype ]]; then
            case $name in
                *:IPv4) v=4096 ;;
                *:IPv6) v=4097 ;;
                *) continue ;;
            esac
        else
            [[ -n $name && -n ${value[$name]+set} ]] || continue
            cimdb_encode -v v "${value[$name]}"
        fi
        printf '%s%s%s\n' "$line" "$CIMDB_RS" "$v"
    done
}

case ${property,,} in   # property names compare case-insensitively, as in CIM
    '') discover ;;
    ipv4address | ipv6address | protocoliftype | subnetmask) update "${property,,}" ;;
    *)
        printf 'ip-protocol-endpoint.sh: settings IPProtocolEndpoint has no property %s (IPv4Address, IPv6Address, ProtocolIFType, SubnetMask)\n' "$property" >&2
        exit 2 ;;
esac
exit 0
