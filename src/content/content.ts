// The content store contract (after containerd's core/content): blobs addressed
// by digest, written only through a verified ingest. Callers take the narrowest
// interface they need: a reader takes a ContentProvider.
import type { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { invalidArgument } from '../util/index.js';

export interface BlobInfo {
  digest: string;
  size: number;
}

export interface Expected {
  digest?: string;
  size?: number;
}

export interface IngestOptions {
  signal?: AbortSignal;
  /**
   * A stable name for this ingest (e.g. the layer digest being downloaded). Two
   * ingests with the same ref cannot run at once; with `resume` a partial file
   * left by an earlier attempt is continued instead of started over.
   */
  ref?: string;
  resume?: boolean;
}

/** The read side. */
export interface ContentProvider {
  has(digest: string): Promise<boolean>;
  /** Throws NotFound when missing. */
  info(digest: string): Promise<BlobInfo>;
  /** The file of a blob (it may not exist). Read-only: never write through it. */
  path(digest: string): string;
  /** Whole blob in memory; throws InvalidArgument past maxSize (use for manifests and configs). */
  readBuffer(digest: string, opts?: { maxSize?: number }): Promise<Buffer>;
  /** Throws NotFound synchronously when missing. */
  createReadStream(digest: string, opts?: { start?: number }): Readable;
}

/**
 * The write side. Every write is verified, then committed atomically; an existing blob counts as
 * success (when `expected.digest` is already present, `src` is destroyed unread).
 */
export interface Ingester {
  writeBuffer(data: Uint8Array | string, expected?: Expected): Promise<BlobInfo>;
  ingest(src: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expected?: Expected, opts?: IngestOptions): Promise<BlobInfo>;
  /** Bytes already held for a resumable ingest `ref` (0 if none): the offset to continue the download from. */
  ingestOffset(ref: string): Promise<number>;
  /** Drops a partial ingest. */
  abortIngest(ref: string): Promise<void>;
}

export interface ContentManager {
  list(): Promise<BlobInfo[]>;
  /** Throws NotFound when missing. */
  delete(digest: string): Promise<void>;
}

export interface ContentStore extends ContentProvider, Ingester, ContentManager {}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export const isDigest = (d: unknown): d is string => typeof d === 'string' && DIGEST_RE.test(d);

/** Validates a digest before it is used in a path or compared. */
export function checkDigest(d: unknown): string {
  if (typeof d !== 'string') throw invalidArgument('invalid digest: not a string');
  if (DIGEST_RE.test(d)) return d;
  if (/^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:/.test(d) && !d.startsWith('sha256:')) {
    throw invalidArgument(`unsupported digest algorithm: ${d.slice(0, 80)}`);
  }
  throw invalidArgument(`invalid digest: ${JSON.stringify(d.slice(0, 80))}`);
}

export const digestOf = (data: Uint8Array | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Deletes every blob not in `keep`; returns the bytes freed. */
export async function pruneContent(store: ContentManager, keep: Set<string>): Promise<{ deleted: string[]; freed: number }> {
  const deleted: string[] = [];
  let freed = 0;
  for (const b of await store.list()) {
    if (keep.has(b.digest)) continue;
    try {
      await store.delete(b.digest);
      deleted.push(b.digest);
      freed += b.size;
    } catch { /* raced with another delete: fine */ }
  }
  return { deleted, freed };
}
