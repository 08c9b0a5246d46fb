#!/usr/bin/env bash
# One-time set-up on Debian 12: the runtime pieces berth drives, then the build.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS="runc crun conmon catatonit tini busybox-static iproute2 iptables nftables docker-registry skopeo
      netavark aardvark-dns python3-docker python3-yaml docker-compose tmux jq procps openssl apache2-utils zstd
      libseccomp-dev debootstrap"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# The distribution registry package starts a service on install on some systems; berth's tests start their own.
npm ci --no-audit --no-fund
npm run build
npm run build:cli
# The Debian test image (test/compat/debian.test.ts), built once into /var/cache/berth-test (≈ 75 s);
# without network to the Debian mirror the tests that need it skip, so this must not fail the set-up.
./scripts/debian-fixture.sh >/dev/null || echo "setup: Debian test image not built (debian tests will skip)" >&2
