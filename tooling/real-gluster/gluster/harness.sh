#!/usr/bin/env bash
# harness.sh: run a command against a real GlusterFS volume mounted by two FUSE clients on two "hosts", and tear
# everything down afterwards, whatever happens (the command fails, this script is sent TERM or INT, a step fails).
# Written for fanout after the workplace's reference harness (real-gluster.sh of the shared tools).
#
#   netns fgs<ID>  : a private glusterd and its brick processes (198.51.100.1), in a mount namespace of their own in
#                    which /var/lib/glusterd, /run/gluster and /var/log/glusterfs are directories of this run, so the
#                    host's gluster state is never read or written
#   netns fgc1<ID> : FUSE client 1 (glusterfs process, 198.51.100.11), mounted at $GL_A
#   netns fgc2<ID> : FUSE client 2 (198.51.100.12), mounted at $GL_B
# joined by a bridge without an address in the root namespace (198.51.100.0/24 is TEST-NET-2: nothing here can reach
# or be reached from a real network). The mounts themselves are in the root mount namespace, so any process here
# uses them; a call on $GL_A goes through client 1's network namespace to the server.
#
# Usage: harness.sh [-t replica|distribute] [-n BRICKS] [-p PING_TIMEOUT_S] -- COMMAND [ARGS...]
# COMMAND sees GL_A, GL_B, GL_BRICKS (the brick directories, space-separated: the server's ground truth), GL_TYPE,
# GL_CTL ($GL_CTL partition gc1|gc2: the client's link to the server goes down; heal gc1|gc2; bricks-of NAME...).
# Exit status: COMMAND's; 125 when the set-up failed (nothing was run); 130/143 when interrupted.
set -euo pipefail
TYPE=replica NB=2 PING=5
while getopts "t:n:p:h" o; do
  case $o in
    t) TYPE=$OPTARG ;; n) NB=$OPTARG ;; p) PING=$OPTARG ;;
    *) sed -n '2,19p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1)); [ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "usage: $0 [-t distribute|replica] [-n BRICKS] [-p PING_TIMEOUT_S] -- COMMAND..." >&2; exit 2; }
case $TYPE in distribute | replica) ;; *) echo "real-gluster: -t distribute|replica, not $TYPE" >&2; exit 2 ;; esac
[ "$TYPE" = distribute ] || [ "$NB" -ge 2 ] || { echo "real-gluster: a replica volume needs 2 bricks or more" >&2; exit 2; }

T0=$(date +%s%N)
say() { echo "[real-gluster $(((($(date +%s%N) - T0) / 1000000)))ms] $*" >&2; }
for tool in glusterd gluster glusterfs ip nsenter setsid mountpoint; do
  command -v "$tool" >/dev/null 2>&1 || { say "$tool is not installed (tooling/real-gluster/gluster/install.sh)"; exit 125; }
done
[ "$(id -u)" = 0 ] || { say "the harness runs as root (network namespaces, FUSE mounts)"; exit 125; }

ID=$$
NS_S=fgs$ID NS_1=fgc1$ID NS_2=fgc2$ID BR=fgbr$ID V0=fgv0$ID V1=fgv1$ID V2=fgv2$ID
W=$(mktemp -d /tmp/fanout-real-gluster.XXXXXX)
GL_A=$W/mnt-a GL_B=$W/mnt-b SRV=198.51.100.1 VOL=fanout
GLUSTERD_PID='' CMD_PID='' MADE_RUN_DIR=''
say "run $ID in $W: $TYPE volume of $NB bricks, ping-timeout ${PING}s"

# The gluster CLI, talking to our glusterd through its socket in its own mount namespace.
gl() { timeout 120 nsenter -t "$GLUSTERD_PID" -m -n gluster --mode=script "$@"; }

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM ERR
  if [ -n "$CMD_PID" ] && kill -0 "$CMD_PID" 2>/dev/null; then
    say "stopping the command (process group $CMD_PID)"
    kill -TERM -- "-$CMD_PID" 2>/dev/null
    for _ in $(seq 20); do kill -0 "$CMD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$CMD_PID" 2>/dev/null
  fi
  # A partitioned client would make its unmount wait: give every client its link back first.
  for v in "$V1" "$V2"; do ip link set "$v" up 2>/dev/null; done
  for m in "$GL_A" "$GL_B"; do
    mountpoint -q "$m" 2>/dev/null && { timeout 20 umount "$m" 2>/dev/null || umount -l "$m"; }
  done
  # Every process of ours lives in one of our network namespaces: the FUSE clients, glusterd, its bricks.
  for sig in TERM KILL; do
    local left=''
    for ns in "$NS_1" "$NS_2" "$NS_S"; do left+=" $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"; done
    [ -n "${left// /}" ] || break
    # shellcheck disable=SC2086
    kill -"$sig" $left 2>/dev/null
    for _ in $(seq 30); do
      local alive=''
      for p in $left; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ -z "$alive" ] && break
      sleep 0.1
    done
  done
  for ns in "$NS_1" "$NS_2" "$NS_S"; do ip netns del "$ns" 2>/dev/null; done
  ip link del "$BR" 2>/dev/null
  rm -rf --one-file-system "$W"
  [ -n "$MADE_RUN_DIR" ] && rmdir "$MADE_RUN_DIR" 2>/dev/null
  say "torn down (mounts, glusterd and bricks, namespaces, bridge, $W)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'say "set-up failed at line $LINENO"; exit 125' ERR

# Network: a bridge and one veth pair per namespace.
ip link add "$BR" type bridge
ip link set "$BR" up
i=0
for ns in "$NS_S" "$NS_1" "$NS_2"; do
  ip netns add "$ns"
  ip link add "fgv$i$ID" type veth peer name eth0 netns "$ns"
  ip link set "fgv$i$ID" master "$BR" up
  ip -n "$ns" addr add "198.51.100.$([ $i = 0 ] && echo 1 || echo 1$i)/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  i=$((i + 1))
done

# Server: glusterd in the foreground (-N), its state, sockets and logs in this run's directory.
mkdir -p "$W/state" "$W/run" "$W/log" "$W/log/bricks"
[ -d /var/lib/glusterd ] && cp -a /var/lib/glusterd/groups /var/lib/glusterd/hooks "$W/state/" 2>/dev/null || true
[ -d /run/gluster ] || { mkdir -p /run/gluster; MADE_RUN_DIR=/run/gluster; }
mkdir -p /var/lib/glusterd /var/log/glusterfs
ip netns exec "$NS_S" bash -c '
  mount --bind "$1/state" /var/lib/glusterd && mount --bind "$1/run" /run/gluster &&
  mount --bind "$1/log" /var/log/glusterfs && exec glusterd -N --log-file="$1/log/glusterd.log"' \
  glusterd "$W" </dev/null >"$W/log/glusterd.out" 2>&1 &
GLUSTERD_PID=$!
up=''
for _ in $(seq 100); do
  kill -0 "$GLUSTERD_PID" 2>/dev/null || break
  # Until the process is glusterd it may still be in the host's mount namespace: no CLI call (its log) before that.
  [ "$(cat "/proc/$GLUSTERD_PID/comm" 2>/dev/null)" = glusterd ] || { sleep 0.05; continue; }
  gl volume list >/dev/null 2>&1 && { up=1; break; }
  sleep 0.1
done
[ -n "$up" ] || { say "glusterd did not come up:"; cat "$W/log/glusterd.out" "$W/log/glusterd.log" >&2; exit 125; }
bricks=() dirs=()
for b in $(seq "$NB"); do mkdir -p "$W/brick$b"; bricks+=("$SRV:$W/brick$b"); dirs+=("$W/brick$b"); done
if [ "$TYPE" = replica ]; then
  gl volume create "$VOL" replica "$NB" "${bricks[@]}" force >/dev/null
else
  gl volume create "$VOL" "${bricks[@]}" force >/dev/null
fi
# A cut-off client gives up (ENOTCONN) after ping-timeout seconds instead of the default 42.
gl volume set "$VOL" network.ping-timeout "$PING" >/dev/null
gl volume start "$VOL" >/dev/null
say "volume $VOL started"

# Clients: one glusterfs FUSE process per client namespace.
mkdir -p "$GL_A" "$GL_B"
timeout 60 nsenter --net="/run/netns/$NS_1" mount -t glusterfs -o "log-file=$W/log/client-a.log" "$SRV:/$VOL" "$GL_A"
timeout 60 nsenter --net="/run/netns/$NS_2" mount -t glusterfs -o "log-file=$W/log/client-b.log" "$SRV:/$VOL" "$GL_B"
for m in "$GL_A" "$GL_B"; do
  [ "$(stat -f -c %T "$m")" = fuseblk ] || [ "$(stat -f -c %T "$m")" = fuse ] || { say "$m is not a FUSE mount"; exit 125; }
done
say "mounted $GL_A (gc1) and $GL_B (gc2)"

cat >"$W/ctl.sh" <<EOS
#!/usr/bin/env bash
# Fault control of run $ID: partition|heal gc1|gc2 (the client's link to the server down or up again).
set -euo pipefail
case \${2:-} in gc1) v=$V1 ;; gc2) v=$V2 ;; *) echo "usage: \$0 partition|heal gc1|gc2" >&2; exit 2 ;; esac
case \$1 in
  partition) ip link set "\$v" down ;;
  heal) ip link set "\$v" up ;;
  *) echo "usage: \$0 partition|heal gc1|gc2" >&2; exit 2 ;;
esac
EOS
chmod +x "$W/ctl.sh"

trap - ERR
set +e
say "running the command"
GL_A=$GL_A GL_B=$GL_B GL_CTL=$W/ctl.sh GL_TYPE=$TYPE GL_BRICKS="${dirs[*]}" setsid "$@" &
CMD_PID=$!
wait "$CMD_PID"
rc=$?
CMD_PID=''
say "command exited $rc"
exit "$rc"
