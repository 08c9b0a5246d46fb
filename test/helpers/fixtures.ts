// Test images made offline: a busybox rootfs from Debian's busybox-static.
import { mkdtempSync, mkdirSync, copyFileSync, symlinkSync, writeFileSync, existsSync, chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';

export const BUSYBOX = '/bin/busybox';

/** A directory holding a minimal busybox root filesystem. */
export function busyboxRootfs(dir = mkdtempSync(join(tmpdir(), 'berth-rootfs-'))): string {
  for (const d of ['bin', 'etc', 'tmp', 'root', 'home', 'var', 'usr/bin', 'sbin', 'proc', 'sys', 'dev']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  const applets = execFileSync(BUSYBOX, ['--list']).toString().split('\n').filter(Boolean);
  for (const a of applets) {
    if (a === 'busybox') continue;
    const p = join(dir, 'bin', a);
    if (!existsSync(p)) symlinkSync('busybox', p);
  }
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nwww:x:33:33:www:/var/www:/bin/sh\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nwww:x:33:\nnogroup:x:65534:\nstaff:x:50:www\n');
  return dir;
}

/** A tar (uncompressed) of a busybox root filesystem, as `docker import` takes. */
export function busyboxTar(out = join(mkdtempSync(join(tmpdir(), 'berth-tar-')), 'busybox.tar')): string {
  const dir = busyboxRootfs();
  try {
    execFileSync('tar', ['-C', dir, '--numeric-owner', '-cf', out, '.']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
