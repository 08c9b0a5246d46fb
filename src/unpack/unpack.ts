// Unpacker: an image's layers (from the content store) → a chain of unpacked
// snapshots, bottom-first. Each layer unpacks into its own directory without
// reading its parent's files, so missing layers are extracted in parallel
// (at most `concurrency` at once); the chain IDs still tie each to its parent.
import { Transform, type Readable } from 'node:stream';
import { chainIds as computeChainIds, type Snapshotter } from '../snapshots/index.js';
import { invalidArgument, notImplemented, type Logger, silentLogger } from '../util/index.js';

/** The one thing unpack needs from the content store. */
export interface LayerProvider {
  createReadStream(digest: string): Readable;
}

export interface UnpackLayer {
  /** Digest of the (usually compressed) blob in the content store. */
  digest: string;
  /** sha256 of the uncompressed tar, from the image config's rootfs.diff_ids. */
  diffId: string;
  mediaType: string;
  /** Blob size in bytes (progress total). */
  size: number;
}

export interface UnpackProgress {
  /** Index of the layer in the list given to unpack. */
  index: number;
  /** Blob bytes read so far. */
  current: number;
  total: number;
}

export interface UnpackOptions {
  signal?: AbortSignal;
  onProgress?: (p: UnpackProgress) => void;
}

export interface UnpackResult {
  chainIds: string[];
  /** Layer dirs, bottom-first: the lowerDirs of Snapshotter.mountRootfs. */
  dirs: string[];
}

export interface UnpackerOptions {
  content: LayerProvider;
  snapshots: Snapshotter;
  log?: Logger;
  /** Layers extracted at once (default 3). */
  concurrency?: number;
}

export class Unpacker {
  private readonly content: LayerProvider;
  private readonly snapshots: Snapshotter;
  private readonly log: Logger;
  private readonly concurrency: number;

  constructor(opts: UnpackerOptions) {
    this.content = opts.content;
    this.snapshots = opts.snapshots;
    this.log = opts.log ?? silentLogger;
    this.concurrency = Math.max(1, opts.concurrency ?? 3);
  }

  async unpack(layers: readonly UnpackLayer[], opts: UnpackOptions = {}): Promise<UnpackResult> {
    for (const l of layers) {
      if (/\+encrypted$/.test(l.mediaType)) throw notImplemented(`encrypted layers are not supported: ${l.digest} (${l.mediaType})`);
      if (!/^sha256:[a-f0-9]{64}$/.test(l.digest)) throw invalidArgument(`invalid layer digest: ${JSON.stringify(l.digest)}`);
    }
    const ids = computeChainIds(layers.map((l) => l.diffId));
    const dirs: string[] = new Array(layers.length);
    const missing: number[] = [];
    ids.forEach((id, i) => {
      if (this.snapshots.has(id)) dirs[i] = this.snapshots.layerDir(id);
      else missing.push(i);
    });

    // The first failure stops the other extractions.
    const ctl = new AbortController();
    const onOuter = () => ctl.abort(opts.signal!.reason);
    if (opts.signal?.aborted) throw opts.signal.reason;
    opts.signal?.addEventListener('abort', onOuter, { once: true });
    let failure: { err: unknown } | undefined;
    const queue = [...missing];
    const worker = async () => {
      for (let i = queue.shift(); i !== undefined && !failure; i = queue.shift()) {
        try {
          const r = await this.snapshots.ensureLayer(ids[i]!, i > 0 ? ids[i - 1]! : null, async () => this.open(layers[i]!, i, opts), { signal: ctl.signal });
          dirs[i] = r.dir;
          this.log.debug('layer unpacked', { digest: layers[i]!.digest, chainId: ids[i] });
        } catch (err) {
          if (!failure) {
            failure = { err };
            ctl.abort(err);
          }
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.concurrency, missing.length) }, worker));
    } finally {
      opts.signal?.removeEventListener('abort', onOuter);
    }
    if (failure) throw opts.signal?.aborted ? opts.signal.reason : failure.err;
    return { chainIds: ids, dirs };
  }

  private open(layer: UnpackLayer, index: number, opts: UnpackOptions): Readable {
    const src = this.content.createReadStream(layer.digest);
    if (!opts.onProgress) return src;
    const report = opts.onProgress;
    let current = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        current += chunk.length;
        report({ index, current, total: layer.size });
        cb(null, chunk);
      },
    });
    src.once('error', (err) => counter.destroy(err));
    counter.once('close', () => src.destroy());
    return src.pipe(counter);
  }
}
