// Overlay mounts for container root filesystems.
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { hasCode } from '../util/index.js';
import { MNT_DETACH, mount, umount2, mountAsync, umount2Async } from '../sys/index.js';

/** mount(2) data must fit in one page, NUL included. */
export const MOUNT_DATA_MAX = 4095;

/** Characters overlayfs would split lowerdir= or the option string on. */
export const needsEscape = (p: string): boolean => /[,:\\]/.test(p);

export function overlayOptions(lowerTopFirst: readonly string[], upperDir: string, workDir: string): string {
  return `lowerdir=${lowerTopFirst.join(':')},upperdir=${upperDir},workdir=${workDir},index=off`;
}

/** Mount an overlay at `target` (lowerdirs already top-first and short enough). */
export function mountOverlay(lowerTopFirst: readonly string[], upperDir: string, workDir: string, target: string): void {
  mount('overlay', target, 'overlay', 0, overlayOptions(lowerTopFirst, upperDir, workDir));
}

/** Decode the octal escapes (\040 etc.) of /proc/self/mountinfo fields. */
const unescapeMountField = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** True when `target` is a mount point in this process's mount namespace. */
export function isMounted(target: string): boolean {
  const want = posix.resolve(target);
  const info = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const line of info.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4 && unescapeMountField(f[4]!) === want) return true;
  }
  return false;
}

/**
 * Unmount `target`; a busy mount is detached lazily (it goes away once the
 * last user lets go). Unmounting something that is not mounted is a no-op.
 */
export function unmount(target: string): void {
  // Stacked mounts (e.g. mounted twice) need one umount each.
  for (let i = 0; i < 16; i++) {
    try {
      umount2(target, 0);
    } catch (err) {
      if (hasCode(err, 'EINVAL') || hasCode(err, 'ENOENT')) return; // not (or no longer) mounted
      if (!hasCode(err, 'EBUSY')) throw err;
      umount2(target, MNT_DETACH);
    }
    if (!isMounted(target)) return;
  }
}

/** mountOverlay on the thread pool: the event loop keeps serving while the kernel mounts. */
export async function mountOverlayAsync(lowerTopFirst: readonly string[], upperDir: string, workDir: string, target: string): Promise<void> {
  await mountAsync('overlay', target, 'overlay', 0, overlayOptions(lowerTopFirst, upperDir, workDir));
}

/**
 * unmount() on the thread pool. Repeats until the kernel says nothing is
 * mounted there any more (EINVAL), which also undoes stacked mounts, without
 * reading /proc/self/mountinfo.
 */
export async function unmountAsync(target: string): Promise<void> {
  for (let i = 0; i < 16; i++) {
    try {
      await umount2Async(target, 0);
    } catch (err) {
      if (hasCode(err, 'EINVAL') || hasCode(err, 'ENOENT')) return;
      if (!hasCode(err, 'EBUSY')) throw err;
      await umount2Async(target, MNT_DETACH);
    }
  }
}
