// Shared set-up for the image store tests: a store in a temp dir, tar builders.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { openDb } from '../../src/util/index.js';
import { LocalContentStore } from '../../src/content/index.js';
import { ImageStore } from '../../src/images/index.js';

export interface Env {
  root: string;
  store: ImageStore;
  content: LocalContentStore;
  events: { action: string; id: string; attrs: Record<string, string> }[];
  close(): void;
}

export function makeEnv(): Env {
  const root = mkdtempSync(join(tmpdir(), 'berth-images-'));
  const db = openDb(join(root, 'berth.db'));
  const content = new LocalContentStore({ root: join(root, 'content') });
  const events: Env['events'] = [];
  const store = new ImageStore({ db, content, events: (_t, action, id, attrs) => events.push({ action, id, attrs: attrs ?? {} }) });
  return { root, store, content, events, close: () => { db.close(); rmSync(root, { recursive: true, force: true }); } };
}

export type TarEntry = { name: string; data?: Buffer | string; type?: 'file' | 'symlink' | 'link' | 'directory'; linkname?: string };

export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  const collected = (async () => { for await (const c of pack as unknown as AsyncIterable<Buffer>) out.push(c); })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const data = e.data === undefined ? undefined : Buffer.from(e.data);
      const header = { name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: 0o644 } as const;
      if (data) pack.entry(header, data, (err) => (err ? reject(err) : resolve()));
      else pack.entry(header, (err) => (err ? reject(err) : resolve())).end(undefined);
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(out);
}

export const streamOf = (b: Buffer): Readable => Readable.from([b]);

export async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}
