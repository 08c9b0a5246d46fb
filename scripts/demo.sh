#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: set up, start berthd, make an image offline, run a container.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
SOCK=/run/berth/berth.sock
export DOCKER_HOST=unix://$SOCK
if ! docker version >/dev/null 2>&1; then
  mkdir -p /var/log
  nohup bin/berthd >/var/log/berthd.log 2>&1 &
  for _ in $(seq 1 100); do docker version >/dev/null 2>&1 && break; sleep 0.1; done
fi
# A busybox image from Debian's busybox-static, made offline.
ROOTFS=$(mktemp -d)
mkdir -p "$ROOTFS"/{bin,etc,tmp,root,proc,sys,dev}
cp /bin/busybox "$ROOTFS/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$ROOTFS/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$ROOTFS/etc/passwd"
echo 'root:x:0:' > "$ROOTFS/etc/group"
tar -C "$ROOTFS" --numeric-owner -c . | docker import --change 'CMD ["sh"]' - busybox:latest >/dev/null
rm -rf "$ROOTFS"
docker run --rm busybox echo "hello from a berth container"
echo "berthd is running (log: /var/log/berthd.log); try: DOCKER_HOST=$DOCKER_HOST docker run -it --rm busybox"
