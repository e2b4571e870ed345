#!/bin/bash
# Update script for CIM_FileSystem.FileSystemType (string; settings FileSystem): the type the
# kernel reports for the mount point in $CIMDB_PROC/mounts (ext4, xfs, nfs4, overlay, ...).
# No longer mounted: no line.
set -u
declare -F cimdb_echo >/dev/null || . "${CIMDB_HELPERS:?cimdb helpers not loaded: run under the cimdb agent (BASH_ENV) or set CIMDB_HELPERS}"
proc=${CIMDB_PROC:-/proc}

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

declare -A value=()
while IFS=$CIMDB_RS read -r mount type; do
    value[$mount]=$type
done < <(filesystems)

cimdb_instance_cache 'FileSystem.*' | while IFS= read -r line; do
    IFS=$CIMDB_RS read -r -a key <<<"$line"
    cimdb_decode -v mount "${key[3]}"
    [[ -n $mount && -n ${value[$mount]+set} ]] || continue
    cimdb_encode -v v "${value[$mount]}"
    printf '%s%s%s\n' "$line" "$CIMDB_RS" "$v"
done
exit 0
