// Commit: a container's changes (its overlay upper dir) become one new layer
// on top of its image, with a new config and history entry.
import { join } from 'node:path';
import { invalidArgument } from '../util/index.js';
import { diff } from '../snapshots/index.js';
import {
  applyChanges, ingestLayer, layerMediaType, type ContainerConfig, type HistoryEntry, type ImageConfig, type ImageRecord,
  type ImageStore,
} from '../images/index.js';
import { parseReference, referenceString, withDefaultTag, isValidTag } from '../reference/index.js';
import type { ContainerService } from '../containers/index.js';

/** The part of a container's Config that an image keeps. */
const IMAGE_FIELDS = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'Healthcheck', 'OnBuild', 'Shell', 'ArgsEscaped'] as const;

export function imageConfigOf(c: Record<string, any>): ContainerConfig {
  const out: Record<string, unknown> = {};
  for (const k of IMAGE_FIELDS) {
    const v = c[k];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out as ContainerConfig;
}

/** Files the runtime creates as mount points, which are not the container's changes (Docker's init layer). */
const MOUNT_STUBS = new Set(['etc/hosts', 'etc/hostname', 'etc/resolv.conf', '.dockerenv']);

export interface LayerCommit {
  /** The image the container (or step) started from; undefined for `FROM scratch`. */
  parent: ImageRecord;
  /** The container whose upper dir is the layer; undefined for a config-only image. */
  upperDir?: string;
  config: ContainerConfig;
  history: HistoryEntry;
  author?: string;
  comment?: string;
  tags?: string[];
}

/** Records a new image: the parent's layers plus (maybe) one from `upperDir`. */
export async function commitImage(images: ImageStore, o: LayerCommit): Promise<ImageRecord> {
  const now = new Date().toISOString();
  const parentConfig = o.parent.config;
  const layers = [...o.parent.layers];
  const diffIds = [...(parentConfig.rootfs?.diff_ids ?? [])];
  let newLayerDigest: string | undefined;
  if (o.upperDir) {
    const layer = await ingestLayer(images.content, diff(o.upperDir, { skip: (rel, st) => MOUNT_STUBS.has(rel) && st.isFile() && st.size === 0 }), {});
    images.recordLayerDiff(layer.digest, layer.diffId, layer.diffSize);
    layers.push({ digest: layer.digest, mediaType: layerMediaType(layer.compression), size: layer.size, diffId: layer.diffId });
    diffIds.push(layer.diffId);
    newLayerDigest = layer.digest;
  }
  const config: ImageConfig = {
    ...structuredClone(parentConfig),
    created: now,
    config: o.config,
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: [...(parentConfig.history ?? []), { created: now, ...o.history, ...(o.upperDir ? {} : { empty_layer: true }) }],
  };
  if (o.author !== undefined) config.author = o.author;
  if (o.comment !== undefined) config.comment = o.comment;
  // Fields of older Docker versions that would describe the parent, not this image.
  delete config.container;
  delete config.container_config;
  try {
    return await images.commit({ config, layers, tags: o.tags ?? [] });
  } catch (err) {
    if (newLayerDigest && !images.referencedBlobs().has(newLayerDigest)) await images.content.delete(newLayerDigest).catch(() => undefined);
    throw err;
  }
}

export interface CommitOptions {
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  /** Pause a running container while its changes are read (Docker's default). */
  pause?: boolean;
  /** Dockerfile instructions (CMD, ENV, …) applied to the new config. */
  changes?: string[];
  /** Container config fields from the request body, over the container's own. */
  config?: Record<string, any>;
}

/** `docker commit`. */
export async function commitContainer(images: ImageStore, containers: ContainerService, ref: string, o: CommitOptions): Promise<ImageRecord> {
  const rec = containers.get(ref);
  let tag: string | undefined;
  if (o.repo) {
    let r = parseReference(o.repo);
    if (r.digest) throw invalidArgument('cannot commit to digest reference');
    if (o.tag) {
      if (!isValidTag(o.tag)) throw invalidArgument('invalid tag format');
      r = { ...r, tag: o.tag };
    }
    tag = referenceString(withDefaultTag(r));
  } else if (o.tag) {
    throw invalidArgument('tag is specified without repository');
  }
  const parent = images.get(rec.ImageId);
  // Only the fields the request sets override the container's (clients send nulls for the rest).
  const given = Object.fromEntries(Object.entries(o.config ?? {}).filter(([, v]) => v !== null && v !== undefined));
  const config = applyChanges(imageConfigOf({ ...rec.Config, ...given }), o.changes ?? []);
  const pause = o.pause !== false && rec.State.Status === 'running';
  if (pause) await containers.pause(rec.Id, { transient: true });
  let img: ImageRecord;
  try {
    // Under the container's lock: an rm racing the commit waits for it (or the commit gets rm's 404/409)
    // instead of moving the upper dir away in the middle of the diff.
    img = await containers.withFilesystem(rec.Id, () => commitImage(images, {
      parent, upperDir: join(containers.dir(rec.Id), 'upper'), config,
      history: { created_by: [rec.Path, ...rec.Args].join(' '), ...(o.author ? { author: o.author } : {}), ...(o.comment ? { comment: o.comment } : {}) },
      author: o.author, comment: o.comment, tags: tag ? [tag] : [],
    }), { mount: false });
  } finally {
    if (pause) await containers.unpause(rec.Id).catch(() => undefined);
  }
  images.events('container', 'commit', rec.Id, { comment: o.comment ?? '', imageID: img.id, imageRef: tag ?? '', name: rec.Name });
  return img;
}
