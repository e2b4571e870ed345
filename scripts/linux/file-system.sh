#!/bin/bash
# Inventory settings FileSystem (CIM_FileSystem): the node's mounted file systems from
# $CIMDB_PROC/mounts, pseudo file systems left out (see filesystems below). Discovery and the
# update of every property in one script; the agent says which run it is in CIMDB_PROPERTY.
#
# Discovery (CIMDB_PROPERTY unset or empty): one line per file system. Keys (KeyPropertyOrder)
# CreationClassName, CSCreationClassName, CSName, Name = CIM_FileSystem, CIM_ComputerSystem,
# the node, the mount point.
#
# Updates (CIMDB_PROPERTY names the property): for every cached file system its key fields, then
# the value; no longer mounted: no line.
#   FileSystemType (string): the type the kernel reports for the mount point in
#     $CIMDB_PROC/mounts (ext4, xfs, nfs4, overlay, ...).
#   FileSystemSize (uint64, bytes): the total size, statfs blocks times fragment size (stat -f,
#     as df -B1 computes it; each call limited to 10 s by timeout(1) where present, for hung
#     network mounts). statfs fails: no line. Needs stat(1): with CIMDB_PROC/CIMDB_SYS pointing
#     at a fixture only the test double in $CIMDB_BIN is used.
# Another CIMDB_PROPERTY: a message on stderr, exit 2.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
node=${CIMDB_NODE:-$(hostname 2>/dev/null || uname -n)}
proc=${CIMDB_PROC:-/proc}
property=${CIMDB_PROPERTY:-}

# filesystems: "mount point RS type" for every file system worth reporting, in the order of
# $CIMDB_PROC/mounts; a mount point mounted over counts with its last (visible) mount. Left out:
# pseudo and memory file systems (proc, sysfs, tmpfs, devtmpfs, cgroup*, devpts, mqueue, ...,
# fuse.lxcfs), overlay mounts other than / (container roots on a container host; the root of a
# container is kept), squashfs under /snap/, mount points holding a line feed, and on the real
# machine local mount points that are not directories (files bind-mounted into a container,
# such as /etc/hosts).
filesystems() {
    local m t
    awk -v rs="$CIMDB_RS" '
        function unoct(s,   out, i, c) {
            out = ""
            while ((i = index(s, "\\")) > 0) {
                c = substr(s, i + 1, 3)
                if (c ~ /^[0-7][0-7][0-7]$/) {
                    out = out substr(s, 1, i - 1) sprintf("%c", substr(c, 1, 1) * 64 + substr(c, 2, 1) * 8 + substr(c, 3, 1))
                    s = substr(s, i + 4)
                } else { out = out substr(s, 1, i); s = substr(s, i + 1) }
            }
            return out s
        }
        BEGIN {
            split("proc sysfs devtmpfs devpts tmpfs ramfs rootfs cgroup cgroup2 mqueue debugfs tracefs " \
                  "securityfs pstore bpf configfs fusectl hugetlbfs autofs binfmt_misc rpc_pipefs nsfs " \
                  "efivarfs selinuxfs nfsd devfs usbfs xenfs openpromfs spufs fuse.lxcfs fuse.gvfsd-fuse " \
                  "fuse.gvfs-fuse-daemon fuse.portal fuse.snapfuse", pseudo, " ")
            for (i in pseudo) skip[pseudo[i]] = 1
        }
        NF >= 3 {
            m = unoct($2)
            if (!(m in type)) order[++n] = m
            type[m] = unoct($3)
        }
        END {
            for (i = 1; i <= n; i++) {
                m = order[i]; t = type[m]
                if ((t in skip) || (t == "overlay" && m != "/") || (t == "squashfs" && m ~ /^\/snap\//) || index(m, "\n")) continue
                print m rs t
            }
        }
    ' "$proc/mounts" |
        while IFS=$CIMDB_RS read -r m t; do
            if [[ -z ${CIMDB_PROC:-} ]]; then
                case $t in
                    nfs* | cifs | smb* | ceph | lustre | gpfs | beegfs | 9p | afs | fuse.*) ;;  # not touched: may hang
                    *) [[ -d $m ]] || continue ;;
                esac
            fi
            printf '%s%s%s\n' "$m" "$CIMDB_RS" "$t"
        done
}

# sizes: "mount point RS size in bytes" for every file system statfs answers for; nothing
# without stat(1).
sizes() {
    local st t mount frsize blocks
    local -a limit=()
    st=$(cimdb_tool stat) || return 0
    if t=$(cimdb_tool timeout); then limit=("$t" 10); fi
    filesystems | while IFS=$CIMDB_RS read -r mount _; do
        read -r frsize blocks < <(${limit[@]+"${limit[@]}"} "$st" -f -c '%S %b' -- "$mount" 2>/dev/null </dev/null) || continue
        [[ $frsize =~ ^[0-9]+$ && $blocks =~ ^[0-9]+$ ]] || continue
        printf '%s%s%s\n' "$mount" "$CIMDB_RS" "$((frsize * blocks))"
    done
}

# update PROPERTY: the update lines of PROPERTY (lower case).
update() {
    local mount v line
    local -a key
    local -A value=()
    [[ $1 != filesystemsize ]] || cimdb_tool stat >/dev/null || return 0
    while IFS=$CIMDB_RS read -r mount v; do
        value[$mount]=$v
    done < <(if [[ $1 == filesystemsize ]]; then sizes; else filesystems; fi)
    cimdb_instance_cache 'FileSystem.*' | while IFS= read -r line; do
        IFS=$CIMDB_RS read -r -a key <<<"$line"
        cimdb_decode -v mount "${key[3]}"
        [[ -n $mount && -n ${value[$mount]+set} ]] || continue
        cimdb_encode -v v "${value[$mount]}"
        printf '%s%s%s\n' "$line" "$CIMDB_RS" "$v"
    done
}

case ${property,,} in   # property names compare case-insensitively, as in CIM
    '')
        filesystems | while IFS=$CIMDB_RS read -r mount _; do
            cimdb_echo CIM_FileSystem CIM_ComputerSystem "$node" "$mount"
        done ;;
    filesystemtype | filesystemsize) update "${property,,}" ;;
    *)
        printf 'file-system.sh: settings FileSystem has no property %s (FileSystemType, FileSystemSize)\n' "$property" >&2
        exit 2 ;;
esac
exit 0
