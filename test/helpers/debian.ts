// The Debian bookworm minbase test image: a rootfs tar made by debootstrap (scripts/debian-fixture.sh),
// cached under /var/cache/berth-test so it is built once (by scripts/setup.sh) and reused by every run.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO } from './daemon.js';

export const DEBIAN_CACHE = process.env.BERTH_TEST_CACHE ?? '/var/cache/berth-test';
export const DEBIAN_TAR = join(DEBIAN_CACHE, 'debian-bookworm-minbase.tar');

/**
 * The tar's path, building it on demand (≈ 75 s) when setup.sh did not; or why it cannot exist here
 * (no debootstrap, mirror unreachable): tests skip with that reason instead of failing offline CI.
 */
export function debianTar(): { tar: string; skip?: undefined } | { tar?: undefined; skip: string } {
  if (existsSync(DEBIAN_TAR) && statSync(DEBIAN_TAR).size > 0) return { tar: DEBIAN_TAR };
  const r = spawnSync(join(REPO, 'scripts/debian-fixture.sh'), [], {
    env: { ...process.env, BERTH_TEST_CACHE: DEBIAN_CACHE }, encoding: 'utf8', timeout: 10 * 60_000,
  });
  if (r.status === 0 && existsSync(DEBIAN_TAR)) return { tar: DEBIAN_TAR };
  const why = (r.stderr || r.error?.message || '').trim().split('\n').pop() ?? '';
  if (r.status === 2 || r.status === 3) return { skip: `no Debian test image: ${why}` };
  // Anything else (a debootstrap that broke half-way with network up) is a real failure.
  throw new Error(`scripts/debian-fixture.sh failed (${r.status}): ${r.stderr}`);
}
