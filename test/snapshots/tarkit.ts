// Build tars in memory for tests, hostile ones included.
import tar from 'tar-stream';
import { createHash } from 'node:crypto';
import { paxHeaderBlock, paxRecord } from '../../src/snapshots/pax.js';

export interface TarEntry {
  name: string;
  type?: tar.Header['type'];
  data?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Raw PAX records written before the entry (values kept as bytes). */
  pax?: Record<string, Buffer | string>;
}

export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => { for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array)); })();
  for (const e of entries) {
    if (e.pax) {
      pack.push(paxHeaderBlock(Object.entries(e.pax).map(([k, v]) => paxRecord(k, Buffer.from(v))), new Date(0)));
    }
    const data = e.data === undefined ? undefined : Buffer.from(e.data);
    await new Promise<void>((resolve, reject) => {
      const header = {
        name: e.name, type: e.type ?? 'file', mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644),
        uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: e.mtime ?? new Date('2020-01-01T00:00:00Z'),
        linkname: e.linkname, devmajor: e.devmajor, devminor: e.devminor,
      };
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (data) pack.entry(header, data, cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
