// Adapts the image store, registry client and unpacker to the images routes.
import type { Readable } from 'node:stream';
import type { Logger, EventSink } from '../util/index.js';
import { BerthError, errorKind, invalidArgument } from '../util/index.js';
import type { ImageStore } from '../images/index.js';
import type { LocalContentStore } from '../content/index.js';
import type { ContainerService } from '../containers/index.js';
import type { ImagesBackend } from '../api/index.js';
import * as unpack from '../unpack/index.js';
import * as distribution from '../distribution/index.js';
import { parseReference, referenceString } from '../reference/index.js';
import type { DaemonConfig } from './config.js';

export function imagesBackend(o: {
  cfg: DaemonConfig; log: Logger; images: ImageStore; content: LocalContentStore; unpacker: unpack.Unpacker;
  containers: ContainerService; events: EventSink;
  /** Untagged images to leave out of a listing without `all` (build-cache step images that have children, as Docker). */
  hidden?: (id: string) => boolean;
  /** Deletes unpacked layers no image or container uses; runs after images are deleted. */
  collectLayers?: () => Promise<void>;
  /** The build cache's parent/child links between step images. */
  steps?: { parentOf(id: string): string | undefined; childrenOf(id: string): string[]; forget(ids: string[]): void };
}): ImagesBackend {
  const { images, containers } = o;
  const isInUse = (id: string) => containers.imageInUse(id);
  const registry = new distribution.RegistryClient({
    mirrors: o.cfg.registryMirrors, insecureRegistries: o.cfg.insecureRegistries, certsDirs: o.cfg.certsDirs,
    maxConcurrentDownloads: o.cfg.maxConcurrentDownloads, maxConcurrentUploads: o.cfg.maxConcurrentUploads, log: o.log,
  });
  return {
    list: ({ all: showAll, filters }) => {
      const all = containers.list();
      return images.list(filters).filter((rec) => showAll || rec.repoTags.length > 0 || rec.repoDigests.length > 0 || !o.hidden?.(rec.id)).map((rec) => ({ ...images.toApiSummary(rec), Containers: all.filter((c) => c.ImageId === rec.id).length }));
    },
    inspect: (name) => images.toApiInspect(images.get(name)),
    history: (name) => images.history(name),
    tag: (name, repo, tag) => {
      const target = tag ? `${repo}:${tag}` : repo;
      images.tag(name, target);
    },
    remove: async (name, { force, noPrune }) => {
      const out = await images.remove(name, { force, noPrune, isInUse });
      // As dockerd: deleting a built image deletes its untagged parent step images that nothing else
      // uses (no tag, no container, no other child), up the chain; `noprune` keeps them.
      const deleted = out.filter((d) => d.Deleted).map((d) => d.Deleted!);
      if (!noPrune && o.steps && deleted.length) {
        const gone = new Set(deleted);
        for (let child = deleted[0], parent = o.steps.parentOf(child); parent; child = parent, parent = o.steps.parentOf(child)) {
          const rec = images.tryGet(parent);
          if (!rec || rec.repoTags.length || rec.repoDigests.length || isInUse(rec.id)) break;
          if (o.steps.childrenOf(parent).some((c) => !gone.has(c) && images.tryGet(c))) break;
          const more = await images.remove(rec.id, { force: false, isInUse }).catch(() => []);
          if (!more.some((d) => d.Deleted)) break;
          out.push(...more);
          for (const d of more) if (d.Deleted) gone.add(d.Deleted);
        }
        o.steps.forget([...gone]);
      }
      if (out.some((d) => d.Deleted)) await o.collectLayers?.();
      return out;
    },
    prune: async (filters) => {
      const out = await images.prune({ all: filters.dangling?.[0] === 'false', filters, isInUse });
      if (out.ImagesDeleted?.length) await o.collectLayers?.();
      return out;
    },
    import: async (src: Readable, opts) => (await images.import(src, { ...opts, source: '-' })).id,
    load: (src, opts) => images.load(src, { onProgress: (line: string) => opts.onProgress({ stream: line.endsWith('\n') ? line : `${line}\n` }) }),
    save: (names) => images.save(names),
    pull: async ({ image, tag, platform, auth, onProgress, signal }) => {
      let ref = image;
      if (tag) ref = tag.startsWith('sha256:') ? `${image}@${tag}` : `${image}:${tag}`;
      // As dockerd: fromImage without a tag (docker pull --all-tags) pulls every tag.
      const parsed = parseReference(ref);
      await registryCall(() => unpack.pullImage({ ref: referenceString(parsed), allTags: true, auth: decodeAuth(auth), platform, onProgress, signal }, { registry, content: o.content, images, unpacker: o.unpacker }));
    },
    push: async ({ name, tag, auth, onProgress, signal }) => {
      const ref = tag ? `${name}:${tag}` : name;
      await registryCall(() => unpack.pushImage({ ref, auth: decodeAuth(auth), onProgress, signal }, { registry, content: o.content, images }));
    },
    distribution: async ({ name, auth, signal }) => {
      // Unlike pull, a registry's 401 stays a 401 here: dockerd answers this one with the registry's status.
      return unpack.distributionInspect({ ref: name, auth: decodeAuth(auth), signal }, { registry });
    },
    login: async (body) => {
      if (!body || typeof body !== 'object') throw invalidArgument('invalid auth configuration');
      return registry.login(body);
    },
  };
}

/** Docker ignores an X-Registry-Auth it cannot decode on pull and push (and goes on anonymously). */
function decodeAuth(header: string | undefined): distribution.AuthConfig | undefined {
  if (!header) return undefined;
  try {
    return distribution.decodeAuthHeader(header);
  } catch {
    return undefined;
  }
}

/**
 * A registry's "unauthorized" is a 500 from dockerd's pull and push, never a 401:
 * on a 401 the docker CLI would stop to prompt for credentials.
 */
async function registryCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (errorKind(err) === 'Unauthorized') throw new BerthError('Internal', (err as Error).message, { cause: err });
    throw err;
  }
}
