#!/usr/bin/env node
// What networking costs a user of the docker CLI, side by side in one run (a
// benchmark, not a test; these machines are noisy):
//  1. `docker run --rm busybox true` on the default bridge against
//     `--network none`, interleaved so both see the same load; the goal is a
//     bridge that adds at most 40 ms.
//  2. 20 containers started concurrently on one user-defined network, each
//     looping until it resolves the names of all 20 (aardvark-dns): once with
//     20 docker CLIs, once through the Engine API from this process (the
//     daemon alone, without 20 CLI start-ups competing for the two cores).
// Usage: node bench/network-run.mjs [--runs N]   (root, a built tree: npm run build)
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, rmSync, readFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { api as engineApi } from './engine-api.mjs';
import { Resolver } from 'node:dns/promises';

const REPO = new URL('..', import.meta.url).pathname;
const argRuns = process.argv.indexOf('--runs');
const runs = argRuns > 0 ? Number(process.argv[argRuns + 1]) : 20;
const N = 20;
const GOAL_MS = 40;
const base = mkdtempSync(join(tmpdir(), 'berth-netrun-'));
const sock = join(base, 'berth.sock');
const env = { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(base, 'docker-config') };
const bridge = `bb${randomBytes(3).toString('hex')}`;

const docker = (args, opts = {}) => spawnSync('docker', args, { env, encoding: 'utf8', ...opts });

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], p90: s[Math.min(s.length - 1, Math.floor(s.length * 0.9))], min: s[0] };
}

/** One Engine API call over the daemon's socket; resolves with the parsed body. */
const api = (agent, method, path, body) => engineApi(agent, sock, method, path, body);

/** Wait until every container has marked `dir`; ms since t0, or NaN with the count still missing. */
async function allMarked(dir, t0) {
  for (let i = 0; i < 6000; i++) {
    const missing = N - readdirSync(dir).length;
    if (!missing) return { ms: Number(process.hrtime.bigint() - t0) / 1e6, missing: 0 };
    await new Promise((r) => setTimeout(r, 20));
  }
  return { ms: NaN, missing: N - readdirSync(dir).length };
}

function timed(args) {
  const t = process.hrtime.bigint();
  const r = docker(args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.status})`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** The host side of the bridge: a private /24 no host route uses. */
function freeSubnet() {
  const routes = execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  for (;;) {
    const s = `10.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}`;
    if (!routes.includes(`${s}.`)) return `${s}.0/24`;
  }
}

async function main() {
  writeFileSync(join(base, 'daemon.json'), JSON.stringify({ bridge }));
  const d = spawn(join(REPO, 'bin/berthd'), ['--data-root', join(base, 'data'), '--exec-root', join(base, 'run'),
    '-H', `unix://${sock}`, '--config-file', join(base, 'daemon.json')], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    for (let i = 0; i < 600; i++) {
      if (existsSync(sock) && docker(['version'], { stdio: 'ignore' }).status === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const { busyboxTar } = await import(new URL('dist/test/helpers/fixtures.js', `file://${REPO}`).href);
    const tar = busyboxTar(join(base, 'busybox.tar'));
    if (docker(['import', '--change', 'CMD ["sh"]', tar, 'busybox:latest']).status !== 0) throw new Error('docker import failed');

    // 1. bridge vs none, interleaved; one warm-up each.
    timed(['run', '--rm', 'busybox', 'true']);
    timed(['run', '--rm', '--network', 'none', 'busybox', 'true']);
    const bridgeT = [];
    const noneT = [];
    for (let i = 0; i < runs; i++) {
      // Alternate which goes first so neither always follows the other's teardown.
      if (i % 2) {
        bridgeT.push(timed(['run', '--rm', 'busybox', 'true']));
        noneT.push(timed(['run', '--rm', '--network', 'none', 'busybox', 'true']));
      } else {
        noneT.push(timed(['run', '--rm', '--network', 'none', 'busybox', 'true']));
        bridgeT.push(timed(['run', '--rm', 'busybox', 'true']));
      }
    }
    const b = stats(bridgeT);
    const n = stats(noneT);
    // The paired differences are less noisy than the difference of the medians.
    const diff = stats(bridgeT.map((t, i) => t - noneT[i]));
    console.log(`runs: ${runs} (interleaved)`);
    console.log(`docker run --rm busybox true, default bridge: median ${b.median.toFixed(1)} ms, p90 ${b.p90.toFixed(1)} ms, min ${b.min.toFixed(1)} ms`);
    console.log(`docker run --rm busybox true, --network none:  median ${n.median.toFixed(1)} ms, p90 ${n.p90.toFixed(1)} ms, min ${n.min.toFixed(1)} ms`);
    console.log(`bridge - none: median of medians ${(b.median - n.median).toFixed(1)} ms, median of paired differences ${diff.median.toFixed(1)} ms, min-to-min ${(b.min - n.min).toFixed(1)} ms (goal ≤ ${GOAL_MS} ms: ${diff.median <= GOAL_MS ? 'met' : 'NOT met'})`);

    // 2. 20 containers at once on one user network, resolving each other.
    const net = `benchnet${randomBytes(2).toString('hex')}`;
    if (docker(['network', 'create', '--subnet', freeSubnet(), net]).status !== 0) throw new Error('network create failed');
    const names = Array.from({ length: N }, (_, i) => `${net}-c${i}`);
    // Each container marks a file in a bind-mounted host directory once it has resolved every name
    // (and keeps running so the others can resolve it). Reading that directory costs nothing, where
    // polling 20 × `docker logs` used ~1.7 s of CPU per round and slowed what it measured.
    const script = (out) => `for n in ${names.join(' ')}; do until nslookup $n >/dev/null 2>&1; do sleep 0.05; done; done; : > /${out}/$(hostname); exec sleep 600`;
    // 2a. 20 docker CLIs at once.
    const outDir = join(base, 'resolved');
    mkdirSync(outDir, { recursive: true });
    const t0 = process.hrtime.bigint();
    const started = await Promise.all(names.map((name) => new Promise((resolve) => {
      const c = spawn('docker', ['run', '-d', '--name', name, '--network', net, '-v', `${outDir}:/out`, 'busybox', 'sh', '-c', script('out')], { env, stdio: 'ignore' });
      c.on('exit', (code) => resolve({ code, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    })));
    const allStarted = Math.max(...started.map((s) => s.ms));
    const failed = started.filter((s) => s.code !== 0).length;
    const resolved = await allMarked(outDir, t0);
    console.log(`${N} concurrent docker run -d on one user network: all started in ${allStarted.toFixed(0)} ms${failed ? ` (${failed} FAILED)` : ''}; ` +
      (resolved.missing ? `${resolved.missing} never resolved every name` : `every container resolved all ${N} names after ${resolved.ms.toFixed(0)} ms`));
    docker(['rm', '-f', ...names], { stdio: 'ignore' });

    // 2b. The same 20 through the Engine API from this process: create + start each, all at once.
    const outApi = join(base, 'resolved-api');
    mkdirSync(outApi, { recursive: true });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    // Meanwhile, from the host: how soon every name answers on the network's DNS server (aardvark-dns on
    // the gateway), asked every 10 ms with one cheap in-process resolver. Inside the containers the same
    // check costs 400 nslookup processes (≈ 5–7 ms each on this machine), which is what 2a/2b wait for.
    const gateway = JSON.parse(docker(['network', 'inspect', net, '--format', '{{json .IPAM.Config}}']).stdout)[0].Gateway;
    const resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([gateway]);
    let dnsReady = NaN;
    let polling = true;
    const t1 = process.hrtime.bigint();
    const poll = (async () => {
      while (polling) {
        const got = await Promise.all(names.map((n) => resolver.resolve4(n).then(() => 1, () => 0)));
        if (got.every(Boolean)) { dnsReady = Number(process.hrtime.bigint() - t1) / 1e6; return; }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    let apiStarted = 0;
    await Promise.all(names.map(async (name) => {
      const { Id } = await api(agent, 'POST', `/v1.47/containers/create?name=${name}`, {
        Image: 'busybox', Hostname: name, Cmd: ['sh', '-c', script('out')],
        HostConfig: { NetworkMode: net, Binds: [`${outApi}:/out`] },
      });
      await api(agent, 'POST', `/v1.47/containers/${Id}/start`);
      apiStarted = Math.max(apiStarted, Number(process.hrtime.bigint() - t1) / 1e6);
    }));
    const resolvedApi = await allMarked(outApi, t1);
    polling = false;
    await poll;
    console.log(`${N} concurrent create+start through the API on one user network: all started in ${apiStarted.toFixed(0)} ms; ` +
      (resolvedApi.missing ? `${resolvedApi.missing} never resolved every name` : `every container resolved all ${N} names after ${resolvedApi.ms.toFixed(0)} ms`) +
      `; all ${N} names answered by the network's DNS server (asked from the host) after ${dnsReady.toFixed(0)} ms`);
    agent.destroy();
    docker(['rm', '-f', ...names], { stdio: 'ignore' });
    docker(['network', 'rm', net], { stdio: 'ignore' });
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d.pid}/status`, 'utf8'))[1]) / 1024;
    console.log(`berthd RSS afterwards: ${rss.toFixed(1)} MB`);
  } finally {
    const ids = docker(['ps', '-aq']).stdout?.split('\n').filter(Boolean) ?? [];
    if (ids.length) docker(['rm', '-f', ...ids], { stdio: 'ignore' });
    d.kill('SIGTERM');
    await new Promise((r) => d.once('exit', r));
    spawnSync('sh', ['-c', `grep ' ${base}' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l`]);
    spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    spawnSync('nft', ['delete', 'table', 'ip', bridge], { stdio: 'ignore' });
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
