// Adapts the builder and container commits to the /build and /commit routes.
import { rmSync } from 'node:fs';
import type { Logger } from '../util/index.js';
import type { ImageStore } from '../images/index.js';
import type { ContainerService, RootfsProvider } from '../containers/index.js';
import type { BuildBackend, ImagesBackend } from '../api/index.js';
import { Build, commitContainer } from '../build/index.js';
import { parseReference, withDefaultTag, familiarName } from '../reference/index.js';

export function buildBackend(o: {
  images: ImageStore; containers: ContainerService; rootfs: RootfsProvider; tmpDir: string; log: Logger;
  pull?: ImagesBackend['pull'];
}): BuildBackend {
  // Contexts left by a daemon that stopped mid-build.
  rmSync(o.tmpDir, { recursive: true, force: true });
  const pull = o.pull;
  return {
    prepare: (context, req) => Build.prepare({
      images: o.images, containers: o.containers, rootfs: o.rootfs, tmpDir: o.tmpDir, log: o.log,
      pull: pull ? (ref, onProgress) => {
        // One tag (or digest), never the whole repository.
        const r = withDefaultTag(parseReference(ref));
        return pull({ image: familiarName(r), tag: r.digest ?? r.tag, onProgress, signal: new AbortController().signal });
      } : undefined,
    }, context, req),
    commit: async (req) => (await commitContainer(o.images, o.containers, req.container, req)).id,
  };
}
