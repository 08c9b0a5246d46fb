// diff: turn a container's overlay upper dir into an OCI layer tar.
// Overlay whiteouts (0/0 character devices) become `.wh.<name>` entries;
// opaque directories (trusted.overlay.opaque=y) get a `.wh..wh..opq` entry.
// Entries are sorted so the same upper dir gives the same tar bytes.
import { constants as fsc, createReadStream, openSync } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { lgetxattr, llistxattr, major, minor } from '../sys/index.js';
import { OPAQUE_XATTR } from './apply.js';
import { paxHeaderBlock, paxRecord } from './pax.js';

type Pack = tar.Pack;
type Header = Partial<tar.Header> & Pick<tar.Header, 'name'>;

const ustarSafe = (s: string, max: number) => Buffer.byteLength(s) === s.length && s.length <= max;

export function xattrsOf(path: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of llistxattr(path).sort()) {
    if (name.startsWith('trusted.overlay.')) continue; // overlay's own bookkeeping
    const v = lgetxattr(path, name);
    if (v) out.set(name, v);
  }
  return out;
}

/**
 * tar-stream writes PAX values as UTF-8 text, which would mangle binary
 * xattrs (security.capability); when an entry needs PAX (xattrs, long or
 * non-ASCII names, ids past ustar's 6 octal digits), write the PAX header
 * ourselves and give tar-stream a short stand-in name.
 */
function withPax(pack: Pack, header: Header, xattrs: Map<string, Buffer>): Header {
  const bigId = (header.uid ?? 0) > 0o777777 || (header.gid ?? 0) > 0o777777;
  const longLink = header.linkname ? !ustarSafe(header.linkname, 100) : false;
  if (xattrs.size === 0 && ustarSafe(header.name, 100) && !longLink && !bigId) return header;
  const records = [paxRecord('path', Buffer.from(header.name))];
  if (header.linkname) records.push(paxRecord('linkpath', Buffer.from(header.linkname)));
  if (bigId) records.push(paxRecord('uid', Buffer.from(String(header.uid ?? 0))), paxRecord('gid', Buffer.from(String(header.gid ?? 0))));
  for (const [k, v] of xattrs) records.push(paxRecord(`SCHILY.xattr.${k}`, v));
  // Entries are added one at a time (each awaited), so no entry is open here.
  pack.push(paxHeaderBlock(records, header.mtime ?? new Date(0)));
  return {
    ...header, name: 'PaxHeader', linkname: header.linkname ? 'PaxHeader' : header.linkname,
    ...(bigId ? { uid: 0, gid: 0 } : {}),
  };
}

export function addEntry(pack: Pack, header: Header, xattrs: Map<string, Buffer>, data?: Buffer): Promise<void> {
  header = withPax(pack, header, xattrs);
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null) => (err ? reject(err) : resolve());
    // The callback gets the entry's error; its 'error' event must not go unheard
    // (it fires when the pack is destroyed under it, e.g. a client went away).
    if (data) pack.entry(header, data, cb).on('error', () => undefined);
    else if (header.type === 'file' && (header.size ?? 0) > 0) reject(new Error('file data must be streamed'));
    else pack.entry(header, cb).on('error', () => undefined);
  });
}

export async function addFile(pack: Pack, header: Header, xattrs: Map<string, Buffer>, path: string): Promise<void> {
  if (!header.size) return addEntry(pack, header, xattrs, Buffer.alloc(0));
  header = withPax(pack, header, xattrs);
  // Opened before the entry starts, so a file that cannot be read leaves no half entry.
  // O_NOFOLLOW: a file swapped for a symlink since lstat is not followed (container archives read live trees).
  const fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  await new Promise<void>((resolve, reject) => {
    const src = createReadStream('', { fd });
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    sink.on('error', (err: Error) => { src.destroy(); reject(err); });
    let written = 0;
    src.on('data', (chunk) => {
      // A file that grew since lstat would corrupt the archive: cut it at the header size.
      const room = header.size! - written;
      const piece = (chunk as Buffer).subarray(0, Math.max(0, room));
      written += piece.length;
      if (piece.length && !sink.write(piece)) { src.pause(); sink.once('drain', () => src.resume()); }
    });
    src.once('error', reject);
    src.once('end', () => {
      if (written < header.size!) sink.write(Buffer.alloc(header.size! - written)); // shrank: pad with zeros
      (sink as unknown as { end(): void }).end();
    });
  });
}

export interface DiffOptions {
  /** Leave out an entry (and, for a directory, what is under it); `rel` has no leading '/'. */
  skip?: (rel: string, st: Stats) => boolean;
}

async function walk(pack: Pack, root: string, rel: string, seen: Map<string, string>, opts: DiffOptions): Promise<void> {
  const names = (await readdir(posix.join(root, rel))).sort();
  for (const name of names) {
    const r = rel ? `${rel}/${name}` : name;
    const abs = posix.join(root, r);
    const st: Stats = await lstat(abs);
    if (opts.skip?.(r, st)) continue;
    const base: Header = { name: r, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
    if (st.isCharacterDevice() && st.rdev === 0) {
      await addEntry(pack, { ...base, name: rel ? `${rel}/.wh.${name}` : `.wh.${name}`, type: 'file', size: 0, mode: 0o600 }, new Map(), Buffer.alloc(0));
      continue;
    }
    const xattrs = xattrsOf(abs);
    if (st.isDirectory()) {
      await addEntry(pack, { ...base, type: 'directory' }, xattrs);
      if (lgetxattr(abs, OPAQUE_XATTR)?.toString() === 'y') {
        await addEntry(pack, { ...base, name: `${r}/.wh..wh..opq`, type: 'file', size: 0, mode: 0o600 }, new Map(), Buffer.alloc(0));
      }
      await walk(pack, root, r, seen, opts);
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? seen.get(key) : undefined;
      if (first !== undefined) {
        await addEntry(pack, { ...base, type: 'link', linkname: first, size: 0 }, new Map());
        continue;
      }
      if (st.nlink > 1) seen.set(key, r);
      await addFile(pack, { ...base, type: 'file', size: st.size }, xattrs, abs);
    } else if (st.isSymbolicLink()) {
      await addEntry(pack, { ...base, type: 'symlink', linkname: await readlink(abs) }, xattrs);
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      await addEntry(pack, {
        ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device',
        devmajor: major(st.rdev), devminor: minor(st.rdev),
      }, xattrs);
    } else if (st.isFIFO()) {
      await addEntry(pack, { ...base, type: 'fifo' }, xattrs);
    }
    // Sockets are not archived (as Docker).
  }
}

/** An uncompressed OCI layer tar of the changes recorded in an overlay upper dir. */
export function diff(upperDir: string, opts: DiffOptions = {}): Readable {
  const pack = tar.pack();
  walk(pack, posix.resolve(upperDir), '', new Map(), opts).then(
    () => pack.finalize(),
    (err: Error) => pack.destroy(err),
  );
  return Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
}
