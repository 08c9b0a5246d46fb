// The container filesystem endpoints: stat, read and write paths (docker cp,
// the archive API), export of the whole root filesystem and the change list
// (docker diff).
//
// Paths are container paths, resolved the way a process in the container
// sees them: symlinks are followed inside the container (an absolute target
// starts again at the container root, `..` stops there), and a path under a
// volume or bind mount lands in that mount's host directory, as in dockerd,
// which archives in a private mount namespace with the volumes mounted in.
// Every host path comes from View.host() of a resolved container path, so it
// is the rootfs or a mount source or below them.
//
// A running container can change its tree while we read or write it, e.g.
// swap a directory for a symlink to / between our lookup and our use. So
// directories are pinned: opened with O_NOFOLLOW, their real location checked
// through /proc/self/fd/N, and everything below is reached through that fd
// path; final components are never followed (lstat, O_NOFOLLOW, lchown,
// lutimes, fchmod). Left open (dockerd closes them with a chroot): chmod of a
// device node just created, the recursive removal of a directory an entry
// replaces, and the metadata (not contents) of a stat'ed path.
import { spawn } from 'node:child_process';
import {
  constants as fsc, closeSync, fchmodSync, fchownSync, linkSync, lchownSync, lstatSync, lutimesSync, mkdirSync,
  openSync, readdirSync, readlinkSync, realpathSync, rmSync, symlinkSync, unlinkSync, writeSync, chmodSync,
  type BigIntStats, type Stats,
} from 'node:fs';
import { posix } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import {
  hasCode, invalidArgument, isWithin, notFound, resolveInRoot, type EventSink, type Logger,
} from '../util/index.js';
import { OPAQUE_XATTR, paxXattrs, tarAddEntry, tarAddFile, tarXattrs } from '../snapshots/index.js';
import { S_IFBLK, S_IFCHR, S_IFIFO, lgetxattr, lsetxattr, makedev, major, minor, mknod } from '../sys/index.js';

/** A volume or bind mount as the archive code sees it (tmpfs mounts live only in the container). */
export interface FsMount { destination: string; source: string; rw: boolean }

/** What the archive code needs of one container, for the duration of one call. */
export interface ContainerFilesystem {
  id: string;
  name: string;
  /** The image as the user gave it (for events). */
  image: string;
  /** The merged overlay, mounted while the call runs. */
  rootfs: string;
  upperDir: string;
  /** Image layer dirs, bottom first. */
  lowerDirs: string[];
  mounts: FsMount[];
  readonlyRootfs: boolean;
  /** uid/gid of the container's configured user, for copyUIDGID (undefined: no user set). */
  user(): { uid: number; gid: number } | undefined;
}

/** Gives the archive code a container's filesystem (mounting it for the call if needed). */
export interface FilesystemProvider {
  withFilesystem<T>(ref: string, fn: (fs: ContainerFilesystem) => Promise<T>, opts?: { mount?: boolean }): Promise<T>;
}

/** The X-Docker-Container-Path-Stat document. `mode` is a Go os.FileMode. */
export interface PathStat { name: string; size: number; mode: number; mtime: string; linkTarget: string }

/** One line of `docker diff`: Kind 0 = modified, 1 = added, 2 = deleted. */
export interface Change { Path: string; Kind: 0 | 1 | 2 }

// Go's os.FileMode type bits.
const GO_DIR = 2 ** 31;
const GO_SYMLINK = 2 ** 27;
const GO_DEVICE = 2 ** 26;
const GO_PIPE = 2 ** 25;
const GO_SOCKET = 2 ** 24;
const GO_SETUID = 2 ** 23;
const GO_SETGID = 2 ** 22;
const GO_CHARDEV = 2 ** 21;
const GO_STICKY = 2 ** 20;

/** A Unix st_mode as Go's os.FileMode (what Docker clients decode). */
export function goFileMode(mode: number): number {
  let m = mode & 0o777;
  switch (mode & 0o170000) {
    case 0o040000: m += GO_DIR; break;
    case 0o120000: m += GO_SYMLINK; break;
    case 0o060000: m += GO_DEVICE; break;
    case 0o020000: m += GO_DEVICE + GO_CHARDEV; break;
    case 0o010000: m += GO_PIPE; break;
    case 0o140000: m += GO_SOCKET; break;
  }
  if (mode & 0o4000) m += GO_SETUID;
  if (mode & 0o2000) m += GO_SETGID;
  if (mode & 0o1000) m += GO_STICKY;
  return m;
}

/** Go's RFC3339Nano (UTC): fractional seconds without trailing zeros. */
function goTime(st: BigIntStats): string {
  const sec = st.mtimeNs / 1_000_000_000n;
  const ns = st.mtimeNs % 1_000_000_000n;
  const base = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  const frac = ns === 0n ? '' : '.' + ns.toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${frac}Z`;
}

/** An errno error's text without Node's host paths ("ENOTDIR: not a directory, lstat '/var/lib/…'" → "not a directory"). */
const errnoText = (err: unknown) => (err as Error).message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*$/, '');

/** Errors leaving this module name container paths only: errno errors lose their host paths. */
function hideHostPaths(err: unknown): never {
  const e = err as NodeJS.ErrnoException & { kind?: string };
  // A path= with a component past NAME_MAX (or a whole path past PATH_MAX) is the client's mistake: a 400.
  if (e && e.kind === undefined && [e.code, (e.cause as NodeJS.ErrnoException | undefined)?.code].includes('ENAMETOOLONG')) {
    throw invalidArgument('file name too long', err);
  }
  if (e && e.kind === undefined && typeof e.errno === 'number') throw new Error(`${e.syscall ?? 'filesystem'}: ${errnoText(e)}`, { cause: err });
  throw err;
}

const fileNotFound = (path: string, ref: string) => notFound(`Could not find the file ${path} in container ${ref}`);

/** Docker treats `dir/` and `dir/.` as "the directory itself": the final symlink is followed. */
const followsFinal = (p: string) => p.endsWith('/') || p.endsWith('/.') || p === '.';

interface ResolvedMount { dest: string[]; source: string; rw: boolean }

const absOf = (parts: readonly string[]) => '/' + parts.join('/');
const fdPath = (fd: number) => `/proc/self/fd/${fd}`;

/** The container's tree as its processes see it: the rootfs with volumes and binds on top. */
export class View {
  readonly rootfs: string;
  private readonly mounts: ResolvedMount[];

  constructor(fs: Pick<ContainerFilesystem, 'rootfs' | 'mounts'>) {
    this.rootfs = posix.resolve(fs.rootfs);
    this.mounts = fs.mounts.map((m) => {
      // The runtime mounted at the destination as resolved inside the rootfs
      // (a symlinked destination mounts at its target).
      const rel = posix.relative(this.rootfs, resolveInRoot(this.rootfs, m.destination));
      let source = posix.resolve(m.source);
      try { source = realpathSync(source); } catch { /* missing source: lookups below find nothing */ }
      return { dest: rel ? rel.split('/') : [], source, rw: m.rw };
    }).filter((m) => m.dest.length > 0).sort((a, b) => b.dest.length - a.dest.length);
  }

  /** The mount holding container path `parts` (undefined: the rootfs), and that tree's host root. */
  owner(parts: readonly string[]): { root: string; rest: string[]; mount?: ResolvedMount } {
    for (const m of this.mounts) {
      if (m.dest.length <= parts.length && m.dest.every((p, i) => parts[i] === p)) {
        return { root: m.source, rest: parts.slice(m.dest.length), mount: m };
      }
    }
    return { root: this.rootfs, rest: [...parts] };
  }

  private readonly realRoots = new Map<string, string>();

  /** The real (symlink-free) host path of a tree root: the rootfs or a mount source. */
  realRoot(root: string): string {
    let r = this.realRoots.get(root);
    if (r === undefined) { r = realpathSync(root); this.realRoots.set(root, r); }
    return r;
  }

  /** True when `parts` is exactly a mount's destination (its host path is the trusted mount source). */
  isMountPoint(parts: readonly string[]): boolean {
    return this.mounts.some((m) => m.dest.length === parts.length && m.dest.every((p, i) => parts[i] === p));
  }

  /**
   * Open the directory at resolved container path `parts` and check where it
   * really is. The fd pins it: paths through /proc/self/fd/N no longer depend
   * on components a running container could swap for symlinks.
   */
  pinDir(parts: readonly string[]): number {
    const fd = openSync(this.host(parts), fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
    try {
      const real = readlinkSync(fdPath(fd));
      if (!isWithin(this.realRoot(this.owner(parts).root), real)) throw invalidArgument(`${absOf(parts)}: path escapes the container`);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return fd;
  }

  /** Host path of an already resolved container path. */
  host(parts: readonly string[]): string {
    const o = this.owner(parts);
    return posix.join(o.root, ...o.rest);
  }

  /** Resolve a container path (chroot-like, across mounts) to its components. */
  resolve(path: string, followFinal: boolean): string[] {
    let pending = posix.normalize('/' + path).split('/').filter(Boolean);
    const done: string[] = [];
    let links = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === '.') continue;
      if (part === '..') { done.pop(); continue; }
      done.push(part);
      if (pending.length === 0 && !followFinal) break;
      let target: string | undefined;
      try {
        const h = this.host(done);
        if (lstatSync(h).isSymbolicLink()) target = readlinkSync(h);
      } catch (err) {
        if (!hasCode(err, 'ENOENT') && !hasCode(err, 'ENOTDIR')) throw err;
      }
      if (target === undefined) continue;
      done.pop();
      if (++links > 255) throw invalidArgument(`too many levels of symbolic links: ${path}`);
      if (target.startsWith('/')) done.length = 0;
      pending = [...target.split('/').filter(Boolean), ...pending];
    }
    return done;
  }
}


/** Stat a container path as dockerd does (final symlink not followed unless the path ends in / or /.). */
export function statPath(view: View, ref: string, path: string): { stat: PathStat; parts: string[]; st: BigIntStats } {
  const absPath = posix.normalize('/' + path);
  const parts = view.resolve(path, followsFinal(path));
  // Go's filepath.Base of the path with its trailing "/." kept (moby's
  // PreserveTrailingDotOrSeparator): "dir/." is named "." and means "the
  // directory's contents" to the docker CLI.
  const dotted = path === '.' || path.endsWith('/.');
  let st: BigIntStats;
  try {
    st = lstatSync(view.host(parts), { bigint: true });
  } catch (err) {
    if (hasCode(err, 'ENOENT')) throw fileNotFound(path, ref);
    throw new Error(`lstat ${absPath}: ${errnoText(err)}`, { cause: err });
  }
  if (followsFinal(path) && !st.isDirectory()) throw new Error(`lstat ${absPath}: not a directory`);
  const name = dotted ? '.' : absPath === '/' ? '/' : posix.basename(absPath.replace(/\/+$/, ''));
  const linkTarget = st.isSymbolicLink() ? absOf(view.resolve(path, true)) : '';
  return {
    stat: { name, size: Number(st.size), mode: goFileMode(Number(st.mode)), mtime: goTime(st), linkTarget },
    parts, st,
  };
}

type Pack = tar.Pack;

/**
 * Add container path `parts` (and what is below it) to `pack` as `name`
 * ('' = the root itself: only its children, unprefixed, as docker export).
 * `at` is the host path to read it from: below the start, a path through the
 * parent's pinned fd, so a container swapping a directory for a symlink
 * mid-walk cannot make us read the host.
 */
async function addTree(pack: Pack, view: View, parts: string[], name: string, seen: Map<string, string>, at: string): Promise<void> {
  let st: Stats;
  try {
    st = lstatSync(at);
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return; // removed while we walk
    throw err;
  }
  const base = { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
  if (st.isDirectory()) {
    let fd: number;
    try {
      fd = view.isMountPoint(parts) || parts.length === 0 ? view.pinDir(parts) : openSync(at, fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
    } catch (err) {
      if (hasCode(err, 'ENOENT') || hasCode(err, 'ELOOP') || hasCode(err, 'ENOTDIR')) return; // changed under us
      throw err;
    }
    try {
      const dir = fdPath(fd);
      if (name) await tarAddEntry(pack, { ...base, name: `${name}/`, type: 'directory' }, tarXattrs(`${dir}/.`)); // "/." : the dir, not the fd link
      // A "dir/." request gives "./", "./child": the docker CLI renames the "." prefix to its destination.
      for (const child of readdirSync(dir).sort()) {
        const childParts = [...parts, child];
        // A mount point is read from the mount's source, like the container sees it.
        const childAt = view.isMountPoint(childParts) ? view.host(childParts) : `${dir}/${child}`;
        await addTree(pack, view, childParts, name ? `${name}/${child}` : child, seen, childAt);
      }
    } finally {
      closeSync(fd);
    }
    return;
  }
  if (!name) return;
  const xattrs = tarXattrs(at);
  if (st.isFile()) {
    const key = `${st.dev}:${st.ino}`;
    const first = st.nlink > 1 ? seen.get(key) : undefined;
    if (first !== undefined) {
      await tarAddEntry(pack, { ...base, type: 'link', linkname: first, size: 0 }, new Map());
      return;
    }
    if (st.nlink > 1) seen.set(key, name);
    await tarAddFile(pack, { ...base, type: 'file', size: st.size }, xattrs, at); // opened with O_NOFOLLOW
  } else if (st.isSymbolicLink()) {
    await tarAddEntry(pack, { ...base, type: 'symlink', linkname: readlinkSync(at) }, xattrs);
  } else if (st.isCharacterDevice() || st.isBlockDevice()) {
    await tarAddEntry(pack, {
      ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major(st.rdev), devminor: minor(st.rdev),
    }, xattrs);
  } else if (st.isFIFO()) {
    await tarAddEntry(pack, { ...base, type: 'fifo' }, xattrs);
  }
  // Sockets are not archived (as Docker).
}

/** Archive resolved container path `parts`: entered through its pinned parent (or trusted as a tree root). */
async function addStart(pack: Pack, view: View, parts: string[], name: string): Promise<void> {
  if (parts.length === 0 || view.isMountPoint(parts)) return addTree(pack, view, parts, name, new Map(), view.host(parts));
  const pfd = view.pinDir(parts.slice(0, -1));
  try {
    await addTree(pack, view, parts, name, new Map(), `${fdPath(pfd)}/${parts[parts.length - 1]}`);
  } finally {
    closeSync(pfd);
  }
}

/** Run `produce` into a tar pack and give the consumer a plain byte stream of it. */
async function streamTar(produce: (pack: Pack) => Promise<void>, consume: (tar: Readable) => Promise<void>): Promise<void> {
  const pack = tar.pack();
  // Failures reach the caller through `failed` and the consumer's stream; an
  // 'error' event nobody listens to (the consumer already left) would crash the daemon.
  pack.on('error', () => undefined);
  let failed: unknown;
  const producing = produce(pack).then(() => pack.finalize(), (err: Error) => { failed = err; pack.destroy(err); });
  const out = Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
  try {
    await consume(out);
  } catch (err) {
    // The consumer went away: stop producing (its pending entry never drains, so don't wait for it).
    pack.destroy();
    out.destroy();
    throw err;
  }
  await producing;
  if (failed) throw failed;
}

// ------------------------------------------------------------------ extraction

/** Sniff the compression (Docker accepts plain, gzip, bzip2, xz; zstd as newer dockerd) and undo it. */
async function decompressed(src: Readable): Promise<Readable> {
  const it = src[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < 6) {
    const r = await it.next();
    if (r.done) { ended = true; break; }
    head = Buffer.concat([head, Buffer.from(r.value as Uint8Array)]);
  }
  const whole = Readable.from((async function* () {
    if (head.length) yield head;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.from(r.value as Uint8Array);
    }
  })(), { objectMode: false });
  const is = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (is(0x1f, 0x8b)) {
    const out = new PassThrough();
    const gunzip = createGunzip();
    whole.once('error', (err) => out.destroy(err));
    gunzip.once('error', (err) => out.destroy(invalidArgument(`invalid gzip archive: ${err.message}`, err)));
    whole.pipe(gunzip).pipe(out);
    return out;
  }
  if (is(0x42, 0x5a, 0x68)) return viaProgram(whole, 'bzip2');
  if (is(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return viaProgram(whole, 'xz');
  if (is(0x28, 0xb5, 0x2f, 0xfd)) return viaProgram(whole, 'zstd');
  return whole;
}

function viaProgram(input: Readable, bin: string): Readable {
  const out = new PassThrough();
  const child = spawn(bin, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString(); });
  child.once('error', (err) => { out.destroy(invalidArgument(`cannot decompress the archive: ${bin}: ${err.message}`, err)); input.destroy(); });
  child.stdin.on('error', () => { /* EPIPE when the program quits early: its exit code tells why */ });
  input.once('error', (err) => { child.kill(); out.destroy(err); });
  input.pipe(child.stdin);
  child.stdout.pipe(out, { end: false });
  let stdoutDone = false;
  let exit: number | null | undefined;
  const finish = () => {
    if (!stdoutDone || exit === undefined) return;
    if (exit === 0) out.end();
    else out.destroy(invalidArgument(`invalid ${bin} archive: ${stderr.trim() || `${bin} exited with ${exit}`}`));
  };
  child.stdout.once('end', () => { stdoutDone = true; finish(); });
  child.once('exit', (code) => { exit = code; finish(); });
  out.once('close', () => { if (exit === undefined) child.kill(); input.destroy(); });
  return out;
}

type Header = Omit<tar.Header, 'pax'> & { pax?: Record<string, string> | null };

interface ExtractState {
  view: View;
  /** The extraction directory as a resolved container path. */
  dest: string[];
  readonlyRootfs: boolean;
  noOverwriteDirNonDir: boolean;
  chown?: { uid: number; gid: number };
  log?: Logger;
  dirTimes: Map<string, { atime: number; mtime: number }>;
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) { /* discard */ }
}

const paxNumber = (pax: Record<string, string> | null | undefined, key: string) => {
  const v = pax?.[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};

/** Refuse writes into a read-only volume, or into the rootfs of a --read-only container. */
function checkWritable(st: ExtractState, parts: readonly string[]): void {
  const o = st.view.owner(parts);
  if (o.mount) {
    if (!o.mount.rw) throw invalidArgument('mounted volume is marked read-only');
  } else if (st.readonlyRootfs) {
    throw invalidArgument('container rootfs is marked read-only');
  }
}

/**
 * Resolve the parent directory of a container path, creating what is missing
 * (mode 0755, as Docker), and pin it: the returned fd's /proc/self/fd path is
 * where the entry is written, whatever a running container does meanwhile to
 * the path leading there.
 */
function parentDir(st: ExtractState, parentPath: string): { parts: string[]; fd: number } {
  const parts = st.view.resolve(parentPath, true);
  for (let j = 1; j <= parts.length; j++) {
    const pp = parts.slice(0, j);
    let s: Stats | undefined;
    try { s = lstatSync(st.view.host(pp)); } catch (err) { if (!hasCode(err, 'ENOENT')) throw err; }
    if (s && !s.isDirectory()) throw invalidArgument(`cannot extract into ${absOf(pp)}: not a directory`);
    if (s) continue;
    checkWritable(st, pp);
    const pfd = st.view.pinDir(pp.slice(0, -1));
    try { mkdirSync(`${fdPath(pfd)}/${pp[pp.length - 1]}`, { mode: 0o755 }); } finally { closeSync(pfd); }
  }
  checkWritable(st, parts);
  return { parts, fd: st.view.pinDir(parts) };
}

function setXattrs(st: ExtractState, path: string, xattrs: Map<string, Buffer>): void {
  for (const [name, value] of xattrs) {
    if (name.startsWith('trusted.overlay.')) continue; // never steer overlayfs from an archive
    try {
      lsetxattr(path, name, value);
    } catch (err) {
      if (hasCode(err, 'ENOTSUP') || hasCode(err, 'EPERM')) { st.log?.debug('cannot set xattr', { name }); continue; }
      throw err;
    }
  }
}

async function extractEntry(st: ExtractState, h: Header, entry: AsyncIterable<unknown>): Promise<void> {
  const destAbs = absOf(st.dest);
  if ((h.type as string) === 'pax-global-header') { await drain(entry); return; }
  if (h.name.includes('\0')) throw invalidArgument(`invalid tar entry name ${JSON.stringify(h.name)}`);
  // Docker cleans the name and refuses one that climbs out of the destination.
  const rel = posix.normalize(h.name.replace(/^\/+/, '') || '.').replace(/\/+$/, '');
  if (rel === '..' || rel.startsWith('../')) {
    await drain(entry);
    throw invalidArgument(`${JSON.stringify(h.name)} is outside of ${JSON.stringify(destAbs)}`);
  }
  if (rel === '.') { await drain(entry); return; } // the destination itself: left as it is (as Docker)
  const entryPath = posix.join(destAbs, rel); // lexical, as Docker's checks below
  const { parts: parentParts, fd: dirFd } = parentDir(st, posix.dirname(entryPath));
  try {
    await writeEntry(st, h, entry, entryPath, parentParts, dirFd);
  } finally {
    closeSync(dirFd);
  }
}

async function writeEntry(st: ExtractState, h: Header, entry: AsyncIterable<unknown>, entryPath: string, parentParts: string[], dirFd: number): Promise<void> {
  const destAbs = absOf(st.dest);
  const base = posix.basename(entryPath);
  const target = `${fdPath(dirFd)}/${base}`; // through the pinned parent
  const shown = absOf([...parentParts, base]);

  const mode = (h.mode ?? 0o644) & 0o7777;
  const uid = st.chown?.uid ?? paxNumber(h.pax, 'uid') ?? h.uid ?? 0;
  const gid = st.chown?.gid ?? paxNumber(h.pax, 'gid') ?? h.gid ?? 0;
  const mtime = paxNumber(h.pax, 'mtime') ?? (h.mtime ? h.mtime.getTime() / 1000 : 0);
  const atime = paxNumber(h.pax, 'atime') ?? mtime;
  const xattrs = paxXattrs(h.pax); // binary-safe (snapshots' PAX patch keeps them as bytes)

  let existing: Stats | undefined;
  try { existing = lstatSync(target); } catch (err) { if (!hasCode(err, 'ENOENT')) throw err; }
  const isDir = h.type === 'directory';
  if (existing) {
    if (st.noOverwriteDirNonDir && existing.isDirectory() && !isDir) {
      await drain(entry);
      throw invalidArgument(`cannot overwrite directory ${JSON.stringify(shown)} with non-directory ${JSON.stringify(destAbs)}`);
    }
    if (st.noOverwriteDirNonDir && !existing.isDirectory() && isDir) {
      await drain(entry);
      throw invalidArgument(`cannot overwrite non-directory ${JSON.stringify(shown)} with directory ${JSON.stringify(destAbs)}`);
    }
    if (!(existing.isDirectory() && isDir)) {
      rmSync(target, { recursive: true, force: true });
      for (const p of st.dirTimes.keys()) if (p === shown || p.startsWith(shown + '/')) st.dirTimes.delete(p);
    }
  }

  switch (h.type) {
    case 'directory': {
      await drain(entry);
      if (!existing?.isDirectory()) mkdirSync(target, { mode: 0o700 });
      // Owner and mode through an fd that did not follow a link: chmod(2) would.
      const fd = openSync(target, fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
      try {
        fchownSync(fd, uid, gid);
        fchmodSync(fd, mode); // after chown, which clears setuid bits
      } finally {
        closeSync(fd);
      }
      setXattrs(st, target, xattrs);
      st.dirTimes.set(shown, { atime, mtime });
      return;
    }
    case 'file':
    case 'contiguous-file': {
      const fd = openSync(target, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
      try {
        for await (const chunk of entry) {
          const b = chunk as Buffer;
          for (let off = 0; off < b.length;) off += writeSync(fd, b, off, b.length - off);
        }
        fchownSync(fd, uid, gid);
        fchmodSync(fd, mode);
      } catch (err) {
        closeSync(fd);
        try { unlinkSync(target); } catch { /* already gone */ }
        throw err;
      }
      closeSync(fd);
      setXattrs(st, target, xattrs);
      lutimesSync(target, atime, mtime);
      return;
    }
    case 'symlink': {
      await drain(entry);
      const link = h.linkname ?? '';
      // Docker refuses a link whose target, read next to it, leaves the destination.
      if (!link || !isWithin(destAbs, posix.join(posix.dirname(entryPath), link))) {
        throw invalidArgument(`invalid symlink ${JSON.stringify(entryPath)} -> ${JSON.stringify(link)}`);
      }
      symlinkSync(link, target);
      lchownSync(target, uid, gid);
      setXattrs(st, target, xattrs);
      lutimesSync(target, atime, mtime);
      return;
    }
    case 'link': {
      await drain(entry);
      const linkPath = posix.join(destAbs, h.linkname ?? '');
      if (!h.linkname || !isWithin(destAbs, linkPath)) {
        throw invalidArgument(`invalid hardlink ${JSON.stringify(linkPath)} -> ${JSON.stringify(h.linkname ?? '')}`);
      }
      let srcFd: number;
      try {
        srcFd = st.view.pinDir(st.view.resolve(posix.dirname(linkPath), true));
      } catch (err) {
        if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR')) throw invalidArgument(`invalid hardlink ${JSON.stringify(entryPath)} -> ${JSON.stringify(h.linkname)}: no such file`);
        throw err;
      }
      try {
        const source = `${fdPath(srcFd)}/${posix.basename(linkPath)}`;
        let s: Stats;
        try { s = lstatSync(source); } catch (err) {
          if (hasCode(err, 'ENOENT')) throw invalidArgument(`invalid hardlink ${JSON.stringify(entryPath)} -> ${JSON.stringify(h.linkname)}: no such file`);
          throw err;
        }
        if (s.isDirectory()) throw invalidArgument(`invalid hardlink ${JSON.stringify(entryPath)} -> ${JSON.stringify(h.linkname)}: is a directory`);
        linkSync(source, target); // link(2) does not follow a symlink source
      } finally {
        closeSync(srcFd);
      }
      return;
    }
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      await drain(entry);
      const kind = h.type === 'fifo' ? S_IFIFO : h.type === 'block-device' ? S_IFBLK : S_IFCHR;
      mknod(target, kind | 0o600, h.type === 'fifo' ? 0 : makedev(h.devmajor ?? 0, h.devminor ?? 0));
      lchownSync(target, uid, gid);
      // No fd to chmod a device through: check it is still our node right before.
      if (!lstatSync(target).isSymbolicLink()) chmodSync(target, mode);
      setXattrs(st, target, xattrs);
      lutimesSync(target, atime, mtime);
      return;
    }
    default:
      await drain(entry);
      throw invalidArgument(`unhandled tar header type ${JSON.stringify(h.type)} for ${JSON.stringify(h.name)}`);
  }
}

async function extractTar(st: ExtractState, body: Readable): Promise<void> {
  const plain = await decompressed(body);
  const extract = tar.extract();
  const feed = (async () => {
    try {
      for await (const chunk of plain) {
        if (extract.destroyed) return;
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
  let parserError: unknown;
  extract.on('error', (e: unknown) => { parserError ??= e; });
  try {
    for await (const entry of extract) await extractEntry(st, entry.header as Header, entry);
  } catch (err) {
    plain.destroy();
    await feed;
    const known = (e: unknown) => (e as { kind?: string }).kind !== undefined || typeof (e as NodeJS.ErrnoException).errno === 'number';
    const primary = known(err) ? err : (parserError ?? err);
    if (known(primary)) throw primary;
    throw invalidArgument(`invalid tar archive: ${(primary as Error).message}`, primary);
  }
  await feed;
  // Directory times last (creating children changes them), each through its pinned parent.
  for (const [path, t] of [...st.dirTimes].reverse()) {
    const parts = path.split('/').filter(Boolean);
    let fd: number;
    try { fd = st.view.pinDir(parts.slice(0, -1)); } catch (err) {
      if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR') || hasCode(err, 'ELOOP')) continue;
      throw err;
    }
    try {
      lutimesSync(`${fdPath(fd)}/${parts[parts.length - 1]}`, t.atime, t.mtime);
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) throw err;
    } finally {
      closeSync(fd);
    }
  }
}

// ------------------------------------------------------------------ changes

/**
 * Paths the runtime creates in every container's upper dir (mount points for
 * /etc/hosts and friends, /dev, /proc, /sys). dockerd keeps them in a
 * per-container "init" layer below the container's, so `docker diff` never
 * shows them; berth has no init layer, so they are left out here.
 */
const INIT_PATHS = new Set(['/.dockerenv', '/dev', '/proc', '/sys', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/etc/mtab']);
const INIT_PARENTS = new Set(['/', '/etc']);

const isWhiteout = (s: Stats) => s.isCharacterDevice() && s.rdev === 0;

/** The change list of an overlay upper dir against its lower layers (dockerd's overlay rules). */
export function changes(upperDir: string, lowerDirsBottomFirst: readonly string[]): Change[] {
  const lowers = [...lowerDirsBottomFirst].reverse();
  const below = (rel: string): Stats | undefined => {
    for (const layer of lowers) {
      // A whiteout of the path or of a parent in a higher layer hides what is further down.
      const segs = rel.split('/');
      for (let i = 1; i < segs.length; i++) {
        try { if (isWhiteout(lstatSync(posix.join(layer, ...segs.slice(0, i))))) return undefined; } catch { /* absent here */ }
      }
      try {
        const s = lstatSync(posix.join(layer, rel));
        return isWhiteout(s) ? undefined : s;
      } catch (err) {
        if (!hasCode(err, 'ENOENT') && !hasCode(err, 'ENOTDIR')) throw err;
      }
    }
    return undefined;
  };
  const out: Change[] = [];
  const changedDirs = new Set<string>();
  // Each directory is opened without following a link and read through its
  // fd, so a running container swapping one for a symlink shows us nothing of the host.
  const walk = (rel: string, at: string) => {
    let fd: number;
    try { fd = openSync(at, fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW); } catch (err) {
      if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR') || hasCode(err, 'ELOOP')) return; // changed meanwhile
      throw err;
    }
    try { walkDir(rel, fdPath(fd)); } finally { closeSync(fd); }
  };
  const walkDir = (rel: string, dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const path = '/' + r;
      if (INIT_PATHS.has(path)) continue;
      const abs = `${dir}/${name}`;
      let s: Stats;
      try { s = lstatSync(abs); } catch (err) { if (hasCode(err, 'ENOENT')) continue; throw err; }
      let kind: 0 | 1 | 2 | undefined;
      if (isWhiteout(s)) kind = 2;
      else if (s.isDirectory() && lgetxattr(abs, OPAQUE_XATTR)?.toString() === 'y' && below(r)) kind = 2; // replaced wholesale
      else {
        const low = below(r);
        if (!low) kind = 1;
        else if (low.isDirectory() && s.isDirectory() && low.mode === s.mode &&
          (INIT_PARENTS.has(path) || (low.size === s.size && low.mtimeMs === s.mtimeMs))) kind = undefined; // only a parent of changes
        else kind = 0;
      }
      if (kind !== undefined) {
        if (s.isDirectory()) changedDirs.add(path);
        if (kind !== 0) {
          const parent = posix.dirname(path);
          if (parent !== '/' && !changedDirs.has(parent)) {
            out.push({ Path: parent, Kind: 0 });
            changedDirs.add(parent);
          }
        }
        out.push({ Path: path, Kind: kind });
      }
      if (s.isDirectory()) walk(r, abs);
    }
  };
  walk('', upperDir);
  return out;
}

// ------------------------------------------------------------------ service

export interface ArchiveServiceDeps {
  containers: FilesystemProvider;
  events?: EventSink;
  log?: Logger;
}

/** The archive, export and changes operations on containers, over a FilesystemProvider. */
export class ContainerArchive {
  constructor(private readonly d: ArchiveServiceDeps) {}

  /** HEAD /containers/{id}/archive */
  async stat(ref: string, path: string): Promise<PathStat> {
    return this.d.containers.withFilesystem(ref, async (fs) => statPath(new View(fs), ref, path).stat).catch(hideHostPaths);
  }

  /** GET /containers/{id}/archive: `consume` gets the stat and the tar; the filesystem stays mounted until it returns. */
  async archive(ref: string, path: string, consume: (stat: PathStat, tar: Readable) => Promise<void>): Promise<void> {
    return this.d.containers.withFilesystem(ref, async (fs) => {
      const view = new View(fs);
      const { stat, parts, st } = statPath(view, ref, path);
      // Entries are named after the requested path's last element (Docker's rebase),
      // whatever a symlink resolved to; the root is archived without a prefix.
      const name = stat.name === '/' ? '' : stat.name;
      this.d.events?.('container', 'archive-path', fs.id, { image: fs.image, name: fs.name });
      await streamTar(async (pack) => {
        if (st.isDirectory() || name) await addStart(pack, view, parts, name);
      }, (tarStream) => consume(stat, tarStream));
    }).catch(hideHostPaths);
  }

  /** PUT /containers/{id}/archive */
  async extract(ref: string, path: string, body: Readable, opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean } = {}): Promise<void> {
    return this.d.containers.withFilesystem(ref, async (fs) => {
      const view = new View(fs);
      // The destination's final symlink is followed: extracting "into a link to a directory" works.
      const dest = view.resolve(path, true);
      let s: Stats;
      try { s = lstatSync(view.host(dest)); } catch (err) {
        if (hasCode(err, 'ENOENT')) throw fileNotFound(path, ref);
        throw err;
      }
      if (!s.isDirectory()) throw invalidArgument('extraction point is not a directory');
      const st: ExtractState = {
        view, dest, readonlyRootfs: fs.readonlyRootfs, noOverwriteDirNonDir: !!opts.noOverwriteDirNonDir,
        chown: opts.copyUIDGID ? fs.user() : undefined, log: this.d.log, dirTimes: new Map(),
      };
      checkWritable(st, dest);
      await extractTar(st, body);
      this.d.events?.('container', 'extract-to-dir', fs.id, { image: fs.image, name: fs.name });
    }).catch(hideHostPaths);
  }

  /** GET /containers/{id}/export: the merged rootfs (no volumes), as docker export. */
  async export(ref: string, consume: (tar: Readable) => Promise<void>): Promise<void> {
    return this.d.containers.withFilesystem(ref, async (fs) => {
      const view = new View({ rootfs: fs.rootfs, mounts: [] });
      this.d.events?.('container', 'export', fs.id, { image: fs.image, name: fs.name });
      await streamTar((pack) => addStart(pack, view, [], ''), consume);
    }).catch(hideHostPaths);
  }

  /** GET /containers/{id}/changes (needs no mount: it reads the upper and lower dirs). */
  async changes(ref: string): Promise<Change[]> {
    return this.d.containers.withFilesystem(ref, async (fs) => changes(fs.upperDir, fs.lowerDirs), { mount: false }).catch(hideHostPaths);
  }
}
