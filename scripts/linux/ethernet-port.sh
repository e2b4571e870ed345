#!/bin/bash
# Discovery for inventory settings EthernetPort (CIM_EthernetPort): the node's Ethernet ports
# (see ports below), DeviceID = the interface name. Keys (KeyPropertyOrder) CreationClassName,
# DeviceID, SystemCreationClassName, SystemName.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
node=${CIMDB_NODE:-$(hostname 2>/dev/null || uname -n)}
sys=${CIMDB_SYS:-/sys}

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

ports | while IFS= read -r port; do
    cimdb_echo CIM_EthernetPort "$port" CIM_ComputerSystem "$node"
done
exit 0
