#!/bin/bash
# Fault injection and server control inside the real-NFS VM ($NFS_CTL).
#   partition c1|c2              drop every packet both ways for that client
#   heal c1|c2                   remove that client's netem rules
#   netem-in c1|c2 'loss 30%'    server→client direction (lost replies)
#   netem-out c1|c2 'delay 50ms' client→server direction (lost or late requests)
#   lose-replies c1|c2 STRING    from the first request of that client that carries STRING (a file
#                                name: the LINK or RENAME naming it) on, every packet of the server to
#                                it is lost, that request's reply first; until heal
#   stop-server | start-server   kernel nfsd (NFSv4: a grace period follows a start)
#   restart-server               the server reboots: nfsd stops, its network namespace (and with it the
#                                duplicate-request cache and all NFSv4 state) is destroyed and made anew
#                                with the same address and MAC, nfsd starts (NFSv4: a grace period follows)
set -u
RUN=$(dirname "$(readlink -f "$0")")
n=${2:-}
client() { case $n in c1 | c2) ;; *) echo "ctl.sh: name a client, c1 or c2" >&2; exit 2 ;; esac; }
server() {
  nsenter --net=/run/netns/srv bash -c '
    # A daemon of this namespace (after a reboot, one of the old namespace may still be a zombie).
    here() { for p in $(ip netns pids srv); do [ "$(cat /proc/$p/comm 2>/dev/null)" = "$1" ] && return 0; done; return 1; }
    case $1 in
    start)
      mountpoint -q /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd
      here rpcbind || rpcbind -w
      exportfs -o rw,no_root_squash,insecure,no_subtree_check,sync,fsid=0 "198.51.100.0/24:/srv/nfs"
      here rpc.mountd || rpc.mountd
      rpc.nfsd --grace-time 10 --lease-time 10 8 ;;
    stop)
      rpc.nfsd 0; exportfs -ua; exportfs -f ;;
    esac' server "$1" 2>&1 | grep -v svc_tli_create >&2
  return "${PIPESTATUS[0]}"
}
# A reboot of the server. Stopping nfsd alone keeps its duplicate-request cache: on this kernel (6.1)
# the cache belongs to the network namespace, so a retransmitted LINK or RENAME would still be
# answered from it, as it never is after a real reboot. Everything that holds the namespace goes
# (rpcbind, rpc.mountd, the nfsd filesystem mounted from inside it), then the namespace itself.
reboot() {
  local mac pids
  mac=$(ip -n srv -o link show eth0 | sed -n 's|.*link/ether \([0-9a-f:]*\).*|\1|p')
  # Every process start costs inside UML: the namespace goes whole, so only nfsd itself is stopped.
  nsenter --net=/run/netns/srv rpc.nfsd 0 || return 1
  pids=$(ip netns pids srv)
  [ -n "$pids" ] && kill -9 $pids
  for _ in $(seq 200); do [ -z "$(ip netns pids srv)" ] && break; sleep 0.05; done
  umount -l /proc/fs/nfsd || return 1
  # The old namespace may linger (an orphaned kernel TCP socket of nfsd still holds it): cut its link
  # to the bridge now rather than wait for it to go.
  ip link del srv-br && ip netns del srv || return 1
  printf '%s\n' 'netns add srv' 'link add srv-br type veth peer name eth0 netns srv' 'link set srv-br master br0 up' |
    ip -b - &&
    printf '%s\n' "link set eth0 address $mac" 'addr add 198.51.100.1/24 dev eth0' 'link set eth0 up' 'link set lo up' |
    ip -n srv -b - &&
    server start
}
case ${1:-} in
  partition) client; tc qdisc replace dev "$n-br" root netem loss 100% && tc -n "$n" qdisc replace dev eth0 root netem loss 100% ;;
  heal)
    client; tc qdisc del dev "$n-br" root 2>/dev/null; tc -n "$n" qdisc del dev eth0 root 2>/dev/null
    nsenter --net="/run/netns/$n" iptables-legacy -w -F 2>/dev/null; true ;;
  lose-replies)
    # The request is matched where it leaves the client, so that it is sure to reach the server, and
    # the server's packets are dropped where they arrive (xt_recent keeps the server's address).
    client
    nsenter --net="/run/netns/$n" sh -e -c '
      iptables-legacy -w -A OUTPUT -p tcp --dport 2049 -m string --algo bm --string "$1" -m recent --name lost --set --rdest
      iptables-legacy -w -A INPUT -p tcp --sport 2049 -m recent --name lost --rcheck --rsource -j DROP' lose "${3:?a string}" ;;
  netem-in) client; tc qdisc replace dev "$n-br" root netem ${3:?netem spec} ;;
  netem-out) client; tc -n "$n" qdisc replace dev eth0 root netem ${3:?netem spec} ;;
  stop-server) server stop ;;
  start-server) server start ;;
  restart-server) reboot ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
