// Copy a directory tree from an (untrusted) container rootfs into a volume.
// Nothing is ever followed through a symlink: entries are lstat'ed, symlinks
// are recreated as symlinks, and files are opened with O_NOFOLLOW, so a link
// planted in the image cannot make us read or write outside the two trees.
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, symlink, lchown, chmod, lutimes, utimes, link } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode, type Logger } from '../util/index.js';
import { lgetxattr, llistxattr, lsetxattr } from '../sys/index.js';

const COPY_CHUNK = 1 << 20;

export interface CopyOptions {
  log: Logger;
  signal?: AbortSignal;
}

/** Copy the contents of `src` into the existing directory `dst` (ownership, modes and times kept). */
export async function copyTree(src: string, dst: string, opts: CopyOptions): Promise<void> {
  await copyDir(src, dst, opts, new Map());
}

/** `links`: source dev:ino → first copy, so hardlinked files stay one inode (Docker's copy keeps them). */
async function copyDir(src: string, dst: string, opts: CopyOptions, links: Map<string, string>): Promise<void> {
  for (const name of await readdir(src)) {
    opts.signal?.throwIfAborted();
    await copyEntry(join(src, name), join(dst, name), opts, links);
  }
}

async function copyEntry(from: string, to: string, opts: CopyOptions, links: Map<string, string>): Promise<void> {
  const st = await lstat(from);
  if ((st.isFile() || st.isSymbolicLink()) && st.nlink > 1) {
    const key = `${st.dev}:${st.ino}`;
    const first = links.get(key);
    if (first !== undefined) {
      await link(first, to);
      return;
    }
    links.set(key, to);
  }
  if (st.isDirectory()) {
    await mkdir(to, { mode: 0o700 });
    await copyDir(from, to, opts, links);
    await lchown(to, st.uid, st.gid);
    await chmod(to, st.mode & 0o7777);
    copyXattrs(from, to, opts);
    await utimes(to, st.atime, st.mtime);
  } else if (st.isSymbolicLink()) {
    await symlink(await readlink(from), to);
    await lchown(to, st.uid, st.gid);
    await lutimes(to, st.atime, st.mtime);
  } else if (st.isFile()) {
    await copyFile(from, to, st.mode & 0o7777);
    await lchown(to, st.uid, st.gid);
    // chown clears setuid/setgid bits; set the mode after it.
    await chmod(to, st.mode & 0o7777);
    // chown also drops security.capability (e.g. ping's cap_net_raw): copy xattrs last.
    copyXattrs(from, to, opts);
    await utimes(to, st.atime, st.mtime);
  } else {
    // Device nodes, FIFOs and sockets need mknod; images almost never keep them under a VOLUME.
    opts.log.warn('volume populate: skipping special file', { path: from });
  }
}

/** Extended attributes (file capabilities, user.*), as Docker's volume copy keeps them. */
function copyXattrs(from: string, to: string, opts: CopyOptions): void {
  for (const name of llistxattr(from)) {
    if (name.startsWith('trusted.overlay.')) continue; // overlayfs bookkeeping, never a file's own
    const value = lgetxattr(from, name);
    if (value === null) continue;
    try {
      lsetxattr(to, name, value);
    } catch (err) {
      // A volume on a filesystem without xattrs (or a namespace we may not write) still gets its files.
      if (hasCode(err, 'ENOTSUP') || hasCode(err, 'EPERM') || hasCode(err, 'EOPNOTSUPP')) opts.log.debug('volume populate: xattr not copied', { path: from, name });
      else throw err;
    }
  }
}

async function copyFile(from: string, to: string, mode: number): Promise<void> {
  const src = await open(from, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const dst = await open(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode & 0o777);
    try {
      const buf = Buffer.allocUnsafe(COPY_CHUNK);
      for (;;) {
        const { bytesRead } = await src.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        let off = 0;
        while (off < bytesRead) off += (await dst.write(buf, off, bytesRead - off)).bytesWritten;
      }
      await dst.sync();
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
}

/** Bytes used by a tree (regular files and symlinks, hard links once), like Docker's directory.Size. */
export async function treeSize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(d, name);
      let st;
      try {
        st = await lstat(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        await walk(p);
        continue;
      }
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += st.size;
    }
  };
  await walk(dir);
  return total;
}
