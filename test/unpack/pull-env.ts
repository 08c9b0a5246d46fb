// A pull/push environment in a temp dir: content store, image store, snapshotter,
// a registry client, and the unpacker the pull drives.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { LocalContentStore } from '../../src/content/index.js';
import { ImageStore, type LayerRef } from '../../src/images/index.js';
import { Snapshotter, chainIds } from '../../src/snapshots/index.js';
import { Registry, type JSONMessage, type RegistryConfig } from '../../src/distribution/index.js';
import { openDb, silentLogger } from '../../src/util/index.js';
import type { PullUnpacker, LayerProgress } from '../../src/unpack/pull.js';

export interface PullEnv {
  root: string;
  content: LocalContentStore;
  images: ImageStore;
  snapshots: Snapshotter;
  registry: Registry;
  unpacker: PullUnpacker & { dirs: Map<string, string> };
  close(): void;
}

export function pullEnv(cfg: RegistryConfig = {}): PullEnv {
  const root = mkdtempSync(join(tmpdir(), 'berth-pull-'));
  const db = openDb(join(root, 'berth.db'));
  const content = new LocalContentStore({ root: join(root, 'content') });
  const images = new ImageStore({ db, content });
  const snapshots = new Snapshotter({ root: join(root, 'snapshots'), db, log: silentLogger, sync: false });
  const registry = new Registry({ retryDelayMs: 10, ...cfg });
  // The same job as unpack/unpack.ts's Unpacker: extract each layer from the content store.
  const dirs = new Map<string, string>();
  const unpacker = {
    dirs,
    async unpack(layers: LayerRef[], opts: { signal?: AbortSignal; onProgress?: (p: LayerProgress) => void } = {}) {
      const ids = chainIds(layers.map((l) => l.diffId));
      for (let i = 0; i < layers.length; i++) {
        const l = layers[i]!;
        const r = await snapshots.ensureLayer(ids[i]!, i ? ids[i - 1]! : null, async () => {
          const s = content.createReadStream(l.digest);
          let current = 0;
          s.on('data', (c: Buffer) => { current += c.length; opts.onProgress?.({ index: i, current, total: l.size }); });
          return s;
        }, { signal: opts.signal });
        dirs.set(l.digest, r.dir);
      }
      return { chainIds: ids };
    },
  };
  return {
    root, content, images, snapshots, registry, unpacker,
    close: () => {
      registry.close();
      db.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The status lines of a stream, "id: status" (progress bars dropped), for asserting sequences. */
export function statusLines(msgs: JSONMessage[]): string[] {
  return msgs.filter((m) => m.status !== undefined).map((m) => (m.id ? `${m.id}: ${m.status}` : m.status!));
}

/** The statuses one layer id went through, with consecutive repeats (progress) collapsed. */
export function layerStates(msgs: JSONMessage[], id: string): string[] {
  const out: string[] = [];
  for (const m of msgs) {
    if (m.id !== id || m.status === undefined) continue;
    if (out[out.length - 1] !== m.status) out.push(m.status);
  }
  return out;
}
