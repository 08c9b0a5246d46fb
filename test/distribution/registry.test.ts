// The registry client against a real registry (Debian's docker-registry 2.8):
// plain http on loopback (insecure by Docker's rules), htpasswd basic auth,
// token auth with a Hub-like token server, TLS with a test CA.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { LocalContentStore } from '../../src/content/index.js';
import { Registry, EndpointResolver, decodeRegistryAuth, encodeRegistryAuth, parseChallenges, humanSize, progressBar, goDuration } from '../../src/distribution/index.js';
import { errorKind } from '../../src/util/index.js';
import { busyboxRootfs } from '../helpers/fixtures.js';
import { execFileSync } from 'node:child_process';
import { OciLayout, makeTar, sha, skopeoPush, startRegistry, type RunningRegistry } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'berth-dist-'));
let reg: RunningRegistry;
const layout = new OciLayout();
const busybox = execFileSync('tar', ['-C', busyboxRootfs(join(tmp, 'rootfs')), '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 1 << 28 });
const amd = layout.image([busybox, makeTar({ 'etc/hello': 'hello\n' })]);
const arm = layout.image([makeTar({ 'etc/arm': 'arm64\n' })], { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });

before(async () => {
  reg = await startRegistry();
  layout.tag('v1', amd);
  skopeoPush(layout, 'v1', `${reg.host}/test/busybox:v1`);
  const idx = layout.tagIndex('multi', [amd, arm]);
  skopeoPush(layout, 'multi', `${reg.host}/test/multi:latest`, { all: true });
  assert.ok(idx.digest);
});

after(async () => {
  await reg?.stop();
  layout.remove();
  rmSync(tmp, { recursive: true, force: true });
});

const newStore = () => new LocalContentStore({ root: mkdtempSync(join(tmp, 'cs-')) });

test('loopback is insecure: https is tried first, then http', async () => {
  const r = new EndpointResolver({});
  const eps = await r.endpoints(reg.host, 'pull');
  assert.deepEqual(eps.map((e) => e.url), [`https://${reg.host}`, `http://${reg.host}`]);
  assert.equal(eps[0]!.tls?.verify, false);
  const hub = await new EndpointResolver({ mirrors: ['https://mirror.example.com/'] }).endpoints('docker.io', 'pull');
  assert.deepEqual(hub.map((e) => e.url), ['https://mirror.example.com', 'https://registry-1.docker.io']);
  const hubPush = await new EndpointResolver({ mirrors: ['https://mirror.example.com/'] }).endpoints('docker.io', 'push');
  assert.deepEqual(hubPush.map((e) => e.url), ['https://registry-1.docker.io']);
  assert.equal(await new EndpointResolver({ insecureRegistries: ['10.1.0.0/16'] }).isInsecure('10.1.2.3:5000'), true);
  assert.equal(await new EndpointResolver({ insecureRegistries: ['myreg.example:5000'] }).isInsecure('myreg.example:5000'), true);
  assert.equal(await new EndpointResolver({}).isInsecure('10.1.2.3:5000'), false);
});

test('gets a manifest by tag and by digest, and blobs into the content store', async () => {
  const registry = new Registry({});
  try {
    const repo = registry.repository({ domain: reg.host, path: 'test/busybox' });
    const m = await repo.getManifest('v1');
    assert.equal(m.digest, amd.manifestDigest);
    assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.deepEqual(m.bytes, amd.manifest);
    assert.equal(repo.endpoint?.url, `http://${reg.host}`);
    const byDigest = await registry.repository({ domain: reg.host, path: 'test/busybox' }).getManifest(amd.manifestDigest);
    assert.equal(byDigest.digest, amd.manifestDigest);

    const store = newStore();
    const seen: number[] = [];
    for (const l of amd.layers) {
      await repo.fetchBlob(l, store, { onProgress: (p) => seen.push(p.current) });
      assert.equal((await store.info(l.digest)).size, l.size);
    }
    assert.equal(seen.at(-1), amd.layers.at(-1)!.size);
    const cfg = await repo.getBlob({ digest: amd.configDigest, size: amd.config.length });
    assert.deepEqual(cfg, amd.config);
  } finally {
    registry.close();
  }
});

test('an index lists both platforms', async () => {
  const registry = new Registry({});
  try {
    const m = await registry.repository({ domain: reg.host, path: 'test/multi' }).getManifest('latest');
    assert.equal(m.mediaType, 'application/vnd.oci.image.index.v1+json');
    const idx = JSON.parse(m.bytes.toString());
    assert.deepEqual(idx.manifests.map((d: { platform: { architecture: string } }) => d.platform.architecture), ['amd64', 'arm64']);
  } finally {
    registry.close();
  }
});

test('unknown tags and repositories give Docker\'s words', async () => {
  const registry = new Registry({});
  try {
    await assert.rejects(registry.repository({ domain: reg.host, path: 'test/busybox' }).getManifest('nope'), (err: Error) => {
      assert.equal(errorKind(err), 'NotFound');
      assert.equal(err.message, `manifest for ${reg.host}/test/busybox:nope not found: manifest unknown: manifest unknown`);
      return true;
    });
    await assert.rejects(registry.repository({ domain: reg.host, path: 'test/none' }).getManifest('latest'), (err: Error) => {
      assert.equal(errorKind(err), 'NotFound');
      assert.match(err.message, /^(manifest for .* not found|repository .* not found): /);
      return true;
    });
  } finally {
    registry.close();
  }
});

test('push: blobs (monolithic and chunked), mount, manifest; then pull it back', async () => {
  const registry = new Registry({ monolithicUploadMax: 64 << 10 });
  try {
    const src = newStore();
    const repo = registry.repository({ domain: reg.host, path: 'test/pushed' }, { push: true });
    for (const l of amd.layers) {
      const data = readFileSync(join(layout.dir, 'blobs/sha256', l.digest.slice(7)));
      await src.writeBuffer(data, l);
      assert.equal(await repo.blobExists(l.digest), false);
      let last = 0;
      await repo.pushBlob(l, (s, e) => Readable.from([data.subarray(s, e)]), { onProgress: (p) => { last = p.current; } });
      assert.equal(last, l.size);
      assert.equal(await repo.blobExists(l.digest), true);
    }
    await repo.pushBlob({ digest: amd.configDigest, size: amd.config.length }, () => Readable.from([amd.config]));
    const d = await repo.putManifest('v2', amd.manifest, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(d, amd.manifestDigest);
    const back = await registry.repository({ domain: reg.host, path: 'test/pushed' }).getManifest('v2');
    assert.deepEqual(back.bytes, amd.manifest);

    // The same layer into another repository of the same registry: mounted, not uploaded.
    const other = registry.repository({ domain: reg.host, path: 'test/other' }, { push: true });
    assert.equal(await other.mountBlob(amd.layers[0]!.digest, 'test/pushed'), true);
    assert.equal(await other.blobExists(amd.layers[0]!.digest), true);
    // A blob the source repository lacks: the registry opens an upload instead.
    assert.equal(await other.mountBlob(sha('nothing'), 'test/pushed'), false);
  } finally {
    registry.close();
  }
});

test('X-Registry-Auth decodes base64url, std base64 and empty', () => {
  const a = { username: 'u', password: 'p?>', serveraddress: 'localhost:5000' };
  assert.deepEqual(decodeRegistryAuth(encodeRegistryAuth(a)), a);
  assert.deepEqual(decodeRegistryAuth(Buffer.from(JSON.stringify(a)).toString('base64')), a);
  assert.deepEqual(decodeRegistryAuth(''), {});
  assert.deepEqual(decodeRegistryAuth(Buffer.from('{}').toString('base64url')), {});
  assert.throws(() => decodeRegistryAuth('!!!notjson'), /invalid X-Registry-Auth header/);
});

test('WWW-Authenticate challenges parse like Docker Hub sends them', () => {
  assert.deepEqual(parseChallenges([
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"',
    'Basic realm="basic-realm"',
  ]), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' } },
    { scheme: 'basic', params: { realm: 'basic-realm' } },
  ]);
  assert.deepEqual(parseChallenges(['Bearer realm="a\\"b", error="insufficient_scope"']), [{ scheme: 'bearer', params: { realm: 'a"b', error: 'insufficient_scope' } }]);
});

test('progress strings are dockerd\'s', () => {
  assert.equal(humanSize(512), '512B');
  assert.equal(humanSize(1234567), '1.235MB');
  assert.equal(humanSize(100_000), '100kB');
  assert.equal(progressBar(0, 0), '');
  assert.equal(progressBar(1_113_298, 1_113_298), `[${'='.repeat(50)}>]  1.113MB/1.113MB`);
  const t0 = Date.now();
  assert.equal(progressBar(250, 1000, t0 - 2000, t0), `[${'='.repeat(12)}>${' '.repeat(38)}]     250B/1kB 6s`);
  assert.equal(goDuration(125), '2m5s');
});
