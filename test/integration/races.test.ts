// Concurrent requests on the same object, as docker-compose, testcontainers and CI scripts send them:
// every request gets Docker's answer (success, 304, 404 or 409 in Docker's words), never a 500 or a
// hang, and the daemon's state agrees with itself afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
before(async () => { d = await startDaemon(); await importBusybox(d); });
after(async () => { if (d) await destroyDaemon(d); });

interface Res { status: number; body: any }

/** One API call with a deadline: a hang shows up as status -1 instead of stalling the test. */
function call(method: string, path: string, body?: unknown, ms = 20_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request({ socketPath: d.socket, method, path: `/v1.50${path}`, headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString();
        let parsed: any = text;
        try { parsed = text ? JSON.parse(text) : undefined; } catch { /* a stream */ }
        resolve({ status: res.statusCode!, body: parsed });
      });
      res.on('error', () => { clearTimeout(timer); resolve({ status: res.statusCode!, body: undefined }); });
    });
    const timer = setTimeout(() => { req.destroy(); resolve({ status: -1, body: `timeout: ${method} ${path}` }); }, ms);
    req.on('error', (err) => { clearTimeout(timer); reject(err); });
    req.end(data);
  });
}

// Mostly a few ms, sometimes up to ~150 ms: the second request lands anywhere from "at once" to the
// middle of the first one's work (a start takes ~100 ms here), which is where the races are.
const jitter = () => new Promise((r) => setTimeout(r, Math.floor(Math.random() ** 2 * 150)));

/** Run the calls at once, each after a small random delay. */
function race(...fns: (() => Promise<Res>)[]): Promise<Res[]> {
  return Promise.all(fns.map(async (f) => { await jitter(); return f(); }));
}

/** Every answer is one Docker gives: 2xx, 304, 404 or 409 (never a 500 or a hang). */
function docker(rs: Res[], what: string, allowed: number[] = [200, 201, 204, 304, 404, 409]): void {
  if (process.env.BERTH_RACE_DEBUG) console.log(what, rs.map((r) => `${r.status}${r.status >= 300 ? ` ${JSON.stringify(r.body?.message ?? r.body)?.slice(0, 120)}` : ''}`));
  for (const r of rs) assert.ok(allowed.includes(r.status), `${what}: ${r.status} ${JSON.stringify(r.body)?.slice(0, 300)}`);
}

let logSeen = 0;
/** No request since the last check made the daemon log "handler failed" (a 5xx). */
function noHandlerFailures(what: string): void {
  const text = readFileSync(d.logFile, 'utf8');
  const fresh = text.slice(logSeen);
  logSeen = text.length;
  const bad = fresh.split('\n').filter((l) => l.includes('handler failed'));
  assert.deepEqual(bad, [], `${what}: daemon log`);
}

/** ps -a and inspect agree; nothing under the data root stays mounted for a container that is gone. */
async function consistent(what: string): Promise<void> {
  const ps = await call('GET', '/containers/json?all=1');
  assert.equal(ps.status, 200);
  const ids = new Set<string>(ps.body.map((c: { Id: string }) => c.Id));
  for (const id of ids) {
    const i = await call('GET', `/containers/${id}/json`);
    assert.equal(i.status, 200, `${what}: listed ${id} but inspect says ${i.status}`);
    assert.notEqual(i.body.State.Status, 'removing', `${what}: ${id} stuck in removing`);
    const listed = ps.body.find((c: { Id: string }) => c.Id === id);
    assert.equal(listed.State, i.body.State.Status, `${what}: ps and inspect disagree for ${id}`);
  }
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(join(d.dataRoot, 'containers')));
  for (const m of mounts) {
    const id = /containers\/([a-f0-9]{64})\//.exec(m)?.[1];
    assert.ok(id && ids.has(id), `${what}: leftover mount ${m}`);
  }
  noHandlerFailures(what);
}

/** The daemon's endpoint records of a container (read-only look into its database: inspect hides unplumbed ones). */
function endpointRows(id: string): number {
  const db = new Database(join(d.dataRoot, 'berth.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM network_endpoints WHERE container_id = ?').get(id) as { n: number }).n;
  } finally {
    db.close();
  }
}

async function create(name?: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await call('POST', `/containers/create${name ? `?name=${name}` : ''}`, { Image: 'busybox', Cmd: ['sleep', '600'], ...extra });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.Id;
}
async function running(extra: Record<string, unknown> = {}): Promise<string> {
  const id = await create(undefined, extra);
  const s = await call('POST', `/containers/${id}/start`);
  assert.equal(s.status, 204, JSON.stringify(s.body));
  return id;
}
async function gone(id: string): Promise<void> {
  const i = await call('GET', `/containers/${id}/json`);
  if (i.status === 200) await call('DELETE', `/containers/${id}?force=1`);
}

test('create with the same name five times: one wins, the others get Docker\'s name conflict', async () => {
  for (let round = 0; round < 3; round++) {
    const before = (await call('GET', '/volumes')).body.Volumes?.length ?? 0;
    // With an anonymous volume: the losers must not leave theirs behind.
    const rs = await race(...Array.from({ length: 5 }, () => () => call('POST', '/containers/create?name=same', { Image: 'busybox', Cmd: ['true'], Volumes: { '/data': {} } })));
    const won = rs.filter((r) => r.status === 201);
    assert.equal(won.length, 1, JSON.stringify(rs));
    const id = won[0]!.body.Id;
    for (const r of rs.filter((x) => x.status !== 201)) {
      assert.equal(r.status, 409);
      assert.equal(r.body.message, `Conflict. The container name "/same" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    const ps = await call('GET', '/containers/json?all=1');
    assert.equal(ps.body.filter((c: { Names: string[] }) => c.Names.includes('/same')).length, 1);
    assert.equal((await call('GET', '/volumes')).body.Volumes?.length ?? 0, before + 1, 'anonymous volumes of the losing creates left behind');
    await consistent('create ×5');
    assert.equal((await call('DELETE', `/containers/${id}?v=1`)).status, 204);
  }
});

test('rm -f three times at once: one removes, the others 204 or Docker\'s 404/409', async () => {
  for (let round = 0; round < 3; round++) {
    const id = await running();
    const rs = await race(...Array.from({ length: 3 }, () => () => call('DELETE', `/containers/${id}?force=1`)));
    docker(rs, 'rm -f ×3', [204, 404, 409]);
    assert.ok(rs.some((r) => r.status === 204));
    for (const r of rs.filter((x) => x.status === 409)) assert.equal(r.body.message, `removal of container ${id} is already in progress`);
    for (const r of rs.filter((x) => x.status === 404)) assert.equal(r.body.message, `No such container: ${id}`);
    assert.equal((await call('GET', `/containers/${id}/json`)).status, 404);
    await consistent('rm -f ×3');
  }
});

test('start three times at once: one starts, the others are 304s', async () => {
  for (let round = 0; round < 3; round++) {
    const id = await create();
    const rs = await race(...Array.from({ length: 3 }, () => () => call('POST', `/containers/${id}/start`)));
    docker(rs, 'start ×3', [204, 304]);
    assert.equal(rs.filter((r) => r.status === 204).length, 1, JSON.stringify(rs.map((r) => r.status)));
    const i = await call('GET', `/containers/${id}/json`);
    assert.equal(i.body.State.Status, 'running');
    await consistent('start ×3');
    await gone(id);
  }
});

test('rm -f racing each lifecycle and stream operation', async () => {
  type Op = (id: string) => Promise<Res>;
  const ops: Record<string, Op> = {
    start: (id) => call('POST', `/containers/${id}/start`),
    stop: (id) => call('POST', `/containers/${id}/stop?t=1`),
    kill: (id) => call('POST', `/containers/${id}/kill`),
    restart: (id) => call('POST', `/containers/${id}/restart?t=1`),
    pause: (id) => call('POST', `/containers/${id}/pause`),
    exec: async (id) => {
      const e = await call('POST', `/containers/${id}/exec`, { Cmd: ['true'], AttachStdout: true });
      if (e.status !== 201) return e;
      return call('POST', `/exec/${e.body.Id}/start`, { Detach: false });
    },
    'exec -d': async (id) => {
      const e = await call('POST', `/containers/${id}/exec`, { Cmd: ['sleep', '1'] });
      if (e.status !== 201) return e;
      return call('POST', `/exec/${e.body.Id}/start`, { Detach: true });
    },
    attach: (id) => call('POST', `/containers/${id}/attach?stream=1&stdout=1&stderr=1`),
    wait: (id) => call('POST', `/containers/${id}/wait`),
    logs: (id) => call('GET', `/containers/${id}/logs?follow=1&stdout=1&stderr=1`),
    rename: (id) => call('POST', `/containers/${id}/rename?name=r${id.slice(0, 8)}`),
    commit: (id) => call('POST', `/commit?container=${id}&repo=racecommit`),
    cp: (id) => call('GET', `/containers/${id}/archive?path=/etc/hostname`),
  };
  for (const [name, op] of Object.entries(ops)) {
    for (let round = 0; round < 4; round++) {
      const id = name === 'start' && round === 0 ? await create() : await running();
      // The operation lands at a different point of the rm each round (before it, during the kill, during the cleanup).
      const lag = [0, 8, 20, 40][round]!;
      const rs = await Promise.all([
        call('DELETE', `/containers/${id}?force=1`),
        (async () => { await new Promise((r) => setTimeout(r, lag)); return op(id); })(),
      ]);
      docker(rs, `rm -f vs ${name}`);
      assert.equal(rs[0]!.status, 204, `rm -f vs ${name}: ${JSON.stringify(rs[0]!.body)}`);
      assert.equal((await call('GET', `/containers/${id}/json`)).status, 404, `rm -f vs ${name}: still there`);
      await consistent(`rm -f vs ${name}`);
    }
  }
  await call('DELETE', '/images/racecommit?force=1');
});

test('an attach waiting on an exited container ends when the container is removed', async () => {
  // The window rm -f vs attach hits: the exit is recorded, the rm has not run yet, so the attach waits for a start.
  const id = await create(undefined, { Cmd: ['true'] });
  assert.equal((await call('POST', `/containers/${id}/start`)).status, 204);
  await call('POST', `/containers/${id}/wait`);
  const attached = call('POST', `/containers/${id}/attach?stream=1&stdout=1&stderr=1`, undefined, 5000);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await call('DELETE', `/containers/${id}`)).status, 204);
  assert.notEqual((await attached).status, -1, 'attach still waiting after the rm');
  await consistent('attach then rm');
});

test('stop racing restart, pause racing stop', async () => {
  for (let round = 0; round < 3; round++) {
    const id = await running();
    const rs = await race(() => call('POST', `/containers/${id}/stop?t=1`), () => call('POST', `/containers/${id}/restart?t=1`));
    docker(rs, 'stop vs restart', [204, 304, 409]);
    await consistent('stop vs restart');
    const st = (await call('GET', `/containers/${id}/json`)).body.State.Status;
    assert.ok(['running', 'exited'].includes(st), st);
    if (st !== 'running') assert.equal((await call('POST', `/containers/${id}/start`)).status, 204);
    const ps = await race(() => call('POST', `/containers/${id}/pause`), () => call('POST', `/containers/${id}/stop?t=1`));
    docker(ps, 'pause vs stop', [204, 304, 409]);
    // Whatever the order, the stop wins in the end: a stop of a paused container thaws and stops it.
    await new Promise((r) => setTimeout(r, 200));
    const after = (await call('GET', `/containers/${id}/json`)).body.State.Status;
    if (after === 'paused') assert.equal((await call('POST', `/containers/${id}/stop?t=1`)).status, 204);
    await consistent('pause vs stop');
    assert.equal((await call('DELETE', `/containers/${id}?force=1`)).status, 204);
  }
});

test('a pause landing in the middle of a stop does not hang the stop', async () => {
  for (const lag of [100, 600, 1100]) {
    const id = await running();
    const stop = call('POST', `/containers/${id}/stop?t=1`);
    await new Promise((r) => setTimeout(r, lag));
    const p = await call('POST', `/containers/${id}/pause`);
    docker([p], 'pause during stop', [204, 409]);
    const st = await stop;
    assert.equal(st.status, 204, `stop: ${st.status} ${JSON.stringify(st.body)}`);
    const after = (await call('GET', `/containers/${id}/json`)).body.State.Status;
    assert.equal(after, 'exited', `after stop+pause: ${after}`);
    assert.equal((await call('DELETE', `/containers/${id}`)).status, 204);
    await consistent('pause during stop');
  }
});

test('network connect three times at once, connect racing disconnect and network rm', async () => {
  // network create ×3: one name once (dockerd's 409), three names three distinct subnets.
  const same = await race(...Array.from({ length: 3 }, () => () => call('POST', '/networks/create', { Name: 'racenet' })));
  docker(same, 'network create ×3', [201, 409]);
  assert.equal(same.filter((r) => r.status === 201).length, 1);
  for (const r of same.filter((x) => x.status === 409)) assert.equal(r.body.message, 'network with name racenet already exists');
  const many = await race(...[1, 2, 3].map((i) => () => call('POST', '/networks/create', { Name: `racemany${i}` })));
  docker(many, 'network create of three names', [201]);
  const subnets = await Promise.all([1, 2, 3].map(async (i) => (await call('GET', `/networks/racemany${i}`)).body.IPAM.Config[0].Subnet));
  assert.equal(new Set(subnets).size, 3, `subnets ${subnets}`);
  for (const i of [1, 2, 3]) assert.equal((await call('DELETE', `/networks/racemany${i}`)).status, 204);
  for (let round = 0; round < 3; round++) {
    const id = await running();
    const name = (await call('GET', `/containers/${id}/json`)).body.Name.slice(1);
    const rs = await race(...Array.from({ length: 3 }, () => () => call('POST', '/networks/racenet/connect', { Container: id })));
    docker(rs, 'connect ×3', [200, 403]);
    assert.equal(rs.filter((r) => r.status === 200).length, 1);
    for (const r of rs.filter((x) => x.status === 403)) assert.equal(r.body.message, `endpoint with name ${name} already exists in network racenet`);
    const cd = await race(() => call('POST', '/networks/racenet/disconnect', { Container: id }), () => call('POST', '/networks/racenet/connect', { Container: id }));
    docker(cd, 'connect vs disconnect', [200, 403]);
    const nets = Object.keys((await call('GET', `/containers/${id}/json`)).body.NetworkSettings.Networks);
    const members = Object.keys((await call('GET', '/networks/racenet')).body.Containers ?? {});
    assert.equal(nets.includes('racenet'), members.includes(id), `inspect ${nets} vs network ${members}`);
    assert.equal((await call('DELETE', `/containers/${id}?force=1`)).status, 204);
    await consistent('connect races');
  }
  // connect racing network rm: either the connect wins (and the rm gets 403 active endpoints) or the rm wins (connect 404).
  for (let round = 0; round < 3; round++) {
    const n = await call('POST', '/networks/create', { Name: `racenet${round}` });
    assert.equal(n.status, 201);
    const id = await running();
    const rs = await race(() => call('POST', `/networks/racenet${round}/connect`, { Container: id }), () => call('DELETE', `/networks/racenet${round}`));
    docker(rs, 'connect vs network rm', [200, 204, 403, 404]);
    const exists = (await call('GET', `/networks/racenet${round}`)).status === 200;
    const nets = Object.keys((await call('GET', `/containers/${id}/json`)).body.NetworkSettings.Networks);
    assert.equal(nets.includes(`racenet${round}`), exists, `network ${exists ? 'kept' : 'gone'} but container on ${nets}`);
    assert.equal((await call('DELETE', `/containers/${id}?force=1`)).status, 204);
    if (exists) assert.equal((await call('DELETE', `/networks/racenet${round}`)).status, 204);
    await consistent('connect vs network rm');
  }
  // connect racing the container's rm -f: the network keeps no endpoint of a container that is gone.
  for (let round = 0; round < 12; round++) {
    const id = await running();
    // The connect lands at a different point of the rm each round (an rm -f takes ~30-60 ms here).
    const rs = await Promise.all([
      (async () => { await new Promise((r) => setTimeout(r, round * 5)); return call('POST', '/networks/racenet/connect', { Container: id }); })(),
      call('DELETE', `/containers/${id}?force=1`),
    ]);
    docker(rs, 'connect vs rm -f', [200, 204, 404, 409]);
    assert.equal(rs[1]!.status, 204);
    const members = Object.keys((await call('GET', '/networks/racenet')).body.Containers ?? {});
    assert.ok(!members.includes(id), 'network lists a removed container');
    assert.equal(endpointRows(id), 0, 'endpoint records left for a removed container');
    await consistent('connect vs rm -f');
  }
  assert.equal((await call('DELETE', '/networks/racenet')).status, 204);
});

test('volume rm racing run -v, volume create three times with the same name', async () => {
  for (let round = 0; round < 4; round++) {
    const cs = await race(...Array.from({ length: 3 }, () => () => call('POST', '/volumes/create', { Name: 'racevol' })));
    docker(cs, 'volume create ×3', [201]);
    assert.ok(cs.every((c) => c.body.Name === 'racevol' && c.body.CreatedAt === cs[0]!.body.CreatedAt));
    const rs = await race(
      async () => {
        const c = await call('POST', '/containers/create', { Image: 'busybox', Cmd: ['sleep', '600'], HostConfig: { Binds: ['racevol:/x'] } });
        if (c.status !== 201) return c;
        const s = await call('POST', `/containers/${c.body.Id}/start`);
        return s.status === 204 ? c : s;
      },
      () => call('DELETE', '/volumes/racevol'),
    );
    docker(rs, 'run -v vs volume rm', [201, 204, 409]);
    const [run, rm] = rs as [Res, Res];
    if (rm.status === 409) assert.match(rm.body.message, /^remove racevol: volume is in use - \[[0-9a-f]{64}\]$/);
    // Whatever the order, a container that runs has its volume.
    if (run.status === 201) {
      const m = (await call('GET', `/containers/${run.body.Id}/json`)).body.Mounts[0];
      assert.equal(m.Name, 'racevol');
      assert.equal((await call('GET', '/volumes/racevol')).status, 200, 'a container uses a volume that is gone');
      assert.ok(existsSync(m.Source), 'volume directory gone under a container');
      assert.equal((await call('DELETE', `/containers/${run.body.Id}?force=1`)).status, 204);
    }
    await call('DELETE', '/volumes/racevol');
    await consistent('run -v vs volume rm');
  }
});

test('rmi racing run of that image; tag racing rmi; image prune racing a create from a dangling image', async () => {
  for (let round = 0; round < 3; round++) {
    assert.equal((await call('POST', '/images/busybox/tag?repo=raceimg&tag=latest')).status, 201);
    // The image has a second name so rmi raceimg only untags; rmi by id forced is the real delete.
    const img = (await call('GET', '/images/raceimg/json')).body.Id;
    const rs = await race(
      async () => {
        const c = await call('POST', '/containers/create', { Image: 'raceimg', Cmd: ['true'] });
        if (c.status !== 201) return c;
        const s = await call('POST', `/containers/${c.body.Id}/start`);
        return s.status === 204 ? c : s;
      },
      () => call('DELETE', '/images/raceimg'),
    );
    docker(rs, 'run vs rmi', [200, 201, 404, 409]);
    const [run] = rs as [Res];
    if (run.status === 201) {
      assert.equal((await call('POST', `/containers/${run.body.Id}/wait`)).body.StatusCode, 0);
      assert.equal((await call('DELETE', `/containers/${run.body.Id}`)).status, 204);
    }
    assert.equal((await call('GET', `/images/${img}/json`)).status, 200);
    await call('DELETE', '/images/raceimg');
    const tr = await race(() => call('POST', '/images/busybox/tag?repo=racetag&tag=x'), () => call('DELETE', '/images/racetag:x'));
    docker(tr, 'tag vs rmi', [200, 201, 404]);
    await call('DELETE', '/images/racetag:x');
    await consistent('image races');
  }
  // rmi -f of the image by id racing a run: the container that gets created runs (its layers stay).
  for (let round = 0; round < 6; round++) {
    const c = await call('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'] });
    const commit = await call('POST', `/commit?container=${c.body.Id}&repo=forced&tag=r${round}`);
    assert.equal(commit.status, 201);
    await call('DELETE', `/containers/${c.body.Id}`);
    const img = commit.body.Id as string;
    const rs = await Promise.all([
      call('POST', '/containers/create', { Image: img, Cmd: ['true'] }),
      (async () => { await new Promise((r) => setTimeout(r, round * 4)); return call('DELETE', `/images/${img}?force=1`); })(),
    ]);
    docker(rs, 'run vs rmi -f', [200, 201, 404, 409]);
    const cr = rs[0]!;
    if (cr.status === 201) {
      const s = await call('POST', `/containers/${cr.body.Id}/start`);
      assert.equal(s.status, 204, `start after rmi -f: ${JSON.stringify(s.body)}`);
      assert.equal((await call('POST', `/containers/${cr.body.Id}/wait`)).body.StatusCode, 0);
      await call('DELETE', `/containers/${cr.body.Id}`);
    }
    await call('DELETE', `/images/${img}?force=1`);
    await consistent('run vs rmi -f');
  }
  // A dangling image (no name) that a container is being created from must survive a prune.
  for (let round = 0; round < 3; round++) {
    const c = await call('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'] });
    const commit = await call('POST', `/commit?container=${c.body.Id}`);
    assert.equal(commit.status, 201);
    await call('DELETE', `/containers/${c.body.Id}`);
    const dangling = commit.body.Id as string;
    const rs = await race(
      () => call('POST', '/containers/create', { Image: dangling, Cmd: ['true'] }),
      () => call('POST', '/images/prune'),
    );
    docker(rs, 'create vs image prune', [200, 201, 404]);
    const [cr] = rs as [Res];
    if (cr.status === 201) {
      assert.equal((await call('GET', `/images/${dangling}/json`)).status, 200, 'image pruned under a new container');
      const s = await call('POST', `/containers/${cr.body.Id}/start`);
      assert.equal(s.status, 204, JSON.stringify(s.body));
      await call('POST', `/containers/${cr.body.Id}/wait`);
      await call('DELETE', `/containers/${cr.body.Id}`);
    } else assert.equal(cr.body.message, `No such image: ${dangling}`);
    await call('POST', '/images/prune');
    await consistent('create vs image prune');
  }
});

test('container prune and system prune while containers start', async () => {
  for (let round = 0; round < 4; round++) {
    const ids = await Promise.all([create(), create(), create()]);
    // The prune lands at a different point of the starts each round (negative: the starts come later).
    const lag = [-20, -5, 10, 40][round]!;
    const after = (ms: number, f: () => Promise<Res>) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms))).then(f);
    const rs = await Promise.all([
      ...ids.map((id, i) => after(-lag + i * 3, () => call('POST', `/containers/${id}/start`))),
      after(lag, () => call('POST', '/containers/prune')),
    ]);
    docker(rs, 'start vs prune', [200, 204, 404, 409]);
    const pruned: string[] = rs[3]!.body.ContainersDeleted ?? [];
    for (const [i, id] of ids.entries()) {
      const st = await call('GET', `/containers/${id}/json`);
      if (pruned.includes(id)) {
        assert.equal(st.status, 404, `${id} pruned but still there`);
        assert.ok([404, 409].includes(rs[i]!.status), `start of a pruned container answered ${rs[i]!.status}`);
      } else {
        assert.equal(st.body.State.Status, 'running', `${id} neither pruned nor running`);
        assert.equal(rs[i]!.status, 204);
      }
    }
    await consistent('start vs prune');
    for (const id of ids) await gone(id);
  }
});

test('the docker CLI: create --name ×5, system prune -f while containers start', async () => {
  const rs = await Promise.all(Array.from({ length: 5 }, async () => { await jitter(); return d.docker(['create', '--name', 'clisame', 'busybox', 'true']); }));
  const won = rs.filter((r) => r.code === 0);
  assert.equal(won.length, 1, rs.map((r) => r.stderr).join(''));
  const id = won[0]!.stdout.trim();
  for (const r of rs.filter((x) => x.code !== 0)) {
    assert.equal(r.stderr.trim(), `Error response from daemon: Conflict. The container name "/clisame" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`);
  }
  assert.equal((await d.docker(['rm', 'clisame'])).code, 0);
  const ids = await Promise.all([create(), create()]);
  const out = await Promise.all([
    ...ids.map(async (c) => { await jitter(); return d.docker(['start', c]); }),
    (async () => { await jitter(); return d.docker(['system', 'prune', '-f']); })(),
  ]);
  assert.equal(out[2]!.code, 0, out[2]!.stderr);
  for (const [i, c] of ids.entries()) {
    const st = await call('GET', `/containers/${c}/json`);
    if (st.status === 404) assert.notEqual(out[i]!.code, 0, 'start said ok for a container prune removed');
    else assert.equal(st.body.State.Status, 'running');
  }
  await consistent('system prune vs start');
  for (const c of ids) await gone(c);
});

test('nothing leaked: no veth on the bridge, no lease, no mount for containers that are gone', async () => {
  const ps = await call('GET', '/containers/json?all=1');
  for (const c of ps.body) await call('DELETE', `/containers/${c.Id}?force=1`);
  await new Promise((r) => setTimeout(r, 300));
  const veths = execFileSync('ip', ['-o', 'link', 'show', 'master', d.bridge], { encoding: 'utf8' }).trim();
  assert.equal(veths, '', `interfaces left on ${d.bridge}`);
  const bridge = await call('GET', '/networks/bridge');
  assert.deepEqual(bridge.body.Containers ?? {}, {}, 'addresses still leased on the default bridge');
  const nets = await call('GET', '/networks');
  assert.deepEqual(nets.body.map((n: { Name: string }) => n.Name).sort(), ['bridge', 'host', 'none']);
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(d.dataRoot));
  assert.deepEqual(mounts.filter((l) => !l.includes('/volumes/')), [], 'mounts left under the data root');
  await consistent('at the end');
});
