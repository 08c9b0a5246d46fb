// Randomized crash torture: a random mix of operations runs concurrently, berthd is killed with
// SIGKILL after a random delay, restarted on the same roots, and what a user sees must hold:
// everything listed inspects and works, nothing is half-made on disk, running containers kept
// running. The seed is printed; BERTH_TORTURE_SEED=<n> replays a run, BERTH_TORTURE_ROUNDS=<n>
// changes its length (the default keeps the file under ~90 s on 2 cores).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readdirSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import Database from 'better-sqlite3';
import { startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';
import { busyboxTar } from '../helpers/fixtures.js';

const SEED = Number(process.env.BERTH_TORTURE_SEED ?? (Date.now() % 1_000_000));
const ROUNDS = Number(process.env.BERTH_TORTURE_ROUNDS ?? 30);
const BUDGET_MS = Number(process.env.BERTH_TORTURE_BUDGET_MS ?? 60_000);

// mulberry32: small, seedable, good enough to pick operations.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);
const pick = <T>(xs: readonly T[]): T | undefined => xs.length ? xs[Math.floor(rand() * xs.length)] : undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let d: TestDaemon;
let work: string;
let tarFile: string;
let loadTar: string;
let ctx: string;
const log: string[] = [];
const note = (s: string) => { log.push(s); };

interface Res { code: number; stdout: string; stderr: string }
function docker(args: string[], timeout = 30_000): Promise<Res> {
  return new Promise((resolve) => {
    const child = execFile('docker', args, { env: d.env, timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin?.end();
  });
}
async function ok(args: string[], what = args.join(' ')): Promise<string> {
  const r = await docker(args);
  assert.equal(r.code, 0, `seed ${SEED}: docker ${what}: ${r.stderr}`);
  return r.stdout;
}
const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);

const SENTINELS = ['sentinel-a', 'sentinel-b'];

before(async () => {
  process.stdout.write(`# crash torture seed ${SEED} (BERTH_TORTURE_SEED=${SEED} to replay)\n`);
  work = mkdtempSync(join(tmpdir(), 'berth-torture-'));
  d = await startDaemon();
  await importBusybox(d);
  tarFile = busyboxTar(join(work, 'rootfs.tar'));
  // An image to `docker load` again and again: saved once, then removed.
  await ok(['tag', 'busybox', 'loadme:1']);
  loadTar = join(work, 'load.tar');
  await ok(['save', '-o', loadTar, 'loadme:1']);
  await ok(['rmi', 'loadme:1']);
  ctx = join(work, 'ctx');
  execFileSync('mkdir', ['-p', ctx]);
  writeFileSync(join(ctx, 'f'), 'payload\n');
  writeFileSync(join(work, 'cpfile'), 'copied\n');
  await ok(['network', 'create', 'tnet']);
  // Never touched by an operation: they must run through every kill with the same pid.
  await ok(['run', '-d', '--name', SENTINELS[0]!, '-p', '0:80', 'busybox', 'sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done']);
  await ok(['run', '-d', '--name', SENTINELS[1]!, '--network', 'tnet', 'busybox', 'sh', '-c', 'while true; do echo tock; sleep 0.1; done']);
});

after(async () => {
  if (d) await destroyDaemon(d);
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Op { desc: string; args: string[]; stops?: string; creates?: { kind: 'container' | 'volume' | 'network' | 'image'; name: string } }

interface World { images: string[]; containers: { id: string; name: string; status: string }[]; volumes: string[]; networks: string[] }

async function api(method: string, path: string): Promise<any> {
  const r = await d.api(method, `/v1.50${path}`);
  assert.ok(r.status < 300, `seed ${SEED}: ${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** What `docker ps -a`, `images`, `volume ls` and `network ls` list (through the API: the CLI is slow to start). */
async function world(): Promise<World> {
  const [imgs, ctrs, vols, nets] = await Promise.all([api('GET', '/images/json'), api('GET', '/containers/json?all=1'), api('GET', '/volumes'), api('GET', '/networks')]);
  return {
    images: (imgs as any[]).flatMap((i) => i.RepoTags ?? []).filter((t: string) => !t.includes('<none>')),
    containers: (ctrs as any[]).map((c) => ({ id: c.Id, name: String(c.Names[0]).slice(1), status: c.State })),
    volumes: (vols.Volumes ?? []).map((v: any) => v.Name),
    networks: (nets as any[]).map((n) => n.Name),
  };
}

/** Random operations on what exists (sentinels excluded); names are unique per round. */
function plan(w: World, round: number): Op[] {
  const ops: Op[] = [];
  const victims = w.containers.filter((c) => !SENTINELS.includes(c.name));
  const running = victims.filter((c) => c.status === 'running');
  const extraImages = w.images.filter((i) => i !== 'busybox:latest');
  const userNets = w.networks.filter((n) => !['bridge', 'host', 'none', 'tnet'].includes(n));
  const n = 4 + Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) {
    const name = `r${round}o${i}`;
    const kind = Math.floor(rand() * 21);
    let c: { id: string; name: string; status: string } | undefined;
    switch (kind) {
      case 0: ops.push({ desc: 'load', args: ['load', '-i', loadTar], creates: { kind: 'image', name: 'loadme:1' } }); break;
      case 1: ops.push({ desc: 'import', args: ['import', '--change', 'CMD ["sh"]', tarFile, `imp-${name}:1`], creates: { kind: 'image', name: `imp-${name}:1` } }); break;
      case 2: ops.push({ desc: 'tag', args: ['tag', pick(w.images)!, `tag-${name}:1`], creates: { kind: 'image', name: `tag-${name}:1` } }); break;
      case 3: { const img = pick(extraImages); if (img) ops.push({ desc: 'rmi', args: ['rmi', '-f', img] }); break; }
      case 4: ops.push({ desc: 'create', args: ['create', '--name', name, ...(rand() < 0.5 ? ['-v', `vol-${name}:/data`] : []), pick(w.images)!, 'sleep', '1000'], creates: { kind: 'container', name } }); break;
      case 5: c = pick(victims.filter((x) => x.status !== 'running')); if (c) ops.push({ desc: 'start', args: ['start', c.id] }); break;
      case 6: case 7: {
        const net = rand() < 0.3 ? ['--network', pick(['tnet', ...userNets])!] : rand() < 0.3 ? ['-p', '0:80'] : [];
        ops.push({ desc: 'run -d', args: ['run', '-d', '--name', name, ...net, ...(rand() < 0.3 ? ['-v', '/data'] : []), 'busybox', 'sh', '-c', 'while true; do echo x; sleep 0.2; done'], creates: { kind: 'container', name } });
        break;
      }
      case 8: ops.push({ desc: 'run --rm', args: ['run', '--rm', '--name', name, 'busybox', 'sh', '-c', 'echo hi; sleep 0.1'], creates: { kind: 'container', name } }); break;
      case 9: c = pick(running); if (c) ops.push({ desc: 'stop', args: ['stop', '-t', '1', c.id], stops: c.id }); break;
      case 10: c = pick(victims); if (c) ops.push({ desc: 'rm -f', args: ['rm', '-f', c.id], stops: c.id }); break;
      case 11: ops.push({ desc: 'volume create', args: ['volume', 'create', `vol-${name}`], creates: { kind: 'volume', name: `vol-${name}` } }); break;
      case 12: { const v = pick(w.volumes); if (v) ops.push({ desc: 'volume rm', args: ['volume', 'rm', v] }); break; }
      case 13: ops.push({ desc: 'network create', args: ['network', 'create', `net-${name}`], creates: { kind: 'network', name: `net-${name}` } }); break;
      case 14: { const net = pick(userNets); if (net) ops.push({ desc: 'network rm', args: ['network', 'rm', net] }); break; }
      case 15: { c = pick(running); const net = pick(userNets); if (c && net) ops.push({ desc: 'network connect', args: ['network', 'connect', net, c.id] }); break; }
      case 16: c = pick(running); if (c) ops.push({ desc: 'exec', args: ['exec', c.id, 'sh', '-c', 'echo exec; sleep 0.2'] }); break;
      case 17: case 18: {
        writeFileSync(join(ctx, 'Dockerfile'), `FROM busybox\nRUN echo ${Math.floor(rand() * 1e9)} > /x\nCOPY f /f\n`);
        ops.push({ desc: 'build', args: ['build', '-q', '-t', `built-${name}:1`, ctx], creates: { kind: 'image', name: `built-${name}:1` } });
        break;
      }
      case 19: c = pick(running); if (c) ops.push({ desc: 'commit', args: ['commit', c.id, `commit-${name}:1`], creates: { kind: 'image', name: `commit-${name}:1` } }); break;
      case 20: c = pick(running); if (c) ops.push({ desc: 'cp', args: ['cp', join(work, 'cpfile'), `${c.id}:/tmp/cpfile`] }); break;
    }
  }
  return ops;
}

async function pidOf(id: string): Promise<number> {
  return (await api('GET', `/containers/${id}/json`)).State.Pid;
}

function hostMounts(): string[] {
  return readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter(Boolean)
    .map((p) => p.replace(/\\040/g, ' '));
}

const DEBUG = !!process.env.BERTH_TORTURE_DEBUG;
let lap = Date.now();
const mark = (what: string) => { if (DEBUG) process.stdout.write(`#   ${what}: ${Date.now() - lap} ms\n`); lap = Date.now(); };

async function checkInvariants(round: number, before: Map<string, number>, stopped: Set<string>, created: Op['creates'][]): Promise<void> {
  const tag = `seed ${SEED} round ${round}`;
  mark('restart');
  const w = await world();
  const ids = new Set(w.containers.map((c) => c.id));

  // Containers that ran before the kill and were not being stopped still run, same pid.
  await Promise.all([...before].filter(([id]) => !stopped.has(id)).map(async ([id, pid]) => {
    const r = await d.api('GET', `/v1.50/containers/${id}/json`);
    assert.equal(`${r.body?.State?.Status} ${r.body?.State?.Pid}`, `running ${pid}`, `${tag}: container ${id.slice(0, 12)} kept running with pid ${pid}: ${r.status}`);
  }));
  const tickLines = async () => (await d.api('GET', `/v1.50/containers/${SENTINELS[0]}/logs?stdout=1`)).body.length as number;
  const ticks0 = await tickLines();

  mark('pids');
  // Everything listed inspects.
  const nets = new Map<string, any>();
  await Promise.all([
    ...w.containers.map((c) => api('GET', `/containers/${c.id}/json`)),
    ...w.volumes.map((v) => api('GET', `/volumes/${v}`)),
    ...w.networks.map(async (n) => { nets.set(n, await api('GET', `/networks/${n}`)); }),
    ...w.images.map((i) => api('GET', `/images/${i}/json`)),
  ]);

  mark('inspect');
  // Nothing half-made on disk.
  const containersDir = join(d.dataRoot, 'containers');
  const deadline = Date.now() + 3000;
  let dirs: string[] = [];
  for (;;) { // a directory moved aside by a removal is deleted in the background
    dirs = readdirSync(containersDir);
    if (!dirs.some((x) => x.startsWith('.removing-')) || Date.now() > deadline) break;
    await sleep(100);
  }
  assert.deepEqual(dirs.filter((x) => !ids.has(x)), [], `${tag}: container directories without a container`);
  for (const id of ids) assert.ok(existsSync(join(containersDir, id)), `${tag}: container ${id} has its directory`);
  const volDirs = readdirSync(join(d.dataRoot, 'volumes')).filter((x) => x !== 'metadata.db');
  assert.deepEqual(volDirs.filter((x) => !w.volumes.includes(x)).sort(), [], `${tag}: volume directories without a volume`);
  for (const v of w.volumes) assert.ok(existsSync(join(d.dataRoot, 'volumes', v, '_data')), `${tag}: volume ${v} has its _data`);
  const ingest = readdirSync(join(d.dataRoot, 'content', 'ingest'));
  assert.deepEqual(ingest, [], `${tag}: content/ingest leftovers`);
  const db = new Database(join(d.dataRoot, 'berth.db'), { readonly: true, fileMustExist: true });
  try {
    const layers = new Set((db.prepare('SELECT chain_id FROM snapshots_layers').all() as { chain_id: string }[]).map((r) => r.chain_id.slice(7)));
    const snapDirs = readdirSync(join(d.dataRoot, 'snapshots')).filter((x) => x !== 'l' && x !== 'empty');
    assert.deepEqual(snapDirs.filter((x) => !layers.has(x)), [], `${tag}: snapshot directories without a layer record`);
    for (const l of layers) assert.ok(existsSync(join(d.dataRoot, 'snapshots', l, 'fs')), `${tag}: layer ${l} has its files`);
    // Every blob belongs to an image (an interrupted import/load/build/commit/rmi leaves none).
    const refd = new Set<string>();
    for (const r of db.prepare('SELECT id, layers, manifest_digest, index_digest FROM images_images').all() as any[]) {
      for (const x of [r.id, r.manifest_digest, r.index_digest, ...JSON.parse(r.layers).map((l: any) => l.digest)]) if (x) refd.add(String(x).replace('sha256:', ''));
    }
    const blobs = readdirSync(join(d.dataRoot, 'content', 'blobs', 'sha256'));
    assert.deepEqual(blobs.filter((b) => !refd.has(b)), [], `${tag}: blobs no image refers to`);
    for (const b of refd) assert.ok(blobs.includes(b), `${tag}: blob ${b.slice(0, 12)} of an image is there`);
  } finally { db.close(); }

  // Mounts under the data root belong to listed containers only.
  for (const m of hostMounts().filter((p) => p.startsWith(d.dataRoot + '/'))) {
    const rel = m.slice(d.dataRoot.length + 1).split('/');
    assert.ok(rel[0] === 'containers' && ids.has(rel[1]!), `${tag}: mount ${m} belongs to a listed container`);
  }
  // Network: netns pins, veths and addresses only for running containers, no IP twice.
  const runningIds = new Set(w.containers.filter((c) => c.status === 'running').map((c) => c.id));
  const netnsDir = join(d.execRoot, 'netns');
  const pinned = existsSync(netnsDir) ? readdirSync(netnsDir) : [];
  assert.deepEqual(pinned.filter((x) => !runningIds.has(x)), [], `${tag}: netns pins of containers not running`);
  const seen = new Map<string, string>();
  let endpoints = 0;
  const epList: string[] = [];
  const bridges: string[] = [];
  for (const n of w.networks) {
    if (n === 'host' || n === 'none') continue;
    const info = nets.get(n);
    bridges.push(info.Options?.['com.docker.network.bridge.name'] ?? (n === 'bridge' ? d.bridge : `br-${info.Id.slice(0, 12)}`));
    for (const [cid, ep] of Object.entries<any>(info.Containers ?? {})) {
      assert.ok(runningIds.has(cid), `${tag}: network ${n} lists ${cid.slice(0, 12)}, which is not running`);
      const ip = String(ep.IPv4Address).split('/')[0]!;
      assert.ok(!seen.has(`${n}/${ip}`), `${tag}: ${ip} on ${n} given to ${cid.slice(0, 12)} and ${seen.get(`${n}/${ip}`)?.slice(0, 12)}`);
      seen.set(`${n}/${ip}`, cid);
      epList.push(`${cid.slice(0, 12)}@${n}`);
      endpoints++;
    }
  }
  const veths = JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'type', 'veth']).toString()) as { ifname: string; master?: string }[];
  const ours = veths.filter((v) => v.master && bridges.includes(v.master));
  assert.equal(ours.length, endpoints, `${tag}: one veth per endpoint of a running container (${ours.map((v) => `${v.ifname}@${v.master}`).join(',')}; endpoints ${epList.join(',')})`);
  const table = execFileSync('nft', ['list', 'table', 'ip', d.bridge]).toString();
  for (const ip of new Set(table.match(/\b\d+\.\d+\.\d+\.\d+\b/g) ?? [])) {
    if (ip.endsWith('.0') || ip.startsWith('127.') || ip.startsWith('0.')) continue;
    const owned = [...seen.keys()].some((k) => k.endsWith(`/${ip}`));
    const gw = /\.1$/.test(ip);
    assert.ok(owned || gw, `${tag}: nft rule for ${ip}, which no running container holds`);
  }

  mark('disk+net');
  // A name that was being created is either all there or free again.
  for (const c of created) {
    if (!c) continue;
    if (c.kind === 'container') {
      const hit = w.containers.find((x) => x.name === c.name);
      if (!hit) { await ok(['create', '--name', c.name, 'busybox', 'true'], `reuse name ${c.name}`); }
    } else if (c.kind === 'network' && !w.networks.includes(c.name)) {
      await ok(['network', 'create', c.name], `reuse network name ${c.name}`);
    } else if (c.kind === 'volume' && !w.volumes.includes(c.name)) {
      await ok(['volume', 'create', c.name], `reuse volume name ${c.name}`);
    }
  }

  mark('names');
  // Every listed image runs; every container (but the sentinels) starts, stops and is removed, except
  // two running ones kept as victims for the next round.
  await Promise.all(w.images.map(async (i) => {
    const r = await docker(['run', '--rm', '--network', 'none', i, 'true']);
    assert.equal(r.code, 0, `${tag}: image ${i} runs true: ${r.stderr}`);
  }));
  mark('images run');
  const now = await world();
  const keep = new Set(now.containers.filter((c) => c.status === 'running' && !SENTINELS.includes(c.name)).slice(0, 2).map((c) => c.id));
  await Promise.all(now.containers.filter((c) => !SENTINELS.includes(c.name) && !keep.has(c.id)).map(async (c) => {
    const autoRemove = !!(await api('GET', `/containers/${c.id}/json`)).HostConfig.AutoRemove;
    if (c.status !== 'running') {
      const r = await docker(['start', c.id]);
      // A stopped container's network may have been removed (dockerd allows that: only running endpoints
      // block a network rm) and its start then fails with "network X not found", as dockerd's does.
      const gone = /network (\S+) not found/.exec(r.stderr);
      if (r.code !== 0 && gone && !now.networks.includes(gone[1]!)) {
        await ok(['rm', '-v', c.id], `rm ${c.name} (its network is gone)`);
        return;
      }
      assert.equal(r.code, 0, `seed ${SEED}: docker start ${c.name} (${c.status}): ${r.stderr}`);
    }
    const st = await docker(['stop', '-t', '0', c.id]);
    if (autoRemove) return; // --rm: gone once it ends (it may end before the stop)
    assert.equal(st.code, 0, `${tag}: stop ${c.name}: ${st.stderr}`);
    await ok(['rm', '-v', c.id], `rm ${c.name}`);
  }));
  mark('containers cycle');
  // Keep the world small: a few images, volumes and networks carry over to the next round.
  const extra = now.images.filter((i) => i !== 'busybox:latest');
  const vols = (await world()).volumes;
  await Promise.all([
    ...extra.slice(3).map((i) => ok(['rmi', i])),
    ...vols.slice(3).map((v) => docker(['volume', 'rm', v])), // one a kept container uses stays
    ...now.networks.filter((x) => x.startsWith('net-')).slice(2).map((n) => docker(['network', 'rm', n])),
  ]);

  mark('trim');
  for (let t = Date.now(); (await tickLines()) <= ticks0; await sleep(100)) {
    assert.ok(Date.now() - t < 3000, `${tag}: a sentinel's log goes on after the restart`);
  }
}

test('random operations killed at random moments leave a whole daemon', { timeout: 170_000 }, async () => {
  const t0 = Date.now();
  let round = 0;
  for (; round < ROUNDS && Date.now() - t0 < BUDGET_MS; round++) {
    const roundStart = Date.now();
    const w = await world();
    // Two running victims (ops may stop, remove, exec in, commit or connect them).
    const victims = w.containers.filter((c) => c.status === 'running' && !SENTINELS.includes(c.name));
    await Promise.all([0, 1].slice(victims.length).map(() => ok(['run', '-d', 'busybox', 'sh', '-c', 'while true; do sleep 0.2; done'])));
    const w2 = victims.length < 2 ? await world() : w;
    const before = new Map<string, number>();
    await Promise.all(w2.containers.filter((x) => x.status === 'running').map(async (c) => { before.set(c.id, await pidOf(c.id)); }));
    mark('setup');
    const ops = plan(w2, round);
    const delay = Math.floor(rand() * 300);
    note(`round ${round}: kill after ${delay} ms; ${ops.map((o) => `docker ${o.args.join(' ').replace(work, '…')}`).join(' | ')}`);
    const stopped = new Set(ops.map((o) => o.stops).filter((x): x is string => !!x));
    const running = ops.map((o) => docker(o.args, 20_000));
    await sleep(delay);
    await d.stop('SIGKILL');
    const results = await Promise.all(running);
    note(`  exits: ${results.map((r) => r.code).join(',')} (${Date.now() - roundStart} ms)`);
    await d.restart();
    try {
      await checkInvariants(round, before, stopped, ops.map((o) => o.creates));
    } catch (err) {
      process.stdout.write(`# seed ${SEED} failed; steps:\n${log.map((l) => `#   ${l}`).join('\n')}\n`);
      throw err;
    }
  }
  process.stdout.write(`# ${round} rounds in ${Date.now() - t0} ms (seed ${SEED})\n`);
  if (DEBUG) process.stdout.write(log.map((l) => `#   ${l}\n`).join(''));
  assert.ok(round >= 3, 'at least three rounds ran');
  // The sentinels ran through every kill.
  for (const s of SENTINELS) assert.equal((await docker(['inspect', '-f', '{{.State.Status}}', s])).stdout.trim(), 'running');
});
