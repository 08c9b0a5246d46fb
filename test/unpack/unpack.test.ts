import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Unpacker, type LayerProvider, type UnpackLayer } from '../../src/unpack/unpack.js';
import { Snapshotter, chainIds } from '../../src/snapshots/index.js';
import { isInvalidArgument, isKind, openDb, silentLogger } from '../../src/util/index.js';
import { digestOf, makeTar } from '../snapshots/tarkit.js';

/** An in-memory blob store that records how streams are used. */
class FakeContent implements LayerProvider {
  blobs = new Map<string, Buffer>();
  opened: string[] = [];
  active = 0;
  maxActive = 0;
  constructor(private delayMs = 0) {}
  add(blob: Buffer): string {
    const d = digestOf(blob);
    this.blobs.set(d, blob);
    return d;
  }
  createReadStream(digest: string): Readable {
    const blob = this.blobs.get(digest);
    if (!blob) throw new Error(`missing ${digest}`);
    this.opened.push(digest);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    const delay = this.delayMs;
    const s = Readable.from((async function* () {
      for (let off = 0; off < blob.length; off += 4096) {
        if (delay) await new Promise((r) => setTimeout(r, delay));
        yield blob.subarray(off, off + 4096);
      }
    })());
    s.once('close', () => this.active--);
    return s;
  }
}

function env(delayMs = 0) {
  const base = mkdtempSync(join(tmpdir(), 'berth-unpack-'));
  const db = openDb(join(base, 'berth.db'));
  const snapshots = new Snapshotter({ root: join(base, 'snapshots'), db, log: silentLogger });
  const content = new FakeContent(delayMs);
  const unpacker = new Unpacker({ content, snapshots });
  const mounts: string[] = [];
  return {
    base, snapshots, content, unpacker, mounts,
    cleanup() {
      for (const m of mounts) snapshots.unmount(m);
      db.close();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

async function gzLayer(content: FakeContent, files: Record<string, string>): Promise<UnpackLayer> {
  const raw = await makeTar(Object.entries(files).map(([name, data]) => ({ name, data })));
  const blob = gzipSync(raw);
  return { digest: content.add(blob), diffId: digestOf(raw), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: blob.length };
}

test('unpack gives chain IDs and bottom-first dirs that mount as the image', async () => {
  const e = env();
  try {
    const layers = [
      await gzLayer(e.content, { 'etc/os': 'base', 'a': '1' }),
      await gzLayer(e.content, { 'etc/os': 'mid', 'b': '2' }),
      await gzLayer(e.content, { 'etc/.wh.os': '', 'c': '3' }),
    ];
    const r = await e.unpacker.unpack(layers);
    assert.deepEqual(r.chainIds, chainIds(layers.map((l) => l.diffId)));
    assert.equal(r.dirs.length, 3);
    r.dirs.forEach((d, i) => assert.equal(d, e.snapshots.layerDir(r.chainIds[i]!)));
    assert.equal(readFileSync(join(r.dirs[1]!, 'etc/os'), 'utf8'), 'mid');

    const c = await e.snapshots.prepareContainer(join(e.base, 'c'));
    const target = join(e.base, 'c/rootfs');
    mkdirSync(target);
    e.snapshots.mountRootfs({ lowerDirs: r.dirs, ...c, target });
    e.mounts.push(target);
    assert.deepEqual(readdirSync(target).sort(), ['a', 'b', 'c', 'etc']);
    assert.deepEqual(readdirSync(join(target, 'etc')), [], 'top layer deleted etc/os');

    // Everything present: a second unpack reads no blob.
    const opened = e.content.opened.length;
    const again = await e.unpacker.unpack(layers);
    assert.deepEqual(again, r);
    assert.equal(e.content.opened.length, opened);
  } finally {
    e.cleanup();
  }
});

test('missing layers extract in parallel, at most 3 at once, skipping present ones', async () => {
  const e = env(5);
  try {
    const layers: UnpackLayer[] = [];
    for (let i = 0; i < 7; i++) layers.push(await gzLayer(e.content, { [`f${i}`]: `${i}`.repeat(40_000) + Math.random() }));
    await e.unpacker.unpack(layers.slice(0, 2));
    e.content.opened = [];
    e.content.maxActive = 0;
    const r = await e.unpacker.unpack(layers);
    assert.equal(e.content.opened.length, 5, 'only the 5 missing layers are read');
    assert.ok(!e.content.opened.includes(layers[0]!.digest));
    assert.equal(e.content.maxActive, 3, 'three extractions ran at once, never more');
    assert.equal(readFileSync(join(r.dirs[6]!, 'f6'), 'utf8').slice(0, 3), '666');
  } finally {
    e.cleanup();
  }
});

test('progress reports blob bytes read per layer', async () => {
  const e = env();
  try {
    const l = await gzLayer(e.content, { big: 'x'.repeat(300_000) + Math.random() });
    let last = { index: -1, current: 0, total: 0 };
    await e.unpacker.unpack([l], { onProgress: (p) => { last = p; } });
    assert.deepEqual(last, { index: 0, current: l.size, total: l.size });
  } finally {
    e.cleanup();
  }
});

test('a layer that does not match its diffID fails the unpack and leaves no partial layer', async () => {
  const e = env();
  try {
    const good = await gzLayer(e.content, { a: '1' });
    const other = await gzLayer(e.content, { b: '2' });
    const lying = { ...other, diffId: digestOf(Buffer.from('something else')) };
    await assert.rejects(e.unpacker.unpack([good, lying]), isInvalidArgument);
    const ids = chainIds([good.diffId, lying.diffId]);
    assert.equal(e.snapshots.has(ids[1]!), false);
    assert.ok(!readdirSync(e.snapshots.root).some((n) => n.startsWith('new-')));
    await assert.rejects(
      e.unpacker.unpack([{ ...good, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip+encrypted' }]),
      (err) => isKind(err, 'NotImplemented'),
    );
  } finally {
    e.cleanup();
  }
});

test('an aborted signal stops the unpack', async () => {
  const e = env(20);
  try {
    const l = await gzLayer(e.content, { big: randomBytes(400_000).toString('base64') }); // ~75 slow chunks
    const ac = new AbortController();
    const p = e.unpacker.unpack([l], { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('cancelled by test')), 30);
    await assert.rejects(p, /cancelled by test/);
    assert.equal(e.snapshots.list().length, 0);
  } finally {
    e.cleanup();
  }
});
