#!/bin/sh
# PID 1 of the UML kernel, on the host's / (hostfs, read-only): build a writable overlay root and go on
# in it, so that the VM's /etc/exports, /var/lib/nfs, /run… never touch the host's files.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/ov/upper /run/ov/work /run/ov/root
insmod "/usr/lib/uml/modules/$(uname -r)/kernel/fs/overlayfs/overlay.ko"
mount -t overlay overlay -o lowerdir=/,upperdir=/run/ov/upper,workdir=/run/ov/work /run/ov/root
R=$(dirname "$0")
exec chroot /run/ov/root /bin/bash "$R/stage2.sh" "$R"
