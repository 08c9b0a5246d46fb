// docker pull and docker push end to end against a real registry: Docker's
// progress messages, the image recorded, layers unpacked, multi-arch indexes,
// pulls by digest, errors that commit nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pullImage, pushImage } from '../../src/unpack/index.js';
import type { JSONMessage } from '../../src/distribution/index.js';
import { shortId, errorKind } from '../../src/util/index.js';
import { busyboxRootfs } from '../helpers/fixtures.js';
import { execFileSync } from 'node:child_process';
import { OciLayout, makeTar, skopeoPush, startRegistry, sha, type RunningRegistry } from '../distribution/helpers.js';
import { pullEnv, statusLines, layerStates, type PullEnv } from './pull-env.js';

const tmp = mkdtempSync(join(tmpdir(), 'berth-pulltest-'));
const layout = new OciLayout();
const busybox = execFileSync('tar', ['-C', busyboxRootfs(join(tmp, 'rootfs')), '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 1 << 28 });
const amd = layout.image([busybox, makeTar({ 'etc/hello': 'hello\n' })]);
const arm = layout.image([makeTar({ 'etc/arch': 'arm64\n' })], { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
const many = layout.image(Array.from({ length: 5 }, (_, i) => makeTar({ [`layer${i}`]: `content ${i}\n`.repeat(1000) })), { docker: true });
let reg: RunningRegistry;
let indexDigest: string;
const envs: PullEnv[] = [];
const env = (cfg = {}) => {
  const e = pullEnv(cfg);
  envs.push(e);
  return e;
};

before(async () => {
  reg = await startRegistry();
  layout.tag('v1', amd);
  skopeoPush(layout, 'v1', `${reg.host}/test/busybox:v1`);
  indexDigest = layout.tagIndex('multi', [amd, arm]).digest;
  skopeoPush(layout, 'multi', `${reg.host}/test/multi:latest`, { all: true });
  layout.tag('many', many, 'application/vnd.oci.image.manifest.v1+json');
  skopeoPush(layout, 'many', `${reg.host}/test/many:latest`);
});

after(async () => {
  for (const e of envs) e.close();
  await reg?.stop();
  layout.remove();
  rmSync(tmp, { recursive: true, force: true });
});

test('pull: Docker\'s progress stream, the image recorded, layers unpacked', async () => {
  const e = env();
  const msgs: JSONMessage[] = [];
  const ref = `${reg.host}/test/busybox:v1`;
  const rec = await pullImage({ ref, onProgress: (m) => msgs.push(m) }, e);

  assert.deepEqual(msgs[0], { status: 'Pulling from test/busybox', id: 'v1' });
  const ids = amd.layers.map((l) => shortId(l.digest));
  for (const id of ids) {
    const states = layerStates(msgs, id).filter((s) => s !== 'Downloading' && s !== 'Waiting');
    assert.deepEqual(states, ['Pulling fs layer', 'Verifying Checksum', 'Download complete', 'Extracting', 'Pull complete']);
  }
  if (process.env.BERTH_SHOW_PULL) for (const m of msgs) console.log(JSON.stringify(m));
  // Progress detail and Docker's bar on Downloading/Extracting messages.
  const bar = msgs.find((m) => m.status === 'Extracting' && m.id === ids[0]);
  assert.ok(bar?.progressDetail?.total === amd.layers[0]!.size, JSON.stringify(bar));
  assert.match(bar!.progress!, /^\[=*>\s*\]\s+\S+B\/\S+B/);
  assert.deepEqual(msgs.find((m) => m.status === 'Pulling fs layer'), { status: 'Pulling fs layer', progressDetail: {}, id: ids[0] });
  assert.deepEqual(statusLines(msgs).slice(-2), [`Digest: ${amd.manifestDigest}`, `Status: Downloaded newer image for ${ref}`]);

  assert.equal(rec.id, amd.configDigest);
  assert.deepEqual(rec.repoTags, [ref]);
  assert.deepEqual(rec.repoDigests, [`${reg.host}/test/busybox@${amd.manifestDigest}`]);
  assert.equal(rec.manifestDigest, amd.manifestDigest);
  assert.ok(existsSync(join(e.layerDir(amd.layers[0]!.digest), 'bin/busybox')));
  assert.equal(readFileSync(join(e.layerDir(amd.layers[1]!.digest), 'etc/hello'), 'utf8'), 'hello\n');
  assert.equal(await e.content.has(amd.manifestDigest), true);

  // Again: every layer already exists, the image is up to date.
  const again: JSONMessage[] = [];
  await pullImage({ ref, onProgress: (m) => again.push(m) }, e);
  assert.deepEqual(statusLines(again), [
    'v1: Pulling from test/busybox',
    `Digest: ${amd.manifestDigest}`,
    `Status: Image is up to date for ${ref}`,
  ]);
});

test('pull: an index resolves to the host platform or --platform', async () => {
  const e = env();
  const ref = `${reg.host}/test/multi`;
  const msgs: JSONMessage[] = [];
  const rec = await pullImage({ ref, onProgress: (m) => msgs.push(m) }, e);
  assert.equal(rec.id, process.arch === 'arm64' ? arm.configDigest : amd.configDigest);
  assert.deepEqual(rec.repoDigests, [`${reg.host}/test/multi@${indexDigest}`]);
  assert.ok(statusLines(msgs).includes(`Digest: ${indexDigest}`));
  assert.equal(msgs[0]!.id, 'latest');

  const armRec = await pullImage({ ref, platform: 'linux/arm64' }, e);
  assert.equal(armRec.id, arm.configDigest);
  assert.deepEqual(armRec.repoTags, [`${ref}:latest`]);

  await assert.rejects(pullImage({ ref, platform: 'linux/s390x' }, e), (err: Error) => {
    assert.equal(err.message, 'no matching manifest for linux/s390x in the manifest list entries');
    assert.equal(errorKind(err), 'NotFound');
    return true;
  });
  // A single-platform image that is not the requested platform.
  await assert.rejects(pullImage({ ref: `${reg.host}/test/busybox:v1`, platform: 'linux/arm64' }, e), /was found but does not match the specified platform: wanted linux\/arm64\/v8, actual: linux\/amd64/);
});

test('pull by digest: no tag, the digest reference recorded', async () => {
  const e = env();
  const ref = `${reg.host}/test/busybox@${amd.manifestDigest}`;
  const msgs: JSONMessage[] = [];
  const rec = await pullImage({ ref, onProgress: (m) => msgs.push(m) }, e);
  assert.deepEqual(msgs[0], { status: 'Pulling from test/busybox', id: amd.manifestDigest });
  assert.deepEqual(rec.repoTags, []);
  assert.deepEqual(rec.repoDigests, [ref]);
  assert.equal(statusLines(msgs).at(-1), `Status: Downloaded newer image for ${ref}`);
  await assert.rejects(pullImage({ ref: `${reg.host}/test/busybox@${sha('nope')}` }, e), /manifest for .* not found: manifest unknown/);
});

test('pull: downloads beyond max-concurrent-downloads wait', async () => {
  const e = env({ maxConcurrentDownloads: 2 });
  const msgs: JSONMessage[] = [];
  const rec = await pullImage({ ref: `${reg.host}/test/many`, onProgress: (m) => msgs.push(m) }, e);
  assert.equal(rec.layers.length, 5);
  assert.equal(rec.manifestMediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  const waiting = msgs.filter((m) => m.status === 'Waiting').map((m) => m.id);
  assert.deepEqual(waiting, many.layers.slice(2).map((l) => shortId(l.digest)));
  for (const l of many.layers) assert.equal(layerStates(msgs, shortId(l.digest)).at(-1), 'Pull complete');
});

/** A registry proxy in front of the real one; `alter` may change a blob body or delay it. */
async function proxy(alter: (url: string, body: Buffer, n: number) => Promise<Buffer | 'cut'> | Buffer | 'cut'): Promise<{ host: string; close(): Promise<void> }> {
  const upstream = `http://${reg.host}`;
  let n = 0;
  const server = http.createServer((req, res) => {
    const count = ++n;
    http.get(`${upstream}${req.url}`, { headers: { accept: String(req.headers.accept ?? '') } }, (up) => {
      const chunks: Buffer[] = [];
      up.on('data', (c) => chunks.push(c));
      up.on('end', async () => {
        const body = await alter(req.url!, Buffer.concat(chunks), count);
        const h = { ...up.headers };
        delete h['transfer-encoding'];
        res.writeHead(up.statusCode!, h);
        if (body === 'cut') {
          res.write(Buffer.concat(chunks).subarray(0, 1000), () => setTimeout(() => res.destroy(), 10));
          return;
        }
        res.end(body);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

test('pull: a corrupt layer fails the pull and nothing is recorded', async () => {
  const p = await proxy((url, body) => {
    if (!url.includes(`/blobs/${amd.layers[0]!.digest}`)) return body;
    const bad = Buffer.from(body);
    bad[bad.length >> 1]! ^= 0xff;
    return bad;
  });
  const e = env();
  try {
    const msgs: JSONMessage[] = [];
    await assert.rejects(pullImage({ ref: `${p.host}/test/busybox:v1`, onProgress: (m) => msgs.push(m) }, e), /unexpected digest/);
    assert.equal(await e.content.has(amd.layers[0]!.digest), false);
    assert.equal(e.images.tryGet(`${p.host}/test/busybox:v1`), undefined);
    assert.equal(e.images.list().length, 0);
  } finally {
    await p.close();
  }
});

test('pull: a layer unpacks while a slower one above it still downloads; a cut is retried', async () => {
  let cuts = 0;
  const [bottom, top] = amd.layers.map((l) => shortId(l.digest));
  // The top layer's blob is held back until the bottom layer reports Pull complete (or 20 s pass).
  let release!: () => void;
  const bottomDone = new Promise<void>((r) => { release = r; });
  const p = await proxy(async (url, body) => {
    if (url.includes(`/blobs/${amd.layers[0]!.digest}`) && cuts++ === 0) return 'cut';
    if (url.includes(`/blobs/${amd.layers[1]!.digest}`)) await Promise.race([bottomDone, new Promise((r) => setTimeout(r, 20_000))]);
    return body;
  });
  const e = env();
  try {
    const msgs: JSONMessage[] = [];
    await pullImage({
      ref: `${p.host}/test/busybox:v1`,
      onProgress: (m) => {
        msgs.push(m);
        if (m.id === bottom && m.status === 'Pull complete') release();
      },
    }, e);
    const lines = statusLines(msgs);
    assert.ok(lines.indexOf(`${bottom}: Pull complete`) < lines.indexOf(`${top}: Download complete`), lines.join('\n'));
    assert.ok(lines.includes(`${bottom}: Retrying in 1 second`), lines.join('\n'));
  } finally {
    await p.close();
  }
});

test('pull: Docker Hub names go to a registry mirror first', async () => {
  layout.tag('hub', amd);
  skopeoPush(layout, 'hub', `${reg.host}/library/busybox:hub`);
  // The first mirror knows nothing: the next one is tried (and Hub itself never).
  const dead = http.createServer((req, res) => {
    res.writeHead(req.url === '/v2/' ? 200 : 404, { 'Content-Type': 'application/json' });
    res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
  });
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const e = env({ mirrors: [`http://127.0.0.1:${(dead.address() as AddressInfo).port}`, `http://${reg.host}`] });
  try {
    const msgs: JSONMessage[] = [];
    const rec = await pullImage({ ref: 'busybox:hub', onProgress: (m) => msgs.push(m) }, e);
    assert.deepEqual(msgs[0], { status: 'Pulling from library/busybox', id: 'hub' });
    assert.deepEqual(rec.repoTags, ['docker.io/library/busybox:hub']);
    assert.deepEqual(rec.repoDigests, [`docker.io/library/busybox@${amd.manifestDigest}`]);
    assert.equal(statusLines(msgs).at(-1), 'Status: Downloaded newer image for busybox:hub');
  } finally {
    dead.closeAllConnections();
    await new Promise((r) => dead.close(r));
  }
});

test('pull: unknown tag and repository give Docker\'s errors before any progress', async () => {
  const e = env();
  const msgs: JSONMessage[] = [];
  await assert.rejects(pullImage({ ref: `${reg.host}/test/busybox:nope`, onProgress: (m) => msgs.push(m) }, e), (err: Error) => {
    assert.equal(err.message, `manifest for ${reg.host}/test/busybox:nope not found: manifest unknown: manifest unknown`);
    return true;
  });
  assert.deepEqual(msgs, []);
});

test('push: Docker\'s stream, then already-existing layers, then a cross-repository mount', async () => {
  const src = env();
  await pullImage({ ref: `${reg.host}/test/busybox:v1` }, src);
  src.images.tag(`${reg.host}/test/busybox:v1`, `${reg.host}/pushed/app:1.0`);

  const msgs: JSONMessage[] = [];
  const [result] = await pushImage({ ref: `${reg.host}/pushed/app:1.0`, onProgress: (m) => msgs.push(m) }, src);
  const ids = amd.layers.map((l) => shortId(l.diffId));
  assert.deepEqual(msgs[0], { status: `The push refers to repository [${reg.host}/pushed/app]` });
  for (const id of ids) {
    const states = layerStates(msgs, id);
    assert.equal(states[0], 'Preparing');
    // Blobs the registry already holds for another repository are mounted when known, else pushed.
    assert.ok(['Pushed', 'Mounted from test/busybox'].includes(states.at(-1)!), states.join(','));
  }
  assert.ok(msgs.some((m) => m.status === 'Mounted from test/busybox'), 'layers pulled from test/busybox are mounted');
  assert.deepEqual(result, { Tag: '1.0', Digest: amd.manifestDigest, Size: amd.manifest.length });
  assert.ok(statusLines(msgs).includes(`1.0: digest: ${amd.manifestDigest} size: ${amd.manifest.length}`));
  assert.deepEqual(msgs.at(-1), { progressDetail: {}, aux: { Tag: '1.0', Digest: amd.manifestDigest, Size: amd.manifest.length } });
  assert.ok(src.images.get(`${reg.host}/pushed/app:1.0`).repoDigests.includes(`${reg.host}/pushed/app@${amd.manifestDigest}`));

  const again: JSONMessage[] = [];
  await pushImage({ ref: `${reg.host}/pushed/app:1.0`, onProgress: (m) => again.push(m) }, src);
  for (const id of ids) assert.deepEqual(layerStates(again, id), ['Preparing', 'Layer already exists']);

  // What was pushed pulls back byte for byte into a fresh engine.
  const dst = env();
  const rec = await pullImage({ ref: `${reg.host}/pushed/app:1.0` }, dst);
  assert.equal(rec.id, amd.configDigest);
  assert.equal(rec.manifestDigest, amd.manifestDigest);
});

test('push: uploads layers the registry lacks, and refuses unknown images', async () => {
  const e = env({ monolithicUploadMax: 256 << 10 });
  // An image made locally: layers reach the registry only through this push.
  const tarA = makeTar({ 'srv/a': 'a'.repeat(400_000) });
  const layerRec = await e.content.writeBuffer(tarA);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layerRec.digest] } }));
  await e.images.commit({ rawConfig: config, layers: [{ digest: layerRec.digest, size: layerRec.size, mediaType: 'application/vnd.oci.image.layer.v1.tar', diffId: layerRec.digest }], tags: [`${reg.host}/local/made:latest`] });
  const msgs: JSONMessage[] = [];
  await pushImage({ ref: `${reg.host}/local/made:latest`, onProgress: (m) => msgs.push(m) }, e);
  const id = shortId(layerRec.digest);
  const states = layerStates(msgs, id);
  assert.deepEqual([states[0], states.at(-1)], ['Preparing', 'Pushed']);
  const pushing = msgs.filter((m) => m.status === 'Pushing' && m.id === id);
  assert.ok(pushing.length >= 1 && pushing.at(-1)!.progressDetail!.current! <= layerRec.size);

  const back = env();
  const rec = await pullImage({ ref: `${reg.host}/local/made` }, back);
  assert.equal(readFileSync(join(back.layerDir(layerRec.digest), 'srv/a'), 'utf8').length, 400_000);
  assert.equal(rec.layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar');

  await assert.rejects(pushImage({ ref: `${reg.host}/local/none:latest` }, e), (err: Error) => {
    assert.equal(err.message, `An image does not exist locally with the tag: ${reg.host}/local/none`);
    assert.equal(errorKind(err), 'NotFound');
    return true;
  });
});
