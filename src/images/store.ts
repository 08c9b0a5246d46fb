// ImageStore: image records and their names, in SQLite (tables images_*), with
// their blobs (config, manifest, layers) in the content store.
import type { Readable } from 'node:stream';
import {
  type DB, type Logger, type EventSink, migrate, notFound, invalidArgument, conflict, silentLogger, noEvents, shortId,
} from '../util/index.js';
import {
  parseReference, referenceString, withDefaultTag, familiarString, normalizedName, type Reference,
} from '../reference/index.js';
import { checkDigest, isDigest, type ContentStore } from '../content/index.js';
import { MediaType, type ImageConfig, type ImageRecord, type LayerRef, type Manifest } from './types.js';
import { toApiHistory, toApiSummary, toApiInspect, type ApiHistoryItem, type ApiImageSummary, type ApiImageInspect } from './api.js';
import { boolFilter, filterImages, filterValues, labelMatches, parseUntil, type Filters } from './filters.js';

const MIGRATIONS = [
  `CREATE TABLE images_images (
     id TEXT PRIMARY KEY,
     config TEXT NOT NULL,
     layers TEXT NOT NULL,
     manifest_digest TEXT,
     manifest_media_type TEXT,
     index_digest TEXT,
     created TEXT NOT NULL,
     added_at TEXT NOT NULL,
     last_tag_time TEXT
   )`,
  `CREATE TABLE images_refs (
     ref TEXT PRIMARY KEY,
     image_id TEXT NOT NULL REFERENCES images_images(id) ON DELETE CASCADE,
     is_digest INTEGER NOT NULL
   )`,
  'CREATE INDEX images_refs_image ON images_refs(image_id)',
  // Uncompressed size and diffID of layer blobs, when known (sizes for `docker images`, save).
  'CREATE TABLE images_diffs (digest TEXT PRIMARY KEY, diff_id TEXT NOT NULL, diff_size INTEGER NOT NULL)',
];

interface ImageRow {
  id: string;
  config: string;
  layers: string;
  manifest_digest: string | null;
  manifest_media_type: string | null;
  index_digest: string | null;
  created: string;
  added_at: string;
  last_tag_time: string | null;
}

/** Who uses an image: a container id, and whether it runs (a running one blocks even a forced delete). */
export type ImageUser = string | { id: string; running?: boolean } | undefined;
export type InUse = (imageId: string) => ImageUser;

export interface DeleteItem { Untagged?: string; Deleted?: string }

export interface CommitOptions {
  /** The parsed config; serialized canonically. Give rawConfig instead to keep a pulled config's exact bytes. */
  config?: ImageConfig;
  rawConfig?: Uint8Array;
  layers: LayerRef[];
  manifest?: { digest: string; mediaType: string };
  /** The index (manifest list) a pulled manifest was chosen from, kept so GC does not drop it. */
  indexDigest?: string;
  tags?: string[];
  repoDigests?: string[];
}

export const MAX_JSON_BLOB = 8 * 1024 * 1024;

const isIdPrefixOf = (id: string, s: string): boolean => {
  const hex = id.slice('sha256:'.length);
  return s.length > 0 && (id.startsWith(s) || hex.startsWith(s));
};

function toUser(u: ImageUser): { id: string; running: boolean } | undefined {
  if (u === undefined) return undefined;
  return typeof u === 'string' ? { id: u, running: false } : { id: u.id, running: !!u.running };
}

export class ImageStore {
  readonly db: DB;
  readonly content: ContentStore;
  readonly log: Logger;
  readonly events: EventSink;

  constructor(opts: { db: DB; content: ContentStore; log?: Logger; events?: EventSink }) {
    this.db = opts.db;
    this.content = opts.content;
    this.log = opts.log ?? silentLogger;
    this.events = opts.events ?? noEvents;
    migrate(this.db, 'images', MIGRATIONS);
  }

  // ---- reading ------------------------------------------------------------

  private diffSizes(): Map<string, number> {
    const rows = this.db.prepare('SELECT digest, diff_size FROM images_diffs').all() as { digest: string; diff_size: number }[];
    return new Map(rows.map((r) => [r.digest, r.diff_size]));
  }

  private toRecord(row: ImageRow, diffs: Map<string, number>): ImageRecord {
    const refs = this.db.prepare('SELECT ref, is_digest FROM images_refs WHERE image_id = ? ORDER BY rowid').all(row.id) as { ref: string; is_digest: number }[];
    const layers = JSON.parse(row.layers) as LayerRef[];
    const known = layers.every((l) => diffs.has(l.digest));
    const size = layers.reduce((n, l) => n + (known ? diffs.get(l.digest)! : l.size), 0);
    const rec: ImageRecord = {
      id: row.id,
      config: JSON.parse(row.config) as ImageConfig,
      layers,
      repoTags: refs.filter((r) => !r.is_digest).map((r) => r.ref),
      repoDigests: refs.filter((r) => r.is_digest).map((r) => r.ref),
      created: row.created,
      size,
    };
    if (row.manifest_digest) rec.manifestDigest = row.manifest_digest;
    if (row.manifest_media_type) rec.manifestMediaType = row.manifest_media_type;
    if (row.index_digest) rec.indexDigest = row.index_digest;
    if (row.last_tag_time) rec.lastTagTime = row.last_tag_time;
    return rec;
  }

  private row(id: string): ImageRow | undefined {
    return this.db.prepare('SELECT * FROM images_images WHERE id = ?').get(id) as ImageRow | undefined;
  }

  /** The image id a name or id resolves to, or undefined; `parsed` is set when the input was a name. */
  private resolve(refOrId: string): { id?: string; parsed?: Reference } {
    if (/^(sha256:)?[a-f0-9]{64}$/.test(refOrId)) {
      const id = refOrId.startsWith('sha256:') ? refOrId : `sha256:${refOrId}`;
      return { id: this.row(id) ? id : undefined };
    }
    let parsed: Reference | undefined;
    let parseError: unknown;
    try {
      parsed = withDefaultTag(parseReference(refOrId));
    } catch (err) {
      parseError = err;
    }
    if (parsed) {
      const hit = this.db.prepare('SELECT image_id FROM images_refs WHERE ref = ?').get(referenceString(parsed)) as { image_id: string } | undefined;
      if (hit) return { id: hit.image_id, parsed };
      if (parsed.digest) {
        // name@digest also finds an image whose manifest (or index) has that digest, under that name.
        const name = normalizedName(parsed);
        const rows = this.db.prepare('SELECT id FROM images_images WHERE manifest_digest = ? OR index_digest = ?').all(parsed.digest, parsed.digest) as { id: string }[];
        for (const r of rows) {
          const refs = this.db.prepare('SELECT ref FROM images_refs WHERE image_id = ?').all(r.id) as { ref: string }[];
          if (refs.some((x) => normalizedName(parseReference(x.ref)) === name)) return { id: r.id, parsed };
        }
      }
    }
    // A unique prefix of an id, as Docker allows ("ab12", "sha256:ab12").
    const m = /^(?:sha256:)?([a-f0-9]{1,64})$/.exec(refOrId);
    if (m) {
      const rows = this.db.prepare("SELECT id FROM images_images WHERE id LIKE ? LIMIT 2").all(`sha256:${m[1]}%`) as { id: string }[];
      if (rows.length === 1) return { id: rows[0]!.id, parsed };
    }
    if (!parsed && parseError) throw parseError;
    return { parsed };
  }

  private notFoundError(refOrId: string, parsed?: Reference) {
    return notFound(`No such image: ${parsed ? familiarString(parsed) : refOrId}`);
  }

  /** By name[:tag], name@digest, full id, 'sha256:' id, or unique id prefix. */
  get(refOrId: string): ImageRecord {
    const { id, parsed } = this.resolve(refOrId);
    const row = id ? this.row(id) : undefined;
    if (!row) throw this.notFoundError(refOrId, parsed);
    return this.toRecord(row, this.diffSizes());
  }

  tryGet(refOrId: string): ImageRecord | undefined {
    try {
      return this.get(refOrId);
    } catch {
      return undefined;
    }
  }

  list(filters?: Filters): ImageRecord[] {
    const diffs = this.diffSizes();
    const rows = this.db.prepare('SELECT * FROM images_images ORDER BY created DESC, id').all() as ImageRow[];
    const all = rows.map((r) => this.toRecord(r, diffs));
    return filters ? filterImages(all, filters, (r) => this.get(r)) : all;
  }

  /** Every blob an image needs: roots for content GC. */
  referencedBlobs(): Set<string> {
    const out = new Set<string>();
    const rows = this.db.prepare('SELECT id, layers, manifest_digest, index_digest FROM images_images').all() as ImageRow[];
    for (const r of rows) {
      out.add(r.id);
      if (r.manifest_digest) out.add(r.manifest_digest);
      if (r.index_digest) out.add(r.index_digest);
      for (const l of JSON.parse(r.layers) as LayerRef[]) out.add(l.digest);
    }
    return out;
  }

  /** Remembers a layer blob's uncompressed size (e.g. after a pull unpacked it). */
  recordLayerDiff(digest: string, diffId: string, diffSize: number): void {
    checkDigest(digest);
    checkDigest(diffId);
    this.db.prepare('INSERT OR REPLACE INTO images_diffs (digest, diff_id, diff_size) VALUES (?, ?, ?)').run(digest, diffId, diffSize);
  }

  layerDiff(digest: string): { diffId: string; diffSize: number } | undefined {
    const r = this.db.prepare('SELECT diff_id, diff_size FROM images_diffs WHERE digest = ?').get(digest) as { diff_id: string; diff_size: number } | undefined;
    return r ? { diffId: r.diff_id, diffSize: r.diff_size } : undefined;
  }

  // ---- writing ------------------------------------------------------------

  /**
   * Records an image whose layer blobs are already in the content store. Writes the
   * config blob (and an OCI manifest if none is given). Tags move from older images,
   * which become dangling.
   */
  async commit(opts: CommitOptions): Promise<ImageRecord> {
    const raw = opts.rawConfig ? Buffer.from(opts.rawConfig) : opts.config ? Buffer.from(JSON.stringify(opts.config)) : undefined;
    if (!raw) throw invalidArgument('commit: config is required');
    const config = validateConfig(raw);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== opts.layers.length) {
      throw invalidArgument(`image config has ${diffIds.length} diff_ids but ${opts.layers.length} layers were given`);
    }
    opts.layers.forEach((l, i) => {
      checkDigest(l.digest);
      if (l.diffId !== diffIds[i]) throw invalidArgument(`layer ${i}: diffID ${l.diffId} does not match the config's ${diffIds[i]}`);
    });
    for (const l of opts.layers) {
      if (!(await this.content.has(l.digest))) throw notFound(`layer ${l.digest}: content not found`);
    }
    const tags = (opts.tags ?? []).map((t) => this.normalizeTag(t));
    const repoDigests = (opts.repoDigests ?? []).map((d) => {
      const r = parseReference(d);
      if (!r.digest || r.tag !== undefined) throw invalidArgument(`invalid repo digest ${d}`);
      return referenceString(r);
    });

    const { digest: id } = await this.content.writeBuffer(raw);
    let manifest = opts.manifest;
    if (manifest) {
      checkDigest(manifest.digest);
    } else {
      const m: Manifest = {
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: id, size: raw.length },
        layers: opts.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      };
      const { digest } = await this.content.writeBuffer(JSON.stringify(m));
      manifest = { digest, mediaType: MediaType.OciManifest };
    }
    if (opts.indexDigest !== undefined) checkDigest(opts.indexDigest);

    const now = new Date().toISOString();
    const created = typeof config.created === 'string' && !Number.isNaN(Date.parse(config.created)) ? config.created : now;
    const layers: LayerRef[] = opts.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: l.diffId }));
    this.db.transaction(() => {
      const exists = this.row(id);
      if (exists) {
        this.db.prepare('UPDATE images_images SET manifest_digest = ?, manifest_media_type = ?, index_digest = COALESCE(?, index_digest) WHERE id = ?')
          .run(manifest!.digest, manifest!.mediaType, opts.indexDigest ?? null, id);
      } else {
        this.db.prepare(`INSERT INTO images_images (id, config, layers, manifest_digest, manifest_media_type, index_digest, created, added_at)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
          .run(id, raw.toString('utf8'), JSON.stringify(layers), manifest!.digest, manifest!.mediaType, opts.indexDigest ?? null, created, now);
      }
      for (const t of tags) this.setRef(t, id, false);
      for (const d of repoDigests) this.setRef(d, id, true);
      if (tags.length) this.db.prepare('UPDATE images_images SET last_tag_time = ? WHERE id = ?').run(now, id);
    })();
    return this.get(id);
  }

  private normalizeTag(t: string): string {
    const r = parseReference(t);
    if (r.digest !== undefined) throw invalidArgument('refusing to create a tag with a digest reference');
    return referenceString(withDefaultTag(r));
  }

  private setRef(ref: string, imageId: string, isDigest: boolean): void {
    this.db.prepare('INSERT OR REPLACE INTO images_refs (ref, image_id, is_digest) VALUES (?, ?, ?)').run(ref, imageId, isDigest ? 1 : 0);
  }

  /** The image a tag points to now, if any (to tell which image a new tag takes it from). */
  tagTarget(tag: string): string | undefined {
    const r = this.db.prepare('SELECT image_id FROM images_refs WHERE ref = ?').get(this.normalizeTag(tag)) as { image_id: string } | undefined;
    return r?.image_id;
  }

  tag(source: string, target: string): void {
    const rec = this.get(source);
    const ref = this.normalizeTag(target);
    this.db.transaction(() => {
      this.setRef(ref, rec.id, false);
      this.db.prepare('UPDATE images_images SET last_tag_time = ? WHERE id = ?').run(new Date().toISOString(), rec.id);
    })();
    this.events('image', 'tag', rec.id, { name: familiarString(parseReference(ref)) });
  }

  // ---- removing -----------------------------------------------------------

  private refsOf(id: string): { ref: string; isDigest: boolean; name: string }[] {
    const rows = this.db.prepare('SELECT ref, is_digest FROM images_refs WHERE image_id = ? ORDER BY rowid').all(id) as { ref: string; is_digest: number }[];
    return rows.map((r) => ({ ref: r.ref, isDigest: !!r.is_digest, name: normalizedName(parseReference(r.ref)) }));
  }

  private deleteRef(ref: string): boolean {
    return this.db.prepare('DELETE FROM images_refs WHERE ref = ?').run(ref).changes > 0;
  }

  /**
   * `docker rmi`: by name, untags (and deletes the image when that was its last name);
   * by id, deletes the image with its names when it has only one (else it must be forced).
   */
  async remove(refOrId: string, opts: { force?: boolean; noPrune?: boolean; isInUse?: InUse } = {}): Promise<DeleteItem[]> {
    const rec = this.get(refOrId);
    const force = !!opts.force;
    const user = () => toUser(opts.isInUse?.(rec.id));
    const records: DeleteItem[] = [];
    let refs = this.refsOf(rec.id);
    let quiet = false;

    if (!isIdPrefixOf(rec.id, refOrId)) {
      const parsed = withDefaultTag(parseReference(refOrId));
      if (!force && isSingleReference(refs)) {
        const u = user();
        if (u) {
          throw conflict(`conflict: unable to remove repository reference "${refOrId}" (must force) - container ${shortId(u.id)} is using its referenced image ${shortId(rec.id)}`);
        }
      }
      this.deleteRef(referenceString(parsed));
      records.push({ Untagged: familiarString(parsed) });
      this.events('image', 'untag', rec.id, { name: familiarString(parsed) });
      refs = this.refsOf(rec.id);
      const name = normalizedName(parsed);
      // Untagging the last tag of a repository also drops that repository's digest references.
      if (!parsed.digest && !refs.some((r) => !r.isDigest && r.name === name)) {
        for (const r of refs.filter((x) => x.isDigest && x.name === name)) {
          this.deleteRef(r.ref);
          records.push({ Untagged: familiarString(parseReference(r.ref)) });
        }
        refs = this.refsOf(rec.id);
      }
      if (refs.length > 0) return records;
      quiet = true;
    } else if (isSingleReference(refs)) {
      const u = user();
      if (u?.running) throw deleteConflict(rec.id, true, `image is being used by running container ${shortId(u.id)}`);
      if (u && !force) throw deleteConflict(rec.id, false, `image is being used by stopped container ${shortId(u.id)}`);
      for (const r of refs) {
        this.deleteRef(r.ref);
        records.push({ Untagged: familiarString(parseReference(r.ref)) });
        this.events('image', 'untag', rec.id, { name: familiarString(parseReference(r.ref)) });
      }
      refs = [];
    }

    // Delete the image itself, unless something still holds it.
    const u = user();
    let blocker: { hard: boolean; used: boolean; message: string } | undefined;
    if (u?.running) blocker = { hard: true, used: true, message: `image is being used by running container ${shortId(u.id)}` };
    else if (!force && refs.length > 0) blocker = { hard: false, used: false, message: 'image is referenced in multiple repositories' };
    else if (!force && u) blocker = { hard: false, used: true, message: `image is being used by stopped container ${shortId(u.id)}` };
    if (blocker) {
      // After an untag, a conflict is only reported for an image left dangling and unused.
      if (quiet && (refs.length > 0 || blocker.used)) return records;
      throw deleteConflict(rec.id, blocker.hard, blocker.message);
    }
    for (const r of this.refsOf(rec.id)) {
      this.deleteRef(r.ref);
      records.push({ Untagged: familiarString(parseReference(r.ref)) });
      this.events('image', 'untag', rec.id, { name: familiarString(parseReference(r.ref)) });
    }
    this.db.prepare('DELETE FROM images_images WHERE id = ?').run(rec.id);
    records.push({ Deleted: rec.id });
    this.events('image', 'delete', rec.id, { name: rec.id }); // dockerd names the deleted image by its id
    await this.collectBlobs(rec);
    return records;
  }

  /** Deletes the blobs of a removed image that no other image uses (database first, files second). */
  private async collectBlobs(rec: ImageRecord): Promise<number> {
    const keep = this.referencedBlobs();
    let freed = 0;
    const candidates = [rec.id, rec.manifestDigest, rec.indexDigest, ...rec.layers.map((l) => l.digest)];
    for (const d of new Set(candidates)) {
      if (!d || keep.has(d)) continue;
      try {
        const { size } = await this.content.info(d);
        await this.content.delete(d);
        freed += size;
      } catch (err) {
        this.log.debug('image blob already gone', { digest: d, err });
      }
      this.db.prepare('DELETE FROM images_diffs WHERE digest = ?').run(d);
    }
    return freed;
  }

  /** `docker image prune`: dangling images (all unused ones with `all`), never those a container uses. */
  async prune(opts: { all?: boolean; filters?: Filters; isInUse?: InUse } = {}): Promise<{ ImagesDeleted: DeleteItem[] | null; SpaceReclaimed: number }> {
    for (const k of Object.keys(opts.filters ?? {})) {
      if (!['until', 'label', 'label!', 'dangling'].includes(k)) throw invalidArgument(`invalid filter '${k}'`);
    }
    const all = opts.all || boolFilter(opts.filters, 'dangling') === false;
    const until = filterValues(opts.filters, 'until').map((v) => parseUntil(v));
    const labels = filterValues(opts.filters, 'label');
    const notLabels = filterValues(opts.filters, 'label!');
    const deleted: DeleteItem[] = [];
    let reclaimed = 0;
    for (const rec of this.list()) {
      if (!all && rec.repoTags.length > 0) continue;
      if (opts.isInUse?.(rec.id)) continue;
      const created = Date.parse(rec.created);
      if (until.some((t) => !(created < t))) continue;
      if (labels.length && !labelMatches(rec, labels)) continue;
      if (notLabels.length && notLabels.some((l) => labelMatches(rec, [l]))) continue;
      for (const r of this.refsOf(rec.id)) {
        this.deleteRef(r.ref);
        deleted.push({ Untagged: familiarString(parseReference(r.ref)) });
        this.events('image', 'untag', rec.id, { name: familiarString(parseReference(r.ref)) });
      }
      this.db.prepare('DELETE FROM images_images WHERE id = ?').run(rec.id);
      deleted.push({ Deleted: rec.id });
      this.events('image', 'delete', rec.id, { name: rec.id });
      reclaimed += await this.collectBlobs(rec);
    }
    this.events('image', 'prune', '', { reclaimed: String(reclaimed) }); // as dockerd, after every image prune
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  // ---- API shapes ---------------------------------------------------------

  history(refOrId: string): ApiHistoryItem[] {
    const rec = this.get(refOrId);
    return toApiHistory(rec, (i) => {
      const l = rec.layers[i]!;
      return this.layerDiff(l.digest)?.diffSize ?? l.size;
    });
  }

  toApiSummary(rec: ImageRecord): ApiImageSummary {
    return toApiSummary(rec);
  }

  toApiInspect(rec: ImageRecord, opts?: { graphDriverData?: Record<string, string> }): ApiImageInspect {
    return toApiInspect(rec, opts);
  }

  // ---- tarballs (implemented in their own modules) ---------------------------

  import(src: Readable, opts: ImportOptions = {}): Promise<ImageRecord> {
    return importImage(this, src, opts);
  }

  load(src: Readable, opts: LoadOptions = {}): Promise<string[]> {
    return loadImages(this, src, opts);
  }

  save(refsOrIds: string[]): Readable {
    return saveImages(this, refsOrIds);
  }
}

function deleteConflict(id: string, hard: boolean, message: string) {
  return conflict(`conflict: unable to delete ${shortId(id)} (${hard ? 'cannot be forced' : 'must be forced'}) - ${message}`);
}

/** True when all references are in one repository with at most one tag (false for none). */
function isSingleReference(refs: { isDigest: boolean; name: string }[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  const tags = refs.filter((r) => !r.isDigest);
  if (tags.length > 1) return false;
  const names = new Set(refs.filter((r) => r.isDigest).map((r) => r.name));
  const single = tags[0] ?? refs[0]!;
  return names.size === 1 && names.has(single.name);
}

/** Parses and sanity-checks an image config blob. */
export function validateConfig(raw: Uint8Array): ImageConfig {
  if (raw.length > MAX_JSON_BLOB) throw invalidArgument(`image config is too large: ${raw.length} bytes`);
  let c: ImageConfig;
  try {
    c = JSON.parse(Buffer.from(raw).toString('utf8')) as ImageConfig;
  } catch (err) {
    throw invalidArgument(`invalid image config: ${(err as Error).message}`, err);
  }
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw invalidArgument('invalid image config: not an object');
  const rootfs = c.rootfs as { type?: unknown; diff_ids?: unknown } | undefined;
  if (!rootfs || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids) || !rootfs.diff_ids.every(isDigest)) {
    throw invalidArgument('invalid image config: rootfs must be of type "layers" with sha256 diff_ids');
  }
  if (typeof c.os !== 'string' || typeof c.architecture !== 'string') throw invalidArgument('invalid image config: os and architecture are required');
  return c;
}

// Imported last: these modules take the store as an argument.
import { importImage, type ImportOptions } from './import.js';
import { loadImages, type LoadOptions } from './load.js';
import { saveImages } from './save.js';
