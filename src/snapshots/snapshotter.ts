// Snapshotter: unpacked image layers, one directory per chain ID, plus the
// overlay plumbing for container root filesystems.
//
// On disk (root = <data-root>/snapshots):
//   <chainhex>/fs     an unpacked layer (read-only lower for overlay)
//   new-<random>/fs   an extraction in progress (swept by reconcile)
//   l/<short>         symlinks to layer dirs, for mounts with many layers
//   empty/            the lower dir of an image with no layers
//
// Database first, filesystem second: a layer is extracted in new-*, then its
// row is inserted and the dir renamed inside one transaction (a crash
// between rename and commit leaves a dir without a row, which reconcile
// removes). Remove deletes the row, then the dir, best-effort.
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { hasCode, internal, invalidArgument, migrate, notFound, type DB, type Logger } from '../util/index.js';
import { syncfsAsync } from '../sys/index.js';
import { applyLayer } from './apply.js';
import { assertDigest, chainId as computeChainId } from './chain.js';
import { isMounted, MOUNT_DATA_MAX, mountOverlay, mountOverlayAsync, needsEscape, overlayOptions, unmount, unmountAsync } from './overlay.js';
import { diff } from './diff.js';

export interface LayerInfo {
  chainId: string;
  parent: string | null;
  diffId: string;
  /** Uncompressed tar size in bytes. */
  size: number;
  created: string;
  dir: string;
}

export interface EnsureResult {
  dir: string;
  size: number;
  diffId: string;
}

export interface SnapshotterOptions {
  root: string;
  db: DB;
  log: Logger;
  /** syncfs after each extraction so a committed layer survives power loss (default true). */
  sync?: boolean;
}

export interface MountRootfsOptions {
  /** Layer dirs, bottom-first (as from unpack). Empty for an image with no layers. */
  lowerDirs: readonly string[];
  upperDir: string;
  workDir: string;
  target: string;
}

interface Row { chain_id: string; parent: string | null; diff_id: string; size: number; created: string }

const MIGRATIONS = [
  `CREATE TABLE snapshots_layers (
     chain_id TEXT PRIMARY KEY,
     parent   TEXT,
     diff_id  TEXT NOT NULL,
     size     INTEGER NOT NULL,
     created  TEXT NOT NULL
   )`,
];

const hex = (digest: string) => digest.slice('sha256:'.length);

export class Snapshotter {
  readonly root: string;
  private readonly db: DB;
  private readonly log: Logger;
  private readonly sync: boolean;
  private readonly inflight = new Map<string, Promise<EnsureResult>>();

  constructor(opts: SnapshotterOptions) {
    this.root = posix.resolve(opts.root);
    this.db = opts.db;
    this.log = opts.log;
    this.sync = opts.sync ?? true;
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    mkdirSync(join(this.root, 'l'), { recursive: true, mode: 0o700 });
    mkdirSync(join(this.root, 'empty'), { recursive: true, mode: 0o755 });
    migrate(this.db, 'snapshots', MIGRATIONS);
  }

  has(chainId: string): boolean {
    return this.db.prepare('SELECT 1 FROM snapshots_layers WHERE chain_id = ?').get(chainId) !== undefined;
  }

  /** The unpacked tree of a layer (its `fs` dir). Throws NotFound when absent. */
  layerDir(chainId: string): string {
    assertDigest(chainId, 'chainID');
    if (!this.has(chainId)) throw notFound(`layer ${chainId} not found`);
    return this.dirOf(chainId);
  }

  get(chainId: string): LayerInfo | undefined {
    const row = this.db.prepare('SELECT * FROM snapshots_layers WHERE chain_id = ?').get(chainId) as Row | undefined;
    return row && this.info(row);
  }

  list(): LayerInfo[] {
    return (this.db.prepare('SELECT * FROM snapshots_layers ORDER BY created, chain_id').all() as Row[]).map((r) => this.info(r));
  }

  /** For `system df`: how many layers and their total uncompressed size. */
  usage(): { count: number; size: number } {
    const r = this.db.prepare('SELECT COUNT(*) AS count, COALESCE(SUM(size), 0) AS size FROM snapshots_layers').get() as { count: number; size: number };
    return { count: r.count, size: r.size };
  }

  /**
   * Make sure the layer `chainId` is unpacked, extracting it from `open()` if
   * not. Concurrent calls for one chain ID share the extraction. The diffID
   * measured while extracting must give back `chainId`, or nothing is kept.
   */
  ensureLayer(chainId: string, parentChainId: string | null, open: () => Promise<Readable>, opts: { signal?: AbortSignal } = {}): Promise<EnsureResult> {
    assertDigest(chainId, 'chainID');
    if (parentChainId !== null) assertDigest(parentChainId, 'chainID');
    const existing = this.get(chainId);
    if (existing) return Promise.resolve({ dir: existing.dir, size: existing.size, diffId: existing.diffId });
    let p = this.inflight.get(chainId);
    if (!p) {
      p = this.extract(chainId, parentChainId, open, opts).finally(() => this.inflight.delete(chainId));
      this.inflight.set(chainId, p);
    }
    return p;
  }

  private async extract(chainId: string, parent: string | null, open: () => Promise<Readable>, opts: { signal?: AbortSignal }): Promise<EnsureResult> {
    const tmp = join(this.root, `new-${randomBytes(8).toString('hex')}`);
    try {
      await mkdir(join(tmp, 'fs'), { recursive: true, mode: 0o755 });
      const src = await open();
      const { size, diffId } = await applyLayer(join(tmp, 'fs'), src, { signal: opts.signal, log: this.log });
      const got = computeChainId(parent, diffId);
      if (got !== chainId) {
        throw invalidArgument(`layer content does not match: expected chain ID ${chainId}, got ${got} (diffID ${diffId})`);
      }
      if (this.sync) await syncfsAsync(tmp);
      const final = join(this.root, hex(chainId));
      const created = new Date().toISOString();
      this.db.transaction(() => {
        this.db.prepare('INSERT INTO snapshots_layers (chain_id, parent, diff_id, size, created) VALUES (?, ?, ?, ?, ?)')
          .run(chainId, parent, diffId, size, created);
        // A dir left by a crash between rename and commit has no row: replace it.
        if (existsSync(final)) rmSync(final, { recursive: true, force: true });
        renameSync(tmp, final);
      })();
      this.log.debug('layer unpacked', { chainId, diffId, size });
      return { dir: join(final, 'fs'), size, diffId };
    } catch (err) {
      await rm(tmp, { recursive: true, force: true }).catch((e) => this.log.warn('cannot remove partial layer', { dir: tmp, error: e }));
      throw err;
    }
  }

  /** Forget a layer: the row first, then its files, best-effort. */
  async remove(chainId: string): Promise<void> {
    assertDigest(chainId, 'chainID');
    const r = this.db.prepare('DELETE FROM snapshots_layers WHERE chain_id = ?').run(chainId);
    if (r.changes === 0) throw notFound(`layer ${chainId} not found`);
    const dir = join(this.root, hex(chainId));
    this.dropShortLink(join(dir, 'fs'));
    // Out of the way at once, so the same layer can be extracted again while the old files go;
    // a crash leaves a dir without a row, which reconcile() sweeps.
    const trash = `${dir}.removing-${randomBytes(4).toString('hex')}`;
    try {
      renameSync(dir, trash);
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return;
      throw err;
    }
    await rm(trash, { recursive: true, force: true }).catch((err) => this.log.warn('cannot remove layer dir', { dir: trash, error: err }));
  }

  /**
   * Startup sweep: remove extractions that never finished, layer dirs without
   * a row, rows without a dir, and dangling short links.
   */
  async reconcile(): Promise<{ removedDirs: string[]; removedRows: string[] }> {
    const rows = new Set((this.db.prepare('SELECT chain_id FROM snapshots_layers').all() as { chain_id: string }[]).map((r) => r.chain_id));
    const removedDirs: string[] = [];
    const removedRows: string[] = [];
    for (const name of readdirSync(this.root)) {
      if (name === 'l' || name === 'empty') continue;
      if (rows.has(`sha256:${name}`)) continue;
      await rm(join(this.root, name), { recursive: true, force: true });
      removedDirs.push(name);
    }
    for (const id of rows) {
      if (!existsSync(join(this.root, hex(id), 'fs'))) {
        this.db.prepare('DELETE FROM snapshots_layers WHERE chain_id = ?').run(id);
        removedRows.push(id);
      }
    }
    const links = join(this.root, 'l');
    for (const name of readdirSync(links)) {
      if (!existsSync(join(links, name))) unlinkSync(join(links, name)); // existsSync follows: false when dangling
    }
    if (removedDirs.length || removedRows.length) this.log.info('snapshots reconciled', { removedDirs, removedRows });
    return { removedDirs, removedRows };
  }

  /** Create a container's writable layer dirs inside `containerDir`. */
  async prepareContainer(containerDir: string): Promise<{ upperDir: string; workDir: string }> {
    const upperDir = join(containerDir, 'upper');
    const workDir = join(containerDir, 'work');
    await mkdir(upperDir, { recursive: true, mode: 0o755 });
    await mkdir(workDir, { recursive: true, mode: 0o700 });
    return { upperDir, workDir };
  }

  /**
   * Mount a container's root: overlay of the layers (bottom-first) under a
   * writable upper dir. An image without layers gets an empty lower dir. When
   * the option string would not fit in a page, or a path holds a character
   * overlayfs splits on, the lower dirs are named through short symlinks in
   * `l/` (overlayfs resolves them once, at mount time).
   */
  mountRootfs(opts: MountRootfsOptions): void {
    mountOverlay(this.rootfsLowers(opts), opts.upperDir, opts.workDir, opts.target);
  }

  /** mountRootfs without blocking the event loop. */
  async mountRootfsAsync(opts: MountRootfsOptions): Promise<void> {
    await mountOverlayAsync(this.rootfsLowers(opts), opts.upperDir, opts.workDir, opts.target);
  }

  /** The lower dirs as the mount options will name them (short links when needed). */
  private rootfsLowers(opts: MountRootfsOptions): string[] {
    const lowers = opts.lowerDirs.length ? [...opts.lowerDirs].reverse() : [join(this.root, 'empty')];
    for (const p of [opts.upperDir, opts.workDir]) {
      if (needsEscape(p)) throw invalidArgument(`cannot mount overlay: path ${JSON.stringify(p)} contains ',', ':' or '\\'`);
    }
    let dirs = lowers;
    if (lowers.some(needsEscape) || overlayOptions(lowers, opts.upperDir, opts.workDir).length > MOUNT_DATA_MAX) {
      dirs = lowers.map((d) => this.shortLink(d));
      if (dirs.some(needsEscape)) throw invalidArgument(`cannot mount overlay: snapshot root ${this.root} contains ',', ':' or '\\'`);
      const len = overlayOptions(dirs, opts.upperDir, opts.workDir).length;
      if (len > MOUNT_DATA_MAX) {
        throw invalidArgument(`cannot mount overlay: ${lowers.length} layers need ${len} bytes of mount options, the kernel takes ${MOUNT_DATA_MAX}`);
      }
    }
    return dirs;
  }

  unmount(target: string): void {
    unmount(target);
  }

  unmountAsync(target: string): Promise<void> {
    return unmountAsync(target);
  }

  /**
   * Whether a container rootfs (an overlay target) is mounted. An overlay has
   * a device number of its own, so two stats answer it; scanning
   * /proc/self/mountinfo costs more with every running container.
   */
  isMounted(target: string): boolean {
    try {
      return statSync(target).dev !== statSync(dirname(target)).dev;
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return false;
      return isMounted(target);
    }
  }

  /** An OCI layer tar (uncompressed) of the changes in a container's upper dir. */
  diff(upperDir: string): Readable {
    return diff(upperDir);
  }

  private dirOf(chainId: string): string {
    return join(this.root, hex(chainId), 'fs');
  }

  private info(r: Row): LayerInfo {
    return { chainId: r.chain_id, parent: r.parent, diffId: r.diff_id, size: r.size, created: r.created, dir: this.dirOf(r.chain_id) };
  }

  private shortName(dir: string): string {
    return createHash('sha256').update(dir).digest('base64url').replace(/[-_]/g, 'x').slice(0, 12);
  }

  /** `l/<12 chars>` → dir (absolute), created if missing. */
  private shortLink(dir: string): string {
    const link = join(this.root, 'l', this.shortName(dir));
    try {
      symlinkSync(dir, link);
    } catch (err) {
      if (!hasCode(err, 'EEXIST')) throw err;
      if (readlinkSync(link) !== dir) throw internal(`short link ${link} already names another directory`);
    }
    return link;
  }

  private dropShortLink(dir: string): void {
    try {
      unlinkSync(join(this.root, 'l', this.shortName(dir)));
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) this.log.warn('cannot remove short link', { dir, error: err });
    }
  }
}
