#!/usr/bin/env node
// Pull throughput: berth's pullImage (download + verify + unpack) side by side
// with `skopeo copy docker://… oci:DIR` (download + verify, no unpack), from a
// local docker-registry on loopback. Usage: npm run build && node bench/pull.mjs [MB per layer] [layers] [runs]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const dist = new URL('../dist/', import.meta.url).pathname;
const { startRegistry, OciLayout, skopeoPush } = await import(join(dist, 'test/distribution/helpers.js'));
const { pullEnv } = await import(join(dist, 'test/unpack/pull-env.js'));
const { pullImage } = await import(join(dist, 'src/unpack/pull.js'));

const mbPerLayer = Number(process.argv[2] ?? 32);
const nLayers = Number(process.argv[3] ?? 3);
const runs = Number(process.argv[4] ?? 3);

// Layers of base64 text (gzip ≈ 75%: inflate does real work) in many files.
function layerTar(i) {
  const d = mkdtempSync(join(tmpdir(), 'berth-bench-src-'));
  const files = 64;
  for (let f = 0; f < files; f++) writeFileSync(join(d, `f${i}-${f}`), randomBytes((mbPerLayer << 20) * 3 / 4 / files).toString('base64'));
  const tar = execFileSync('tar', ['-C', d, '-cf', '-', '.'], { maxBuffer: 2 ** 31 });
  rmSync(d, { recursive: true, force: true });
  return tar;
}

const reg = await startRegistry();
const layout = new OciLayout();
try {
  const img = layout.image(Array.from({ length: nLayers }, (_, i) => layerTar(i)));
  layout.tag('bench', img);
  skopeoPush(layout, 'bench', `${reg.host}/bench/img:latest`);
  const compressed = img.layers.reduce((n, l) => n + l.size, 0);
  console.log(`image: ${nLayers} layers, ${(compressed / 1e6).toFixed(1)} MB compressed, ${(nLayers * mbPerLayer * 1.048576).toFixed(1)} MB uncompressed`);

  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const berth = [];
  for (let r = 0; r < runs; r++) {
    const env = pullEnv();
    const t0 = performance.now();
    await pullImage({ ref: `${reg.host}/bench/img:latest` }, env);
    berth.push(performance.now() - t0);
    env.close();
  }
  const skopeo = [];
  for (let r = 0; r < runs; r++) {
    const dir = mkdtempSync(join(tmpdir(), 'berth-bench-oci-'));
    const t0 = performance.now();
    execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${reg.host}/bench/img:latest`, `oci:${dir}:x`]);
    skopeo.push(performance.now() - t0);
    rmSync(dir, { recursive: true, force: true });
  }
  const mbps = (ms) => ((compressed / 1e6) / (ms / 1000)).toFixed(1);
  console.log(`berth pull (download+verify+unpack): median ${median(berth).toFixed(0)} ms  (${mbps(median(berth))} MB/s compressed)  runs: ${berth.map((x) => x.toFixed(0)).join(', ')}`);
  console.log(`skopeo copy to oci: (download+verify):  median ${median(skopeo).toFixed(0)} ms  (${mbps(median(skopeo))} MB/s compressed)  runs: ${skopeo.map((x) => x.toFixed(0)).join(', ')}`);
} finally {
  layout.remove();
  await reg.stop();
}
