// Typed wrappers over the berth_sys N-API addon (src/sys/addon/berth_sys.c):
// the Linux syscalls Node lacks. Errors are Node-style system errors with
// `code` (errno name), `errno`, `syscall` and `path`, so hasCode(err, 'EBUSY') works.
//
// The addon is built in place by `npm install` (node-gyp, see package.json
// "install"), into src/sys/addon/build/Release/. Compiled code runs from
// dist/src/sys/, so we look for it relative to this file from both places.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

interface Addon {
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  mknod(path: string, mode: number, dev: number): void;
  makedev(major: number, minor: number): number;
  lsetxattr(path: string, name: string, value: Buffer | string, flags: number): void;
  lgetxattr(path: string, name: string): Buffer | null;
  llistxattr(path: string): string[];
  connectSeqpacket(path: string): number;
  syncfs(path: string): void;
  dupCloexec(fd: number): number;
  mountAsync(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): Promise<void>;
  umount2Async(target: string, flags: number): Promise<void>;
  spawnDetached(file: string, argv: string[], env: string[], cwd: string | null, npipes: number): Promise<SpawnedProcess>;
  waitPid(pid: number): Promise<{ code: number; signal: number }>;
  syncfsAsync(path: string): Promise<void>;
  seccompCompile(defaultAction: string, defaultErrno: number, architectures: string[], rules: SeccompRule[]): Buffer;
  mallocTrim(): boolean;
  constants: Record<string, number>;
}

/** One OCI seccomp syscalls entry: [action, errnoRet (-1: none), names, args[[index, op, value, valueTwo]]]. */
export type SeccompRule = [string, number, string[], [number, string, bigint, bigint][]];

const here = dirname(fileURLToPath(import.meta.url));
const ADDON_REL = 'src/sys/addon/build/Release/berth_sys.node';
const candidates = [
  join(here, '../../..', ADDON_REL), // dist/src/sys/index.js → repo root
  join(here, '../..', ADDON_REL), // src/sys/index.ts run directly (ts loader)
];

function load(): Addon {
  const path = candidates.find((p) => existsSync(p));
  if (!path) {
    throw new Error(`berth_sys addon not built (looked in ${candidates.join(', ')}): run \`npm run install\``);
  }
  return createRequire(import.meta.url)(path) as Addon;
}

// Loaded once per process: a native module can't be loaded twice anyway,
// and it has no state of its own.
const addon = load();

/** Mount flags and friends, as in <sys/mount.h> / <sys/xattr.h> / <sys/stat.h>. */
export const constants = Object.freeze({
  MS_RDONLY: addon.constants.MS_RDONLY!,
  MS_NOSUID: addon.constants.MS_NOSUID!,
  MS_NODEV: addon.constants.MS_NODEV!,
  MS_NOEXEC: addon.constants.MS_NOEXEC!,
  MS_SYNCHRONOUS: addon.constants.MS_SYNCHRONOUS!,
  MS_REMOUNT: addon.constants.MS_REMOUNT!,
  MS_MANDLOCK: addon.constants.MS_MANDLOCK!,
  MS_DIRSYNC: addon.constants.MS_DIRSYNC!,
  MS_NOATIME: addon.constants.MS_NOATIME!,
  MS_NODIRATIME: addon.constants.MS_NODIRATIME!,
  MS_BIND: addon.constants.MS_BIND!,
  MS_MOVE: addon.constants.MS_MOVE!,
  MS_REC: addon.constants.MS_REC!,
  MS_SILENT: addon.constants.MS_SILENT!,
  MS_UNBINDABLE: addon.constants.MS_UNBINDABLE!,
  MS_PRIVATE: addon.constants.MS_PRIVATE!,
  MS_SLAVE: addon.constants.MS_SLAVE!,
  MS_SHARED: addon.constants.MS_SHARED!,
  MS_RELATIME: addon.constants.MS_RELATIME!,
  MS_STRICTATIME: addon.constants.MS_STRICTATIME!,
  MS_LAZYTIME: addon.constants.MS_LAZYTIME!,
  MNT_FORCE: addon.constants.MNT_FORCE!,
  MNT_DETACH: addon.constants.MNT_DETACH!,
  MNT_EXPIRE: addon.constants.MNT_EXPIRE!,
  UMOUNT_NOFOLLOW: addon.constants.UMOUNT_NOFOLLOW!,
  XATTR_CREATE: addon.constants.XATTR_CREATE!,
  XATTR_REPLACE: addon.constants.XATTR_REPLACE!,
  S_IFCHR: addon.constants.S_IFCHR!,
  S_IFBLK: addon.constants.S_IFBLK!,
  S_IFIFO: addon.constants.S_IFIFO!,
  S_IFREG: addon.constants.S_IFREG!,
  S_IFSOCK: addon.constants.S_IFSOCK!,
});

export const {
  MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC,
  MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_RELATIME, MS_NOATIME, MS_STRICTATIME, MNT_DETACH, MNT_FORCE,
  S_IFCHR, S_IFBLK, S_IFIFO, XATTR_CREATE, XATTR_REPLACE,
} = constants;

/** mount(2). `flags` is an OR of MS_*; `data` is the fs-specific option string. */
export function mount(source: string | null, target: string, fstype: string | null, flags = 0, data: string | null = null): void {
  addon.mount(source, target, fstype, flags, data);
}

/** umount2(2). `flags` is an OR of MNT_* (MNT_DETACH for a lazy unmount). */
export function umount2(target: string, flags = 0): void {
  addon.umount2(target, flags);
}

/** mknod(2). `mode` includes the file type (S_IFCHR, S_IFBLK, S_IFIFO); `dev` from makedev(). */
export function mknod(path: string, mode: number, dev = 0): void {
  addon.mknod(path, mode, dev);
}

/** The kernel device number for (major, minor), glibc's encoding. */
export function makedev(major: number, minor: number): number {
  return addon.makedev(major, minor);
}

/** Inverse of makedev, for stat().rdev values (glibc's split, in JS to handle doubles). */
export function major(dev: number): number {
  const hi = Math.floor(dev / 2 ** 32);
  const lo = dev >>> 0;
  return ((lo >>> 8) & 0xfff) + ((hi & 0xfffff000) >>> 0);
}
export function minor(dev: number): number {
  const hi = Math.floor(dev / 2 ** 32);
  const lo = dev >>> 0;
  return ((lo & 0xff) | ((lo >>> 12) & 0xfff00)) + (hi & 0xfff) * 2 ** 20;
}

/** lsetxattr(2): set an extended attribute without following a final symlink. */
export function lsetxattr(path: string, name: string, value: Buffer | string, flags = 0): void {
  addon.lsetxattr(path, name, value, flags);
}

/** lgetxattr(2): the value, or null when the attribute is absent (ENODATA). */
export function lgetxattr(path: string, name: string): Buffer | null {
  return addon.lgetxattr(path, name);
}

/** llistxattr(2): attribute names on `path` (the link itself, not its target). */
export function llistxattr(path: string): string[] {
  return addon.llistxattr(path);
}

/**
 * A connected AF_UNIX SOCK_SEQPACKET socket (close-on-exec) to `path`, as a raw
 * fd. Paths longer than sun_path's 108 bytes work (via /proc/self/fd). The caller
 * owns the fd. libuv can't wrap a SEQPACKET socket in net.Socket (ERR_INVALID_FD_TYPE):
 * use fs.read / fs.write (each call is one packet; reads block a libuv pool thread
 * until data arrives) or fs.createReadStream(null, { fd }), and fs.close when done.
 */
export function connectSeqpacket(path: string): number {
  return addon.connectSeqpacket(path);
}

/** mount(2) on the thread pool: same arguments and errors as mount(). */
export function mountAsync(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): Promise<void> {
  return addon.mountAsync(source, target, fstype, flags, data);
}

/** umount2(2) on the thread pool: same arguments and errors as umount2(). */
export function umount2Async(target: string, flags: number): Promise<void> {
  return addon.umount2Async(target, flags);
}

export interface SpawnedProcess {
  pid: number;
  /** Our ends of the socketpairs the child has as fds 3, 4, … (owned by the caller). */
  fds: number[];
  /** Read end of the child's stderr pipe (owned by the caller). */
  stderr: number;
}

/**
 * Start `file` (searched in PATH) with `argv` (argv[0] included) and `env`
 * ("K=V" strings) in a new session: stdin and stdout on /dev/null, stderr on a
 * pipe, `npipes` socketpairs as fds 3, 4, …, signals reset to their defaults.
 * posix_spawn copies nothing of this process, unlike child_process.spawn's
 * fork. The spawn runs on the thread pool (it returns once the child has
 * exec'd, which on a loaded machine can take a while). The child is not
 * tracked by Node: reap it with waitPid().
 */
export function spawnDetached(file: string, argv: string[], env: string[], cwd: string | null, npipes: number): Promise<SpawnedProcess> {
  return addon.spawnDetached(file, argv, env, cwd, npipes);
}

/** waitpid(2) on the thread pool: code (-1 when killed) and signal (0 unless killed). */
export function waitPid(pid: number): Promise<{ code: number; signal: number }> {
  return addon.waitPid(pid);
}

/** A second (close-on-exec) fd for the open file behind `fd`; the caller closes it. */
export function dupCloexec(fd: number): number {
  return addon.dupCloexec(fd);
}

/** syncfs() on the thread pool. */
export function syncfsAsync(path: string): Promise<void> {
  return addon.syncfsAsync(path);
}

/** syncfs(2) on the filesystem holding `path`: everything written there reaches the disk. */
export function syncfs(path: string): void {
  addon.syncfs(path);
}

/**
 * The raw seccomp BPF program libseccomp builds from an OCI seccomp section,
 * translated as crun translates it (src/sys/addon/seccomp.c). Throws on what
 * crun would refuse, and on NOTIFY (only the runtime can set up a listener).
 */
export function seccompCompile(defaultAction: string, defaultErrno: number, architectures: string[], rules: SeccompRule[]): Buffer {
  return addon.seccompCompile(defaultAction, defaultErrno, architectures, rules);
}

/** malloc_trim(0): hand the C heap's free pages back to the system (true when some were). */
export function mallocTrim(): boolean {
  return addon.mallocTrim();
}
