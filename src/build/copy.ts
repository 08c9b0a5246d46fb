// COPY/ADD: files from the build context (or another stage's root) into a
// mounted container root. Sources are resolved inside their root and
// destinations inside the container's root (resolveInRoot): a symlink in the
// context or in the image never leads a copy outside either.
import {
  chmodSync, copyFileSync, lchownSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, openSync, readSync, closeSync,
  createReadStream, linkSync, type Stats,
} from 'node:fs';
import { posix } from 'node:path';
import { hasCode, invalidArgument, resolveInRoot } from '../util/index.js';
import { applyLayer } from '../snapshots/index.js';
import { lgetxattr, lsetxattr } from '../sys/index.js';

// Docker's COPY goes through a tar that carries this one xattr: a file's capabilities (ping's cap_net_raw).
const CAPS_XATTR = 'security.capability';

export interface CopyOptions {
  /** Owner of what is copied (default: root). */
  uid?: number;
  gid?: number;
  /** --chmod: mode bits for copied files and directories. */
  mode?: number;
  /** ADD: a local tar archive (maybe gzip/zstd compressed) is unpacked at the destination. */
  extract?: boolean;
  /** 'COPY' or 'ADD', for messages. */
  cmd: string;
  /** Sources come from the build context (for Docker's not-found wording). */
  fromContext: boolean;
}

const GLOB = /[*?[]/;

function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) { re += '\\['; continue; }
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('!') || body.startsWith('^')) body = '^' + body.slice(1);
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (ch === '\\' && i + 1 < pattern.length) re += '\\' + pattern[++i];
    else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

/** Paths (relative to `root`) that `src` names; globs are matched one path component at a time. */
export function matchSources(root: string, src: string): string[] {
  const parts = posix.normalize('/' + src).split('/').filter(Boolean);
  let found: string[] = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const base of found) {
      if (!GLOB.test(part)) { next.push(base ? `${base}/${part}` : part); continue; }
      let names: string[];
      try { names = readdirSync(resolveInRoot(root, base)).sort(); } catch { continue; }
      const re = globToRegExp(part);
      for (const n of names) if (re.test(n)) next.push(base ? `${base}/${n}` : n);
    }
    found = next;
  }
  return found.filter((rel) => {
    try { lstatSync(resolveInRoot(root, rel)); return true; } catch { return false; }
  });
}

function isArchive(path: string): boolean {
  const head = Buffer.alloc(512);
  const fd = openSync(path, 'r');
  let n: number;
  try { n = readSync(fd, head, 0, 512, 0); } finally { closeSync(fd); }
  if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true;
  if (n >= 4 && head.readUInt32BE(0) === 0x28b52ffd) return true;
  return n >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

class Copier {
  /** Source dev:ino → first copy: files hardlinked within one source stay hardlinked, as through Docker's tar. */
  readonly links = new Map<string, string>();

  constructor(readonly rootfs: string, readonly o: CopyOptions) {}

  private own(path: string, st: Stats, isLink = false): void {
    lchownSync(path, this.o.uid ?? 0, this.o.gid ?? 0);
    if (!isLink) {
      chmodSync(path, this.o.mode ?? (st.mode & 0o7777));
      lutimesSync(path, st.atime, st.mtime);
    }
  }

  /** Makes the directories of container path `dir` that are missing (as root, 0755), and returns its host path. */
  mkdirs(dir: string): string {
    const parts = dir.split('/').filter(Boolean);
    let cur = '/';
    for (const p of parts) {
      cur = posix.join(cur, p);
      const host = resolveInRoot(this.rootfs, cur);
      try {
        const st = lstatSync(host);
        if (!st.isDirectory()) throw invalidArgument(`${this.o.cmd} failed: cannot copy to ${dir}: ${cur} is not a directory`);
      } catch (err) {
        if (!hasCode(err, 'ENOENT')) throw err;
        // `host` is resolved inside the root; what is missing of it is plain new directories.
        mkdirSync(host, { recursive: true, mode: 0o755 });
      }
    }
    return resolveInRoot(this.rootfs, dir);
  }

  /** Copies host entry `src` (already resolved in its root) to container path `dest`. */
  entry(src: string, dest: string): void {
    const st = lstatSync(src);
    const host = resolveInRoot(this.rootfs, dest, { followFinal: !st.isSymbolicLink() });
    if (st.isDirectory()) {
      let existing: Stats | undefined;
      try { existing = lstatSync(host); } catch (err) { if (!hasCode(err, 'ENOENT')) throw err; }
      if (existing && !existing.isDirectory()) rmSync(host, { force: true });
      if (!existing || !existing.isDirectory()) mkdirSync(host);
      for (const name of readdirSync(src).sort()) this.entry(posix.join(src, name), posix.join(dest, name));
      this.own(host, st);
      return;
    }
    try {
      const existing = lstatSync(host);
      rmSync(host, { recursive: existing.isDirectory(), force: true });
    } catch (err) { if (!hasCode(err, 'ENOENT')) throw err; }
    if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(src), host);
      this.own(host, st, true);
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? this.links.get(key) : undefined;
      if (first !== undefined) { linkSync(first, host); return; }
      if (st.nlink > 1) this.links.set(key, host);
      copyFileSync(src, host);
      this.own(host, st);
      // After own(): chown drops security.capability.
      const caps = lgetxattr(src, CAPS_XATTR);
      if (caps) lsetxattr(host, CAPS_XATTR, caps);
    }
    // Sockets, devices and fifos in a context are not copied.
  }
}

/** Copies `sources` (paths in `srcRoot`) to container path `dest` under `rootfs`. */
export async function copyInto(rootfs: string, srcRoot: string, sources: string[], dest: string, workdir: string, o: CopyOptions): Promise<void> {
  const destIsDir = dest.endsWith('/') || dest === '.' || dest.endsWith('/.');
  const destPath = posix.resolve(workdir || '/', dest);
  const matched: string[] = [];
  for (const s of sources) {
    const m = matchSources(srcRoot, s);
    if (m.length === 0) {
      throw invalidArgument(o.fromContext
        ? `${o.cmd} failed: file not found in build context or excluded by .dockerignore: stat ${s}: file does not exist`
        : `${o.cmd} failed: stat ${s}: file does not exist`);
    }
    matched.push(...m);
  }
  if (matched.length > 1 && !destIsDir) {
    throw invalidArgument(`When using ${o.cmd} with more than one source file, the destination must be a directory and end with a /`);
  }
  const c = new Copier(rootfs, o);
  for (const rel of matched) {
    c.links.clear(); // each source is its own tar in Docker: links do not join two sources
    // A source that is itself a symlink is followed (inside its root), as Docker does.
    const abs = resolveInRoot(srcRoot, rel);
    const st = lstatSync(abs);
    if (st.isDirectory()) {
      // A directory's contents are copied, not the directory itself.
      c.mkdirs(destPath);
      for (const name of readdirSync(abs).sort()) c.entry(posix.join(abs, name), posix.join(destPath, name));
      continue;
    }
    if (o.extract && st.isFile() && isArchive(abs)) {
      const dir = c.mkdirs(destPath);
      await applyLayer(dir, createReadStream(abs));
      continue;
    }
    let target = destPath;
    if (destIsDir) target = posix.join(destPath, posix.basename(rel));
    else {
      try {
        if (lstatSync(resolveInRoot(rootfs, destPath)).isDirectory()) target = posix.join(destPath, posix.basename(rel));
      } catch (err) { if (!hasCode(err, 'ENOENT')) throw err; }
    }
    c.mkdirs(posix.dirname(target));
    c.entry(abs, target);
  }
}
