// `docker import`: a tar (maybe compressed) becomes one layer blob, stored as
// given, and a fresh config around it.
import type { Readable } from 'node:stream';
import { invalidArgument } from '../util/index.js';
import { parseReference, referenceString, withDefaultTag, isValidTag } from '../reference/index.js';
import { ingestLayer, layerMediaType } from './layer.js';
import { applyChanges } from './changes.js';
import { hostPlatform, parsePlatform } from './platform.js';
import type { ImageConfig, ImageRecord } from './types.js';
import type { ImageStore } from './store.js';

export interface ImportOptions {
  /** Repository, maybe with a tag (`repo:tag`). */
  repo?: string;
  tag?: string;
  changes?: string[];
  message?: string;
  platform?: string;
  /** Shown in the history entry: "Imported from <source>" ('-' for a request body). */
  source?: string;
  signal?: AbortSignal;
}

export async function importImage(store: ImageStore, src: Readable, opts: ImportOptions): Promise<ImageRecord> {
  // Validate everything cheap before reading the body.
  let tag: string | undefined;
  if (opts.repo) {
    let r = parseReference(opts.repo);
    if (r.digest) throw invalidArgument('cannot import digest reference');
    if (opts.tag) {
      if (!isValidTag(opts.tag)) throw invalidArgument(`invalid tag format`);
      r = { ...r, tag: opts.tag };
    }
    tag = referenceString(withDefaultTag(r));
  }
  const platform = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
  const containerConfig = applyChanges({}, opts.changes ?? []);

  const layer = await ingestLayer(store.content, src, {}, { signal: opts.signal });
  const drop = async () => {
    if (!store.referencedBlobs().has(layer.digest)) await store.content.delete(layer.digest).catch(() => undefined);
  };
  if (layer.diffSize > 0 && !layer.looksLikeTar) {
    await drop();
    throw invalidArgument('archive/tar: invalid tar header');
  }
  const now = new Date().toISOString();
  const comment = opts.message || `Imported from ${opts.source ?? '-'}`;
  const config: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    created: now,
    config: containerConfig,
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    // As dockerd: the message (or "Imported from <src>") is the image comment and the history entry's
    // comment; there is no created_by (docker history shows an empty CREATED BY and this COMMENT).
    comment,
    history: [{ created: now, comment }],
  };
  store.recordLayerDiff(layer.digest, layer.diffId, layer.diffSize);
  let rec: ImageRecord;
  try {
    rec = await store.commit({
      config,
      layers: [{ digest: layer.digest, mediaType: layerMediaType(layer.compression), size: layer.size, diffId: layer.diffId }],
      tags: tag ? [tag] : [],
    });
  } catch (err) {
    await drop();
    throw err;
  }
  store.events('image', 'import', rec.id, {});
  return rec;
}
