#!/usr/bin/env node
// CLI startup benchmark: median wall time of `node -e 0`, `berth --version` and `berth ps`
// (against BERTH_BENCH_HOST, or a scripted mock daemon in a child process when unset).
// Usage: node bench/cli.mjs [runs]   (build first: npm run build && npm run build:cli)
import { spawnSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.argv[2] ?? 30);
let host = process.env.BERTH_BENCH_HOST;
let mock;
if (!host) {
  const src = `
    import { startMockDaemon, sendJSON } from '${root}dist/test/cli/mock-daemon.js';
    import { cannedContainers } from '${root}dist/test/cli/fixtures.js';
    const d = await startMockDaemon();
    d.route('GET', /^\\/containers\\/json$/, (req, res) => sendJSON(res, 200, cannedContainers()));
    setInterval(() => { d.requests.length = 0; }, 1000);
    console.log(d.host);`;
  mock = spawn(process.execPath, ['--input-type=module', '-e', src], { stdio: ['ignore', 'pipe', 'inherit'] });
  host = await new Promise((resolve) => mock.stdout.once('data', (c) => resolve(String(c).trim())));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// Wall time is noisy on a shared machine; CPU time (user+sys, from /usr/bin/time) is the steadier
// measure of what the CLI itself costs.
const haveTime = existsSync('/usr/bin/time');
const cpu = {};
function time(cmd, args, env = {}) {
  const ts = [];
  const cs = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = haveTime
      ? spawnSync('/usr/bin/time', ['-f', '@@%U %S', cmd, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
      : spawnSync(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const m = /@@([\d.]+) ([\d.]+)/.exec(String(r.stderr));
    if (m) cs.push((Number(m[1]) + Number(m[2])) * 1000);
  }
  cpu[[cmd, ...args].join(' ')] = cs.length ? median(cs) : NaN;
  return median(ts);
}

const berth = `${root}bin/berth`;
const results = {
  'node -e 0': time(process.execPath, ['-e', '0']),
  'berth --version': time(berth, ['--version']),
  'berth ps': time(berth, ['ps'], { DOCKER_HOST: host }),
};
if (spawnSync('docker', ['--version']).status === 0) results['docker ps'] = time('docker', ['ps'], { DOCKER_HOST: host });
const cpus = Object.values(cpu);
Object.entries(results).forEach(([k, v], i) => console.log(`${k.padEnd(18)} wall ${v.toFixed(1).padStart(6)} ms   cpu ${cpus[i].toFixed(0).padStart(4)} ms`));
console.log(`berth ps - node -e 0: ${(results['berth ps'] - results['node -e 0']).toFixed(1)} ms (bundle: ${existsSync(`${root}dist/berth/bin.js`) ? 'yes' : 'no'})`);
mock?.kill();
