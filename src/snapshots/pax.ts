// tar-stream decodes PAX records as UTF-8 strings, which corrupts binary
// xattr values such as security.capability. Its header decoder is a shared
// module function, so we wrap it once: the wrapper returns tar-stream's own
// result unchanged and adds the raw bytes of every xattr record under a
// symbol, which only this folder reads. Nothing else in tar-stream changes.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const RAW_XATTRS = Symbol.for('berth.tar.rawXattrs');
const PATCHED = Symbol.for('berth.tar.decodePaxPatched');

type PaxRecord = Record<string, string> & { [RAW_XATTRS]?: Map<string, Buffer> };

interface HeadersModule {
  decodePax(buf: Buffer): PaxRecord;
  [PATCHED]?: true;
}

/** Parse PAX "len key=value\n" records, keeping xattr values as bytes. */
function rawXattrs(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < buf.length) {
    const sp = buf.indexOf(0x20, off);
    if (sp < 0) break;
    const len = parseInt(buf.subarray(off, sp).toString('latin1'), 10);
    if (!(len > 0) || off + len > buf.length) break;
    const rec = buf.subarray(sp + 1, off + len - 1); // drop trailing "\n"
    const eq = rec.indexOf(0x3d);
    if (eq > 0) {
      const key = rec.subarray(0, eq).toString('utf8');
      const value = rec.subarray(eq + 1);
      if (key.startsWith('SCHILY.xattr.')) out.set(key.slice('SCHILY.xattr.'.length), Buffer.from(value));
      // libarchive writes base64 values under its own prefix.
      else if (key.startsWith('LIBARCHIVE.xattr.')) {
        out.set(decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length)), Buffer.from(value.toString('latin1'), 'base64'));
      }
    }
    off += len;
  }
  return out;
}

export function installPaxPatch(): void {
  const require = createRequire(import.meta.url);
  // Absolute path: tar-stream's "exports" hide headers.js, but the module cache
  // is keyed by file name, so this is the very instance extract.js uses.
  const headers = require(join(dirname(require.resolve('tar-stream')), 'headers.js')) as HeadersModule;
  if (headers[PATCHED]) return;
  const original = headers.decodePax;
  headers.decodePax = function decodePax(buf: Buffer): PaxRecord {
    const result = original(buf);
    const xattrs = rawXattrs(buf);
    if (xattrs.size > 0) result[RAW_XATTRS] = xattrs;
    return result;
  };
  headers[PATCHED] = true;
}

/** The xattrs of an entry's PAX header, as raw bytes. */
export function paxXattrs(pax: unknown): Map<string, Buffer> {
  return ((pax ?? {}) as PaxRecord)[RAW_XATTRS] ?? new Map();
}

/** One PAX record: "<len> key=value\n", where len counts the whole record. */
export function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + String(body.length).length;
  if (String(len).length !== String(body.length).length) len = body.length + String(len).length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/**
 * A complete PAX extended header ('x' block + records + padding), as raw
 * bytes. tar-stream's pack only writes PAX values as UTF-8 text, so binary
 * xattrs are written with this, pushed between two entries.
 */
export function paxHeaderBlock(records: Buffer[], mtime: Date): Buffer {
  const body = Buffer.concat(records);
  const h = Buffer.alloc(512);
  const oct = (n: number, width: number, off: number) => h.write(n.toString(8).padStart(width - 1, '0') + '\0', off, 'latin1');
  h.write('PaxHeader', 0, 'latin1');
  oct(0o644, 8, 100);
  oct(0, 8, 108);
  oct(0, 8, 116);
  oct(body.length, 12, 124);
  oct(Math.max(0, Math.floor(mtime.getTime() / 1000)), 12, 136);
  h.write('x', 156, 'latin1');
  h.write('ustar\u000000', 257, 'latin1');
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  const pad = (512 - (body.length % 512)) % 512;
  return Buffer.concat([h, body, Buffer.alloc(pad)]);
}
