import { lstatSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import { hasCode, invalidArgument } from './errors.js';

/**
 * Resolve `unsafePath` inside `root` the way the container would see it:
 * symlinks are followed, but always interpreted relative to `root`, and `..`
 * never climbs above it (like a chroot). Missing components are kept as-is.
 * Returns an absolute host path that is always `root` or below it.
 */
export function resolveInRoot(root: string, unsafePath: string, opts: { followFinal?: boolean } = {}): string {
  const followFinal = opts.followFinal ?? true;
  const rootClean = posix.resolve(root);
  let pending = posix.normalize('/' + unsafePath).split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') { done.pop(); continue; }
    const candidate = posix.join(rootClean, ...done, part);
    const isFinal = pending.length === 0;
    let linkTarget: string | undefined;
    if (!isFinal || followFinal) {
      try {
        const st = lstatSync(candidate);
        if (st.isSymbolicLink()) linkTarget = readlinkSync(candidate);
      } catch (err) {
        if (!hasCode(err, 'ENOENT') && !hasCode(err, 'ENOTDIR')) throw err;
      }
    }
    if (linkTarget === undefined) { done.push(part); continue; }
    if (++links > 255) throw invalidArgument(`too many levels of symbolic links: ${unsafePath}`);
    if (linkTarget.startsWith('/')) done.length = 0;
    pending = [...linkTarget.split('/').filter(Boolean), ...pending];
  }
  return posix.join(rootClean, ...done);
}

/** True when `p` is `root` or inside it (purely lexical). */
export function isWithin(root: string, p: string): boolean {
  const rel = posix.relative(posix.resolve(root), posix.resolve(p));
  return rel === '' || (!rel.startsWith('..') && !posix.isAbsolute(rel));
}
