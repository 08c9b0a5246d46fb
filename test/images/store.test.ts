import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, createReadStream } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { busyboxTar } from '../helpers/fixtures.js';
import { isConflict, isInvalidArgument, isNotFound } from '../../src/util/index.js';
import { MediaType, filterImages, toApiSummary, toApiInspect, type ImageConfig } from '../../src/images/index.js';
import { makeEnv, streamOf, type Env } from './helpers.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const TAR = busyboxTar();
const TAR_BYTES = readFileSync(TAR);

async function withEnv(fn: (e: Env) => Promise<void>) {
  const e = makeEnv();
  try { await fn(e); } finally { e.close(); }
}

function smallConfig(diffIds: string[], extra: Partial<ImageConfig> = {}): ImageConfig {
  return { architecture: 'amd64', os: 'linux', created: '2024-01-02T03:04:05Z', rootfs: { type: 'layers', diff_ids: diffIds }, ...extra };
}

test('import stores the tar as one layer and names the image', () => withEnv(async ({ store, content, events }) => {
  const rec = await store.import(createReadStream(TAR), { repo: 'bq', tag: 'v1', message: 'hello' });
  assert.match(rec.id, /^sha256:[a-f0-9]{64}$/);
  assert.deepEqual(rec.repoTags, ['docker.io/library/bq:v1']);
  assert.equal(rec.layers.length, 1);
  assert.equal(rec.layers[0]!.diffId, sha(TAR_BYTES));
  assert.equal(rec.layers[0]!.digest, sha(TAR_BYTES));
  assert.equal(rec.layers[0]!.mediaType, MediaType.OciLayer);
  assert.equal(rec.size, TAR_BYTES.length);
  assert.equal(rec.config.history?.[0]?.comment, 'hello');
  assert.equal(rec.config.history?.[0]?.created_by, undefined);
  // The config blob is the id; stored and parseable.
  assert.equal(sha(await content.readBuffer(rec.id)), rec.id);
  assert.ok(rec.manifestDigest && (await content.has(rec.manifestDigest)));
  assert.deepEqual(events.map((e) => e.action), ['import']);
  // Every way to name it.
  for (const name of ['bq:v1', 'docker.io/library/bq:v1', rec.id, rec.id.slice(7), rec.id.slice(0, 12), rec.id.slice(7, 10)]) {
    assert.equal(store.get(name).id, rec.id, name);
  }
  // 'bq', not a hex word: a name that could be an id prefix resolves to the image, as in Docker.
  assert.throws(() => store.get('bq'), (err: Error) => isNotFound(err) && err.message === 'No such image: bq:latest');
  assert.throws(() => store.get('nope:1'), (err: Error) => err.message === 'No such image: nope:1');
}));

test('import of a gzip tar keeps one compressed copy and computes the diffID', () => withEnv(async ({ store, content }) => {
  const gz = gzipSync(TAR_BYTES);
  const rec = await store.import(streamOf(gz), { repo: 'localhost:5000/x/y' });
  assert.deepEqual(rec.repoTags, ['localhost:5000/x/y:latest']);
  assert.equal(rec.layers[0]!.digest, sha(gz));
  assert.equal(rec.layers[0]!.diffId, sha(TAR_BYTES));
  assert.equal(rec.layers[0]!.mediaType, MediaType.OciLayerGzip);
  assert.equal(rec.size, TAR_BYTES.length, 'size is uncompressed');
  const blobs = (await content.list()).map((b) => b.digest).sort();
  assert.deepEqual(blobs, [rec.id, rec.manifestDigest!, sha(gz)].sort());
}));

test('import applies --change instructions', () => withEnv(async ({ store }) => {
  const rec = await store.import(createReadStream(TAR), {
    changes: [
      'CMD ["/bin/sh", "-c", "echo hi"]', 'ENTRYPOINT /bin/echo', 'CMD echo two', 'ENV A=1 B="two words"', 'ENV C 3 4',
      'EXPOSE 80 53/udp 8000-8001', 'LABEL a=b "c d"=e', 'USER www', 'VOLUME ["/data", "/logs"]', 'WORKDIR /app', 'WORKDIR sub',
      'STOPSIGNAL SIGTERM',
    ],
    platform: 'linux/arm64',
  });
  const c = rec.config.config!;
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c', '/bin/echo']);
  assert.deepEqual(c.Cmd, ['/bin/sh', '-c', 'echo two']);
  assert.deepEqual(c.Env, ['A=1', 'B=two words', 'C=3 4']);
  assert.deepEqual(Object.keys(c.ExposedPorts!).sort(), ['53/udp', '80/tcp', '8000/tcp', '8001/tcp']);
  assert.deepEqual(c.Labels, { a: 'b', 'c d': 'e' });
  assert.equal(c.User, 'www');
  assert.deepEqual(Object.keys(c.Volumes!), ['/data', '/logs']);
  assert.equal(c.WorkingDir, '/app/sub');
  assert.equal(c.StopSignal, 'SIGTERM');
  assert.equal(rec.config.architecture, 'arm64');
  assert.equal(rec.repoTags.length, 0);
  await assert.rejects(store.import(createReadStream(TAR), { changes: ['RUN rm -rf /'] }), (err: Error) => isInvalidArgument(err) && /RUN is not a valid change command/.test(err.message));
}));

test('import rejects what is not a tar and keeps nothing', () => withEnv(async ({ store, content }) => {
  await assert.rejects(store.import(streamOf(Buffer.from('just some text, not an archive at all\n'.repeat(50))), {}), /invalid tar header/);
  await assert.rejects(store.import(streamOf(Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5, 6])), {}), isInvalidArgument);
  await assert.rejects(store.import(createReadStream(TAR), { repo: 'Bad/Name' }), /must be lowercase/);
  assert.deepEqual(store.list(), []);
  assert.deepEqual(await content.list(), []);
}));

async function twoLayerImage(e: Env, tags: string[], label = 'x') {
  const a = await e.content.writeBuffer(TAR_BYTES);
  const cfg = smallConfig([a.digest], { config: { Labels: { l: label } }, history: [{ created: '2024-01-02T03:04:05Z', created_by: 'ADD x /' }, { created: '2024-01-02T03:04:06Z', created_by: 'CMD ["sh"]', empty_layer: true }] });
  return e.store.commit({ config: cfg, layers: [{ digest: a.digest, mediaType: MediaType.OciLayer, size: a.size, diffId: a.digest }], tags });
}

test('commit validates layers against the config', () => withEnv(async (e) => {
  const a = await e.content.writeBuffer('not really a layer');
  await assert.rejects(e.store.commit({ config: smallConfig([a.digest]), layers: [] }), /1 diff_ids but 0 layers/);
  await assert.rejects(e.store.commit({ config: smallConfig([sha('x')]), layers: [{ digest: a.digest, mediaType: MediaType.OciLayer, size: a.size, diffId: a.digest }] }), /does not match/);
  const missing = sha('missing');
  await assert.rejects(e.store.commit({ config: smallConfig([missing]), layers: [{ digest: missing, mediaType: MediaType.OciLayer, size: 1, diffId: missing }] }), isNotFound);
  await assert.rejects(e.store.commit({ config: { os: 'linux' } as unknown as ImageConfig, layers: [] }), /invalid image config/);
}));

test('tags move between images; the old one becomes dangling', () => withEnv(async (e) => {
  const one = await twoLayerImage(e, ['app:1', 'app:latest'], 'one');
  const two = await twoLayerImage(e, ['app:latest'], 'two');
  assert.notEqual(one.id, two.id);
  assert.deepEqual(e.store.get(one.id).repoTags, ['docker.io/library/app:1']);
  assert.equal(e.store.get('app').id, two.id);
  e.store.tag('app:1', 'other/name:v2');
  e.store.tag(two.id, 'app:1');
  assert.deepEqual(e.store.get(one.id).repoTags, ['docker.io/other/name:v2']);
  assert.deepEqual(e.events.filter((x) => x.action === 'tag').map((x) => x.attrs.name), ['other/name:v2', 'app:1']);
  assert.throws(() => e.store.tag('app', `x@sha256:${'a'.repeat(64)}`), /refusing to create a tag with a digest reference/);
  assert.throws(() => e.store.tag('nope', 'x'), isNotFound);
  // Losing its last name to another image leaves it dangling, still listed.
  e.store.tag(two.id, 'other/name:v2');
  assert.deepEqual(e.store.get(one.id).repoTags, []);
  assert.deepEqual(e.store.list({ dangling: ['true'] }).map((r) => r.id), [one.id]);
  // Untagging the last name of an image deletes it, as `docker rmi name` does.
  assert.deepEqual(await e.store.remove('app:latest'), [{ Untagged: 'app:latest' }]);
  const last = await e.store.remove('app:1');
  assert.equal(last.length, 1);
  assert.deepEqual(await e.store.remove('other/name:v2'), [{ Untagged: 'other/name:v2' }, { Deleted: two.id }]);
}));

test('rmi follows Docker: untag, conflicts, force', () => withEnv(async (e) => {
  const img = await twoLayerImage(e, ['app:1', 'app:2', 'other:1']);
  const short = img.id.slice(7, 19);
  // By id with names in several repositories: must be forced.
  await assert.rejects(e.store.remove(img.id), (err: Error) => isConflict(err) &&
    err.message === `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`);
  // By name: only untags while other names remain.
  assert.deepEqual(await e.store.remove('app:1'), [{ Untagged: 'app:1' }]);
  assert.deepEqual(e.store.get(img.id).repoTags, ['docker.io/library/app:2', 'docker.io/library/other:1']);
  // In use by a container, last name: refused unless forced.
  await e.store.remove('other:1');
  const inUse = () => 'c0ffee0123456789abcdef';
  await assert.rejects(e.store.remove('app:2', { isInUse: inUse }), (err: Error) => isConflict(err) &&
    err.message === `conflict: unable to remove repository reference "app:2" (must force) - container c0ffee012345 is using its referenced image ${short}`);
  await assert.rejects(e.store.remove(img.id, { isInUse: () => ({ id: 'abc', running: true }), force: true }), /cannot be forced\) - image is being used by running container abc/);
  await assert.rejects(e.store.remove(img.id, { isInUse: inUse }), /must be forced\) - image is being used by stopped container c0ffee012345/);
  const res = await e.store.remove('app:2', { isInUse: inUse, force: true });
  assert.deepEqual(res, [{ Untagged: 'app:2' }, { Deleted: img.id }]);
  assert.throws(() => e.store.get(img.id), isNotFound);
  // Its blobs went with it.
  assert.deepEqual(await e.content.list(), []);
  assert.deepEqual(e.events.map((x) => x.action), ['untag', 'untag', 'untag', 'delete']);
}));

test('rmi by id with one name untags and deletes; shared layers stay', () => withEnv(async (e) => {
  const a = await twoLayerImage(e, ['a:1'], 'a');
  const b = await twoLayerImage(e, ['b:1'], 'b');
  assert.deepEqual(await e.store.remove(a.id.slice(7, 15)), [{ Untagged: 'a:1' }, { Deleted: a.id }]);
  assert.ok(await e.content.has(b.layers[0]!.digest), 'layer shared with b kept');
  assert.ok(!(await e.content.has(a.id)));
  assert.equal(e.store.get('b:1').id, b.id);
  await assert.rejects(e.store.remove('a:1'), isNotFound);
}));

test('history, summary and inspect shapes', () => withEnv(async (e) => {
  const img = await twoLayerImage(e, ['app:1']);
  const h = e.store.history('app:1');
  assert.deepEqual(h, [
    { Id: img.id, Created: 1704164646, CreatedBy: 'CMD ["sh"]', Tags: ['app:1'], Size: 0, Comment: '' },
    { Id: '<missing>', Created: 1704164645, CreatedBy: 'ADD x /', Tags: null, Size: TAR_BYTES.length, Comment: '' },
  ]);
  const s = toApiSummary(e.store.get('app:1'));
  assert.equal(s.Id, img.id);
  assert.deepEqual(s.RepoTags, ['app:1']);
  assert.equal(s.Created, 1704164645);
  assert.equal(s.Size, TAR_BYTES.length);
  assert.equal(s.Containers, -1);
  assert.equal(s.SharedSize, -1);
  assert.deepEqual(s.Labels, { l: 'x' });
  const i = toApiInspect(e.store.get('app:1'));
  assert.equal(i.Os, 'linux');
  assert.equal(i.Architecture, 'amd64');
  assert.deepEqual(i.RootFS, { Type: 'layers', Layers: img.config.rootfs.diff_ids });
  assert.equal(i.GraphDriver.Name, 'overlay2');
  assert.equal(i.Created, '2024-01-02T03:04:05Z');
  assert.deepEqual(i.Config.Env, []);
  assert.equal(i.Config.Cmd, null);
  assert.match(i.Metadata.LastTagTime, /^\d{4}-/);
}));

test('list filters: reference globs, dangling, label, before/since', () => withEnv(async (e) => {
  const a = await twoLayerImage(e, ['busybox:1', 'busybox:2', 'user/app:1'], 'a');
  const b = await twoLayerImage(e, [], 'b');
  const names = (f: Record<string, string[]>) => e.store.list(f).map((r) => [r.id, r.repoTags.length]);
  assert.deepEqual(names({ reference: ['busy*'] }), [[a.id, 2]]);
  assert.deepEqual(names({ reference: ['busybox:2'] }), [[a.id, 1]]);
  assert.deepEqual(names({ reference: ['*/app'] }), [[a.id, 1]]);
  assert.deepEqual(names({ reference: ['nothing*'] }), []);
  assert.deepEqual(names({ dangling: ['true'] }), [[b.id, 0]]);
  assert.deepEqual(names({ label: ['l=a'] }), [[a.id, 3]]);
  assert.deepEqual(names({ label: ['l'] }).length, 2);
  assert.throws(() => e.store.list({ bogus: ['1'] }), /invalid filter 'bogus'/);
  assert.equal(filterImages(e.store.list(), { before: ['busybox:1'] }, (r) => e.store.get(r)).length, 0);
}));

test('prune removes dangling images only, unless all', () => withEnv(async (e) => {
  const a = await twoLayerImage(e, ['keep:1'], 'a');
  const b = await twoLayerImage(e, [], 'b');
  const c = await twoLayerImage(e, [], 'c');
  const r = await e.store.prune({ isInUse: (id) => (id === c.id ? 'ctr' : undefined) });
  assert.deepEqual(r.ImagesDeleted, [{ Deleted: b.id }]);
  assert.ok(r.SpaceReclaimed > 0);
  const r2 = await e.store.prune({ all: true, isInUse: (id) => (id === c.id ? 'ctr' : undefined) });
  assert.deepEqual(r2.ImagesDeleted, [{ Untagged: 'keep:1' }, { Deleted: a.id }]);
  assert.deepEqual(e.store.list().map((x) => x.id), [c.id]);
  assert.ok(await e.content.has(c.layers[0]!.digest));
}));

test('referencedBlobs covers configs, manifests and layers', () => withEnv(async (e) => {
  const img = await twoLayerImage(e, ['x:1']);
  const refs = e.store.referencedBlobs();
  assert.deepEqual([...refs].sort(), [img.id, img.manifestDigest!, img.layers[0]!.digest].sort());
}));

test('repo digests and name@digest lookups', () => withEnv(async (e) => {
  const a = await e.content.writeBuffer(TAR_BYTES);
  const m = await e.content.writeBuffer('{"pretend":"manifest"}');
  const idx = await e.content.writeBuffer('{"pretend":"index"}');
  const rec = await e.store.commit({
    config: smallConfig([a.digest]),
    layers: [{ digest: a.digest, mediaType: MediaType.OciLayer, size: a.size, diffId: a.digest }],
    manifest: { digest: m.digest, mediaType: MediaType.DockerManifest },
    indexDigest: idx.digest,
    tags: ['busybox'],
    repoDigests: [`busybox@${idx.digest}`],
  });
  assert.deepEqual(rec.repoDigests, [`docker.io/library/busybox@${idx.digest}`]);
  assert.equal(toApiSummary(rec).RepoDigests[0], `busybox@${idx.digest}`);
  assert.equal(e.store.get(`busybox@${idx.digest}`).id, rec.id);
  assert.equal(e.store.get(`docker.io/library/busybox@${m.digest}`).id, rec.id, 'by manifest digest under its name');
  assert.throws(() => e.store.get(`other@${m.digest}`), isNotFound);
  assert.ok(e.store.referencedBlobs().has(idx.digest));
  // Removing the last tag drops that repository's digest references too, then the image.
  assert.deepEqual(await e.store.remove('busybox'), [{ Untagged: 'busybox:latest' }, { Untagged: `busybox@${idx.digest}` }, { Deleted: rec.id }]);
  assert.deepEqual(await e.content.list(), []);
}));

test('import of a zstd tar', () => withEnv(async ({ store }) => {
  const zst = execFileSync('zstd', ['-q', '-c'], { input: TAR_BYTES, maxBuffer: 64 << 20 });
  const rec = await store.import(streamOf(zst), {});
  assert.equal(rec.layers[0]!.mediaType, MediaType.OciLayerZstd);
  assert.equal(rec.layers[0]!.diffId, sha(TAR_BYTES));
}));
