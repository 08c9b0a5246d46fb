// Adapts the builder and container commits to the /build and /commit routes.
import { rmSync } from 'node:fs';
import type { Logger, EventSink } from '../util/index.js';
import type { ImageStore } from '../images/index.js';
import type { ContainerService, RootfsProvider } from '../containers/index.js';
import type { BuildBackend, ImagesBackend } from '../api/index.js';
import { Build, commitContainer, type BuildCache } from '../build/index.js';
import { parseReference, withDefaultTag, familiarName } from '../reference/index.js';

export function buildBackend(o: {
  images: ImageStore; containers: ContainerService; rootfs: RootfsProvider; cache?: BuildCache; tmpDir: string; log: Logger;
  pull?: ImagesBackend['pull'];
  collectLayers?: () => Promise<void>;
  events?: EventSink;
}): BuildBackend {
  // Contexts left by a daemon that stopped mid-build.
  rmSync(o.tmpDir, { recursive: true, force: true });
  const pull = o.pull;
  return {
    prepare: (context, req) => Build.prepare({
      images: o.images, containers: o.containers, rootfs: o.rootfs, cache: o.cache, tmpDir: o.tmpDir, log: o.log,
      pull: pull ? (ref, onProgress) => {
        // One tag (or digest), never the whole repository.
        const r = withDefaultTag(parseReference(ref));
        return pull({ image: familiarName(r), tag: r.digest ?? r.tag, onProgress, signal: new AbortController().signal });
      } : undefined,
    }, context, req),
    commit: async (req) => (await commitContainer(o.images, o.containers, req.container, req)).id,
    prune: async () => {
      const res = await pruneCache();
      o.events?.('builder', 'prune', '', { reclaimed: String(res.SpaceReclaimed) }); // as dockerd's builder prune
      return res;
    },
  };

  async function pruneCache(): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }> {
    {
      // Step images kept as cache, unless a tag or a container holds them.
      const deleted: string[] = [];
      let reclaimed = 0;
      const cache = o.cache;
      if (!cache) return { CachesDeleted: [], SpaceReclaimed: 0 };
      const gone: string[] = [];
      const counted = new Set<string>();
      for (const id of cache.imageIds()) {
        const rec = o.images.tryGet(id);
        if (!rec) { gone.push(id); continue; }
        if (rec.repoTags.length || rec.repoDigests.length || o.containers.imageInUse(id)) continue;
        try {
          await o.images.remove(id, { force: true, isInUse: (x) => o.containers.imageInUse(x) });
        } catch { continue; }
        // Layers no other image shares were deleted with it.
        for (const l of rec.layers) {
          if (counted.has(l.digest) || (await o.images.content.has(l.digest))) continue;
          counted.add(l.digest);
          reclaimed += l.size;
        }
        deleted.push(id);
        gone.push(id);
      }
      cache.forget(gone);
      if (deleted.length) await o.collectLayers?.();
      return { CachesDeleted: deleted, SpaceReclaimed: reclaimed };
    }
  }
}
