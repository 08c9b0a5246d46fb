import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as tar from 'tar-stream';
import { busyboxTar } from '../helpers/fixtures.js';
import { isInvalidArgument } from '../../src/util/index.js';
import { MediaType } from '../../src/images/index.js';
import { makeEnv, makeTar, streamOf, collect, type Env, type TarEntry } from './helpers.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const hex = (b: Buffer | string) => sha(b).slice(7);
const TAR_BYTES = readFileSync(busyboxTar());
const work = mkdtempSync(join(tmpdir(), 'berth-archive-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

async function withEnv(fn: (e: Env) => Promise<void>) {
  const e = makeEnv();
  try { await fn(e); } finally { e.close(); }
}

/** Entry names and contents of a tar. */
async function readTar(b: Buffer): Promise<Map<string, Buffer>> {
  const ex = tar.extract();
  const out = new Map<string, Buffer>();
  const done = (async () => { for await (const e of ex) { const parts: Buffer[] = []; for await (const c of e) parts.push(c as Buffer); out.set(e.header.name, Buffer.concat(parts)); } })();
  ex.end(b);
  await done;
  return out;
}

const skopeo = (...args: string[]) => execFileSync('skopeo', ['--insecure-policy', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });

async function savedImage(): Promise<{ file: string; id: string; gz: boolean }> {
  const e = makeEnv();
  try {
    const rec = await e.store.import(streamOf(gzipSync(TAR_BYTES)), { repo: 'bb', tag: 'v1', changes: ['CMD ["sh"]'] });
    e.store.tag('bb:v1', 'localhost:5000/team/bb:v2');
    const data = await collect(e.store.save(['bb:v1', 'localhost:5000/team/bb:v2']));
    const file = join(work, `save-${Math.random().toString(16).slice(2)}.tar`);
    writeFileSync(file, data);
    return { file, id: rec.id, gz: true };
  } finally {
    e.close();
  }
}

test('save writes the Docker 25+ layout with uncompressed layers', async () => {
  const { file, id } = await savedImage();
  const files = await readTar(readFileSync(file));
  const manifest = JSON.parse(files.get('manifest.json')!.toString());
  assert.deepEqual(manifest, [{ Config: `blobs/sha256/${id.slice(7)}`, RepoTags: ['bb:v1', 'localhost:5000/team/bb:v2'], Layers: [`blobs/sha256/${hex(TAR_BYTES)}`] }]);
  assert.deepEqual(files.get(`blobs/sha256/${hex(TAR_BYTES)}`), TAR_BYTES, 'layer is the uncompressed tar');
  assert.deepEqual(JSON.parse(files.get('oci-layout')!.toString()), { imageLayoutVersion: '1.0.0' });
  const index = JSON.parse(files.get('index.json')!.toString());
  assert.equal(index.manifests.length, 2);
  assert.equal(index.manifests[0].annotations['io.containerd.image.name'], 'docker.io/library/bb:v1');
  assert.equal(index.manifests[0].annotations['org.opencontainers.image.ref.name'], 'v1');
  const m = JSON.parse(files.get(`blobs/sha256/${index.manifests[0].digest.slice(7)}`)!.toString());
  assert.equal(m.config.digest, id);
  assert.deepEqual(m.layers, [{ mediaType: MediaType.OciLayer, digest: sha(TAR_BYTES), size: TAR_BYTES.length }]);
  assert.deepEqual(JSON.parse(files.get('repositories')!.toString()), { bb: { v1: hex(TAR_BYTES) }, 'localhost:5000/team/bb': { v2: hex(TAR_BYTES) } });
  // Every blob is named by its digest.
  for (const [name, data] of files) if (name.startsWith('blobs/sha256/')) assert.equal(hex(data), name.slice(13), name);
});

test('save of unknown names fails before streaming', () => withEnv(async ({ store }) => {
  assert.throws(() => store.save(['nope']), /No such image: nope:latest/);
}));

test('save → load round-trips into a fresh store', async () => {
  const { file, id } = await savedImage();
  await withEnv(async ({ store, events }) => {
    const lines = await store.load(createReadStream(file));
    assert.deepEqual(lines, ['Loaded image: bb:v1', 'Loaded image: localhost:5000/team/bb:v2']);
    const rec = store.get('bb:v1');
    assert.equal(rec.id, id);
    assert.equal(rec.config.config?.Cmd?.[0], 'sh');
    assert.equal(rec.layers[0]!.digest, sha(TAR_BYTES));
    assert.equal(store.get('localhost:5000/team/bb:v2').id, id);
    assert.deepEqual(events.map((x) => x.action), ['load']);
    // Loading again is idempotent.
    assert.deepEqual(await store.load(createReadStream(file)), lines);
    assert.equal(store.list().length, 1);
  });
});

test('load accepts a gzip-compressed archive and reports moved tags', async () => {
  const { file, id } = await savedImage();
  await withEnv(async (e) => {
    const other = await e.store.import(streamOf(TAR_BYTES), { repo: 'bb', tag: 'v1', changes: ['CMD ["other"]'] });
    const progress: string[] = [];
    await e.store.load(streamOf(gzipSync(readFileSync(file))), { onProgress: (l) => progress.push(l) });
    assert.equal(e.store.get('bb:v1').id, id);
    assert.deepEqual(progress, [`The image bb:v1 already exists, renaming the old one with ID ${other.id} to empty string`]);
  });
});

test('skopeo reads what save writes, and load reads what skopeo writes', async () => {
  const { file, id } = await savedImage();
  const ociArchive = join(work, 'skopeo-oci.tar');
  const ociArchiveGz = join(work, 'skopeo-oci-gz.tar');
  const dockerArchive = join(work, 'skopeo-docker.tar');
  skopeo('copy', `docker-archive:${file}:bb:v1`, `oci-archive:${ociArchive}:docker.io/library/bb:oci`);
  skopeo('copy', '--dest-compress', `docker-archive:${file}:bb:v1`, `oci-archive:${ociArchiveGz}`);
  skopeo('copy', `docker-archive:${file}:bb:v1`, `docker-archive:${dockerArchive}:skopeo/bb:v3`);
  await withEnv(async ({ store }) => {
    assert.deepEqual(await store.load(createReadStream(ociArchive)), ['Loaded image: bb:oci']);
    // skopeo rewrites the config when it converts to OCI: same content, another id.
    const oci = store.get('bb:oci');
    assert.deepEqual(oci.config.config?.Cmd, ['sh']);
    assert.deepEqual(oci.config.rootfs.diff_ids, [sha(TAR_BYTES)]);
    const lines = await store.load(createReadStream(ociArchiveGz));
    assert.deepEqual(lines, [`Loaded image ID: ${oci.id}`]);
    assert.deepEqual(await store.load(createReadStream(dockerArchive)), ['Loaded image: skopeo/bb:v3']);
    assert.equal(store.get('skopeo/bb:v3').id, id);
  });
  // And a store-to-store trip through skopeo's gzip OCI layout keeps compressed layers as given.
  await withEnv(async ({ store }) => {
    const [line] = await store.load(createReadStream(ociArchiveGz));
    const rec = store.get(line!.replace('Loaded image ID: ', ''));
    assert.equal(rec.layers[0]!.mediaType, MediaType.OciLayerGzip);
    assert.equal(rec.layers[0]!.diffId, sha(TAR_BYTES));
    assert.equal(rec.size, TAR_BYTES.length);
    const again = await collect(store.save([rec.id]));
    const f2 = join(work, 'resaved.tar');
    writeFileSync(f2, again);
    skopeo('copy', `docker-archive:${f2}`, `oci:${join(work, 'ocidir')}:x`);
  });
});

/** A pre-25 `docker save` archive: <v1id>/layer.tar (the second a symlink), <id>.json, repositories. */
async function legacyArchive(mutate: (entries: TarEntry[], parts: { config: Buffer }) => void = () => undefined): Promise<Buffer> {
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2020-01-01T00:00:00Z', config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [sha(TAR_BYTES), sha(TAR_BYTES)] },
  }));
  const v1a = 'a'.repeat(64);
  const v1b = 'b'.repeat(64);
  const entries: TarEntry[] = [
    { name: `${v1a}/`, type: 'directory' },
    { name: `${v1a}/VERSION`, data: '1.0' },
    { name: `${v1a}/json`, data: '{}' },
    { name: `${v1a}/layer.tar`, data: TAR_BYTES },
    { name: `${v1b}/layer.tar`, type: 'symlink', linkname: `../${v1a}/layer.tar` },
    { name: `${hex(config)}.json`, data: config },
    { name: 'manifest.json', data: JSON.stringify([{ Config: `${hex(config)}.json`, RepoTags: ['legacy:1'], Layers: [`${v1a}/layer.tar`, `${v1b}/layer.tar`] }]) },
    { name: 'repositories', data: JSON.stringify({ legacy: { 1: v1b } }) },
  ];
  mutate(entries, { config });
  return makeTar(entries);
}

test('load reads legacy docker-save archives with symlinked layers', () => withEnv(async ({ store, content }) => {
  const lines = await store.load(streamOf(await legacyArchive()));
  assert.deepEqual(lines, ['Loaded image: legacy:1']);
  const rec = store.get('legacy:1');
  assert.equal(rec.layers.length, 2);
  assert.equal(rec.layers[0]!.digest, rec.layers[1]!.digest);
  // Only what the image uses is kept: layer, config, generated manifest (not the v1 json files).
  assert.equal((await content.list()).length, 3);
}));

async function rejectsCleanly(e: Env, archive: Buffer, pattern: RegExp) {
  await assert.rejects(e.store.load(streamOf(archive)), (err: Error) => {
    assert.ok(isInvalidArgument(err), `kind of: ${err.stack}`);
    assert.match(err.message, pattern);
    return true;
  });
  assert.deepEqual(e.store.list(), [], 'no image recorded');
  assert.deepEqual(await e.content.list(), [], 'no blob left behind');
}

test('hostile archives fail cleanly', () => withEnv(async (e) => {
  await rejectsCleanly(e, await legacyArchive((x) => x.unshift({ name: '../../etc/evil', data: 'x' })), /unsafe path/);
  await rejectsCleanly(e, await legacyArchive((x) => x.unshift({ name: '/etc/evil', data: 'x' })), /unsafe path/);
  await rejectsCleanly(e, await legacyArchive((x) => x.splice(3, 0, { name: 'evil', type: 'symlink', linkname: '../../../etc/passwd' })), /outside the archive/);
  await rejectsCleanly(e, await legacyArchive((x) => x.push({ name: `blobs/sha256/${'c'.repeat(64)}`, data: 'not what the name says' })), /unexpected digest/);
  await rejectsCleanly(e, await legacyArchive((x) => x.splice(6, 1, { name: 'manifest.json', data: Buffer.alloc(9 * 1024 * 1024, 0x20) })), /manifest.json is too large/);
  await rejectsCleanly(e, await legacyArchive((x) => x.splice(6, 1, { name: 'manifest.json', data: '{"not": "a list"}' })), /not a list/);
  await rejectsCleanly(e, await legacyArchive((x) => x.splice(6, 1, { name: 'manifest.json', data: '[{"Config": "missing.json", "Layers": []}]' })), /missing.json not found/);
  await rejectsCleanly(e, await legacyArchive((x, { config }) => {
    const bad = Buffer.from(JSON.stringify({ ...JSON.parse(config.toString()), rootfs: { type: 'layers', diff_ids: [sha('x'), sha('y')] } }));
    x.push({ name: 'bad.json', data: bad });
    x.splice(6, 1, { name: 'manifest.json', data: JSON.stringify([{ Config: 'bad.json', RepoTags: ['x:1'], Layers: [`${'a'.repeat(64)}/layer.tar`, `${'b'.repeat(64)}/layer.tar`] }]) });
  }), /invalid diffID for layer 0/);
  await rejectsCleanly(e, await legacyArchive((x) => x.splice(4, 1)), /layer .* not found/);
  await rejectsCleanly(e, Buffer.from('this is not a tar file at all'.repeat(40)), /invalid archive|tar|Invalid/i);
  await rejectsCleanly(e, await makeTar([{ name: 'hello.txt', data: 'hi' }]), /no manifest.json or index.json/);
  // The bad-tag case: a RepoTag that is not a valid reference.
  await rejectsCleanly(e, await legacyArchive((x, { config }) => {
    x.splice(6, 1, { name: 'manifest.json', data: JSON.stringify([{ Config: `${hex(config)}.json`, RepoTags: ['UPPER/Case:1'], Layers: [`${'a'.repeat(64)}/layer.tar`, `${'b'.repeat(64)}/layer.tar`] }]) });
  }), /must be lowercase/);
}));

test('OCI layouts: descriptors are checked against the blobs', () => withEnv(async (e) => {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(TAR_BYTES)] } }));
  const gz = gzipSync(TAR_BYTES);
  const manifest = (layerType: string, size = gz.length) => Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: sha(config), size: config.length },
    layers: [{ mediaType: layerType, digest: sha(gz), size }],
  }));
  const layout = (m: Buffer, ann: Record<string, string> = { 'org.opencontainers.image.ref.name': 'latest' }) => makeTar([
    { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'index.json', data: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MediaType.OciManifest, digest: sha(m), size: m.length, annotations: ann }] }) },
    { name: `blobs/sha256/${hex(m)}`, data: m },
    { name: `blobs/sha256/${hex(config)}`, data: config },
    { name: `blobs/sha256/${hex(gz)}`, data: gz },
  ]);
  await rejectsCleanly(e, await layout(manifest(MediaType.OciLayer)), /gzip-compressed, its media type says none/);
  await rejectsCleanly(e, await layout(manifest(MediaType.OciLayerGzip, 5)), /descriptor says 5/);
  await rejectsCleanly(e, await layout(manifest('application/x-evil')), /unsupported layer media type/);
  const ok = manifest(MediaType.OciLayerGzip);
  assert.deepEqual(await e.store.load(streamOf(await layout(ok))), [`Loaded image ID: ${sha(config)}`]);
  assert.equal(e.store.get(sha(config)).manifestDigest, sha(ok));
  assert.deepEqual(await e.store.load(streamOf(await layout(ok, { 'io.containerd.image.name': 'docker.io/library/oci:1' }))), ['Loaded image: oci:1']);
}));
