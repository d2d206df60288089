#!/bin/bash
# Fault injection and server control inside the real-NFS VM ($NFS_CTL).
#   partition c1|c2              drop every packet both ways for that client
#   heal c1|c2                   remove that client's netem rules
#   netem-in c1|c2 'loss 30%'    server→client direction (lost replies)
#   netem-out c1|c2 'delay 50ms' client→server direction (lost or late requests)
#   stop-server | start-server | restart-server   kernel nfsd (NFSv4: a grace period follows a start)
set -u
RUN=$(dirname "$(readlink -f "$0")")
n=${2:-}
client() { case $n in c1 | c2) ;; *) echo "ctl.sh: name a client, c1 or c2" >&2; exit 2 ;; esac; }
server() {
  nsenter --net=/run/netns/srv bash -c '
    case $1 in
    start)
      mountpoint -q /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd
      pgrep -x rpcbind >/dev/null || rpcbind -w
      exportfs -o rw,no_root_squash,insecure,no_subtree_check,sync,fsid=0 "198.51.100.0/24:/srv/nfs"
      pgrep -x rpc.mountd >/dev/null || rpc.mountd
      rpc.nfsd --grace-time 10 --lease-time 10 8 ;;
    stop)
      rpc.nfsd 0; exportfs -ua; exportfs -f ;;
    esac' server "$1" 2>&1 | grep -v svc_tli_create >&2
  return "${PIPESTATUS[0]}"
}
case ${1:-} in
  partition) client; tc qdisc replace dev "$n-br" root netem loss 100% && tc -n "$n" qdisc replace dev eth0 root netem loss 100% ;;
  heal) client; tc qdisc del dev "$n-br" root 2>/dev/null; tc -n "$n" qdisc del dev eth0 root 2>/dev/null; true ;;
  netem-in) client; tc qdisc replace dev "$n-br" root netem ${3:?netem spec} ;;
  netem-out) client; tc -n "$n" qdisc replace dev eth0 root netem ${3:?netem spec} ;;
  stop-server) server stop ;;
  start-server) server start ;;
  restart-server) server stop && server start ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
