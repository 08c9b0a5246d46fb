// docker push: send an image's blobs exactly as stored (the manifest the image
// was pulled or committed with names them, compressed or not: no recompression,
// so digests never change), then its manifest under the tag. Layers the
// registry has are skipped, layers another repository of the same registry
// has (known from the image's repo digests) are mounted. Progress is Docker's
// JSON stream (moby distribution/push_v2.go).
import { Readable, Transform } from 'node:stream';
import type { ContentProvider } from '../content/index.js';
import {
  Limiter, progressMessage, ProgressThrottle, type AuthConfig, type JSONMessage, type Registry, type RemoteRepository,
} from '../distribution/index.js';
import { type ImageRecord, type ImageStore } from '../images/index.js';
import { familiarName, normalizedName, parseReference, referenceString, type Reference } from '../reference/index.js';
import { checkDigest } from '../content/index.js';
import { invalidArgument, notFound, shortId } from '../util/index.js';
import { message, update } from './pull.js';

export interface PushOptions {
  /** name[:tag]; without a tag every tag of the repository is pushed. */
  ref: string;
  auth?: AuthConfig;
  onProgress?: (msg: JSONMessage) => void;
  signal?: AbortSignal;
}

export interface PushDeps {
  registry: Registry;
  content: ContentProvider;
  images: ImageStore;
}

export interface PushResult {
  Tag: string;
  Digest: string;
  Size: number;
}

export async function pushImage(o: PushOptions, deps: PushDeps): Promise<PushResult[]> {
  const emit = o.onProgress ?? (() => undefined);
  const ref = parseReference(o.ref);
  if (ref.digest !== undefined) throw invalidArgument('cannot push a digest reference');
  const name = normalizedName(ref);
  const tags = ref.tag !== undefined
    ? [ref.tag]
    : deps.images.list().flatMap((r) => r.repoTags).map((t) => parseReference(t)).filter((r) => normalizedName(r) === name).map((r) => r.tag!).sort();
  if (tags.length === 0) throw notFound(`An image does not exist locally with the tag: ${familiarName(ref)}`);
  const records = tags.map((tag) => {
    try {
      return deps.images.get(referenceString({ ...ref, tag }));
    } catch {
      throw notFound(`An image does not exist locally with the tag: ${familiarName(ref)}`);
    }
  });
  emit(message(`The push refers to repository [${name}]`));
  const repo = deps.registry.repository(ref, { auth: o.auth, push: true });
  const out: PushResult[] = [];
  for (let i = 0; i < tags.length; i++) {
    out.push(await pushTag({ ...ref, tag: tags[i]! }, records[i]!, repo, deps, emit, o.signal));
  }
  return out;
}

async function pushTag(ref: Reference, rec: ImageRecord, repo: RemoteRepository, deps: PushDeps, emit: (m: JSONMessage) => void, signal?: AbortSignal): Promise<PushResult> {
  const { content } = deps;
  if (!rec.manifestDigest) throw notFound(`image ${rec.id} has no manifest to push`);
  const manifestBytes = await content.readBuffer(rec.manifestDigest, { maxSize: 4 << 20 });
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as { mediaType?: string; config?: { digest: string; size: number }; layers?: { digest: string; size: number; mediaType: string }[] };
  const mediaType = rec.manifestMediaType ?? manifest.mediaType;
  if (!mediaType || !manifest.config || !Array.isArray(manifest.layers)) throw invalidArgument(`image ${rec.id}: stored manifest ${rec.manifestDigest} is not an image manifest`);
  if (manifest.config.digest !== rec.id) throw invalidArgument(`image ${rec.id}: stored manifest names config ${manifest.config.digest}`);

  // Repositories of the same registry this image came from: candidates for a mount.
  const mountFrom = [...new Set(rec.repoDigests.map((d) => parseReference(d))
    .filter((r) => r.domain === ref.domain && r.path !== ref.path).map((r) => r.path))];

  const limiter = new Limiter(deps.registry.config.maxConcurrentUploads);
  const throttle = new ProgressThrottle();
  const layers = manifest.layers.map((l, i) => ({ ...l, id: shortId(rec.layers[i]?.diffId ?? l.digest) }));
  for (const l of layers) {
    checkDigest(l.digest);
    emit(update(l.id, 'Preparing'));
  }
  const ctl = new AbortController();
  const onAbort = () => ctl.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const jobs = layers.map((l) => limiter.run(async () => {
      if (await repo.blobExists(l.digest, { signal: ctl.signal })) {
        emit(update(l.id, 'Layer already exists'));
        return;
      }
      for (const from of mountFrom) {
        if (await repo.mountBlob(l.digest, from, { signal: ctl.signal }).catch(() => false)) {
          emit(update(l.id, `Mounted from ${from}`));
          return;
        }
      }
      const started = Date.now();
      await repo.pushBlob(l, (start, end) => blobRange(content, l.digest, start, end), {
        signal: ctl.signal,
        onProgress: (p) => {
          if (throttle.due(l.id, p.current, p.total)) emit(progressMessage(l.id, 'Pushing', p.current, p.total, started));
        },
      });
      emit(update(l.id, 'Pushed'));
    }, () => emit(update(l.id, 'Waiting'))));
    jobs.forEach((j) => j.catch(() => ctl.abort()));
    await Promise.all(jobs);

    if (!(await repo.blobExists(manifest.config.digest, { signal: ctl.signal }))) {
      const cfg = manifest.config;
      await repo.pushBlob(cfg, (start, end) => blobRange(content, cfg.digest, start, end), { signal: ctl.signal });
    }
    const digest = await repo.putManifest(ref.tag!, manifestBytes, mediaType, { signal: ctl.signal });
    emit(message(`${ref.tag}: digest: ${digest} size: ${manifestBytes.length}`));
    const result = { Tag: ref.tag!, Digest: digest, Size: manifestBytes.length };
    emit({ progressDetail: {}, aux: result });
    // As dockerd does after a push: the image is now also known as name@digest.
    await deps.images.commit({
      rawConfig: await content.readBuffer(rec.id, { maxSize: 8 << 20 }),
      layers: rec.layers,
      manifest: { digest: rec.manifestDigest, mediaType },
      repoDigests: [`${normalizedName(ref)}@${digest}`],
    });
    return result;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Bytes [start, end) of a stored blob. */
function blobRange(content: ContentProvider, digest: string, start: number, end: number): Readable {
  const src = content.createReadStream(digest, { start });
  let left = end - start;
  const cut = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (left <= 0) return cb();
      const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
      left -= part.length;
      cb(null, part);
      if (left <= 0) {
        src.unpipe(cut);
        src.destroy();
        cut.end();
      }
    },
  });
  src.on('error', (err) => cut.destroy(err));
  return src.pipe(cut);
}
