#!/bin/bash
# $NFS_ON c1|c2 COMMAND...: run COMMAND as a process of client host 1 or 2: host name client1/client2
# (so fanout's owner identity says "another host" across them), in that client's network namespace,
# and with that client's mount also at /mnt/nfs, so that processes of both hosts name the shared
# spools by one path (as hosts mounting one export at one mount point do) while going through their
# own kernel client. exec keeps the pid, so the caller can signal COMMAND itself.
n=${1:?c1 or c2}; shift
case $n in c1) m=/mnt/nfs-a ;; c2) m=/mnt/nfs-b ;; *) echo "on.sh: name a client, c1 or c2" >&2; exit 2 ;; esac
exec nsenter --net="/run/netns/$n" unshare --uts --mount sh -c \
  'hostname "client${0#c}" && mkdir -p /mnt/nfs && mount --bind "$1" /mnt/nfs && shift && exec "$@"' "$n" "$m" "$@"
