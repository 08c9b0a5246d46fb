// Reading an untrusted image tarball: entry names are checked and never used as
// host paths; blobs go to the content store (verified by digest when the name
// says one); small JSON files are kept in memory under a size limit.
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { invalidArgument, errorKind, type Logger } from '../util/index.js';
import { isDigest, type ContentStore } from '../content/index.js';
import { decompressor, detectCompression, ingestLayer, type IngestedLayer } from './layer.js';
import type { Duplex } from 'node:stream';

type TarEntry = tar.Extract extends AsyncIterable<infer S> ? S : never;

export const MAX_JSON_FILE = 8 * 1024 * 1024;
const MAX_JSON_TOTAL = 64 * 1024 * 1024;
const MAX_ENTRIES = 100_000;
const MAX_LINKS = 16;

/** A stored blob read from the archive; the diff fields are known when it was ingested here. */
export interface ArchiveBlob {
  digest: string;
  size: number;
  layer?: IngestedLayer;
}

export type ArchiveEntry = { kind: 'file'; data: Buffer } | { kind: 'blob'; blob: ArchiveBlob };

/** Cleans an entry name: "./a//b/" → "a/b"; absolute names and ".." are refused. */
export function cleanEntryName(name: string): string {
  const raw = name.replace(/^(\.\/)+/, '');
  if (raw.startsWith('/') || raw.split('/').includes('..')) {
    throw invalidArgument(`invalid archive: unsafe path ${JSON.stringify(name.slice(0, 200))}`);
  }
  return raw.split('/').filter((p) => p !== '' && p !== '.').join('/');
}

const isJsonName = (n: string): boolean =>
  n === 'manifest.json' || n === 'index.json' || n === 'oci-layout' || n === 'repositories' ||
  n.endsWith('.json') || n.endsWith('/json') || n.endsWith('/VERSION');

/** Decompresses the outer archive if it is gzip or zstd (docker load accepts both). */
class AutoDecompress extends Transform {
  private d: Duplex | undefined;
  private decided = false;
  private head: Buffer = Buffer.alloc(0);
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.decided) { this.forward(chunk, cb); return; }
    this.head = Buffer.concat([this.head, chunk]);
    if (this.head.length < 4) { cb(); return; }
    this.decide();
    this.forward(this.head, cb);
  }
  private decide(): void {
    this.decided = true;
    const c = detectCompression(this.head);
    if (c === 'none') return;
    this.d = decompressor(c);
    this.d.on('data', (b: Buffer) => { if (!this.push(b)) this.d!.pause(); });
    this.d.on('error', (err) => this.destroy(invalidArgument(`invalid compressed archive: ${err.message}`, err)));
  }
  override _read(size: number): void {
    this.d?.resume();
    super._read(size);
  }
  private forward(chunk: Buffer, cb: TransformCallback): void {
    if (!this.d) { cb(null, chunk); return; }
    this.d.write(chunk, () => cb());
  }
  override _flush(cb: TransformCallback): void {
    if (!this.decided) { this.decide(); if (!this.d) { cb(null, this.head); return; } this.d.write(this.head); }
    if (!this.d) { cb(); return; }
    this.d.once('end', () => cb());
    this.d.end();
  }
}

export class ArchiveReader {
  readonly files = new Map<string, Buffer>();
  readonly blobs = new Map<string, ArchiveBlob>();
  readonly links = new Map<string, string>();
  /** Blobs this read added to the content store (to drop again if unused). */
  readonly newBlobs = new Set<string>();
  private jsonBytes = 0;

  constructor(private readonly content: ContentStore, private readonly log: Logger) {}

  async read(src: Readable, signal?: AbortSignal): Promise<void> {
    try {
      await this.readEntries(src, signal);
    } catch (err) {
      // Tar parse errors are the archive's fault: report them as such.
      if (errorKind(err) !== undefined || (err as Error).name === 'AbortError') throw err;
      throw invalidArgument(`invalid archive: ${(err as Error).message}`, err);
    }
  }

  private async readEntries(src: Readable, signal?: AbortSignal): Promise<void> {
    const extract = tar.extract();
    const done = pipeline(src, new AutoDecompress(), extract, { signal });
    done.catch(() => undefined); // surfaced through the iterator below, or awaited at the end
    let count = 0;
    for await (const entry of extract) {
      if (++count > MAX_ENTRIES) throw invalidArgument('invalid archive: too many entries');
      await this.onEntry(entry);
    }
    await done;
  }

  private async onEntry(entry: TarEntry): Promise<void> {
    const h = entry.header;
    let name: string;
    try {
      name = cleanEntryName(h.name);
    } catch (err) {
      entry.resume();
      throw err;
    }
    if (h.type === 'symlink' || h.type === 'link') {
      const target = h.linkname ?? '';
      const joined = h.type === 'symlink' && !target.startsWith('/') ? posix.join(posix.dirname(name), target) : target;
      const norm = posix.normalize(joined);
      if (target.startsWith('/') || norm.startsWith('..')) {
        entry.resume();
        throw invalidArgument(`invalid archive: link ${JSON.stringify(name)} points outside the archive`);
      }
      this.links.set(name, cleanEntryName(norm));
      entry.resume();
      return;
    }
    if (h.type !== 'file' && h.type !== 'contiguous-file') {
      entry.resume();
      return;
    }
    const size = h.size ?? 0;
    if (isJsonName(name)) {
      if (size > MAX_JSON_FILE) {
        entry.resume();
        throw invalidArgument(`invalid archive: ${name} is too large (${size} bytes, limit ${MAX_JSON_FILE})`);
      }
      this.jsonBytes += size;
      if (this.jsonBytes > MAX_JSON_TOTAL) {
        entry.resume();
        throw invalidArgument('invalid archive: too much metadata');
      }
      const parts: Buffer[] = [];
      for await (const c of entry) parts.push(c as Buffer);
      this.files.set(name, Buffer.concat(parts));
      return;
    }
    // Everything else is a blob; under blobs/sha256/ its name is its digest and must match.
    const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
    const expected = m ? { digest: `sha256:${m[1]}`, size } : { size };
    if (m && (await this.content.has(expected.digest!))) {
      const info = await this.content.info(expected.digest!);
      entry.resume();
      await new Promise<void>((r) => entry.once('end', () => r()));
      if (info.size !== size) throw invalidArgument(`invalid archive: ${name} has ${size} bytes, the stored blob ${info.size}`);
      this.blobs.set(name, { digest: info.digest, size });
      return;
    }
    if (name.startsWith('blobs/') && !m) {
      this.log.debug('load: skipping blob with unsupported name', { name });
      entry.resume();
      return;
    }
    let layer: IngestedLayer;
    try {
      layer = await ingestLayer(this.content, entry as unknown as AsyncIterable<Uint8Array>, expected);
    } catch (err) {
      entry.resume();
      throw m ? invalidArgument(`invalid archive: ${name}: ${(err as Error).message}`, err) : err;
    }
    this.newBlobs.add(layer.digest);
    this.blobs.set(name, { digest: layer.digest, size: layer.size, layer });
  }

  /** Follows links (inside the archive only). */
  private resolveName(name: string): string {
    let n = cleanEntryName(name);
    for (let i = 0; i < MAX_LINKS; i++) {
      const next = this.links.get(n);
      if (next === undefined) return n;
      n = next;
    }
    throw invalidArgument(`invalid archive: too many levels of links at ${name}`);
  }

  lookup(name: string): ArchiveEntry | undefined {
    const n = this.resolveName(name);
    const data = this.files.get(n);
    if (data) return { kind: 'file', data };
    const blob = this.blobs.get(n);
    if (blob) return { kind: 'blob', blob };
    return undefined;
  }

  /** A JSON document named in the archive (a small file or a blob), parsed. */
  async readJson<T>(name: string): Promise<{ data: Buffer; value: T }> {
    const e = this.lookup(name);
    if (!e) throw invalidArgument(`invalid archive: ${name} not found`);
    const data = e.kind === 'file' ? e.data : await this.content.readBuffer(e.blob.digest, { maxSize: MAX_JSON_FILE });
    try {
      return { data, value: JSON.parse(data.toString('utf8')) as T };
    } catch (err) {
      throw invalidArgument(`invalid archive: ${name} is not valid JSON: ${(err as Error).message}`, err);
    }
  }

  /** A blob by digest: from this archive's blobs/ or already in the content store. */
  async blobByDigest(digest: unknown): Promise<ArchiveBlob> {
    if (!isDigest(digest)) throw invalidArgument(`invalid archive: unsupported or malformed digest ${JSON.stringify(String(digest).slice(0, 100))}`);
    const b = this.lookup(`blobs/sha256/${digest.slice(7)}`);
    if (b?.kind === 'blob') return b.blob;
    if (b?.kind === 'file') throw invalidArgument(`invalid archive: blob ${digest} is not a blob`);
    if (await this.content.has(digest)) return { digest, size: (await this.content.info(digest)).size };
    throw invalidArgument(`invalid archive: blob ${digest} is missing`);
  }
}
