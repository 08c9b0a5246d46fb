// `docker load`: docker-save tarballs (legacy, and Docker 25+'s OCI-layout
// flavour) and plain OCI image layouts. Everything is checked before any image
// is recorded; blobs this load added but no image uses are removed again.
import type { Readable } from 'node:stream';
import { invalidArgument } from '../util/index.js';
import { familiarize, normalize, parseReference } from '../reference/index.js';
import { ArchiveReader, type ArchiveBlob } from './archive.js';
import { computeDiffId, layerMediaType } from './layer.js';
import { hostPlatform, platformMatches } from './platform.js';
import { isIndexMediaType, layerCompression, MediaType, type Descriptor, type Index, type LayerRef, type Manifest } from './types.js';
import { validateConfig, type ImageStore } from './store.js';

export interface LoadOptions {
  /** Lines Docker prints while loading (e.g. a tag moving away from another image). */
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
}

interface Plan {
  rawConfig: Buffer;
  layers: LayerRef[];
  diffSizes: number[];
  tags: string[];
  manifest?: { digest: string; mediaType: string };
}

interface LegacyManifestItem {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
}

const MAX_IMAGES = 1000;
const MAX_LAYERS = 1000;

export async function loadImages(store: ImageStore, src: Readable, opts: LoadOptions): Promise<string[]> {
  const archive = new ArchiveReader(store.content, store.log);
  try {
    await archive.read(src, opts.signal);
    let plans: Plan[];
    if (archive.lookup('manifest.json')) plans = await planDockerArchive(store, archive);
    else if (archive.lookup('index.json')) plans = await planOciLayout(store, archive);
    else throw invalidArgument('invalid archive: no manifest.json or index.json found (is this a docker save or OCI image tarball?)');
    if (plans.length === 0) throw invalidArgument('invalid archive: no images found');

    const lines: string[] = [];
    for (const p of plans) {
      p.layers.forEach((l, i) => store.recordLayerDiff(l.digest, l.diffId, p.diffSizes[i]!));
      const moved = p.tags.map((t) => ({ tag: t, old: store.tagTarget(t) }));
      const rec = await store.commit({ rawConfig: p.rawConfig, layers: p.layers, manifest: p.manifest, tags: p.tags });
      for (const { tag, old } of moved) {
        if (old && old !== rec.id) opts.onProgress?.(`The image ${familiarize(tag)} already exists, renaming the old one with ID ${old} to empty string`);
      }
      if (p.tags.length === 0) lines.push(`Loaded image ID: ${rec.id}`);
      for (const t of p.tags) lines.push(`Loaded image: ${familiarize(t)}`);
      store.events('image', 'load', rec.id, {});
    }
    return lines;
  } finally {
    // Drop blobs the archive brought that no image uses (extra files, or everything on failure).
    const keep = store.referencedBlobs();
    for (const d of archive.newBlobs) {
      if (!keep.has(d)) await store.content.delete(d).catch(() => undefined);
    }
  }
}

/** The diffID of a layer blob: from this load, from the store's records, or by reading it. */
async function diffOf(store: ImageStore, blob: ArchiveBlob): Promise<{ diffId: string; diffSize: number; compression: 'none' | 'gzip' | 'zstd'; looksLikeTar: boolean }> {
  if (blob.layer) return blob.layer;
  return computeDiffId(store.content, blob.digest);
}

function checkLayers(diffIds: string[], count: number): void {
  if (count > MAX_LAYERS) throw invalidArgument(`invalid archive: too many layers (${count})`);
  if (diffIds.length !== count) throw invalidArgument(`invalid manifest, layers length mismatch: expected ${diffIds.length}, got ${count}`);
}

async function planDockerArchive(store: ImageStore, archive: ArchiveReader): Promise<Plan[]> {
  const { value: items } = await archive.readJson<LegacyManifestItem[]>('manifest.json');
  if (!Array.isArray(items)) throw invalidArgument('invalid archive: manifest.json is not a list');
  if (items.length > MAX_IMAGES) throw invalidArgument('invalid archive: too many images');
  const plans: Plan[] = [];
  for (const item of items) {
    if (typeof item?.Config !== 'string' || !Array.isArray(item.Layers) || !item.Layers.every((l) => typeof l === 'string')) {
      throw invalidArgument('invalid archive: malformed manifest.json entry');
    }
    const { data: rawConfig } = await archive.readJson<unknown>(item.Config);
    const config = validateConfig(rawConfig);
    const diffIds = config.rootfs.diff_ids;
    const layerPaths = item.Layers as string[];
    checkLayers(diffIds, layerPaths.length);
    const layers: LayerRef[] = [];
    const diffSizes: number[] = [];
    for (const [i, p] of layerPaths.entries()) {
      const e = archive.lookup(p);
      if (!e) throw invalidArgument(`invalid archive: layer ${p} not found`);
      const blob = e.kind === 'blob' ? e.blob : await storeSmallLayer(store, archive, e.data);
      const d = await diffOf(store, blob);
      if (d.diffId !== diffIds[i]) throw invalidArgument(`invalid diffID for layer ${i}: expected "${diffIds[i]}", got "${d.diffId}"`);
      if (!d.looksLikeTar && d.diffSize > 0) throw invalidArgument(`invalid archive: layer ${p} is not a tar`);
      layers.push({ digest: blob.digest, mediaType: layerMediaType(d.compression), size: blob.size, diffId: d.diffId });
      diffSizes.push(d.diffSize);
    }
    const tags: string[] = [];
    if (item.RepoTags != null) {
      if (!Array.isArray(item.RepoTags)) throw invalidArgument('invalid archive: RepoTags is not a list');
      for (const t of item.RepoTags) {
        if (typeof t !== 'string') throw invalidArgument('invalid archive: RepoTags entry is not a string');
        const r = parseReference(t);
        if (r.digest) throw invalidArgument(`invalid archive: ${t} is not a tag`);
        tags.push(normalize(t));
      }
    }
    plans.push({ rawConfig, layers, diffSizes, tags });
  }
  return plans;
}

/** A layer that happened to be kept as a small file (a *.json name): store it like any blob. */
async function storeSmallLayer(store: ImageStore, archive: ArchiveReader, data: Buffer): Promise<ArchiveBlob> {
  const info = await store.content.writeBuffer(data);
  archive.newBlobs.add(info.digest);
  return info;
}

async function readDescribed<T>(store: ImageStore, archive: ArchiveReader, desc: Descriptor, what: string): Promise<{ data: Buffer; value: T }> {
  const blob = await archive.blobByDigest(desc.digest);
  if (typeof desc.size === 'number' && desc.size !== blob.size) {
    throw invalidArgument(`invalid archive: ${what} ${desc.digest} has ${blob.size} bytes, its descriptor says ${desc.size}`);
  }
  const data = await store.content.readBuffer(blob.digest, { maxSize: 8 * 1024 * 1024 });
  try {
    return { data, value: JSON.parse(data.toString('utf8')) as T };
  } catch (err) {
    throw invalidArgument(`invalid archive: ${what} ${desc.digest} is not valid JSON`, err);
  }
}

function validDescriptor(d: unknown): d is Descriptor {
  const x = d as Descriptor;
  return typeof x === 'object' && x !== null && typeof x.digest === 'string' && typeof x.mediaType === 'string';
}

/** The name an OCI layout gives a manifest: containerd's full name, else ref.name when it is a full reference. */
function nameOf(desc: Descriptor): string | undefined {
  const a = desc.annotations ?? {};
  const full = a['io.containerd.image.name'];
  if (full) return normalize(full);
  const ref = a['org.opencontainers.image.ref.name'];
  // A bare tag ("latest") names no repository: such an image loads by ID.
  if (ref && (ref.includes(':') || ref.includes('/'))) {
    try { return normalize(ref); } catch { return undefined; }
  }
  return undefined;
}

async function planOciLayout(store: ImageStore, archive: ArchiveReader): Promise<Plan[]> {
  const layout = archive.lookup('oci-layout');
  if (layout) {
    const { value } = await archive.readJson<{ imageLayoutVersion?: unknown }>('oci-layout');
    if (typeof value?.imageLayoutVersion !== 'string') throw invalidArgument('invalid archive: oci-layout without imageLayoutVersion');
  }
  const { value: index } = await archive.readJson<Index>('index.json');
  if (!index || !Array.isArray(index.manifests)) throw invalidArgument('invalid archive: index.json has no manifests');
  if (index.manifests.length > MAX_IMAGES) throw invalidArgument('invalid archive: too many images');
  const plans = new Map<string, Plan>();
  for (const top of index.manifests) {
    if (!validDescriptor(top)) throw invalidArgument('invalid archive: malformed descriptor in index.json');
    const desc = await pickManifest(store, archive, top, 0);
    const name = nameOf(top);
    const key = desc.digest;
    const existing = plans.get(key);
    if (existing) {
      if (name && !existing.tags.includes(name)) existing.tags.push(name);
      continue;
    }
    const plan = await planManifest(store, archive, desc);
    if (name) plan.tags.push(name);
    plans.set(key, plan);
  }
  return [...plans.values()];
}

/** Descends an index to the manifest for this host (or the only one). */
async function pickManifest(store: ImageStore, archive: ArchiveReader, desc: Descriptor, depth: number): Promise<Descriptor> {
  if (!isIndexMediaType(desc.mediaType)) return desc;
  if (depth > 4) throw invalidArgument('invalid archive: indexes nested too deep');
  const { value: idx } = await readDescribed<Index>(store, archive, desc, 'index');
  if (!idx || !Array.isArray(idx.manifests) || !idx.manifests.every(validDescriptor)) throw invalidArgument(`invalid archive: malformed index ${desc.digest}`);
  const host = hostPlatform();
  const present = async (d: Descriptor) => { try { await archive.blobByDigest(d.digest); return true; } catch { return false; } };
  const candidates = idx.manifests.filter((d) => !d.platform || platformMatches(host, d.platform));
  for (const d of candidates) if (await present(d)) return pickManifest(store, archive, d, depth + 1);
  const available = [];
  for (const d of idx.manifests) if (await present(d)) available.push(d);
  if (available.length === 1) return pickManifest(store, archive, available[0]!, depth + 1);
  throw invalidArgument(`invalid archive: no image for platform ${host.os}/${host.architecture} in index ${desc.digest}`);
}

async function planManifest(store: ImageStore, archive: ArchiveReader, desc: Descriptor): Promise<Plan> {
  const { value: m } = await readDescribed<Manifest>(store, archive, desc, 'manifest');
  if (!m || m.schemaVersion !== 2 || !validDescriptor(m.config) || !Array.isArray(m.layers) || !m.layers.every(validDescriptor)) {
    throw invalidArgument(`invalid archive: malformed manifest ${desc.digest}`);
  }
  const { data: rawConfig } = await readDescribed<unknown>(store, archive, m.config, 'config');
  const config = validateConfig(rawConfig);
  checkLayers(config.rootfs.diff_ids, m.layers.length);
  const layers: LayerRef[] = [];
  const diffSizes: number[] = [];
  for (const [i, l] of m.layers.entries()) {
    const compression = layerCompression(l.mediaType);
    if (compression === undefined) throw invalidArgument(`invalid archive: unsupported layer media type ${JSON.stringify(l.mediaType)}`);
    const blob = await archive.blobByDigest(l.digest);
    if (l.size !== blob.size) throw invalidArgument(`invalid archive: layer ${l.digest} has ${blob.size} bytes, its descriptor says ${l.size}`);
    const d = await diffOf(store, blob);
    if (d.compression !== compression) throw invalidArgument(`invalid archive: layer ${l.digest} is ${d.compression}-compressed, its media type says ${compression}`);
    if (d.diffId !== config.rootfs.diff_ids[i]) throw invalidArgument(`invalid diffID for layer ${i}: expected "${config.rootfs.diff_ids[i]}", got "${d.diffId}"`);
    layers.push({ digest: blob.digest, mediaType: l.mediaType, size: blob.size, diffId: d.diffId });
    diffSizes.push(d.diffSize);
  }
  const mediaType = m.mediaType ?? desc.mediaType ?? MediaType.OciManifest;
  return { rawConfig, layers, diffSizes, tags: [], manifest: { digest: desc.digest, mediaType } };
}
