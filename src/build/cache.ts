// The build cache: a step already run on the same parent image with the same
// instruction (same build args, same file contents for COPY/ADD) gives the
// image it made last time. Rows point at step images kept in the image store;
// a row whose image is gone is a miss, so deleting images never breaks it.
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readSync, readdirSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import { type DB, migrate } from '../util/index.js';

const MIGRATIONS = [
  `CREATE TABLE build_cache (
     key TEXT PRIMARY KEY,
     image_id TEXT NOT NULL,
     parent_id TEXT NOT NULL,
     created TEXT NOT NULL
   )`,
  'CREATE INDEX build_cache_parent ON build_cache(parent_id)',
  'CREATE INDEX build_cache_image ON build_cache(image_id)',
];

export class BuildCache {
  constructor(private readonly db: DB) {
    migrate(db, 'build', MIGRATIONS);
  }

  get(key: string): string | undefined {
    return (this.db.prepare('SELECT image_id FROM build_cache WHERE key = ?').get(key) as { image_id: string } | undefined)?.image_id;
  }

  put(key: string, imageId: string, parentId: string): void {
    this.db.prepare('INSERT OR REPLACE INTO build_cache (key, image_id, parent_id, created) VALUES (?, ?, ?, ?)')
      .run(key, imageId, parentId, new Date().toISOString());
  }

  /** True when a cached step was built on `imageId` (Docker hides such untagged images from `docker images`). */
  hasChild(imageId: string): boolean {
    return !!this.db.prepare('SELECT 1 FROM build_cache WHERE parent_id = ? LIMIT 1').get(imageId);
  }

  /** The image a cached step was built on, if `imageId` is a step image. */
  parentOf(imageId: string): string | undefined {
    return (this.db.prepare('SELECT parent_id FROM build_cache WHERE image_id = ? LIMIT 1').get(imageId) as { parent_id: string } | undefined)?.parent_id;
  }

  /** Step images built on `imageId`. */
  childrenOf(imageId: string): string[] {
    return (this.db.prepare('SELECT DISTINCT image_id FROM build_cache WHERE parent_id = ?').all(imageId) as { image_id: string }[]).map((r) => r.image_id);
  }

  /** Every image a cache row names. */
  imageIds(): string[] {
    return (this.db.prepare('SELECT DISTINCT image_id FROM build_cache').all() as { image_id: string }[]).map((r) => r.image_id);
  }

  /** Forgets rows whose image is no longer kept. */
  forget(imageIds: string[]): void {
    const del = this.db.prepare('DELETE FROM build_cache WHERE image_id = ?');
    this.db.transaction(() => { for (const id of imageIds) del.run(id); })();
  }
}

function hashFile(h: ReturnType<typeof createHash>, path: string): void {
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/** A stable key for a step. */
export function cacheKey(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * Digest of what COPY/ADD would read at host paths `abs` (already resolved in
 * their root): names, types, permission bits, link targets and file bytes.
 * Times and owners are left out (a fresh checkout must still hit the cache).
 */
export function contentDigest(abs: string[]): string {
  const h = createHash('sha256');
  const walk = (p: string, rel: string) => {
    const st = lstatSync(p);
    h.update(`${rel}\0${st.mode & 0o170000}\0${st.mode & 0o7777}\0`);
    if (st.isSymbolicLink()) h.update(readlinkSync(p));
    else if (st.isFile()) hashFile(h, p);
    else if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(posix.join(p, n), `${rel}/${n}`);
    h.update('\0');
  };
  for (const p of abs) walk(p, posix.basename(p));
  return h.digest('hex');
}
