#!/usr/bin/env node
// Benchmarks, side by side in one run (not tests; these machines are noisy):
//  1. `docker run --rm busybox /bin/true` against berthd vs `crun run` / `runc run` of the same rootfs (the floor)
//  2. 20 containers started concurrently
//  3. docker create for a small and a big image (the rootfs is an overlay: no copy)
//  4. berthd idle RSS: 10 s after start, and 10 s after the bursts below (the daemon's idle collector
//     runs 1.5 s after the last request, then once a second for 6 s more)
//  5. the daemon alone, through the Engine API from one in-process client (no docker CLI start-up):
//     one run --rm cycle at a time, and 20 at once (started, and run to removal)
// Usage: node bench/run.mjs [--runs N]   (needs root, a built tree, and the Debian packages from scripts/setup.sh)
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync, mkdirSync, copyFileSync, symlinkSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import http from 'node:http';
import { api } from './engine-api.mjs';

const REPO = new URL('..', import.meta.url).pathname;
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 20;
const base = mkdtempSync(join(tmpdir(), 'berth-bench-'));

function rootfs(dir) {
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  for (const a of ['sh', 'true', 'echo', 'sleep']) symlinkSync('busybox', join(dir, 'bin', a));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  return dir;
}

function time(fn, n) {
  const samples = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    fn(i);
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)], p90: samples[Math.floor(samples.length * 0.9)] };
}

function floor(runtime) {
  const bundle = join(base, `bundle-${runtime}`);
  mkdirSync(bundle);
  rootfs(join(bundle, 'rootfs'));
  execFileSync(runtime, ['spec'], { cwd: bundle });
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = ['/bin/true'];
  spec.linux.namespaces = [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  const root = join(base, `state-${runtime}`);
  return time((i) => {
    const r = spawnSync(runtime, ['--root', root, 'run', `bench${i}`], { cwd: bundle, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${runtime} run failed`);
  }, runs);
}

/**
 * What `docker run --rm --network none bench /bin/true` asks of the daemon, minus the attach: create
 * with AutoRemove, wait?condition=removed sent before start (as the CLI does), start, the wait's answer.
 */
async function apiRunRm(agent, sock) {
  const { Id } = await api(agent, sock, 'POST', '/v1.47/containers/create', { Image: 'bench', Cmd: ['/bin/true'], HostConfig: { AutoRemove: true, NetworkMode: 'none' } });
  const waited = api(agent, sock, 'POST', `/v1.47/containers/${Id}/wait?condition=removed`);
  await api(agent, sock, 'POST', `/v1.47/containers/${Id}/start`);
  const r = await waited;
  if (r.StatusCode !== 0) throw new Error(`exit ${r.StatusCode}`);
}

async function timeAsync(fn, n) {
  const samples = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)], p90: samples[Math.floor(samples.length * 0.9)] };
}

async function main() {
  const sock = join(base, 'berth.sock');
  const env = { ...process.env, DOCKER_HOST: `unix://${sock}` };
  writeFileSync(join(base, 'daemon.json'), JSON.stringify({ bridge: 'berthbench0' }));
  const d = spawn(join(REPO, 'bin/berthd'), ['--data-root', join(base, 'data'), '--exec-root', join(base, 'run'), '-H', `unix://${sock}`, '--config-file', join(base, 'daemon.json')], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    const rssOf = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d.pid}/status`, 'utf8'))[1]) / 1024;
    await new Promise((r) => setTimeout(r, 10_000));
    const rssStart = rssOf();
    const rf = rootfs(join(base, 'img'));
    execFileSync('sh', ['-c', `tar -C ${rf} -c . | docker import - bench:latest`], { env, stdio: 'ignore' });
    spawnSync('docker', ['run', '--rm', '--network', 'none', 'bench', '/bin/true'], { env });
    const berth = time(() => {
      const r = spawnSync('docker', ['run', '--rm', '--network', 'none', 'bench', '/bin/true'], { env, stdio: 'ignore' });
      if (r.status !== 0) throw new Error('docker run failed');
    }, runs);
    const results = { 'docker CLI → berthd run --rm (network none)': berth };
    for (const rt of ['crun', 'runc']) {
      try { results[`${rt} run (floor)`] = floor(rt); } catch (err) { results[`${rt} run (floor)`] = { error: err.message }; }
    }
    const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: 20 }, () => new Promise((resolve) => {
      const c = spawn('docker', ['run', '--rm', '--network', 'none', 'bench', '/bin/true'], { env, stdio: 'ignore' });
      c.on('exit', resolve);
    })));
    const concurrent = Number(process.hrtime.bigint() - t0) / 1e6;
    // 20 × `docker run -d` at once: the time until every CLI has returned (all 20 are running).
    const t0d = process.hrtime.bigint();
    await Promise.all(Array.from({ length: 20 }, (_, i) => new Promise((resolve) => {
      const c = spawn('docker', ['run', '-d', '--name', `d-${i}`, '--network', 'none', 'bench', 'sleep', '600'], { env, stdio: 'ignore' });
      c.on('exit', resolve);
    })));
    const concurrentDetached = Number(process.hrtime.bigint() - t0d) / 1e6;
    spawnSync('sh', ['-c', 'docker rm -f $(docker ps -aq --filter name=d-) >/dev/null'], { env, stdio: 'ignore' });
    // The daemon alone: the same work through the API from this process.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    await apiRunRm(agent, sock);
    const apiOne = await timeAsync(() => apiRunRm(agent, sock), runs);
    const t0a = process.hrtime.bigint();
    const started = await Promise.all(Array.from({ length: 20 }, async () => {
      const { Id } = await api(agent, sock, 'POST', '/v1.47/containers/create', { Image: 'bench', Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'none' } });
      await api(agent, sock, 'POST', `/v1.47/containers/${Id}/start`);
      return Id;
    }));
    const apiStarted = Number(process.hrtime.bigint() - t0a) / 1e6;
    await Promise.all(started.map((id) => api(agent, sock, 'DELETE', `/v1.47/containers/${id}?force=1`)));
    const t0r = process.hrtime.bigint();
    await Promise.all(Array.from({ length: 20 }, () => apiRunRm(agent, sock)));
    const apiRunRm20 = Number(process.hrtime.bigint() - t0r) / 1e6;
    agent.destroy();
    await new Promise((r) => setTimeout(r, 2000));
    const rssBusy = rssOf();
    await new Promise((r) => setTimeout(r, 8000));
    const rss = rssOf();
    // Create cost against image size: the same rootfs plus one big file (BENCH_BIG_MB, default 500).
    const bigMb = Number(process.env.BENCH_BIG_MB ?? 500);
    const big = rootfs(join(base, 'img-big'));
    execFileSync('sh', ['-c', `head -c ${bigMb}M /dev/zero > ${join(big, 'big.bin')} && tar -C ${big} -c . | docker import - bench-big:latest`], { env, stdio: 'ignore' });
    const createTimes = {};
    for (const img of ['bench', 'bench-big']) {
      createTimes[img] = time((i) => {
        const r = spawnSync('docker', ['create', '--name', `cr-${img}-${i}`, '--network', 'none', img, '/bin/true'], { env, stdio: 'ignore' });
        if (r.status !== 0) throw new Error('docker create failed');
      }, Math.min(runs, 10));
    }
    spawnSync('sh', ['-c', 'docker rm -f $(docker ps -aq --filter name=cr-) >/dev/null'], { env, stdio: 'ignore' });
    console.log(`runs: ${runs}`);
    for (const [k, v] of Object.entries(results)) {
      console.log(v.error ? `${k}: ${v.error}` : `${k}: median ${v.median.toFixed(1)} ms, p90 ${v.p90.toFixed(1)} ms`);
    }
    const fl = results['crun run (floor)'].median ?? results['runc run (floor)'].median;
    if (fl) console.log(`berth over the floor: +${(berth.median - fl).toFixed(1)} ms (ratio ${(berth.median / fl).toFixed(2)})`);
    console.log(`20 concurrent docker run --rm: ${concurrent.toFixed(0)} ms`);
    console.log(`20 concurrent docker run -d (until all 20 CLIs return, containers running): ${concurrentDetached.toFixed(0)} ms`);
    console.log(`daemon alone via the API, one run --rm cycle (create, wait=removed, start; no attach): median ${apiOne.median.toFixed(1)} ms, p90 ${apiOne.p90.toFixed(1)} ms` +
      (fl ? ` (floor + ${(apiOne.median - fl).toFixed(1)} ms)` : ''));
    console.log(`daemon alone via the API, 20 at once: all started ${apiStarted.toFixed(0)} ms; 20 run --rm cycles ${apiRunRm20.toFixed(0)} ms`);
    console.log(`docker create, 2 MB image vs ${bigMb} MB image: median ${createTimes.bench.median.toFixed(1)} ms vs ${createTimes['bench-big'].median.toFixed(1)} ms`);
    console.log(`berthd idle RSS: ${rssStart.toFixed(1)} MB 10 s after start; after the bursts ${rssBusy.toFixed(1)} MB at 2 s, ${rss.toFixed(1)} MB at 10 s`);
  } finally {
    d.kill('SIGTERM');
    await new Promise((r) => d.once('exit', r));
    spawnSync('sh', ['-c', `grep ' ${base}' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l`]);
    spawnSync('sh', ['-c', 'ip link del berthbench0 2>/dev/null; nft delete table ip berthbench0 2>/dev/null; true']);
    rmSync(base, { recursive: true, force: true });
  }
}
main().catch((err) => { console.error(err); process.exit(1); });
