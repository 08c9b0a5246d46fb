// docker pull: resolve the manifest (an index → the platform's manifest), fetch
// the config, download the layers concurrently into the content store (verified,
// retried, resumed), unpack each layer as soon as it and those below it are
// there, then record the image. Progress is Docker's JSON message stream
// (moby distribution/pull_v2.go + distribution/xfer).
import type { ContentStore } from '../content/index.js';
import {
  Limiter, MediaTypes, progressMessage, ProgressThrottle,
  type AuthConfig, type Descriptor, type JSONMessage, type Registry,
} from '../distribution/index.js';
import {
  formatPlatform, hostPlatform, parsePlatform, platformMatches, validateConfig,
  type ImageConfig, type ImageRecord, type ImageStore, type LayerRef, type Platform,
} from '../images/index.js';
import { familiarString, normalizedName, parseReference, referenceString, withDefaultTag, type Reference } from '../reference/index.js';
import { checkDigest } from '../content/index.js';
import { invalidArgument, notFound, shortId } from '../util/index.js';

export interface LayerProgress {
  /** Index of the layer in the list given to unpack. */
  index: number;
  current: number;
  total: number;
}

/** What pull needs from the unpacker: unpack a list of layers (bottom first), idempotently. */
export interface PullUnpacker {
  unpack(layers: LayerRef[], opts?: { signal?: AbortSignal; onProgress?: (p: LayerProgress) => void }): Promise<unknown>;
}

export interface PullOptions {
  ref: string;
  auth?: AuthConfig;
  /** "os/arch[/variant]"; default: the host's. */
  platform?: string;
  /** A reference without tag or digest pulls every tag of the repository (docker pull --all-tags). */
  allTags?: boolean;
  onProgress?: (msg: JSONMessage) => void;
  signal?: AbortSignal;
}

export interface PullDeps {
  registry: Registry;
  content: ContentStore;
  images: ImageStore;
  unpacker: PullUnpacker;
}

/** Docker's two progress shapes: updates carry progressDetail (maybe empty), messages do not. */
export const update = (id: string, status: string): JSONMessage => ({ status, progressDetail: {}, id });
export const message = (status: string, id?: string): JSONMessage => (id === undefined ? { status } : { status, id });

const MAX_LAYERS = 1000;

export async function pullImage(o: PullOptions, deps: PullDeps): Promise<ImageRecord> {
  const emit = o.onProgress ?? (() => undefined);
  const parsed = parseReference(o.ref);
  if (!o.allTags || parsed.tag !== undefined || parsed.digest !== undefined) {
    const { rec, newer } = await pullOne(withDefaultTag(parsed), o, deps);
    emit(statusMessage(newer, familiarString(withDefaultTag(parsed))));
    return rec;
  }
  // docker pull --all-tags: every tag in the registry's order, one status at the end (moby pullV2Repository).
  o.signal?.throwIfAborted();
  const tags = await deps.registry.repository(parsed, { auth: o.auth }).listTags({ signal: o.signal });
  if (tags.length === 0) throw notFound(`no tags found for ${familiarString(parsed)}`);
  let last: ImageRecord | undefined;
  let newer = false;
  for (const tag of tags) {
    const r = await pullOne({ ...parsed, tag }, o, deps);
    last = r.rec;
    newer ||= r.newer;
  }
  emit(statusMessage(newer, familiarString(parsed)));
  return last!;
}

const statusMessage = (newer: boolean, ref: string): JSONMessage =>
  message(`Status: ${newer ? 'Downloaded newer image for' : 'Image is up to date for'} ${ref}`);

/** One tag or digest: manifest, config, layers, record. Emits everything up to `Digest:`. */
async function pullOne(ref: Reference, o: PullOptions, deps: PullDeps): Promise<{ rec: ImageRecord; newer: boolean }> {
  const emit = o.onProgress ?? (() => undefined);
  const { registry, content, images } = deps;
  // One failure stops the other downloads and extractions.
  const ctl = new AbortController();
  const onOuterAbort = () => ctl.abort(o.signal!.reason);
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = ctl.signal;
  try {
    o.signal?.throwIfAborted();
    const repo = registry.repository(ref, { auth: o.auth });
    const tagOrDigest = ref.tag ?? ref.digest!;
    const want = o.platform ? parsePlatform(o.platform) : hostPlatform();

    let top = await repo.getManifest(ref.digest ?? ref.tag!, { signal });
    emit(message(`Pulling from ${ref.path}`, tagOrDigest));
    let index: { digest: string; bytes: Buffer; mediaType: string } | undefined;
    if (top.mediaType === MediaTypes.OciIndex || top.mediaType === MediaTypes.DockerManifestList) {
      index = top;
      const chosen = choosePlatform(parseIndex(top.bytes), want);
      if (!chosen) throw notFound(`no matching manifest for ${formatPlatform(want)} in the manifest list entries`);
      top = await repo.getManifest(chosen.digest, { signal });
      if (top.mediaType !== MediaTypes.OciManifest && top.mediaType !== MediaTypes.DockerManifest) {
        throw invalidArgument(`unsupported manifest media type ${top.mediaType} in index ${index.digest}`);
      }
    }
    const manifest = parseManifest(top.bytes);

    // The config first: it names the diffIDs, and its platform must fit.
    if (!(await content.has(manifest.config.digest))) await repo.fetchBlob(manifest.config, content, { signal });
    const rawConfig = await content.readBuffer(manifest.config.digest, { maxSize: 8 << 20 });
    const config: ImageConfig = validateConfig(rawConfig);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw invalidArgument(`invalid image: config has ${config.rootfs.diff_ids.length} diff_ids but the manifest has ${manifest.layers.length} layers`);
    }
    if (o.platform && !index) {
      const have: Platform = { os: config.os, architecture: config.architecture };
      if (config.variant) have.variant = config.variant;
      if (!platformMatches(want, have)) {
        throw notFound(`image with reference ${familiarString(ref)} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(have)}`);
      }
    }
    const layers: LayerRef[] = manifest.layers.map((l, i) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: config.rootfs.diff_ids[i]! }));

    // Like dockerd: an image already held (by its config digest, with all its
    // blobs) is up to date, and its layers are not listed.
    const held = images.tryGet(manifest.config.digest) !== undefined
      && (await Promise.all(layers.map((l) => content.has(l.digest)))).every(Boolean);
    const downloads = downloadLayers(layers, deps, repo, held ? () => undefined : emit, signal);
    // Each layer unpacks into its own snapshot without reading the others, so
    // layer i starts as soon as it and the layers below it are downloaded (its
    // chain ID needs no more); the unpacker shares extractions already running.
    const throttle = new ProgressThrottle();
    const extractStart = new Map<number, number>();
    /** Layers this pull downloaded: only they report Extracting and Pull complete (Docker's stream). */
    const downloadedHere = new Set<number>();
    const reportExtract = (p: LayerProgress) => {
      const id = shortId(layers[p.index]!.digest);
      if (!downloadedHere.has(p.index) || !throttle.due(`x${id}`, p.current, p.total)) return;
      if (!extractStart.has(p.index)) extractStart.set(p.index, Date.now());
      emit(progressMessage(id, 'Extracting', p.current, p.total, extractStart.get(p.index)));
    };
    const extractions = layers.map(async (l, i) => {
      const mine = await downloads[i]!;
      if (mine.downloaded && mine.first) downloadedHere.add(i);
      await Promise.all(downloads.slice(0, i));
      await deps.unpacker.unpack(layers.slice(0, i + 1), { signal, onProgress: reportExtract });
      if (mine.downloaded && mine.first) emit(update(shortId(l.digest), 'Pull complete'));
      return mine.downloaded;
    });
    for (const x of extractions) x.catch((err) => ctl.abort(err));
    const downloadedAny = (await Promise.all(extractions)).some(Boolean);

    // The manifest (and index) go to the content store with the image: push and save need them.
    await content.writeBuffer(top.bytes, { digest: top.digest, size: top.bytes.length });
    if (index) await content.writeBuffer(index.bytes, { digest: index.digest, size: index.bytes.length });
    const repoDigest = index?.digest ?? top.digest;
    const name = normalizedName(ref);
    const tagRef = ref.tag !== undefined ? referenceString({ domain: ref.domain, path: ref.path, tag: ref.tag }) : undefined;
    const before = tagRef ? images.tagTarget(tagRef) : images.tryGet(`${name}@${repoDigest}`)?.id;
    const rec = await images.commit({
      rawConfig,
      layers,
      manifest: { digest: top.digest, mediaType: top.mediaType },
      ...(index ? { indexDigest: index.digest } : {}),
      tags: tagRef ? [tagRef] : [],
      repoDigests: [`${name}@${repoDigest}`],
    });
    emit(message(`Digest: ${repoDigest}`));
    return { rec, newer: downloadedAny || before !== rec.id };
  } catch (err) {
    if (!signal.aborted) ctl.abort(err);
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', onOuterAbort);
  }
}

interface Downloaded {
  downloaded: boolean;
  /** The first of several layers sharing one blob: it alone reports. */
  first: boolean;
}

/**
 * Starts every missing layer's download (bounded); one promise per layer. The
 * presence checks run first so that messages and queueing follow layer order.
 */
function downloadLayers(layers: LayerRef[], deps: PullDeps, repo: ReturnType<Registry['repository']>, emit: (m: JSONMessage) => void, signal: AbortSignal): Promise<Downloaded>[] {
  const { registry, content } = deps;
  const limiter = new Limiter(registry.config.maxConcurrentDownloads);
  const throttle = new ProgressThrottle();
  const present = Promise.all(layers.map((l) => content.has(l.digest)));
  const byDigest = new Map<string, Promise<boolean>>();
  const started = present.then((has) => layers.map((l, i) => {
    const shared = byDigest.get(l.digest);
    if (shared) return shared.then((downloaded) => ({ downloaded, first: false }));
    const id = shortId(l.digest);
    let p: Promise<boolean>;
    if (has[i]) {
      emit(update(id, 'Already exists'));
      p = Promise.resolve(false);
    } else {
      emit(update(id, 'Pulling fs layer'));
      p = limiter.run(async () => {
        const t0 = Date.now();
        await repo.fetchBlob(l, content, {
          signal,
          onProgress: (pr) => {
            if (pr.current > 0 && pr.current < pr.total && throttle.due(id, pr.current, pr.total)) {
              emit(progressMessage(id, 'Downloading', pr.current, pr.total, t0));
            }
          },
          onRetry: (_attempt, _err, seconds) => {
            const n = Math.max(1, Math.ceil(seconds));
            emit(update(id, `Retrying in ${n} second${n === 1 ? '' : 's'}`));
          },
        });
        emit(update(id, 'Verifying Checksum'));
        emit(update(id, 'Download complete'));
        return true;
      }, () => emit(update(id, 'Waiting')));
    }
    byDigest.set(l.digest, p);
    return p.then((downloaded) => ({ downloaded, first: true }));
  }));
  const out = layers.map((_, i) => started.then((all) => all[i]!));
  // Failures surface where the extraction awaits them; meanwhile they are not "unhandled".
  for (const p of out) p.catch(() => undefined);
  return out;
}

function parseIndex(bytes: Buffer): Descriptor[] {
  const j = parseJson(bytes, 'index') as { manifests?: unknown };
  if (!Array.isArray(j.manifests)) throw invalidArgument('invalid index: no manifests');
  return j.manifests.map((d) => checkDescriptor(d, 'index entry'));
}

/** The index entry for a platform: an exact variant match before a loose one (containerd's ordering, simplified). */
export function choosePlatform(entries: Descriptor[], want: Platform): Descriptor | undefined {
  const manifests = entries.filter((d) => d.mediaType === MediaTypes.OciManifest || d.mediaType === MediaTypes.DockerManifest);
  const exact = manifests.find((d) => d.platform && platformMatches(want, d.platform as Platform) && (d.platform.variant ?? '') === (want.variant ?? ''));
  return exact ?? manifests.find((d) => platformMatches(want, d.platform as Platform | undefined));
}

function parseManifest(bytes: Buffer): { config: Descriptor; layers: Descriptor[] } {
  const j = parseJson(bytes, 'manifest') as { config?: unknown; layers?: unknown };
  const config = checkDescriptor(j.config, 'config');
  if (!Array.isArray(j.layers)) throw invalidArgument('invalid manifest: no layers');
  if (j.layers.length > MAX_LAYERS) throw invalidArgument(`invalid manifest: ${j.layers.length} layers (limit ${MAX_LAYERS})`);
  return { config, layers: j.layers.map((l) => checkDescriptor(l, 'layer')) };
}

function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
  let j: unknown;
  try {
    j = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalidArgument(`invalid ${what}: ${(err as Error).message}`, err);
  }
  if (j === null || typeof j !== 'object' || Array.isArray(j)) throw invalidArgument(`invalid ${what}: not an object`);
  return j as Record<string, unknown>;
}

function checkDescriptor(d: unknown, what: string): Descriptor {
  if (d === null || typeof d !== 'object') throw invalidArgument(`invalid ${what} descriptor`);
  const x = d as Record<string, unknown>;
  if (typeof x.mediaType !== 'string') throw invalidArgument(`invalid ${what} descriptor: no media type`);
  checkDigest(x.digest);
  if (typeof x.size !== 'number' || !Number.isSafeInteger(x.size) || x.size < 0) throw invalidArgument(`invalid ${what} descriptor: bad size`);
  return x as unknown as Descriptor;
}

/** What GET /distribution/{name}/json answers: the manifest's descriptor and the platforms it serves. */
export interface DistributionInspect {
  Descriptor: { mediaType: string; digest: string; size: number };
  Platforms: { architecture: string; os: string; variant?: string; 'os.version'?: string; 'os.features'?: string[] }[];
}

/**
 * `docker buildx imagetools`-style lookup without a pull (docker-py's
 * images.get_registry_data, `docker service create`): the top manifest's
 * descriptor, and its platforms — the index entries', or the one in a single
 * manifest's config.
 */
export async function distributionInspect(o: { ref: string; auth?: PullOptions['auth']; signal?: AbortSignal }, deps: Pick<PullDeps, 'registry'>): Promise<DistributionInspect> {
  const ref = withDefaultTag(parseReference(o.ref));
  const repo = deps.registry.repository(ref, { auth: o.auth });
  const top = await repo.getManifest(ref.digest ?? ref.tag!, { signal: o.signal });
  const Descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length };
  if (top.mediaType === MediaTypes.OciIndex || top.mediaType === MediaTypes.DockerManifestList) {
    const Platforms = parseIndex(top.bytes)
      .filter((d) => d.platform && typeof d.platform.architecture === 'string' && typeof d.platform.os === 'string')
      .map((d) => {
        const p = d.platform!;
        return {
          architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}),
          ...(p['os.version'] ? { 'os.version': p['os.version'] } : {}), ...(p['os.features']?.length ? { 'os.features': p['os.features'] } : {}),
        };
      });
    return { Descriptor, Platforms };
  }
  const { config } = parseManifest(top.bytes);
  const cfg = parseJson(await repo.getBlob(config, { signal: o.signal, maxSize: 8 << 20 }), 'image config') as { architecture?: unknown; os?: unknown; variant?: unknown };
  const platform = {
    architecture: typeof cfg.architecture === 'string' ? cfg.architecture : '', os: typeof cfg.os === 'string' ? cfg.os : '',
    ...(typeof cfg.variant === 'string' && cfg.variant ? { variant: cfg.variant } : {}),
  };
  return { Descriptor, Platforms: [platform] };
}
