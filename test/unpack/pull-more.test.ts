// Whole pulls from a hostile registry (a Node server of our own) — malformed
// and lying manifests, configs and blobs — must fail with a clear error and
// leave no image, no unverified blob and no partial ingest. zstd layers pulled
// from a real registry. Pushes respect max-concurrent-uploads, measured at a
// proxy in front of a real registry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pullImage, pushImage } from '../../src/unpack/index.js';
import type { JSONMessage } from '../../src/distribution/index.js';
import { shortId } from '../../src/util/index.js';
import { OciLayout, makeTar, sha, skopeoPush, startRegistry, type RunningRegistry } from '../distribution/helpers.js';
import { pullEnv, type PullEnv } from './pull-env.js';

const envs: PullEnv[] = [];
const env = (cfg = {}) => {
  const e = pullEnv({ requestTimeoutMs: 2000, ...cfg });
  envs.push(e);
  return e;
};
let reg: RunningRegistry;
const layout = new OciLayout();
const five = layout.image(Array.from({ length: 5 }, (_, i) => makeTar({ [`f${i}`]: `layer ${i}\n`.repeat(20_000) })));

// An image whose one layer is zstd-compressed (application/vnd.oci.image.layer.v1.tar+zstd).
const zTar = makeTar({ 'etc/zstd.txt': 'compressed with zstd\n'.repeat(1000) });
const zBlob = execFileSync('zstd', ['-c', '-q'], { input: zTar });
const zImage = (() => {
  const layer = layout.blob(zBlob);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(zTar)] } }));
  const c = layout.blob(config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...c },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', ...layer }],
  }));
  const m = layout.blob(manifest);
  return { manifest, manifestDigest: m.digest, config, configDigest: c.digest, layers: [{ ...layer, diffId: sha(zTar), mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }], platform: { os: 'linux', architecture: 'amd64' } };
})();

before(async () => {
  reg = await startRegistry();
  layout.tag('five', five);
  skopeoPush(layout, 'five', `${reg.host}/src/five:1`);
  layout.tag('zstd', zImage);
  skopeoPush(layout, 'zstd', `${reg.host}/src/zstd:1`);
});

test('a zstd layer is pulled, verified and unpacked', async () => {
  const e = env();
  const rec = await pullImage({ ref: `${reg.host}/src/zstd:1` }, e);
  assert.equal(rec.id, zImage.configDigest);
  assert.equal(rec.layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
  assert.equal(readFileSync(join(e.layerDir(zImage.layers[0]!.digest), 'etc/zstd.txt'), 'utf8'), 'compressed with zstd\n'.repeat(1000));
});
after(async () => {
  for (const e of envs) e.close();
  await reg?.stop();
  layout.remove();
});

/**
 * What a failed pull may leave in a content store: no ingest, and only blobs
 * that hash to their names (a config verified before a layer failed may stay).
 */
function assertClean(e: PullEnv, mustNotHave: string[] = []): void {
  const root = join(e.root, 'content');
  const ls = (d: string) => (existsSync(d) ? readdirSync(d) : []);
  assert.deepEqual(ls(join(root, 'ingest')), []);
  for (const name of ls(join(root, 'blobs', 'sha256'))) {
    assert.equal(sha(readFileSync(join(root, 'blobs', 'sha256', name))), `sha256:${name}`);
    assert.ok(!mustNotHave.includes(`sha256:${name}`), `${name} was committed`);
  }
}

type Blobs = Record<string, Buffer | ((res: http.ServerResponse) => void)>;

/** A registry serving one manifest at tag `t` and the given blobs (or handlers). */
async function fake(manifest: Buffer | string, blobs: Blobs = {}, mediaType = 'application/vnd.oci.image.manifest.v1+json') {
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url === '/v2/') return res.end('{}');
    if (/\/manifests\/t$/.test(url)) {
      res.writeHead(200, { 'Content-Type': mediaType });
      return res.end(manifest);
    }
    const m = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url);
    const b = m ? blobs[m[1]!] : undefined;
    if (typeof b === 'function') return b(res);
    if (b) {
      res.writeHead(200, { 'Content-Length': b.length });
      return res.end(b);
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    ref: `127.0.0.1:${(server.address() as AddressInfo).port}/evil/app:t`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Pulls `ref` into a fresh engine, expects `pattern` as the error, and a store left empty. */
async function refused(ref: string, pattern: RegExp, mustNotHave: string[] = []): Promise<void> {
  const e = env({ retryDelayMs: 1 });
  await assert.rejects(pullImage({ ref }, e), pattern);
  assert.deepEqual(e.images.list(), []);
  assertClean(e, mustNotHave);
}

const layerTar = makeTar({ 'hello.txt': 'hello\n' });
const layerGz = gzipSync(layerTar);
const goodConfig = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layerTar)] } }));
const desc = (b: Buffer, mediaType: string) => ({ mediaType, digest: sha(b), size: b.length });
const manifestOf = (config: object, layers: object[]) => JSON.stringify({
  schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers,
});
const CONFIG = 'application/vnd.oci.image.config.v1+json';
const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

test('malformed manifests: not JSON, not an object, no layers, bad descriptors', async () => {
  const cases: [string, RegExp][] = [
    ['{"schemaVersion": 2, "config": ', /invalid manifest: .*JSON/],
    ['[1,2,3]', /invalid manifest: not an object/],
    [JSON.stringify({ schemaVersion: 2, config: desc(goodConfig, CONFIG) }), /invalid manifest: no layers/],
    [manifestOf({ mediaType: CONFIG, digest: 'sha256:../../../etc/passwd', size: 10 }, []), /invalid digest: "sha256:\.\.\/\.\.\/\.\.\/etc\/passwd"$/],
    [manifestOf(desc(goodConfig, CONFIG), [{ mediaType: LAYER, digest: sha(layerGz), size: -1 }]), /invalid layer descriptor: bad size/],
    [manifestOf(desc(goodConfig, CONFIG), [{ digest: sha(layerGz), size: layerGz.length }]), /invalid layer descriptor: no media type/],
  ];
  for (const [body, pattern] of cases) {
    const srv = await fake(body, { [sha(goodConfig)]: goodConfig, [sha(layerGz)]: layerGz });
    try {
      await refused(srv.ref, pattern);
    } finally {
      await srv.close();
    }
  }
});

test('a config that does not hash to its descriptor is refused', async () => {
  // Same size, other bytes: only the digest check can catch it.
  const lying = Buffer.from(goodConfig.toString().replace('amd64', 'arm64'));
  const m = manifestOf(desc(goodConfig, CONFIG), [desc(layerGz, LAYER)]);
  const srv = await fake(m, { [sha(goodConfig)]: lying, [sha(layerGz)]: layerGz });
  try {
    await refused(srv.ref, /unexpected digest|verification failed/, [sha(goodConfig), sha(lying)]);
  } finally {
    await srv.close();
  }
});

test('a layer whose diff_id does not match what it unpacks to is refused', async () => {
  const otherConfig = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha('something else')] } }));
  const srv = await fake(manifestOf(desc(otherConfig, CONFIG), [desc(layerGz, LAYER)]), { [sha(otherConfig)]: otherConfig, [sha(layerGz)]: layerGz });
  const e = env();
  try {
    await assert.rejects(pullImage({ ref: srv.ref }, e), new RegExp(`layer content does not match: .*\\(diffID ${sha(layerTar)}\\)`));
    assert.deepEqual(e.images.list(), []);
  } finally {
    await srv.close();
  }
});

test('a blob shorter than its descriptor (a clean, short response) is never committed', async () => {
  const short = layerGz.subarray(0, layerGz.length - 10);
  let served = 0;
  const srv = await fake(manifestOf(desc(goodConfig, CONFIG), [desc(layerGz, LAYER)]), {
    [sha(goodConfig)]: goodConfig,
    [sha(layerGz)]: (res) => {
      served++;
      res.writeHead(200, { 'Content-Length': short.length });
      res.end(short);
    },
  });
  try {
    await refused(srv.ref, /unexpected size: expected \d+ bytes, got \d+/, [sha(layerGz)]);
    assert.ok(served >= 1);
  } finally {
    await srv.close();
  }
});

test('max-concurrent-uploads: at most N layer uploads at once, the others wait', async () => {
  // Through a proxy (a registry domain of its own: nothing to mount from), counting open upload sessions.
  const px = await uploadProxy();
  try {
    for (const [limit, expectMax] of [[2, 2], [5, 5]] as const) {
      const e = env({ maxConcurrentUploads: limit });
      await pullImage({ ref: `${reg.host}/src/five:1` }, e);
      const dest = `${px.host}/dst/five${limit}:1`;
      e.images.tag(`${reg.host}/src/five:1`, dest);
      px.reset();
      const msgs: JSONMessage[] = [];
      await pushImage({ ref: dest, onProgress: (m) => msgs.push(m) }, e);
      // Five layers plus the config, each uploaded once; the config goes after the layers.
      assert.equal(px.sessions(), 6);
      assert.equal(px.maxOpen(), expectMax, `limit ${limit}`);
      const waiting = msgs.filter((m) => m.status === 'Waiting').map((m) => m.id);
      assert.deepEqual(waiting, five.layers.slice(limit).map((l) => shortId(l.diffId)));
    }
  } finally {
    await px.close();
  }
});

/**
 * A forwarding proxy to the real registry that rewrites upload Locations to
 * itself and holds each upload's final PUT 150 ms, so overlapping sessions show.
 */
async function uploadProxy() {
  let open = 0;
  let max = 0;
  let sessions = 0;
  const server = http.createServer((req, res) => {
    const isStart = req.method === 'POST' && /\/blobs\/uploads\/$/.test(req.url!.split('?')[0]!);
    const isEnd = req.method === 'PUT' && /\/blobs\/uploads\//.test(req.url!);
    const url = req.url!;
    const fwd = () => {
      const up = http.request(`http://${reg.host}${url}`, { method: req.method, headers: { ...req.headers, host: reg.host } }, (r) => {
        const h = { ...r.headers };
        if (h.location) h.location = h.location.replace(`http://${reg.host}`, `http://${host}`);
        if (isStart && r.statusCode === 202) {
          sessions++;
          open++;
          max = Math.max(max, open);
        }
        if (isEnd && r.statusCode === 201) open--;
        res.writeHead(r.statusCode!, h);
        r.pipe(res);
      });
      req.pipe(up);
    };
    if (isEnd) setTimeout(fwd, 150);
    else fwd();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    sessions: () => sessions,
    maxOpen: () => max,
    reset: () => { open = 0; max = 0; sessions = 0; },
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
