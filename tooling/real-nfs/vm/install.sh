#!/bin/bash
# Installs what the real-NFS harness needs, from Debian, if missing: the User-Mode Linux kernel (an
# ordinary process, no KVM) with its modules (nfsd, NFS client, bridge, veth, netem), the NFS server's
# userspace (rpc.nfsd, rpc.mountd, exportfs, rpcbind), iproute2 (ip, tc), e2fsprogs (mkfs.ext4 for the
# exported filesystem), util-linux (nsenter, unshare), iptables (a lost reply: iptables-legacy with
# xt_string and xt_recent) and kmod (modprobe inside the VM).
set -euo pipefail
need=()
command -v linux.uml >/dev/null 2>&1 || need+=(user-mode-linux)
command -v rpc.nfsd >/dev/null 2>&1 || [ -x /usr/sbin/rpc.nfsd ] || need+=(nfs-kernel-server)
{ command -v ip && command -v tc; } >/dev/null 2>&1 || need+=(iproute2)
command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)
{ command -v nsenter && command -v unshare; } >/dev/null 2>&1 || need+=(util-linux)
command -v iptables-legacy >/dev/null 2>&1 || need+=(iptables)
command -v modprobe >/dev/null 2>&1 || [ -x /usr/sbin/modprobe ] || need+=(kmod)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "real-nfs: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d may refuse to start the host's own nfs-server: fine, the harness runs nfsd inside UML only.
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
