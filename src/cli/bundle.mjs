// Builds what bin/berth runs first: one CommonJS file (dist/berth/berth.cjs) and a V8 code cache
// for it (berth.cjs.cache), made here by running `berth ps` once against a throwaway socket so
// the cache holds the functions a short command compiles. Run after tsc: npm run build:cli.
//
// Why: a CommonJS bundle loads through require's fast path (no ESM loader, one file), and the
// code cache spares V8 most of the parse and compile of it on every start.
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const out = join(root, 'dist/berth');
const bundle = join(out, 'berth.cjs');
const cache = `${bundle}.cache`;

rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'src/cli/bin.ts')],
  outfile: bundle,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // tar-stream stays a runtime dependency; import() of it becomes require() so the bundle runs
  // as a plain script (vm.Script has no dynamic-import hook without extra flags).
  external: ['tar-stream'],
  supported: { 'dynamic-import': false },
  // Smaller is faster to read and to check against the cache; names stay for stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});

// A daemon that answers just enough for `berth ps`.
const dir = mkdtempSync(join(tmpdir(), 'berth-bundle-'));
const sock = join(dir, 'api.sock');
const server = http.createServer((req, res) => {
  res.setHeader('Api-Version', '1.50');
  res.setHeader('Content-Type', 'application/json');
  if (req.url?.startsWith('/_ping')) return res.end(req.method === 'HEAD' ? undefined : 'OK');
  const now = Math.floor(Date.now() / 1000);
  res.end(JSON.stringify([
    {
      Id: 'c'.repeat(64), Names: ['/warm'], Image: 'busybox', ImageID: `sha256:${'a'.repeat(64)}`, Command: 'sleep 60', Created: now - 5,
      Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }], Labels: {}, State: 'running', Status: 'Up 5 seconds',
      HostConfig: { NetworkMode: 'bridge' }, NetworkSettings: { Networks: {} }, Mounts: [],
    },
  ]));
});
await new Promise((resolve) => server.listen(sock, resolve));
try {
  const env = { ...process.env, DOCKER_HOST: `unix://${sock}`, BERTH_WRITE_CODE_CACHE: '1' };
  // Asynchronously: spawnSync would block this process's server.
  const child = spawn(process.execPath, [join(root, 'bin/berth'), 'ps'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`berth ps (warming the code cache) exited with ${code}`);
  if (!statSync(cache, { throwIfNoEntry: false })) throw new Error('no code cache was written');
} finally {
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
