// The local filesystem content store: root/blobs/sha256/<hex>, partial writes in
// root/ingest/. A blob only appears under blobs/ after its size and digest have
// been checked and its bytes fsynced (after containerd's plugins/content/local).
import { createReadStream, mkdirSync, statSync } from 'node:fs';
import { open, rename, unlink, readdir, stat, chmod, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fsyncDir, hasCode, invalidArgument, notFound, conflict, sha256, errorKind } from '../util/index.js';
import { checkDigest, isDigest, type BlobInfo, type ContentStore, type Expected, type IngestOptions } from './content.js';

export class LocalContentStore implements ContentStore {
  readonly root: string;
  private readonly blobDir: string;
  private readonly ingestDir: string;
  /** Refs with an ingest in flight in this process. */
  private readonly busy = new Set<string>();

  constructor(opts: { root: string }) {
    this.root = opts.root;
    this.blobDir = join(opts.root, 'blobs', 'sha256');
    this.ingestDir = join(opts.root, 'ingest');
    mkdirSync(this.blobDir, { recursive: true });
    mkdirSync(this.ingestDir, { recursive: true });
  }

  path(digest: string): string {
    return join(this.blobDir, checkDigest(digest).slice('sha256:'.length));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await stat(this.path(digest));
      return true;
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return false;
      throw err;
    }
  }

  async info(digest: string): Promise<BlobInfo> {
    try {
      const st = await stat(this.path(digest));
      return { digest, size: st.size };
    } catch (err) {
      if (hasCode(err, 'ENOENT')) throw notFound(`content digest ${digest}: not found`, err);
      throw err;
    }
  }

  async readBuffer(digest: string, opts: { maxSize?: number } = {}): Promise<Buffer> {
    const { size } = await this.info(digest);
    if (opts.maxSize !== undefined && size > opts.maxSize) {
      throw invalidArgument(`content ${digest} is too large: ${size} bytes, limit ${opts.maxSize}`);
    }
    return readFile(this.path(digest));
  }

  createReadStream(digest: string, opts: { start?: number } = {}): Readable {
    const p = this.path(digest);
    try {
      statSync(p);
    } catch (err) {
      if (hasCode(err, 'ENOENT')) throw notFound(`content digest ${digest}: not found`, err);
      throw err;
    }
    return createReadStream(p, { start: opts.start, highWaterMark: 1 << 20 });
  }

  async list(): Promise<BlobInfo[]> {
    const out: BlobInfo[] = [];
    for (const name of await readdir(this.blobDir)) {
      const digest = `sha256:${name}`;
      if (!isDigest(digest)) continue;
      try {
        out.push({ digest, size: (await stat(join(this.blobDir, name))).size });
      } catch (err) {
        if (!hasCode(err, 'ENOENT')) throw err;
      }
    }
    return out;
  }

  async delete(digest: string): Promise<void> {
    try {
      await unlink(this.path(digest));
    } catch (err) {
      if (hasCode(err, 'ENOENT')) throw notFound(`content digest ${digest}: not found`, err);
      throw err;
    }
  }

  async writeBuffer(data: Uint8Array | string, expected: Expected = {}): Promise<BlobInfo> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    return this.ingest([buf], expected);
  }

  /**
   * Startup sweep, with no ingest in flight: a kill -9 mid-write leaves tmp-* ingest files (never
   * resumable: only ref-* ones are, for pulls), and one between a blob's commit and its image's
   * record (import, load, build, commit) or between an image's deletion and its blobs' leaves
   * blobs nothing refers to. `referenced` are the blobs to keep; without it only ingests are swept.
   */
  async reconcile(referenced?: Set<string>): Promise<{ ingests: number; blobs: number }> {
    let ingests = 0;
    let blobs = 0;
    for (const name of await readdir(this.ingestDir)) {
      if (!name.startsWith('tmp-')) continue;
      await unlink(join(this.ingestDir, name)).catch(() => undefined);
      ingests++;
    }
    if (referenced) {
      for (const hex of await readdir(this.blobDir)) {
        if (referenced.has(`sha256:${hex}`)) continue;
        await unlink(join(this.blobDir, hex)).catch(() => undefined);
        blobs++;
      }
      if (blobs) await fsyncDir(this.blobDir);
    }
    return { ingests, blobs };
  }

  /** Ingest files are named by a hash of the ref, so any ref string is safe in a path. */
  private ingestPath(ref: string): string {
    return join(this.ingestDir, `ref-${sha256(ref)}`);
  }

  async ingestOffset(ref: string): Promise<number> {
    try {
      return (await stat(this.ingestPath(ref))).size;
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return 0;
      throw err;
    }
  }

  async abortIngest(ref: string): Promise<void> {
    if (this.busy.has(ref)) throw conflict(`ref ${ref} locked: an ingest is in progress`);
    await unlink(this.ingestPath(ref)).catch((err) => { if (!hasCode(err, 'ENOENT')) throw err; });
  }

  async ingest(src: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expected: Expected = {}, opts: IngestOptions = {}): Promise<BlobInfo> {
    if (expected.digest !== undefined) checkDigest(expected.digest);
    if (expected.size !== undefined && (!Number.isSafeInteger(expected.size) || expected.size < 0)) {
      throw invalidArgument(`invalid expected size ${expected.size}`);
    }
    opts.signal?.throwIfAborted();
    // Already there: nothing to write. Drain nothing; the caller owns src.
    if (expected.digest !== undefined && (await this.has(expected.digest))) {
      const info = await this.info(expected.digest);
      if (expected.size === undefined || expected.size === info.size) {
        destroyQuietly(src);
        return info;
      }
    }
    const ref = opts.ref;
    if (ref !== undefined) {
      if (this.busy.has(ref)) throw conflict(`ref ${ref} locked: an ingest is in progress`);
      this.busy.add(ref);
    }
    const tmp = ref !== undefined ? this.ingestPath(ref) : join(this.ingestDir, `tmp-${randomBytes(12).toString('hex')}`);
    let keepPartial = false;
    let fh: FileHandle | undefined;
    try {
      const hash = createHash('sha256');
      let size = 0;
      if (ref !== undefined && opts.resume) {
        // Re-hash what an earlier attempt left; the caller sends only the rest.
        size = await hashExisting(tmp, hash);
        fh = await open(tmp, 'a', 0o644);
      } else {
        fh = await open(tmp, 'w', 0o644);
      }
      if (expected.size !== undefined && size > expected.size) {
        throw invalidArgument(`unexpected size: expected ${expected.size} bytes, got more than ${size}`);
      }
      try {
        for await (const chunk of src as AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
          opts.signal?.throwIfAborted();
          const c = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          size += c.byteLength;
          if (expected.size !== undefined && size > expected.size) {
            throw invalidArgument(`unexpected size: expected ${expected.size} bytes, got more than ${expected.size}`);
          }
          hash.update(c);
          await fh.write(c);
        }
        opts.signal?.throwIfAborted();
      } catch (err) {
        // A broken source (network) may be resumed later; a wrong size never can.
        keepPartial = ref !== undefined && errorKind(err) === undefined;
        throw err;
      }
      if (expected.size !== undefined && size !== expected.size) {
        keepPartial = ref !== undefined;
        throw invalidArgument(`unexpected size: expected ${expected.size} bytes, got ${size}`);
      }
      const digest = `sha256:${hash.digest('hex')}`;
      if (expected.digest !== undefined && digest !== expected.digest) {
        throw invalidArgument(`unexpected digest: expected ${expected.digest}, got ${digest}`);
      }
      await fh.sync();
      await fh.close();
      fh = undefined;
      const target = this.path(digest);
      if (await this.has(digest)) {
        await unlink(tmp);
        return { digest, size };
      }
      await chmod(tmp, 0o444);
      await rename(tmp, target);
      await fsyncDir(this.blobDir);
      return { digest, size };
    } catch (err) {
      if (fh) await fh.close().catch(() => undefined);
      if (!keepPartial) await unlink(tmp).catch(() => undefined);
      throw err;
    } finally {
      if (ref !== undefined) this.busy.delete(ref);
    }
  }
}

async function hashExisting(path: string, hash: Hash): Promise<number> {
  let size = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).byteLength;
    }
  } catch (err) {
    if (!hasCode(err, 'ENOENT')) throw err;
  }
  return size;
}

function destroyQuietly(src: unknown): void {
  const s = src as { destroy?: () => void };
  if (typeof s.destroy === 'function') s.destroy();
}
