// A pull/push environment in a temp dir: content store, image store, snapshotter,
// a registry client, and the real Unpacker the pull drives.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { LocalContentStore } from '../../src/content/index.js';
import { ImageStore } from '../../src/images/index.js';
import { Snapshotter, chainIds } from '../../src/snapshots/index.js';
import { Registry, type JSONMessage, type RegistryConfig } from '../../src/distribution/index.js';
import { openDb, silentLogger } from '../../src/util/index.js';
import { Unpacker } from '../../src/unpack/index.js';

export interface PullEnv {
  root: string;
  content: LocalContentStore;
  images: ImageStore;
  snapshots: Snapshotter;
  registry: Registry;
  unpacker: Unpacker;
  /** The unpacked dir of a layer blob (after a pull). */
  layerDir(layerDigest: string): string;
  close(): void;
}

export function pullEnv(cfg: RegistryConfig = {}): PullEnv {
  const root = mkdtempSync(join(tmpdir(), 'berth-pull-'));
  const db = openDb(join(root, 'berth.db'));
  const content = new LocalContentStore({ root: join(root, 'content') });
  const images = new ImageStore({ db, content });
  const snapshots = new Snapshotter({ root: join(root, 'snapshots'), db, log: silentLogger, sync: false });
  const registry = new Registry({ retryDelayMs: 10, ...cfg });
  const unpacker = new Unpacker({ content, snapshots });
  return {
    root, content, images, snapshots, registry, unpacker,
    layerDir: (digest) => {
      const rec = images.list().find((r) => r.layers.some((l) => l.digest === digest));
      if (!rec) throw new Error(`no image has layer ${digest}`);
      const i = rec.layers.findIndex((l) => l.digest === digest);
      return snapshots.layerDir(chainIds(rec.layers.map((l) => l.diffId))[i]!);
    },
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
