#!/usr/bin/env node
// CLI start-up benchmark: `node -e 0`, `berth --version`, `berth ps`, `docker ps` and `run --rm` through
// both CLIs, side by
// side against the same daemon. Runs are interleaved (one of each per round) so a busy machine
// slows all of them alike; the medians of wall time and, where /usr/bin/time exists, of CPU
// time (user+sys, the steadier measure on a shared machine) are printed.
//
// Usage: node bench/cli.mjs [rounds]      (default 30)
// The daemon: BERTH_BENCH_HOST if set, else a real berthd started in a temp dir (needs root and
// `npm run build`). Build the bundle first (`npm run build:cli`): bin/berth falls back to the
// slower tsc output when the bundle is missing or older than it, and this prints which it ran.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const rounds = Number(process.argv[2] ?? 30);
const berth = `${root}bin/berth`;

let host = process.env.BERTH_BENCH_HOST;
let daemon;
let helpers;
if (!host) {
  helpers = await import(`${root}dist/test/helpers/daemon.js`);
  const o = 100 + Math.floor(Math.random() * 100);
  daemon = await helpers.startDaemon({ config: { bip: `10.${o}.0.1/24`, 'default-address-pools': [{ base: `10.${o}.0.0/16`, size: 24 }] } });
  host = daemon.host;
  await helpers.importBusybox(daemon);
  const r = await daemon.docker(['run', '-d', '--network', 'none', '--name', 'bench', 'busybox', 'sleep', '600']);
  if (r.code !== 0) throw new Error(`docker run failed: ${r.stderr}`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const haveTime = existsSync('/usr/bin/time');
const env = { ...process.env, DOCKER_HOST: host };
const cases = [
  ['node -e 0', process.execPath, ['-e', '0']],
  ['berth --version', berth, ['--version']],
  ['berth ps', berth, ['ps']],
];
const RUN = ['run', '--rm', '--network', 'none', 'busybox', 'true'];
cases.push(['berth run --rm', berth, RUN]);
const hasDocker = spawnSync('docker', ['--version']).status === 0;
if (hasDocker) cases.push(['docker ps', 'docker', ['ps']], ['docker run --rm', 'docker', RUN]);

const wall = cases.map(() => []);
const cpu = cases.map(() => []);
try {
  for (let i = 0; i < rounds; i++) {
    cases.forEach(([name, cmd, args], j) => {
      const t0 = process.hrtime.bigint();
      const r = haveTime
        ? spawnSync('/usr/bin/time', ['-f', '@@%U %S', cmd, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] })
        : spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
      wall[j].push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
      const m = /@@([\d.]+) ([\d.]+)/.exec(String(r.stderr));
      if (m) cpu[j].push((Number(m[1]) + Number(m[2])) * 1000);
    });
  }
} finally {
  if (daemon) await helpers.destroyDaemon(daemon);
}

const mtime = (p) => statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bundle = `${root}dist/berth/berth.cjs`;
const state = mtime(bundle) < 0 ? 'missing' : mtime(bundle) < mtime(`${root}dist/src/cli/bin.js`) ? 'stale (tsc output ran)' : 'fresh';
const cacheState = existsSync(`${bundle}.cache`) ? 'yes' : 'no';
console.log(`${rounds} interleaved rounds against ${daemon ? 'a fresh berthd' : host}; bundle: ${state}, code cache: ${cacheState}`);
cases.forEach(([name], j) => {
  const c = cpu[j].length ? `   cpu ${median(cpu[j]).toFixed(0).padStart(4)} ms` : '';
  console.log(`${name.padEnd(16)} wall ${median(wall[j]).toFixed(1).padStart(6)} ms${c}`);
});
const base = median(wall[0]);
console.log(`berth ps - node -e 0: ${(median(wall[2]) - base).toFixed(1)} ms (goal: <= 30 ms)`);
if (hasDocker) {
  const berthRun = median(wall[3]);
  const dockerRun = median(wall[5]);
  console.log(`berth run --rm - (docker run --rm + node -e 0): ${(berthRun - dockerRun - base).toFixed(1)} ms (goal: <= 0)`);
}
