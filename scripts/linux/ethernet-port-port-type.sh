#!/bin/bash
# Update script for CIM_EthernetPort.PortType (uint16; settings EthernetPort): the CIM value of
# the port's link mode, from ethtool (Linux has no other source for the medium): the supported
# link mode at the current speed (link down: the fastest supported mode) — 10baseT 50,
# 100baseT 52, 1000baseT 53, 2500baseT 54, 10000baseT 55, 10000baseCX4 56, 1000baseKX 57,
# 10000baseKX4 58, 10000baseKR 59, 100baseFX 100, 10000baseSR 105, 10000baseLR 108,
# 10000baseER 110, 10000baseLRM 112, 40000baseKR4/CR4/SR4/LR4 200/201/202/204,
# 100000baseLR4_ER4 302, 100000baseKR4 304, 100000baseCR4 305; a mode CIM has no value for
# (25000baseSR, 1000baseX, ...) 1, Other; no modes reported but "Port: Twisted Pair" and a
# speed: the BaseT value of that speed. Everything else, and no ethtool (it is not needed
# elsewhere): 0, Unknown. The port is gone: no line.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
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

et=$(tool ethtool) || et=

# value DIR: sets v to the encoded value for the port DIR.
value() {
    v=0
    [[ -n $et ]] || return 0
    v=$("$et" "${1##*/}" 2>/dev/null </dev/null | awk '
        BEGIN {
            split("10baseT:50 100baseT:52 1000baseT:53 2500baseT:54 10000baseT:55 10000baseCX4:56 " \
                  "1000baseKX:57 10000baseKX4:58 10000baseKR:59 100baseFX:100 10000baseSR:105 " \
                  "10000baseLR:108 10000baseER:110 10000baseLRM:112 40000baseKR4:200 40000baseCR4:201 " \
                  "40000baseSR4:202 40000baseLR4:204 100000baseLR4_ER4:302 100000baseKR4:304 " \
                  "100000baseCR4:305", t, " ")
            for (i in t) { split(t[i], p, ":"); cim[p[1]] = p[2] }
            tp[10] = 50; tp[100] = 52; tp[1000] = 53; tp[2500] = 54; tp[10000] = 55
        }
        {
            i = index($0, ":")
            if (i) {
                k = substr($0, 1, i - 1); gsub(/^[ \t]+|[ \t]+$/, "", k)
                v = substr($0, i + 1); gsub(/^[ \t]+|[ \t]+$/, "", v)
                inmodes = (k == "Supported link modes")
                if (k == "Speed" && v ~ /^[0-9]+Mb\/s$/) speed = v + 0
                if (k == "Port") port = v
            } else v = $0
            if (inmodes) {
                nw = split(v, w, /[ \t]+/)
                for (j = 1; j <= nw; j++) {
                    m = w[j]; sub(/\/(Full|Half)$/, "", m)
                    if (m ~ /^[0-9]+base/ && !(m in seen)) { seen[m] = 1; modes[++n] = m }
                }
            }
        }
        END {
            best = ""; bs = -1
            for (j = 1; j <= n; j++) {
                s = modes[j]; sub(/base.*/, "", s); s += 0
                if (speed) { if (s == speed && best == "") best = modes[j] }
                else if (s > bs) { best = modes[j]; bs = s }
            }
            if (best != "") print ((best in cim) ? cim[best] : 1)
            else if (speed && port == "Twisted Pair" && (speed in tp)) print tp[speed]
            else print 0
        }')
    [[ $v =~ ^[0-9]+$ ]] || v=0
}

cimdb_instance_cache 'EthernetPort.*' | while IFS= read -r line; do
    IFS=$CIMDB_RS read -r -a key <<<"$line"
    cimdb_decode -v dev "${key[1]}"
    d=$sys/class/net/$dev
    [[ -n $dev && $dev != */* && -d $d ]] || continue   # gone: no line
    value "$d" || continue
    printf '%s%s%s\n' "$line" "$CIMDB_RS" "$v"
done
exit 0
