#!/bin/bash
# $NFS_ON c1|c2 COMMAND...: run COMMAND as a process of client host 1 or 2: host name client1/client2
# (so fanout's owner identity says "another host" across them), in that client's network namespace.
# exec keeps the pid, so the caller can signal COMMAND itself.
n=${1:?c1 or c2}; shift
case $n in c1 | c2) ;; *) echo "on.sh: name a client, c1 or c2" >&2; exit 2 ;; esac
exec nsenter --net="/run/netns/$n" unshare --uts sh -c 'hostname "client${0#c}"; exec "$@"' "$n" "$@"
