#!/usr/bin/env bash
# Installs what tooling/real-gluster needs, from Debian, if it is missing: glusterd and the gluster CLI
# (glusterfs-server), the FUSE client (glusterfs-client), ip/nsenter/setsid/mountpoint (iproute2, util-linux).
# Run as root. Prints how long it took.
set -euo pipefail
t0=$(date +%s)
need=()
command -v glusterd >/dev/null 2>&1 || need+=(glusterfs-server)
command -v glusterfs >/dev/null 2>&1 && [ -x /sbin/mount.glusterfs ] || need+=(glusterfs-client)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
for tool in nsenter setsid mountpoint unshare; do command -v "$tool" >/dev/null 2>&1 || { need+=(util-linux); break; }; done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "real-gluster: installing ${need[*]} needs root" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  echo "[real-gluster] installed ${need[*]} in $(($(date +%s) - t0)) s" >&2
fi
# Debian's package may start a glusterd of its own under systemd; the harness never uses it (it runs a private one).
