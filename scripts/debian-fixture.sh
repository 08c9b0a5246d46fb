#!/usr/bin/env bash
# Builds the Debian bookworm minbase test image as a tar (test/compat/debian.test.ts imports it).
# Built once into a fixed cache dir and reused by later runs and CI; a no-op when the tar exists.
# iputils-ping + libcap2-bin are added so the image carries a file capability (ping's
# security.capability xattr, set by its postinst via setcap), which minbase alone has none of.
# Exit 3 = the Debian mirror is unreachable (the tests skip on that instead of failing).
set -euo pipefail
CACHE="${BERTH_TEST_CACHE:-/var/cache/berth-test}"
OUT="$CACHE/debian-bookworm-minbase.tar"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
[ -s "$OUT" ] && { echo "$OUT"; exit 0; }
command -v debootstrap >/dev/null || { echo "debootstrap is not installed (scripts/setup.sh installs it)" >&2; exit 2; }
mkdir -p "$CACHE"
# A quick reachability probe so an offline machine fails fast with a clear reason.
# (Behind a proxy, debootstrap goes through it: leave the verdict to debootstrap.)
host="$(echo "$MIRROR" | sed -E 's#^[a-z]+://([^/:]+).*#\1#')"; port=80; case "$MIRROR" in https:*) port=443;; esac
if [ -z "${http_proxy:-}${https_proxy:-}" ] && ! timeout 20 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then
  echo "Debian mirror $MIRROR is unreachable" >&2; exit 3
fi
DIR="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
trap 'rm -rf "$DIR" "$OUT.tmp.$$"' EXIT
start=$(date +%s)
if ! debootstrap --variant=minbase --include=iputils-ping,libcap2-bin bookworm "$DIR" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1; then
  tail -5 "$CACHE/debootstrap.log" >&2
  if grep -qiE 'Failed getting release file|Could not resolve|unable to (fetch|connect)|Temporary failure' "$CACHE/debootstrap.log"; then exit 3; fi
  exit 1
fi
# Keep the image small and deterministic: no apt lists or package cache.
rm -rf "$DIR"/var/cache/apt/archives/*.deb "$DIR"/var/lib/apt/lists/*
# --xattrs keeps security.capability; GNU tar records hardlinks as links by default.
tar -C "$DIR" --numeric-owner --xattrs --xattrs-include='*' -cf "$OUT.tmp.$$" .
mv "$OUT.tmp.$$" "$OUT"
echo "debootstrap+tar took $(( $(date +%s) - start ))s" >&2
echo "$OUT"
