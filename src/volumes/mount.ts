// The local driver's `type`/`device`/`o` options: the volume's _data is a
// mount (tmpfs, a bind, nfs, …) made at first use. We call mount(8) so that
// the usual helpers (mount.nfs, mount.cifs) and option parsing apply.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { promisify } from 'node:util';
import { internal } from '../util/index.js';

const run = promisify(execFile);

export interface MountOptions {
  type?: string;
  device?: string;
  o?: string;
}

/** True when `path` is a mount point (per /proc/self/mountinfo; survives daemon restarts). */
export function isMountpoint(path: string): boolean {
  const want = posix.resolve(path);
  let info: string;
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return false;
  }
  for (const line of info.split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 5) continue;
    // The kernel escapes space, tab, newline and backslash as \ooo.
    const mp = fields[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mp === want) return true;
  }
  return false;
}

export async function mountVolume(target: string, opts: MountOptions): Promise<void> {
  const args: string[] = [];
  if (opts.type) args.push('-t', opts.type);
  if (opts.o) args.push('-o', opts.o);
  args.push('--', opts.device || 'none', target);
  try {
    await run('mount', args);
  } catch (err) {
    // Never echo a password given in `o=` back to the client.
    const msg = String((err as { stderr?: string }).stderr || (err as Error).message).trim().replace(/password=[^,\s]*/g, 'password=********');
    throw internal(`failed to mount local volume: ${msg}`, err);
  }
}

export async function unmountVolume(target: string): Promise<void> {
  if (!isMountpoint(target)) return;
  try {
    await run('umount', ['--', target]);
  } catch (err) {
    if (isMountpoint(target)) throw internal(`failed to unmount local volume: ${(err as Error).message}`, err);
  }
}
