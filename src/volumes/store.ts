// Named volumes with Docker's `local` driver: a directory <root>/<name>/_data,
// optionally a mount (type/device/o) made at first use. The database is the
// truth: a volume exists when its row does. Create makes the directory first
// and commits the row second; remove deletes the row first and the directory
// second, so a crash leaves at most an orphan directory that reconcile() sweeps.
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { chmod, lchown, lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  type DB, type Logger, type EventSink, migrate, newId, silentLogger, noEvents,
  notFound, invalidArgument, conflict, hasCode, isWithin,
} from '../util/index.js';
import { ANONYMOUS_LABEL, type Volume, type VolumeCreateBody, type VolumePruneReport } from './types.js';
import { type Filters, boolFilter, checkFilters, matchLabels, matchName, matchNotLabels, parseBool } from './filters.js';
import { copyTree, treeSize } from './copy.js';
import { isMountpoint, mountVolume, unmountVolume, type MountOptions } from './mount.js';

const MIGRATIONS = [
  `CREATE TABLE volumes_volumes (
     name       TEXT PRIMARY KEY,
     driver     TEXT NOT NULL,
     created_at TEXT NOT NULL,
     labels     TEXT,            -- JSON object, NULL when created without labels
     options    TEXT,            -- JSON object, NULL when created without driver options
     populated  INTEGER NOT NULL DEFAULT 0
   )`,
  `CREATE TABLE volumes_refs (
     name TEXT NOT NULL REFERENCES volumes_volumes(name) ON DELETE CASCADE,
     ref  TEXT NOT NULL,
     PRIMARY KEY (name, ref)
   )`,
];

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const LOCAL_OPTS = new Set(['type', 'o', 'device', 'size']);
const POPULATE_PREFIX = '_populate-';

interface Row {
  name: string;
  driver: string;
  created_at: string;
  labels: string | null;
  options: string | null;
  populated: number;
}

export interface VolumeStoreOptions {
  db: DB;
  /** <data-root>/volumes */
  root: string;
  log?: Logger;
  events?: EventSink;
}

/** RFC3339 with seconds in the local zone, as Go's time.Format(time.RFC3339). */
function rfc3339Local(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : `${off < 0 ? '-' : '+'}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}${zone}`;
}

/** Validate a local volume name as Docker's local driver does; returns the error message or null. */
export function checkVolumeName(name: string): string | null {
  if (name.length === 1) return 'volume name is too short, names should be at least two alphanumeric characters';
  // The name is one directory name under volumes/: past NAME_MAX, mkdir fails with ENAMETOOLONG (a 500 in dockerd).
  if (name.length > 255) return 'volume name is too long, names should be at most 255 characters';
  if (!NAME_RE.test(name)) {
    return `"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`;
  }
  return null;
}

function checkLocalOptions(opts: Record<string, string>): string | null {
  for (const key of Object.keys(opts)) if (!LOCAL_OPTS.has(key)) return `invalid option: "${key}"`;
  if (opts.size !== undefined && opts.size !== '' && opts.size !== '0') return 'quota size requested but no quota support';
  const required: Record<string, string[]> = { device: ['type'], type: ['device'], o: ['device', 'type'] };
  for (const [key, needs] of Object.entries(required)) {
    if (opts[key] === undefined) continue;
    for (const n of needs) if (opts[n] === undefined) return `missing required option: "${n}"`;
  }
  return null;
}

const needsMount = (opts: Record<string, string> | null): opts is Record<string, string> =>
  !!opts && (!!opts.type || !!opts.device);

/** A FIFO lock per key, so create/remove/populate/mount of one volume never interleave. */
class KeyedLock {
  private tails = new Map<string, Promise<unknown>>();
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

export class VolumeStore {
  private readonly db: DB;
  readonly root: string;
  private readonly log: Logger;
  private readonly events: EventSink;
  private readonly lock = new KeyedLock();
  private pruning = false;

  constructor(opts: VolumeStoreOptions) {
    this.db = opts.db;
    this.root = opts.root;
    this.log = opts.log ?? silentLogger;
    this.events = opts.events ?? noEvents;
    migrate(this.db, 'volumes', MIGRATIONS);
    // 0701: containers running as other users must traverse to their _data.
    mkdirSync(this.root, { recursive: true, mode: 0o701 });
  }

  // ------------------------------------------------------------ paths

  private volumeDir(name: string): string {
    const dir = join(this.root, name);
    // Names are validated at create; this guards rows written by anything else.
    if (!isWithin(this.root, dir) || dir === this.root) throw invalidArgument(`invalid volume name: "${name}"`);
    return dir;
  }

  /** Host path of a volume's data directory. */
  mountpoint(name: string): string {
    return join(this.volumeDir(name), '_data');
  }

  // ------------------------------------------------------------ rows

  private row(name: string): Row | undefined {
    return this.db.prepare('SELECT * FROM volumes_volumes WHERE name = ?').get(name) as Row | undefined;
  }

  private mustRow(name: string, op = 'get'): Row {
    const r = this.row(name);
    if (!r) throw notFound(`${op} ${name}: no such volume`);
    return r;
  }

  private toApi(r: Row): Volume {
    return {
      CreatedAt: r.created_at,
      Driver: r.driver,
      Labels: r.labels === null ? null : (JSON.parse(r.labels) as Record<string, string>),
      Mountpoint: this.mountpoint(r.name),
      Name: r.name,
      Options: r.options === null ? null : (JSON.parse(r.options) as Record<string, string>),
      Scope: 'local',
    };
  }

  // ------------------------------------------------------------ API

  /** POST /volumes/create. Creating an existing name returns the existing volume, as Docker does. */
  async create(body: VolumeCreateBody = {}, opts: { acquireFor?: string } = {}): Promise<Volume> {
    let name = body.Name ?? '';
    let labels = body.Labels ?? null;
    if (name === '') {
      name = newId();
      labels = { ...(labels ?? {}), [ANONYMOUS_LABEL]: '' };
    }
    const driver = body.Driver || 'local';
    return this.lock.run(name, async () => {
      const existing = this.row(name);
      if (driver !== 'local') throw notFound(`create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
      // A container's reference is taken under the same lock as the lookup/create: a `volume rm` queued
      // meanwhile then sees the volume in use (409) instead of deleting it under a container being made.
      const take = () => { if (opts.acquireFor) this.db.prepare('INSERT OR IGNORE INTO volumes_refs (name, ref) VALUES (?, ?)').run(name, opts.acquireFor); };
      if (existing) { take(); return this.toApi(existing); }
      const bad = checkVolumeName(name);
      if (bad) throw invalidArgument(`create ${name}: ${bad}`);
      const options = body.DriverOpts ?? null;
      if (options) {
        const badOpt = checkLocalOptions(options);
        if (badOpt) throw invalidArgument(`create ${name}: ${badOpt}`);
      }
      const dir = this.volumeDir(name);
      mkdirSync(dir, { recursive: true, mode: 0o701 });
      mkdirSync(join(dir, '_data'), { recursive: true, mode: 0o755 });
      const row: Row = {
        name, driver, created_at: rfc3339Local(new Date()),
        labels: labels === null ? null : JSON.stringify(labels),
        options: options === null ? null : JSON.stringify(options),
        populated: 0,
      };
      this.db.prepare('INSERT INTO volumes_volumes (name, driver, created_at, labels, options, populated) VALUES (@name, @driver, @created_at, @labels, @options, @populated)').run(row);
      take();
      this.events('volume', 'create', name, { driver });
      return this.toApi(row);
    });
  }

  /** GET /volumes/{name}. */
  get(name: string): Volume {
    return this.toApi(this.mustRow(name));
  }

  exists(name: string): boolean {
    return this.row(name) !== undefined;
  }

  /** GET /volumes. Filters: name (regexp), label (key or key=value), dangling, driver. */
  list(filters: Filters = {}): { Volumes: Volume[]; Warnings: string[] } {
    checkFilters(filters, ['name', 'label', 'dangling', 'driver']);
    const dangling = filters.dangling?.length ? boolFilter('dangling', filters.dangling) : undefined;
    const used = this.usedNames();
    const rows = this.db.prepare('SELECT * FROM volumes_volumes ORDER BY name').all() as Row[];
    const out: Volume[] = [];
    for (const r of rows) {
      const v = this.toApi(r);
      if (filters.driver?.length && !filters.driver.includes(v.Driver)) continue;
      if (filters.name?.length && !matchName(filters.name, v.Name)) continue;
      if (filters.label?.length && !matchLabels(filters.label, v.Labels)) continue;
      if (dangling !== undefined && dangling === used.has(v.Name)) continue;
      out.push(v);
    }
    return { Volumes: out, Warnings: [] };
  }

  /**
   * DELETE /volumes/{name}. A volume used by a container is a Conflict even
   * with force; force only makes a missing volume a success, as in Docker.
   */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.lock.run(name, async () => {
      if (!this.row(name)) {
        if (opts.force) return;
        throw notFound(`get ${name}: no such volume`);
      }
      const users = this.users(name);
      if (users.length > 0) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
      await this.removeLocked(name);
    });
  }

  private async removeLocked(name: string): Promise<void> {
    const data = this.mountpoint(name);
    await unmountVolume(data);
    this.db.prepare('DELETE FROM volumes_volumes WHERE name = ?').run(name);
    await rm(this.volumeDir(name), { recursive: true, force: true }).catch((err) =>
      this.log.warn('removing volume directory failed', { name, err }));
    this.events('volume', 'destroy', name, { driver: 'local' });
  }

  /**
   * POST /volumes/prune. Unused local volumes without mount options; only
   * anonymous ones unless `all=true` (API ≥ 1.42: the route adds all=true for
   * older clients). Filters: label, label!, all.
   */
  async prune(filters: Filters = {}): Promise<VolumePruneReport> {
    checkFilters(filters, ['label', 'label!', 'all']);
    let all = false;
    if (filters.all?.length) {
      if (filters.all.length > 1) throw invalidArgument(`invalid filter 'all=${filters.all.join(',')}': only one value is expected`);
      const v = filters.all[0]!;
      try {
        all = parseBool('all', v);
      } catch {
        throw invalidArgument(`invalid filter 'all': strconv.ParseBool: parsing "${v}": invalid syntax`);
      }
    }
    if (this.pruning) throw conflict('a prune operation is already running');
    this.pruning = true;
    try {
      const report: VolumePruneReport = { VolumesDeleted: [], SpaceReclaimed: 0 };
      const rows = this.db.prepare('SELECT * FROM volumes_volumes ORDER BY name').all() as Row[];
      for (const r of rows) {
        const v = this.toApi(r);
        if (v.Driver !== 'local' || (v.Options && Object.keys(v.Options).length > 0)) continue;
        if (!all && !matchLabels([ANONYMOUS_LABEL], v.Labels)) continue;
        if (filters.label?.length && !matchLabels(filters.label, v.Labels)) continue;
        if (filters['label!']?.length && !matchNotLabels(filters['label!'], v.Labels)) continue;
        await this.lock.run(r.name, async () => {
          if (!this.row(r.name) || this.users(r.name).length > 0) return;
          const size = await treeSize(this.mountpoint(r.name));
          try {
            await this.removeLocked(r.name);
          } catch (err) {
            this.log.warn('prune: could not remove volume', { name: r.name, err });
            return;
          }
          report.VolumesDeleted.push(r.name);
          report.SpaceReclaimed += size;
        });
      }
      this.events('volume', 'prune', '', { reclaimed: String(report.SpaceReclaimed) });
      return report;
    } finally {
      this.pruning = false;
    }
  }

  /** Bytes used by a volume's data (for `GET /system/df`). */
  async usage(name: string): Promise<number> {
    this.mustRow(name);
    return treeSize(this.mountpoint(name));
  }

  /** All volumes with UsageData, as `GET /system/df` lists them. */
  async df(): Promise<Volume[]> {
    const out: Volume[] = [];
    for (const v of this.list().Volumes) {
      const mounted = needsMount(v.Options);
      // Docker reports -1 for volumes with mount options (not really local).
      const size = mounted ? -1 : await treeSize(v.Mountpoint);
      out.push({ ...v, UsageData: { Size: size, RefCount: this.users(v.Name).length } });
    }
    return out;
  }

  // ------------------------------------------------------------ container plumbing

  /** Record that `containerId` uses the volume; in the DB, so it survives restarts. */
  acquire(name: string, containerId: string): void {
    this.mustRow(name);
    this.db.prepare('INSERT OR IGNORE INTO volumes_refs (name, ref) VALUES (?, ?)').run(name, containerId);
  }

  /** Drop a container's reference; a mounted (type/device) volume is unmounted when the last one goes. */
  release(name: string, containerId: string): void {
    this.db.prepare('DELETE FROM volumes_refs WHERE name = ? AND ref = ?').run(name, containerId);
    const r = this.row(name);
    if (r && needsMount(r.options ? JSON.parse(r.options) : null) && this.users(name).length === 0) {
      void this.lock.run(name, async () => {
        if (this.users(name).length === 0 && this.row(name)) await unmountVolume(this.mountpoint(name));
      }).catch((err) => this.log.warn('unmounting volume failed', { name, err }));
    }
  }

  users(name: string): string[] {
    return (this.db.prepare('SELECT ref FROM volumes_refs WHERE name = ? ORDER BY rowid').all(name) as { ref: string }[]).map((r) => r.ref);
  }

  private usedNames(): Set<string> {
    return new Set((this.db.prepare('SELECT DISTINCT name FROM volumes_refs').all() as { name: string }[]).map((r) => r.name));
  }

  /**
   * What a container needs at create and start: the volume (created when
   * missing; `name` '' or `anonymous` makes a new anonymous one), referenced
   * by the container and mounted if its options ask for it. `fresh` means
   * it was never populated from an image, so the caller should populate() it.
   */
  async ensure(name: string, opts: { anonymous?: boolean; containerId: string; driverOpts?: Record<string, string>; labels?: Record<string, string> }): Promise<{ name: string; mountpoint: string; fresh: boolean }> {
    let vol: Volume;
    // Driver options and labels (from --mount volume-opt/volume-label) apply only to a volume made here.
    const extra = { ...(opts.driverOpts ? { DriverOpts: opts.driverOpts } : {}) };
    const labels = { ...(opts.labels ?? {}), ...(opts.anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) };
    if (!name || !this.row(name)) vol = await this.create({ ...(name ? { Name: name } : {}), ...extra, ...(Object.keys(labels).length ? { Labels: labels } : {}) }, { acquireFor: opts.containerId });
    else vol = await this.create({ Name: name }, { acquireFor: opts.containerId }); // the existing one, referenced under its lock
    await this.mount(vol.Name);
    return { name: vol.Name, mountpoint: vol.Mountpoint, fresh: this.mustRow(vol.Name).populated === 0 };
  }

  /** Make the volume's mount (type/device/o) if it has one and it is not mounted yet; returns _data. */
  async mount(name: string): Promise<string> {
    return this.lock.run(name, async () => {
      const r = this.mustRow(name);
      const data = this.mountpoint(name);
      const opts = r.options ? (JSON.parse(r.options) as Record<string, string>) : null;
      if (needsMount(opts) && !isMountpoint(data)) {
        mkdirSync(data, { recursive: true, mode: 0o755 });
        await mountVolume(data, opts as MountOptions);
      }
      return data;
    });
  }

  /**
   * Docker copies the image's content at the mount path into an empty volume
   * the first time it is mounted. `fromDir` is a host path inside a mounted
   * container rootfs (already resolved inside it); nothing is followed through
   * a symlink. The copy is built beside _data and moved in entry by entry, so
   * a crash leaves either nothing or (at worst) some top-level entries.
   */
  async populate(name: string, fromDir: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.lock.run(name, async () => {
      const r = this.mustRow(name);
      if (r.populated) return;
      let src;
      try {
        src = await lstat(fromDir);
      } catch (err) {
        if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR')) return;
        throw err;
      }
      if (!src.isDirectory()) return;
      const data = this.mountpoint(name);
      const markDone = () => this.db.prepare('UPDATE volumes_volumes SET populated = 1 WHERE name = ?').run(name);
      if ((await readdir(data)).length > 0) {
        markDone();
        return;
      }
      // A mounted _data is another filesystem: rename cannot cross it, copy in place.
      const direct = isMountpoint(data);
      const staging = direct ? data : join(this.volumeDir(name), `${POPULATE_PREFIX}${randomBytes(6).toString('hex')}`);
      if (!direct) await mkdir(staging, { mode: 0o700 });
      try {
        await copyTree(fromDir, staging, { log: this.log, signal: opts.signal });
        if (!direct) for (const entry of await readdir(staging)) await rename(join(staging, entry), join(data, entry));
        // The volume's root takes the owner and mode of the image directory.
        await lchown(data, src.uid, src.gid);
        await chmod(data, src.mode & 0o7777);
      } finally {
        if (!direct) await rm(staging, { recursive: true, force: true });
      }
      markDone();
    });
  }

  /** Whether populate() already ran (or found the volume non-empty). */
  isPopulated(name: string): boolean {
    return this.mustRow(name).populated !== 0;
  }

  // ------------------------------------------------------------ startup

  /**
   * Startup repair: recreate missing _data directories, sweep directories
   * without a row (a crash between mkdir and commit) and staging leftovers,
   * and drop references held by containers that no longer exist.
   */
  async reconcile(opts: { containerExists?: (id: string) => boolean } = {}): Promise<void> {
    const rows = this.db.prepare('SELECT name FROM volumes_volumes').all() as { name: string }[];
    const known = new Set(rows.map((r) => r.name));
    for (const name of known) {
      const dir = this.volumeDir(name);
      mkdirSync(join(dir, '_data'), { recursive: true, mode: 0o755 });
      for (const entry of readdirSync(dir)) {
        if (entry.startsWith(POPULATE_PREFIX)) await rm(join(dir, entry), { recursive: true, force: true });
      }
    }
    for (const entry of readdirSync(this.root)) {
      if (known.has(entry)) continue;
      const dir = join(this.root, entry);
      let isDir = false;
      try { isDir = statSync(dir).isDirectory(); } catch { /* vanished */ }
      if (!isDir || isMountpoint(join(dir, '_data'))) continue;
      this.log.info('removing orphaned volume directory', { dir });
      rmSync(dir, { recursive: true, force: true });
    }
    if (opts.containerExists) {
      const refs = this.db.prepare('SELECT name, ref FROM volumes_refs').all() as { name: string; ref: string }[];
      for (const r of refs) if (!opts.containerExists(r.ref)) this.db.prepare('DELETE FROM volumes_refs WHERE name = ? AND ref = ?').run(r.name, r.ref);
    }
  }
}
