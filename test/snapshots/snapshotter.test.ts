import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { Snapshotter, chainIds, chainId } from '../../src/snapshots/index.js';
import { isInvalidArgument, isNotFound, openDb, silentLogger, type DB } from '../../src/util/index.js';
import { lgetxattr, lsetxattr } from '../../src/sys/index.js';
import { digestOf, makeTar, type TarEntry } from './tarkit.js';

interface Env { base: string; db: DB; snap: Snapshotter; mounts: string[]; cleanup(): void }

function env(): Env {
  const base = mkdtempSync(join(tmpdir(), 'berth-snap-'));
  const db = openDb(join(base, 'berth.db'));
  const snap = new Snapshotter({ root: join(base, 'snapshots'), db, log: silentLogger });
  const mounts: string[] = [];
  return {
    base, db, snap, mounts,
    cleanup() {
      for (const m of mounts.reverse()) snap.unmount(m);
      db.close();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

interface Layer { blob: Buffer; diffId: string }
async function layer(entries: TarEntry[], gzip = true): Promise<Layer> {
  const raw = await makeTar(entries);
  return { blob: gzip ? gzipSync(raw) : raw, diffId: digestOf(raw) };
}

/** Unpack layers bottom-first; returns their dirs. */
async function unpackAll(snap: Snapshotter, layers: Layer[]): Promise<{ ids: string[]; dirs: string[] }> {
  const ids = chainIds(layers.map((l) => l.diffId));
  const dirs: string[] = [];
  for (let i = 0; i < layers.length; i++) {
    const r = await snap.ensureLayer(ids[i]!, i ? ids[i - 1]! : null, async () => Readable.from([layers[i]!.blob]));
    dirs.push(r.dir);
  }
  return { ids, dirs };
}

async function mountContainer(e: Env, dirs: string[], name = 'c1') {
  const cdir = join(e.base, 'containers', name);
  const { upperDir, workDir } = await e.snap.prepareContainer(cdir);
  const target = join(cdir, 'rootfs');
  mkdirSync(target, { recursive: true });
  e.snap.mountRootfs({ lowerDirs: dirs, upperDir, workDir, target });
  e.mounts.push(target);
  return { target, upperDir, workDir };
}

async function readTar(src: Readable): Promise<{ name: string; type: string; data: string; linkname?: string | null; pax?: unknown }[]> {
  const ex = tar.extract();
  const out: { name: string; type: string; data: string; linkname?: string | null; pax?: unknown }[] = [];
  src.pipe(ex as unknown as NodeJS.WritableStream);
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(Buffer.from(c as Uint8Array));
    out.push({ name: entry.header.name, type: entry.header.type, data: Buffer.concat(chunks).toString(), linkname: entry.header.linkname, pax: entry.header.pax });
  }
  return out;
}

test('chain IDs follow the OCI image spec', () => {
  const d1 = `sha256:${'a'.repeat(64)}`;
  const d2 = `sha256:${'b'.repeat(64)}`;
  const ids = chainIds([d1, d2]);
  assert.equal(ids[0], d1);
  assert.equal(ids[1], digestOf(Buffer.from(`${d1} ${d2}`)));
  assert.equal(chainId(d1, d2), ids[1]);
  assert.throws(() => chainIds(['md5:xx']), isInvalidArgument);
});

test('layers unpack once, overlay shows the merged view with whiteouts and opaque dirs', async () => {
  const e = env();
  try {
    const l1 = await layer([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/motd', data: 'hello' },
      { name: 'etc/keep', data: 'keep' },
      { name: 'var/cache/', type: 'directory' },
      { name: 'var/cache/old1', data: '1' },
      { name: 'var/cache/old2', data: '2' },
      { name: 'bin/tool', data: 'v1', mode: 0o755 },
    ]);
    const l2 = await layer([
      { name: 'etc/.wh.motd', data: '' },
      { name: 'var/cache/.wh..wh..opq', data: '' },
      { name: 'var/cache/fresh', data: 'f' },
      { name: 'bin/tool', data: 'v2', mode: 0o755 },
    ]);
    const { ids, dirs } = await unpackAll(e.snap, [l1, l2]);
    assert.ok(e.snap.has(ids[0]!) && e.snap.has(ids[1]!));
    assert.equal(e.snap.layerDir(ids[1]!), dirs[1]);
    assert.equal(e.snap.list().length, 2);
    const u = e.snap.usage();
    assert.equal(u.count, 2);
    assert.ok(u.size >= 2 * 1024);

    const { target, upperDir } = await mountContainer(e, dirs);
    assert.ok(e.snap.isMounted(target));
    assert.deepEqual(readdirSync(join(target, 'etc')).sort(), ['keep'], 'whiteout hides etc/motd');
    assert.deepEqual(readdirSync(join(target, 'var/cache')), ['fresh'], 'opaque dir hides lower entries');
    assert.equal(readFileSync(join(target, 'bin/tool'), 'utf8'), 'v2', 'upper layer wins');

    // Writes go to the container's upper dir, never to a layer.
    writeFileSync(join(target, 'etc/new'), 'n');
    unlinkSync(join(target, 'etc/keep'));
    assert.equal(readFileSync(join(upperDir, 'etc/new'), 'utf8'), 'n');
    assert.ok(statSync(join(upperDir, 'etc/keep')).isCharacterDevice(), 'deletion recorded as whiteout in upper');
    assert.equal(readFileSync(join(dirs[0]!, 'etc/keep'), 'utf8'), 'keep', 'lower layer untouched');

    e.snap.unmount(target);
    e.mounts.pop();
    assert.equal(e.snap.isMounted(target), false);
    e.snap.unmount(target); // idempotent
  } finally {
    e.cleanup();
  }
});

test('ensureLayer is idempotent and shares one extraction between concurrent callers', async () => {
  const e = env();
  try {
    const l = await layer([{ name: 'f', data: 'x'.repeat(100_000) }]);
    let opened = 0;
    const open = async () => { opened++; return Readable.from([l.blob]); };
    const [a, b, c] = await Promise.all([
      e.snap.ensureLayer(l.diffId, null, open),
      e.snap.ensureLayer(l.diffId, null, open),
      e.snap.ensureLayer(l.diffId, null, open),
    ]);
    assert.equal(opened, 1);
    assert.equal(a.dir, b.dir);
    assert.equal(b.dir, c.dir);
    assert.equal(a.diffId, l.diffId);
    const again = await e.snap.ensureLayer(l.diffId, null, open);
    assert.equal(opened, 1, 'already present: not opened again');
    assert.equal(again.size, a.size);
  } finally {
    e.cleanup();
  }
});

test('a layer whose content does not match its chain ID leaves nothing behind', async () => {
  const e = env();
  try {
    const l = await layer([{ name: 'f', data: 'real' }]);
    const claimed = `sha256:${'0'.repeat(64)}`;
    await assert.rejects(
      e.snap.ensureLayer(claimed, null, async () => Readable.from([l.blob])),
      (err) => isInvalidArgument(err) && /does not match/.test((err as Error).message),
    );
    assert.equal(e.snap.has(claimed), false);
    assert.deepEqual(readdirSync(e.snap.root).sort(), ['empty', 'l'], 'no partial dir left');
    // A hostile tar fails the same way.
    const evil = await layer([{ name: '../x', data: 'x' }]);
    await assert.rejects(e.snap.ensureLayer(evil.diffId, null, async () => Readable.from([evil.blob])), isInvalidArgument);
    assert.deepEqual(readdirSync(e.snap.root).sort(), ['empty', 'l']);
    assert.throws(() => e.snap.layerDir(claimed), isNotFound);
  } finally {
    e.cleanup();
  }
});

test('reconcile sweeps unfinished extractions, orphan dirs and rows without dirs', async () => {
  const e = env();
  try {
    const [l1, l2] = [await layer([{ name: 'a', data: 'a' }]), await layer([{ name: 'b', data: 'b' }])];
    const { ids } = await unpackAll(e.snap, [l1, l2]);
    mkdirSync(join(e.snap.root, 'new-deadbeef/fs'), { recursive: true });
    mkdirSync(join(e.snap.root, 'f'.repeat(64), 'fs'), { recursive: true }); // renamed, row never committed
    rmSync(join(e.snap.root, ids[1]!.slice(7)), { recursive: true }); // row whose dir vanished
    const r = await e.snap.reconcile();
    assert.deepEqual(r.removedDirs.sort(), ['f'.repeat(64), 'new-deadbeef']);
    assert.deepEqual(r.removedRows, [ids[1]]);
    assert.equal(e.snap.has(ids[0]!), true);
    assert.equal(e.snap.has(ids[1]!), false);
    assert.deepEqual(readdirSync(e.snap.root).sort(), ['empty', 'l', ids[0]!.slice(7)].sort());
    // A fresh Snapshotter over the same db sees the same state.
    const again = new Snapshotter({ root: e.snap.root, db: e.db, log: silentLogger });
    assert.deepEqual(again.list().map((x) => x.chainId), [ids[0]]);
  } finally {
    e.cleanup();
  }
});

test('remove deletes the row and the files', async () => {
  const e = env();
  try {
    const l = await layer([{ name: 'a', data: 'a' }]);
    const { ids, dirs } = await unpackAll(e.snap, [l]);
    await e.snap.remove(ids[0]!);
    assert.equal(e.snap.has(ids[0]!), false);
    assert.equal(existsSync(dirs[0]!), false);
    await assert.rejects(e.snap.remove(ids[0]!), isNotFound);
  } finally {
    e.cleanup();
  }
});

test('an image with no layers still mounts (empty lower dir)', async () => {
  const e = env();
  try {
    const { target, upperDir } = await mountContainer(e, []);
    assert.deepEqual(readdirSync(target), []);
    writeFileSync(join(target, 'x'), '1');
    assert.equal(readFileSync(join(upperDir, 'x'), 'utf8'), '1');
    assert.deepEqual(readdirSync(join(e.snap.root, 'empty')), [], 'shared empty dir stays empty');
  } finally {
    e.cleanup();
  }
});

test('many layers: option string over a page uses short links and still mounts', async () => {
  const e = env();
  try {
    const layers: Layer[] = [];
    for (let i = 0; i < 60; i++) layers.push(await layer([{ name: `f${i}`, data: String(i) }, { name: 'top', data: String(i) }], false));
    const { dirs } = await unpackAll(e.snap, layers);
    assert.ok(dirs.join(':').length > 4096, 'long paths would not fit in one page');
    const { target } = await mountContainer(e, dirs);
    assert.equal(readFileSync(join(target, 'top'), 'utf8'), '59', 'topmost layer wins');
    assert.equal(readFileSync(join(target, 'f0'), 'utf8'), '0');
    assert.equal(readdirSync(target).length, 61);
    assert.ok(readdirSync(join(e.snap.root, 'l')).length >= 60);
  } finally {
    e.cleanup();
  }
});

test('diff of a container turns its changes into an OCI layer that replays them', async () => {
  const e = env();
  try {
    const l1 = await layer([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/a', data: 'a' },
      { name: 'etc/b', data: 'b' },
      { name: 'data/', type: 'directory' },
      { name: 'data/old', data: 'o' },
    ]);
    const { dirs } = await unpackAll(e.snap, [l1]);
    const c = await mountContainer(e, dirs);
    unlinkSync(join(c.target, 'etc/a'));
    writeFileSync(join(c.target, 'etc/b'), 'changed');
    rmSync(join(c.target, 'data'), { recursive: true });
    mkdirSync(join(c.target, 'data'));
    writeFileSync(join(c.target, 'data/new'), 'n');
    writeFileSync(join(c.target, 'bin'), Buffer.alloc(70_000, 7));
    lsetxattr(join(c.target, 'bin'), 'user.bin', Buffer.from([0x80, 0xff, 0x00]));
    const longName = 'd'.repeat(120);
    writeFileSync(join(c.target, longName), 'long');

    const entries = await readTar(e.snap.diff(c.upperDir));
    const names = entries.map((x) => x.name);
    assert.ok(names.includes('etc/.wh.a'), names.join(','));
    assert.ok(names.includes('data/.wh..wh..opq'), names.join(','));
    assert.ok(names.includes(longName));
    assert.equal(entries.find((x) => x.name === 'etc/b')?.data, 'changed');
    assert.ok(!names.some((n) => n.includes('work')), 'work dir not included');

    // Replay: the diff as a new layer on top gives the same view.
    const chunks: Buffer[] = [];
    for await (const ch of e.snap.diff(c.upperDir)) chunks.push(ch as Buffer);
    const raw = Buffer.concat(chunks);
    const l2: Layer = { blob: raw, diffId: digestOf(raw) };
    const { dirs: dirs2 } = await unpackAll(e.snap, [l1, l2]);
    const c2 = await mountContainer(e, dirs2, 'c2');
    assert.deepEqual(readdirSync(join(c2.target, 'etc')), ['b']);
    assert.equal(readFileSync(join(c2.target, 'etc/b'), 'utf8'), 'changed');
    assert.deepEqual(readdirSync(join(c2.target, 'data')), ['new']);
    assert.deepEqual(readFileSync(join(c2.target, 'bin')), Buffer.alloc(70_000, 7));
    assert.deepEqual(lgetxattr(join(c2.target, 'bin'), 'user.bin'), Buffer.from([0x80, 0xff, 0x00]));
    assert.equal(readFileSync(join(c2.target, longName), 'utf8'), 'long');
    assert.ok(lstatSync(join(dirs2[1]!, 'etc/a')).isCharacterDevice());
  } finally {
    e.cleanup();
  }
});
