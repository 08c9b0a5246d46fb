// `docker save`: the tar Docker 25+ writes — an OCI image layout (oci-layout,
// index.json, blobs/sha256/…) that also carries the legacy manifest.json and
// repositories, so old `docker load`, podman and skopeo's docker-archive read it.
// As Docker does, layers are written uncompressed, named by their diffID.
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { invalidArgument } from '../util/index.js';
import { parseReference, referenceString, withDefaultTag, familiarName, familiarString, normalizedName, isImageIdLike } from '../reference/index.js';
import { digestOf } from '../content/index.js';
import { computeDiffId, openLayer } from './layer.js';
import { layerCompression, MediaType, type Descriptor, type ImageRecord, type Manifest } from './types.js';
import type { ImageStore } from './store.js';

interface SaveItem {
  rec: ImageRecord;
  /** Full normalized tags to write for this image. */
  tags: string[];
}

/** Resolves names as `docker save` does: a bare repository name means all its tags. */
function resolveNames(store: ImageStore, names: string[]): SaveItem[] {
  const byId = new Map<string, SaveItem>();
  const add = (rec: ImageRecord, tag?: string) => {
    let item = byId.get(rec.id);
    if (!item) byId.set(rec.id, (item = { rec, tags: [] }));
    if (tag && !item.tags.includes(tag)) item.tags.push(tag);
  };
  for (const name of names) {
    let ref;
    try {
      ref = isImageIdLike(name) ? undefined : parseReference(name);
    } catch {
      ref = undefined;
    }
    if (ref && ref.tag === undefined && ref.digest === undefined) {
      const repo = normalizedName(ref);
      const matches = store.list().flatMap((rec) => rec.repoTags.filter((t) => normalizedName(parseReference(t)) === repo).map((t) => ({ rec, t })));
      if (matches.length) {
        for (const { rec, t } of matches) add(rec, t);
        continue;
      }
    }
    const rec = store.get(name);
    if (ref && !ref.digest && rec.repoTags.includes(referenceString(withDefaultTag(ref)))) add(rec, referenceString(withDefaultTag(ref)));
    else add(rec);
  }
  return [...byId.values()];
}

export function saveImages(store: ImageStore, names: string[]): Readable {
  if (names.length === 0) throw invalidArgument('no images specified');
  const items = resolveNames(store, names); // throws NotFound before any byte is written
  const pack = tar.pack();
  const written = new Set<string>();
  const epoch = new Date(0);

  const addBuffer = (name: string, data: Buffer | string) =>
    new Promise<void>((resolve, reject) => {
      pack.entry({ name, mode: 0o644, mtime: epoch }, typeof data === 'string' ? Buffer.from(data) : data, (err) => (err ? reject(err) : resolve()));
    });
  const addBlob = async (digest: string, data: Buffer | string) => {
    if (written.has(digest)) return;
    written.add(digest);
    await addBuffer(`blobs/sha256/${digest.slice(7)}`, data);
  };
  const addStream = (name: string, size: number, src: Readable) =>
    new Promise<void>((resolve, reject) => {
      const sink = pack.entry({ name, size, mode: 0o644, mtime: epoch }, (err) => (err ? reject(err) : resolve()));
      src.on('error', (err) => { reject(err); sink.destroy(err); });
      src.on('data', (c: Buffer) => { if (!sink.write(c)) { src.pause(); sink.once('drain', () => src.resume()); } });
      src.on('end', () => sink.end(undefined));
    });

  const run = async () => {
    const legacy: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    const indexEntries: Descriptor[] = [];
    for (const { rec, tags } of items) {
      const layerDescs: Descriptor[] = [];
      for (const l of rec.layers) {
        let diffSize = store.layerDiff(l.digest)?.diffSize;
        const c = layerCompression(l.mediaType) ?? 'none';
        if (c === 'none') diffSize = (await store.content.info(l.digest)).size;
        else if (diffSize === undefined) {
          const d = await computeDiffId(store.content, l.digest);
          if (d.diffId !== l.diffId) throw invalidArgument(`layer ${l.digest}: diffID ${d.diffId} does not match ${l.diffId}`);
          store.recordLayerDiff(l.digest, d.diffId, d.diffSize);
          diffSize = d.diffSize;
        }
        if (!written.has(l.diffId)) {
          written.add(l.diffId);
          await addStream(`blobs/sha256/${l.diffId.slice(7)}`, diffSize, openLayer(store.content, l));
        }
        layerDescs.push({ mediaType: MediaType.OciLayer, digest: l.diffId, size: diffSize });
      }
      const rawConfig = await store.content.readBuffer(rec.id, { maxSize: 8 * 1024 * 1024 });
      await addBlob(rec.id, rawConfig);
      const platform = { architecture: rec.config.architecture, os: rec.config.os, ...(rec.config.variant ? { variant: rec.config.variant } : {}) };
      const manifest: Manifest = {
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: rec.id, size: rawConfig.length },
        layers: layerDescs,
      };
      const manifestJson = JSON.stringify(manifest);
      const manifestDigest = digestOf(manifestJson);
      await addBlob(manifestDigest, manifestJson);
      const desc: Descriptor = { mediaType: MediaType.OciManifest, digest: manifestDigest, size: Buffer.byteLength(manifestJson), platform };
      if (tags.length === 0) indexEntries.push(desc);
      for (const t of tags) {
        const r = parseReference(t);
        indexEntries.push({ ...desc, annotations: { 'io.containerd.image.name': t, 'org.opencontainers.image.ref.name': r.tag ?? 'latest' } });
        const top = rec.config.rootfs.diff_ids.at(-1);
        if (top) (repositories[familiarName(r)] ??= {})[r.tag ?? 'latest'] = top.slice(7);
      }
      legacy.push({
        Config: `blobs/sha256/${rec.id.slice(7)}`,
        RepoTags: tags.length ? tags.map((t) => familiarString(parseReference(t))) : null,
        Layers: rec.layers.map((l) => `blobs/sha256/${l.diffId.slice(7)}`),
      });
      store.events('image', 'save', rec.id, {});
    }
    await addBuffer('index.json', JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: indexEntries }));
    await addBuffer('manifest.json', JSON.stringify(legacy) + '\n');
    await addBuffer('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    if (Object.keys(repositories).length) await addBuffer('repositories', JSON.stringify(repositories) + '\n');
    pack.finalize();
  };
  run().catch((err) => pack.destroy(err));
  return Readable.from(pack as unknown as AsyncIterable<Buffer>);
}
