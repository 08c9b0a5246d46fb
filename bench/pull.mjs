#!/usr/bin/env node
// Cold pull from a local docker-registry on loopback, three ways in one run:
//   docker pull → berthd   (what a user sees: download + verify + unpack + record)
//   pullImage in-process   (the same work without the daemon and the CLI)
//   skopeo copy → oci: dir (download + verify, no unpack): the yardstick.
// The image is busybox plus layers of random data (incompressible, like
// binaries), pushed with skopeo. Each berth run starts from an empty data root.
// pullImage in-process uses the test environment (snapshots not synced to disk).
// Usage: npm run build && node bench/pull.mjs [MB per random layer=32] [random layers=3] [runs=3]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const dist = new URL('../dist/', import.meta.url).pathname;
const { startRegistry, OciLayout, skopeoPush } = await import(join(dist, 'test/distribution/helpers.js'));
const { startDaemon, destroyDaemon } = await import(join(dist, 'test/helpers/daemon.js'));
const { busyboxTar } = await import(join(dist, 'test/helpers/fixtures.js'));
const { pullEnv } = await import(join(dist, 'test/unpack/pull-env.js'));
const { pullImage } = await import(join(dist, 'src/unpack/index.js'));

const mbPerLayer = Number(process.argv[2] ?? 32);
const nRandom = Number(process.argv[3] ?? 3);
const runs = Number(process.argv[4] ?? 3);

/** A layer of a few files of random bytes (1e6-byte MB, as registries and docker count). */
function randomLayer(i) {
  const d = mkdtempSync(join(tmpdir(), 'berth-bench-src-'));
  const files = 8;
  for (let f = 0; f < files; f++) writeFileSync(join(d, `data${i}-${f}.bin`), randomBytes(Math.floor((mbPerLayer * 1e6) / files)));
  const tar = execFileSync('tar', ['-C', d, '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 2 ** 31 });
  rmSync(d, { recursive: true, force: true });
  return tar;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `median ${median(xs).toFixed(0)} ms (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})`;

const reg = await startRegistry();
const layout = new OciLayout();
const daemons = [];
try {
  const tars = [readFileSync(busyboxTar()), ...Array.from({ length: nRandom }, (_, i) => randomLayer(i))];
  const img = layout.image(tars);
  layout.tag('bench', img);
  const ref = `${reg.host}/bench/img:latest`;
  skopeoPush(layout, 'bench', ref);
  const compressed = img.layers.reduce((n, l) => n + l.size, 0);
  const mb = compressed / 1e6;
  console.log(`image: ${img.layers.length} layers, ${mb.toFixed(1)} MB compressed, ${(tars.reduce((n, t) => n + t.length, 0) / 1e6).toFixed(1)} MB uncompressed`);

  // Interleaved rounds: each round runs all three, so background load hits them alike.
  const viaDocker = [];
  const inProcess = [];
  const skopeo = [];
  for (let r = 0; r < runs; r++) {
    // A fresh daemon each round: nothing cached. Its own address pool, so it starts beside other daemons.
    const d = await startDaemon({ config: { 'default-address-pools': [{ base: '10.214.0.0/16', size: 24 }] } });
    daemons.push(d);
    let t0 = performance.now();
    const out = await d.docker(['pull', '-q', ref], { timeout: 120_000 });
    viaDocker.push(performance.now() - t0);
    if (out.code !== 0) throw new Error(`docker pull failed: ${out.stderr}`);
    await stopDaemon(d);

    const env = pullEnv();
    t0 = performance.now();
    await pullImage({ ref }, env);
    inProcess.push(performance.now() - t0);
    env.close();

    const dir = mkdtempSync(join(tmpdir(), 'berth-bench-oci-'));
    t0 = performance.now();
    execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}:x`]);
    skopeo.push(performance.now() - t0);
    rmSync(dir, { recursive: true, force: true });
  }

  const rate = (ms) => `${(mb / (ms / 1000)).toFixed(0)} MB/s`;
  console.log(`docker pull → berthd (download+verify+unpack):  ${fmt(viaDocker)}  ${rate(median(viaDocker))}`);
  console.log(`pullImage in-process (download+verify+unpack):  ${fmt(inProcess)}  ${rate(median(inProcess))}`);
  console.log(`skopeo copy → oci dir (download+verify):        ${fmt(skopeo)}  ${rate(median(skopeo))}`);
  console.log(`ratio docker pull / skopeo copy: ${(median(viaDocker) / median(skopeo)).toFixed(2)}`);
} finally {
  for (const d of daemons) await stopDaemon(d);
  layout.remove();
  await reg.stop();
}

/** Stops a bench daemon and removes its data, bridge and nft table (all ours). */
async function stopDaemon(d) {
  if (d.stopped) return;
  d.stopped = true;
  const bridge = JSON.parse(readFileSync(join(d.dataRoot, '..', 'daemon.json'), 'utf8')).bridge;
  await destroyDaemon(d);
  for (const cmd of [['ip', 'link', 'del', bridge], ['nft', 'delete', 'table', 'ip', bridge]]) {
    try { execFileSync(cmd[0], cmd.slice(1), { stdio: 'ignore' }); } catch { /* never created */ }
  }
}
