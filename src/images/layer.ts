// Layer blobs: detect their compression, decompress them, and ingest them
// while computing the diffID (digest of the uncompressed tar) in the same pass,
// so a layer is stored once, as given.
import { createGunzip } from 'node:zlib';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, Duplex, type Readable } from 'node:stream';
import { invalidArgument } from '../util/index.js';
import type { ContentProvider, Ingester, Expected, IngestOptions } from '../content/index.js';
import { MediaType, layerCompression, type Compression, type LayerRef } from './types.js';

export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** True when the bytes look like the start of a tar (ustar magic at 257). */
export const looksLikeTar = (head: Uint8Array): boolean =>
  head.length >= 262 && Buffer.from(head.subarray(257, 262)).toString('latin1') === 'ustar';

export function layerMediaType(c: Compression, oci = true): string {
  if (c === 'gzip') return oci ? MediaType.OciLayerGzip : MediaType.DockerLayerGzip;
  if (c === 'zstd') return MediaType.OciLayerZstd;
  return oci ? MediaType.OciLayer : MediaType.DockerLayer;
}

/** A stream that decompresses `c`. zstd uses the zstd program (Node 20's zlib has none). */
export function decompressor(c: Compression): Duplex {
  if (c === 'gzip') return createGunzip();
  if (c === 'none') return new PassThrough();
  const child = spawn('zstd', ['-dcq'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const out = new PassThrough();
  child.stdout.pipe(out);
  child.on('error', (err) => out.destroy(err));
  child.on('exit', (code) => { if (code) out.destroy(new Error(`zstd exited with status ${code}`)); });
  child.stdin.on('error', () => undefined); // reported through the exit status
  return Duplex.from({ writable: child.stdin, readable: out });
}

/** The uncompressed tar of a stored layer. */
export function openLayer(content: ContentProvider, layer: Pick<LayerRef, 'digest' | 'mediaType'>): Readable {
  const raw = content.createReadStream(layer.digest);
  const c = layerCompression(layer.mediaType) ?? 'none';
  if (c === 'none') return raw;
  const d = decompressor(c);
  raw.on('error', (err) => d.destroy(err));
  d.on('close', () => raw.destroy());
  return raw.pipe(d) as unknown as Readable;
}

export interface IngestedLayer {
  digest: string;
  size: number;
  compression: Compression;
  diffId: string;
  diffSize: number;
  /** The uncompressed bytes start like a tar (ustar header, or the zero blocks of an empty tar). */
  looksLikeTar: boolean;
}

/** Hashes what a decompressor emits for the chunks it is fed. */
class DiffHasher {
  private readonly hash = createHash('sha256');
  size = 0;
  private head: Buffer = Buffer.alloc(0);
  private see(c: Uint8Array): void {
    this.hash.update(c);
    this.size += c.byteLength;
    if (this.head.length < 512) this.head = Buffer.concat([this.head, c.subarray(0, 512 - this.head.length)]);
  }
  get looksLikeTar(): boolean {
    return looksLikeTar(this.head) || (this.head.length === 512 && this.head.every((b) => b === 0));
  }
  private readonly d: Duplex | undefined;
  private readonly done: Promise<void>;
  constructor(readonly compression: Compression) {
    if (compression === 'none') {
      this.done = Promise.resolve();
      return;
    }
    const d = decompressor(compression);
    this.d = d;
    d.on('data', (c: Buffer) => this.see(c));
    this.done = new Promise((resolve, reject) => {
      d.on('end', resolve);
      d.on('error', (err) => reject(invalidArgument(`invalid ${compression} layer: ${err.message}`, err)));
    });
    this.done.catch(() => undefined); // observed in finish()/write()
  }
  async write(chunk: Uint8Array): Promise<void> {
    if (!this.d) { this.see(chunk); return; }
    if (!this.d.write(chunk)) await Promise.race([once(this.d, 'drain'), this.done]);
  }
  async finish(): Promise<{ diffId: string; diffSize: number; looksLikeTar: boolean }> {
    this.d?.end();
    await this.done;
    return { diffId: `sha256:${this.hash.digest('hex')}`, diffSize: this.size, looksLikeTar: this.looksLikeTar };
  }
  destroy(): void { this.d?.destroy(); }
}

/**
 * Stores a layer blob as given (compressed or not) and returns its digest and
 * diffID. The compression is detected from the bytes, not trusted from a name.
 */
export async function ingestLayer(
  content: Ingester & ContentProvider,
  src: AsyncIterable<Uint8Array>,
  expected: Expected = {},
  opts: IngestOptions = {},
): Promise<IngestedLayer> {
  let hasher: DiffHasher | undefined;
  let diff: { diffId: string; diffSize: number; looksLikeTar: boolean } | undefined;
  let head: Buffer = Buffer.alloc(0);
  async function* tee(): AsyncGenerator<Uint8Array> {
    for await (const chunk of src) {
      if (!hasher) {
        head = Buffer.concat([head, chunk]);
        if (head.length < 4) continue;
        hasher = new DiffHasher(detectCompression(head));
        await hasher.write(head);
        yield head;
        continue;
      }
      await hasher.write(chunk);
      yield chunk;
    }
    if (!hasher) {
      hasher = new DiffHasher(detectCompression(head));
      await hasher.write(head);
      yield head;
    }
    // Finish decompressing before the store commits: a corrupt stream never becomes a blob.
    diff = await hasher.finish();
  }
  try {
    const info = await content.ingest(tee(), expected, opts);
    // Already stored (src left unread, the caller drains it): read the stored copy instead.
    if (!hasher || !diff) return { ...info, ...(await computeDiffId(content, info.digest)) };
    return { ...info, compression: hasher.compression, ...diff };
  } catch (err) {
    hasher?.destroy();
    throw err;
  }
}

/** Computes the diffID of a stored layer blob by reading it once. */
export async function computeDiffId(content: ContentProvider, digest: string): Promise<{ compression: Compression; diffId: string; diffSize: number; looksLikeTar: boolean }> {
  const raw = content.createReadStream(digest);
  let hasher: DiffHasher | undefined;
  let head: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of raw) {
      const c = chunk as Buffer;
      if (!hasher) {
        head = Buffer.concat([head, c]);
        if (head.length < 4) continue;
        hasher = new DiffHasher(detectCompression(head));
        await hasher.write(head);
        continue;
      }
      await hasher.write(c);
    }
    if (!hasher) {
      hasher = new DiffHasher(detectCompression(head));
      await hasher.write(head);
    }
    return { compression: hasher.compression, ...(await hasher.finish()) };
  } catch (err) {
    hasher?.destroy();
    raw.destroy();
    throw err;
  }
}
