// applyLayer: extract an OCI layer tar into a directory, safely.
//
// Safety model (the tar is untrusted): every entry name is cleaned to a
// relative path, and one that climbs out with `..` is rejected. Parent
// directories are resolved with resolveInRoot, so a symlink planted by an
// earlier entry is followed only as the container would see it (inside the
// root); the final component is never followed (lchown, lutimes, O_NOFOLLOW,
// an existing entry is removed first). Hardlinks must name an existing
// non-directory inside the layer. Entries are applied one at a time, so no
// entry can race another.
//
// OCI whiteouts become overlayfs ones: `.wh.<name>` → a 0/0 character device
// `<name>`; `.wh..wh..opq` → xattr trusted.overlay.opaque=y on the directory.
import { createHash } from 'node:crypto';
import {
  constants as fsc, chmodSync, openSync, writeSync, fchownSync, fchmodSync, closeSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, rmSync, symlinkSync,
  type MakeDirectoryOptions, type RmOptions,
} from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

// Metadata calls (mkdir, symlink, chown, utimes, …) take microseconds; going
// through libuv's thread pool for each of them made small-file layers slow
// (busybox: 284 entries). They run synchronously; file contents stay async.
const chmod = async (p: string, mode: number) => chmodSync(p, mode);
const lchown = async (p: string, uid: number, gid: number) => lchownSync(p, uid, gid);
const link = async (a: string, b: string) => linkSync(a, b);
const lstat = async (p: string) => lstatSync(p);
const lutimes = async (p: string, a: number | Date, m: number | Date) => lutimesSync(p, a, m);
const mkdir = async (p: string, o?: MakeDirectoryOptions) => mkdirSync(p, o);
const rm = async (p: string, o?: RmOptions) => rmSync(p, o);
const symlink = async (t: string, p: string) => symlinkSync(t, p);
const SMALL_FILE = 256 * 1024;
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { errorKind, hasCode, invalidArgument, resolveInRoot, type Logger } from '../util/index.js';
import { S_IFBLK, S_IFCHR, S_IFIFO, lsetxattr, makedev, mknod } from '../sys/index.js';
import { decompress } from './decompress.js';
import { installPaxPatch, paxXattrs } from './pax.js';

installPaxPatch();

export interface ApplyOptions {
  signal?: AbortSignal;
  log?: Logger;
  zstdBinary?: string;
}

export interface ApplyResult {
  /** Bytes of the uncompressed tar. */
  size: number;
  /** sha256:<hex> of the uncompressed tar. */
  diffId: string;
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE = '.wh..wh..opq';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

/**
 * Clean a tar entry name into a path relative to the layer root ('' = root).
 * Leading '/' and './' are dropped; a name escaping the root is rejected.
 */
export function cleanEntryName(raw: string): string {
  if (raw.includes('\0')) throw invalidArgument(`invalid tar entry name ${JSON.stringify(raw)}`);
  const rel = posix.normalize(raw.replace(/^\/+/, '') || '.').replace(/\/+$/, '');
  if (rel === '..' || rel.startsWith('../')) {
    throw invalidArgument(`invalid tar entry ${JSON.stringify(raw)}: path escapes the layer root`);
  }
  return rel === '.' ? '' : rel;
}

interface Times { atime: number; mtime: number }

interface State {
  root: string;
  log?: Logger;
  /** Directory mtimes are set last: creating their children changes them. */
  dirTimes: Map<string, Times>;
}

export async function applyLayer(dir: string, src: Readable, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const root = posix.resolve(dir);
  await mkdir(root, { recursive: true });
  opts.signal?.throwIfAborted();

  const plain = await decompress(src, { zstdBinary: opts.zstdBinary });
  const hash = createHash('sha256');
  let size = 0;
  const extract = tar.extract();

  // Feed the parser by hand (tar-stream is built on streamx) and hash exactly
  // the bytes it sees, trailing padding included: that is the diffID.
  const feed = (async () => {
    try {
      for await (const chunk of plain) {
        if (extract.destroyed) return;
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
        if (!extract.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => { extract.off('drain', done); extract.off('close', done); resolve(); };
            extract.on('drain', done);
            extract.on('close', done);
          });
        }
      }
      (extract as unknown as { end(): void }).end();
    } catch (err) {
      extract.destroy(err as Error);
    }
  })();

  const onAbort = () => {
    const reason = opts.signal?.reason ?? new Error('aborted');
    extract.destroy(reason);
    plain.destroy(reason);
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort(); // aborted while sniffing the compression

  let parserError: unknown;
  extract.on('error', (e: unknown) => { parserError ??= e; });

  const st: State = { root, log: opts.log, dirTimes: new Map() };
  try {
    for await (const entry of extract) {
      await applyEntry(st, entry.header as Header, entry);
    }
  } catch (err) {
    plain.destroy();
    await feed;
    if (opts.signal?.aborted) throw opts.signal.reason;
    // An entry stream fails with a bare "destroyed" when the parser gave up:
    // report the parser's reason. Errors without an errno or a kind come
    // from the parser (or the decompressor): the layer is bad input.
    const known = (e: unknown) => errorKind(e) !== undefined || typeof (e as NodeJS.ErrnoException).errno === 'number';
    const primary = known(err) ? err : (parserError ?? err);
    if (known(primary)) throw primary;
    throw invalidArgument(`invalid layer tar: ${(primary as Error).message}`, primary);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  await feed;

  // Deepest first is not required (a dir's mtime isn't touched by its
  // children's utimes), but reverse order is cheap and obvious.
  for (const [path, t] of [...st.dirTimes].reverse()) {
    await lutimes(path, t.atime, t.mtime).catch((err) => { if (!hasCode(err, 'ENOENT')) throw err; });
  }
  return { size, diffId: `sha256:${hash.digest('hex')}` };
}

async function writeAll(fh: FileHandle, bufs: Buffer[]): Promise<void> {
  const total = bufs.reduce((n, b) => n + b.length, 0);
  const { bytesWritten } = await fh.writev(bufs);
  if (bytesWritten < total) await fh.write(Buffer.concat(bufs).subarray(bytesWritten)); // short write: finish it
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) { /* discard */ }
}

/** Resolve (and create) the parent directory of `rel` inside the root. */
async function parentDir(root: string, rel: string): Promise<string> {
  const parent = resolveInRoot(root, posix.dirname(rel));
  await mkdir(parent, { recursive: true, mode: 0o755 });
  return parent;
}

/** Remove what is at `path` (never following it) unless it is a directory we keep. */
async function clearPath(st: State, path: string, keepDir: boolean): Promise<boolean> {
  let existing;
  try {
    existing = await lstat(path);
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return false;
    throw err;
  }
  if (keepDir && existing.isDirectory()) return true;
  await rm(path, { recursive: true, force: true });
  for (const p of st.dirTimes.keys()) if (p === path || p.startsWith(path + '/')) st.dirTimes.delete(p);
  return false;
}

function paxNumber(pax: Record<string, string> | null | undefined, key: string): number | undefined {
  const v = pax?.[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

type Header = Omit<tar.Header, 'pax'> & { pax?: Record<string, string> | null };

async function applyEntry(st: State, h: Header, entry: AsyncIterable<unknown>): Promise<void> {
  const rel = cleanEntryName(h.name);
  const base = posix.basename(rel);

  if (base.startsWith(WHITEOUT_PREFIX)) {
    await drain(entry);
    const parent = await parentDir(st.root, rel);
    if (base === OPAQUE) {
      lsetxattr(parent, OPAQUE_XATTR, 'y');
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) return; // other AUFS metadata: meaningless here
    const hidden = base.slice(WHITEOUT_PREFIX.length);
    if (hidden === '' || hidden === '.' || hidden === '..') throw invalidArgument(`invalid whiteout ${JSON.stringify(h.name)}`);
    const target = posix.join(parent, hidden);
    await clearPath(st, target, false);
    mknod(target, S_IFCHR, makedev(0, 0));
    return;
  }

  const mode = (h.mode ?? 0o644) & 0o7777;
  const uid = paxNumber(h.pax, 'uid') ?? h.uid ?? 0;
  const gid = paxNumber(h.pax, 'gid') ?? h.gid ?? 0;
  const mtime = paxNumber(h.pax, 'mtime') ?? (h.mtime ? h.mtime.getTime() / 1000 : 0);
  const atime = paxNumber(h.pax, 'atime') ?? mtime;
  const xattrs = paxXattrs(h.pax);

  if (rel === '') {
    // The layer root itself ("./"): only its metadata can change.
    await drain(entry);
    if (h.type !== 'directory') throw invalidArgument(`invalid tar entry ${JSON.stringify(h.name)}: the root must be a directory`);
    await finish(st, st.root, { uid, gid, mode, xattrs }, false);
    st.dirTimes.set(st.root, { atime, mtime });
    return;
  }

  const parent = await parentDir(st.root, rel);
  const target = posix.join(parent, base);

  switch (h.type) {
    case 'directory': {
      await drain(entry);
      if (!(await clearPath(st, target, true))) await mkdir(target, { mode: 0o700 });
      await finish(st, target, { uid, gid, mode, xattrs }, false);
      st.dirTimes.set(target, { atime, mtime });
      return;
    }
    case 'file':
    case 'contiguous-file': {
      await clearPath(st, target, false);
      if ((h.size ?? 0) <= SMALL_FILE) {
        // Small files: gather the bytes, then one synchronous open/write/close.
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        const fd = openSync(target, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
        try {
          const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          for (let off = 0; off < data.length;) off += writeSync(fd, data, off, data.length - off);
          fchownSync(fd, uid, gid);
          fchmodSync(fd, mode);
        } finally {
          closeSync(fd);
        }
        await finish(st, target, { xattrs }, false);
        await lutimes(target, atime, mtime);
        return;
      }
      const fh = await open(target, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
      try {
        // Batch chunks into ~1 MiB writev calls: one syscall per 64 KiB chunk is the bottleneck.
        let batch: Buffer[] = [];
        let batched = 0;
        for await (const chunk of entry) {
          batch.push(chunk as Buffer);
          batched += (chunk as Buffer).length;
          if (batched >= 1 << 20) {
            await writeAll(fh, batch);
            batch = [];
            batched = 0;
          }
        }
        if (batch.length) await writeAll(fh, batch);
        // chown clears setuid/setgid and capabilities: chown, then chmod, then xattrs.
        await fh.chown(uid, gid);
        await fh.chmod(mode);
      } finally {
        await fh.close();
      }
      await finish(st, target, { xattrs }, false);
      await lutimes(target, atime, mtime);
      return;
    }
    case 'symlink': {
      await drain(entry);
      if (!h.linkname) throw invalidArgument(`invalid symlink ${JSON.stringify(h.name)}: empty target`);
      await clearPath(st, target, false);
      // The target text is stored as-is: it is only ever resolved inside a root.
      await symlink(h.linkname, target);
      await finish(st, target, { uid, gid, xattrs }, true);
      await lutimes(target, atime, mtime);
      return;
    }
    case 'link': {
      await drain(entry);
      const linkRel = cleanEntryName(h.linkname ?? '');
      if (linkRel === '') throw invalidArgument(`invalid hardlink ${JSON.stringify(h.name)}: target is the root`);
      const source = posix.join(resolveInRoot(st.root, posix.dirname(linkRel)), posix.basename(linkRel));
      if (source === target) return;
      let srcStat;
      try {
        srcStat = await lstat(source);
      } catch (err) {
        if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR')) {
          throw invalidArgument(`invalid hardlink ${JSON.stringify(h.name)} -> ${JSON.stringify(h.linkname)}: target is not in the layer`);
        }
        throw err;
      }
      if (srcStat.isDirectory()) throw invalidArgument(`invalid hardlink ${JSON.stringify(h.name)}: target is a directory`);
      await clearPath(st, target, false);
      await link(source, target); // link(2) never follows a symlink source
      return;
    }
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      await drain(entry);
      await clearPath(st, target, false);
      const kind = h.type === 'fifo' ? S_IFIFO : h.type === 'block-device' ? S_IFBLK : S_IFCHR;
      const dev = h.type === 'fifo' ? 0 : makedev(h.devmajor ?? 0, h.devminor ?? 0);
      mknod(target, kind | 0o600, dev);
      await finish(st, target, { uid, gid, mode, xattrs }, false);
      await lutimes(target, atime, mtime);
      return;
    }
    default:
      await drain(entry);
      throw invalidArgument(`unsupported tar entry type ${JSON.stringify(h.type)} for ${JSON.stringify(h.name)}`);
  }
}

/** Ownership, mode and xattrs of a created path (never following it). */
async function finish(
  st: State,
  path: string,
  m: { uid?: number; gid?: number; mode?: number; xattrs: Map<string, Buffer> },
  isSymlink: boolean,
): Promise<void> {
  if (m.uid !== undefined && m.gid !== undefined) await lchown(path, m.uid, m.gid);
  if (m.mode !== undefined && !isSymlink) await chmod(path, m.mode);
  for (const [name, value] of m.xattrs) {
    // A layer may not steer overlayfs itself (redirects, metacopy, opaque by
    // xattr): only the OCI whiteout files above set overlay attributes.
    if (name.startsWith('trusted.overlay.')) {
      st.log?.warn('ignoring overlay xattr in layer', { path, name });
      continue;
    }
    try {
      lsetxattr(path, name, value);
    } catch (err) {
      // e.g. security.selinux on a host without SELinux, user.* on a symlink.
      if (hasCode(err, 'ENOTSUP') || hasCode(err, 'EPERM')) {
        st.log?.warn('cannot set xattr', { path, name, error: (err as Error).message });
        continue;
      }
      throw err;
    }
  }
}
