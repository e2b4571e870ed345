#!/bin/bash
# Inventory settings EthernetPort (CIM_EthernetPort): the node's Ethernet ports (see ports
# below), DeviceID = the interface name. Discovery and the update of every property in one
# script; the agent says which run it is in CIMDB_PROPERTY.
#
# Discovery (CIMDB_PROPERTY unset or empty): one line per port. Keys (KeyPropertyOrder)
# CreationClassName, DeviceID, SystemCreationClassName, SystemName.
#
# Updates (CIMDB_PROPERTY names the property): for every cached port its key fields, then the
# value; the port is gone: no line.
#   NetworkAddresses (string[]): the port's MAC address ($CIMDB_SYS/class/net/<port>/address)
#     as CIM_EthernetPort wants it: twelve hexadecimal digits, no separators ("0002B3A1B2C3";
#     upper case), one entry. No usable address (all zeros): GS (NULL).
#   PortType (uint16): the CIM value of the port's link mode, from ethtool (Linux has no other
#     source for the medium): the supported link mode at the current speed (link down: the
#     fastest supported mode) — 10baseT 50, 100baseT 52, 1000baseT 53, 2500baseT 54,
#     10000baseT 55, 10000baseCX4 56, 1000baseKX 57, 10000baseKX4 58, 10000baseKR 59,
#     100baseFX 100, 10000baseSR 105, 10000baseLR 108, 10000baseER 110, 10000baseLRM 112,
#     40000baseKR4/CR4/SR4/LR4 200/201/202/204, 100000baseLR4_ER4 302, 100000baseKR4 304,
#     100000baseCR4 305; a mode CIM has no value for (25000baseSR, 1000baseX, ...) 1, Other; no
#     modes reported but "Port: Twisted Pair" and a speed: the BaseT value of that speed.
#     Everything else, and no ethtool (it is not needed elsewhere): 0, Unknown.
#   FullDuplex (boolean): true or false from $CIMDB_SYS/class/net/<port>/duplex (full, half);
#     GS (NULL) while the kernel does not know (link down, virtual port: "unknown" or
#     unreadable).
#   Speed (uint64, bits per second): $CIMDB_SYS/class/net/<port>/speed (Mb/s) times 1,000,000;
#     GS (NULL) while the kernel does not know it (-1, 4294967295 or 65535 for "unknown", link
#     down, unreadable).
# Another CIMDB_PROPERTY: a message on stderr, exit 2.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
node=${CIMDB_NODE:-$(hostname 2>/dev/null || uname -n)}
sys=${CIMDB_SYS:-/sys}
property=${CIMDB_PROPERTY:-}

# ports: the Ethernet ports in $CIMDB_SYS/class/net, one name a line: type 1 (ARPHRD_ETHER), not
# lo, not wireless, not a bridge; and hardware-backed (a device link: PCI, USB, virtio, ...), a
# bond, or a virtual interface on another link (veth, VLAN, macvlan: a container's eth0). Left
# out: software interfaces with no link below (ifb, dummy, tap) and virtual ports enslaved to a
# bridge (host ends of container veths, which come and go with the containers).
ports() {
    local d n type ifindex iflink
    for d in "$sys"/class/net/*; do
        n=${d##*/}
        [[ $n != lo && -d $d ]] || continue
        type=
        { IFS= read -r type; } 2>/dev/null <"$d/type"
        [[ $type == 1 ]] || continue
        [[ -e $d/wireless || -e $d/phy80211 || -e $d/bridge ]] && continue
        if [[ -e $d/device || -L $d/device || -e $d/bonding ]]; then
            printf '%s\n' "$n"
            continue
        fi
        [[ -e $d/brport ]] && continue
        ifindex= iflink=
        { IFS= read -r ifindex; } 2>/dev/null <"$d/ifindex"
        { IFS= read -r iflink; } 2>/dev/null <"$d/iflink"
        [[ -n $iflink && $iflink != "$ifindex" ]] && printf '%s\n' "$n"
    done
    return 0
}

# value PROPERTY DIR: sets v to the encoded value of PROPERTY (lower case) for the port directory
# DIR; $et is ethtool (empty: there is none).
value() {
    local mac= duplex= speed=
    case $1 in
        networkaddresses)
            { IFS= read -r mac; } 2>/dev/null <"$2/address"
            mac=${mac//:/}
            mac=${mac^^}
            if [[ $mac =~ ^[0-9A-F]{12}$ && $mac != 000000000000 ]]; then
                v=$(cimdb_array "$mac")
            else
                v=$CIMDB_GS
            fi ;;
        porttype)
            v=0
            [[ -n $et ]] || return 0
            v=$("$et" "${2##*/}" 2>/dev/null </dev/null | awk '
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
            [[ $v =~ ^[0-9]+$ ]] || v=0 ;;
        fullduplex)
            { IFS= read -r duplex; } 2>/dev/null <"$2/duplex"
            case $duplex in
                full) v=true ;;
                half) v=false ;;
                *) v=$CIMDB_GS ;;
            esac ;;
        speed)
            { IFS= read -r speed; } 2>/dev/null <"$2/speed"
            if [[ $speed =~ ^[0-9]{1,9}$ ]] && ((speed > 0 && speed != 65535)); then
                v=$((speed * 1000000))
            else
                v=$CIMDB_GS
            fi ;;
    esac
}

# update PROPERTY: the update lines of PROPERTY (lower case).
update() {
    local line dev d v et=
    local -a key
    [[ $1 == porttype ]] && { et=$(cimdb_tool ethtool) || et=; }
    cimdb_instance_cache 'EthernetPort.*' | while IFS= read -r line; do
        IFS=$CIMDB_RS read -r -a key <<<"$line"
        cimdb_decode -v dev "${key[1]}"
        d=$sys/class/net/$dev
        [[ -n $dev && $dev != */* && -d $d ]] || continue   # gone: no line
        value "$1" "$d" || continue
        printf '%s%s%s\n' "$line" "$CIMDB_RS" "$v"
    done
}

case ${property,,} in   # property names compare case-insensitively, as in CIM
    '')
        ports | while IFS= read -r port; do
            cimdb_echo CIM_EthernetPort "$port" CIM_ComputerSystem "$node"
        done ;;
    networkaddresses | porttype | fullduplex | speed) update "${property,,}" ;;
    *)
        printf 'ethernet-port.sh: settings EthernetPort has no property %s (NetworkAddresses, PortType, FullDuplex, Speed)\n' "$property" >&2
        exit 2 ;;
esac
exit 0
