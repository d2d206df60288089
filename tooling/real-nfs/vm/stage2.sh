#!/bin/bash
# Inside the UML kernel, in the overlay root: kernel nfsd in network namespace srv, two kernel NFS
# clients in namespaces c1 and c2 (two hosts as the server sees them), then the command.
# Its exit status goes to $RUN/rc (a hostfs directory the launcher reads).
RUN=$1
. "$RUN/cfg"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
t() { echo "[real-nfs $(cut -d' ' -f1 /proc/uptime)s] $*" >&2; }
halt() { sync; poweroff -f; echo o > /proc/sysrq-trigger; }
fail() { t "VM set-up FAILED: $*"; echo 125 > "$RUN/rc"; halt; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p "$RUN" && mount -t hostfs -o "$RUN" none "$RUN" || fail "hostfs $RUN"
for d in "${DIRS[@]}"; do mkdir -p "$d" && mount -t hostfs -o "$d" none "$d" || fail "hostfs $d"; done
mkdir -p "/lib/modules/$KV" && mount --bind "/usr/lib/uml/modules/$KV" "/lib/modules/$KV"
hostname real-nfs-vm
modprobe -a nfsd nfsv3 nfsv4 bridge veth sch_netem ip_tables iptable_filter xt_tcpudp xt_string xt_recent || fail "modprobe"
ip link set lo up

# A bridge in the root namespace; srv, c1 and c2 hang off it by veth pairs. The addresses (TEST-NET-2)
# exist only inside this kernel. Faults are netem qdiscs on either end of a client's pair (ctl.sh).
ip link add br0 type bridge && ip link set br0 up
i=0
for n in srv c1 c2; do
  i=$((i + 1))
  ip netns add $n
  ip link add $n-br type veth peer name eth0 netns $n
  ip link set $n-br master br0 up
  ip -n $n addr add 198.51.100.$i/24 dev eth0
  ip -n $n link set eth0 up
  ip -n $n link set lo up
done

mkdir -p /srv/nfs
if [ "$FSTYPE" = ext4 ]; then mount -t ext4 /dev/ubda /srv/nfs || fail "mount ext4"; else mount -t tmpfs tmpfs /srv/nfs; fi
chmod 1777 /srv/nfs
mkdir -p /var/lib/nfs/v4recovery && : > /var/lib/nfs/etab && : > /var/lib/nfs/rmtab && : > /etc/exports
"$RUN/ctl.sh" start-server || fail "nfsd"
GRACE_START=$(cut -d' ' -f1 /proc/uptime)

case $VERS in
  3) MO="vers=3,nolock" SPATH=/srv/nfs ;;
  4*) MO="vers=$VERS" SPATH=/ ;;
  *) fail "bad NFS version $VERS" ;;
esac
[ -n "$OPTS" ] && MO="$MO,$OPTS"
mkdir -p /mnt/nfs-a /mnt/nfs-b
for c in 1 2; do
  m=$([ $c = 1 ] && echo /mnt/nfs-a || echo /mnt/nfs-b)
  timeout 60 nsenter --net=/run/netns/c$c unshare --uts sh -c "hostname client$c; mount -t nfs -o $MO 198.51.100.1:$SPATH $m" ||
    fail "mount $m"
done
t "nfsd up, mounted: $(grep -E ' /mnt/nfs-a ' /proc/mounts | cut -d' ' -f4)"
case $VERS in 4*)
  # NFSv4: the server refuses OPEN/CREATE (NFS4ERR_GRACE) until its grace period is over.
  w=$(awk -v a="$GRACE_START" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { w = a + 11 - b; print (w > 0) ? w : 0 }')
  t "waiting ${w}s for the NFSv4 grace period"
  sleep "$w" ;;
esac

# The caller's environment, then the harness's.
. "$RUN/env"
export PATH="$PATH:/usr/sbin:/usr/bin:/sbin:/bin"
export NFS_A=/mnt/nfs-a NFS_B=/mnt/nfs-b NFS_SERVER_DIR=/srv/nfs NFS_VERS=$VERS NFS_CTL=$RUN/ctl.sh NFS_ON=$RUN/on.sh
cd "$CWD" || fail "cd $CWD"
t "running: ${CMD[*]}"
"${CMD[@]}" < /dev/null
rc=$?
t "command exited $rc"
for n in c1 c2; do "$RUN/ctl.sh" heal $n; done
timeout 20 umount /mnt/nfs-a /mnt/nfs-b 2>/dev/null || umount -l -f /mnt/nfs-a /mnt/nfs-b 2>/dev/null
for d in "${DIRS[@]}"; do sync -f "$d"; done
echo $rc > "$RUN/rc"
sync -f "$RUN"
halt
