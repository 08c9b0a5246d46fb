// Focused regressions for what the crash torture (crash-torture.test.ts) found: each puts berthd into
// one state a kill -9 can leave, kills it, and checks the restart repairs it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
before(async () => { d = await startDaemon(); await importBusybox(d); });
after(async () => { if (d) await destroyDaemon(d); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const inspect = async (ref: string, fmt: string) => (await d.docker(['inspect', '-f', fmt, ref])).stdout.trim();

test('a commit cut short by kill -9 leaves its container running, not paused; a user pause stays', async () => {
  // 48 MB of noise in the upper layer: the commit (which pauses the container) takes a while.
  await d.docker(['run', '-d', '--name', 'committed', 'busybox', 'sh', '-c', 'head -c 50000000 /dev/urandom > /noise; touch /ready; sleep 1000']);
  for (let i = 0; (await d.docker(['exec', 'committed', 'test', '-e', '/ready'])).code !== 0; i++) { assert.ok(i < 100, 'noise written'); await sleep(100); }
  await d.docker(['run', '-d', '--name', 'frozen', 'busybox', 'sleep', '1000']);
  assert.equal((await d.docker(['pause', 'frozen'])).code, 0);
  const pid = await inspect('committed', '{{.State.Pid}}');
  const commit = d.api('POST', '/v1.50/commit?container=committed&repo=halfcommit').catch(() => undefined);
  for (let i = 0; (await d.api('GET', '/v1.50/containers/committed/json')).body.State.Status !== 'paused'; i++) {
    assert.ok(i < 500, 'the commit paused the container');
    await sleep(10);
  }
  await d.stop('SIGKILL');
  await commit;
  await d.restart();
  assert.equal(await inspect('committed', '{{.State.Status}} {{.State.Pid}}'), `running ${pid}`);
  assert.equal((await d.docker(['exec', 'committed', 'true'])).code, 0, 'not frozen');
  assert.equal(await inspect('frozen', '{{.State.Status}}'), 'paused', 'a pause the user asked for survives');
  assert.equal((await d.docker(['rm', '-f', 'committed', 'frozen'])).code, 0);
});

test('a kill -9 in the middle of an import leaves no ingest file and no blob without an image', async () => {
  const child = spawn('sh', ['-c', `(tar -C / -cf - bin/busybox; sleep 5) | docker import - halfway:1`], { env: d.env, stdio: 'ignore' });
  const ingest = join(d.dataRoot, 'content', 'ingest');
  for (let i = 0; readdirSync(ingest).length === 0; i++) { assert.ok(i < 200, 'the import is writing'); await sleep(20); }
  await d.stop('SIGKILL');
  child.kill('SIGKILL');
  // And a blob committed for an image that was never recorded (a kill between the two).
  const orphan = Buffer.from('a layer whose image was never recorded');
  const hex = createHash('sha256').update(orphan).digest('hex');
  writeFileSync(join(d.dataRoot, 'content', 'blobs', 'sha256', hex), orphan, { mode: 0o444 });
  await d.restart();
  assert.deepEqual(readdirSync(ingest), []);
  const db = new Database(join(d.dataRoot, 'berth.db'), { readonly: true });
  const refd = new Set<string>();
  for (const r of db.prepare('SELECT id, layers, manifest_digest FROM images_images').all() as any[]) {
    for (const x of [r.id, r.manifest_digest, ...JSON.parse(r.layers).map((l: any) => l.digest)]) if (x) refd.add(x.slice(7));
  }
  db.close();
  assert.deepEqual(readdirSync(join(d.dataRoot, 'content', 'blobs', 'sha256')).filter((b) => !refd.has(b)), []);
  assert.equal((await d.docker(['run', '--rm', 'busybox', 'echo', 'ok'])).stdout, 'ok\n', 'images kept their blobs');
});

test('a network connect cut short by kill -9 is finished at restart', async () => {
  assert.equal((await d.docker(['network', 'create', 'halfnet'])).code, 0);
  await d.docker(['run', '-d', '--name', 'joiner', 'busybox', 'sleep', '1000']);
  const pid = await inspect('joiner', '{{.State.Pid}}');
  assert.equal((await d.docker(['network', 'connect', 'halfnet', 'joiner'])).code, 0);
  const net = JSON.parse((await d.docker(['network', 'inspect', 'halfnet'])).stdout)[0];
  const bridge = `br-${net.Id.slice(0, 12)}`;
  const ip = String(Object.values<any>(net.Containers)[0].IPv4Address).split('/')[0]!;
  const veths = () => (JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'master', bridge]).toString()) as { ifname: string }[]).map((l) => l.ifname);
  assert.equal(veths().length, 1);
  // What a kill between the lease (recorded) and the veth (made after) leaves: the endpoint, no link.
  await d.stop('SIGKILL');
  execFileSync('ip', ['link', 'del', veths()[0]!]);
  await d.restart();
  assert.equal(await inspect('joiner', '{{.State.Status}} {{.State.Pid}}'), `running ${pid}`);
  assert.equal(veths().length, 1, 'the veth is made again');
  const addr = await d.docker(['exec', 'joiner', 'ip', '-o', '-4', 'addr', 'show']);
  assert.match(addr.stdout, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`), 'the container has its address on the network');
  const gw = net.IPAM.Config[0].Gateway as string;
  assert.equal((await d.docker(['exec', 'joiner', 'ping', '-c', '1', '-W', '2', gw])).code, 0, 'and reaches its gateway');
  assert.equal((await d.docker(['rm', '-f', 'joiner'])).code, 0);
  assert.equal((await d.docker(['network', 'rm', 'halfnet'])).code, 0);
});

test('a start cut short by kill -9 (runtime container made, record not yet running) is undone', async () => {
  const { mkdtempSync, writeFileSync: write, chmodSync, existsSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  // A crun that, while `hold` exists, stalls `start` (after conmon's `create` made the container):
  // berthd is then between the runtime's create and the save that records the container running.
  // Not named crun, so berthd starts through the CLI (with crun it writes crun's exec fifo itself).
  const dir = mkdtempSync(join(tmpdir(), 'berth-slowstart-'));
  const hold = join(dir, 'hold');
  const stalled = join(dir, 'stalled');
  write(join(dir, 'slowcrun'), `#!/bin/sh\ncase " $* " in *" start "*) if [ -e ${hold} ]; then echo $$ > ${stalled}; sleep 30; exit 1; fi;; esac\nexec /usr/bin/crun "$@"\n`);
  chmodSync(join(dir, 'slowcrun'), 0o755);
  const d2 = await startDaemon({ runtime: join(dir, 'slowcrun') });
  try {
    await importBusybox(d2);
    assert.equal((await d2.docker(['create', '--name', 'halfstart', 'busybox', 'sleep', '1000'])).code, 0);
    write(hold, '');
    const starting = d2.docker(['start', 'halfstart']);
    for (let i = 0; !existsSync(stalled); i++) { assert.ok(i < 300, 'the start reached the runtime'); await sleep(20); }
    await d2.stop('SIGKILL');
    await starting;
    try { process.kill(Number(readFileSync(stalled, 'utf8')), 'SIGKILL'); } catch { /* gone */ }
    rmSync(hold);
    await d2.restart();
    assert.equal((await d2.docker(['inspect', '-f', '{{.State.Status}}', 'halfstart'])).stdout.trim(), 'created');
    const st = await d2.docker(['start', 'halfstart']);
    assert.equal(st.code, 0, st.stderr);
    assert.equal((await d2.docker(['inspect', '-f', '{{.State.Status}}', 'halfstart'])).stdout.trim(), 'running');
    assert.equal((await d2.docker(['rm', '-f', 'halfstart'])).code, 0);
  } finally {
    await destroyDaemon(d2);
    rmSync(dir, { recursive: true, force: true });
  }
});
