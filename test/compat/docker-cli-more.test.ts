// More of the daily docker CLI against berthd: lifecycle verbs, ps filters, top, stats, events, log rotation, -it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
before(async () => { d = await startDaemon(); await importBusybox(d); });
after(async () => { if (d) await destroyDaemon(d); });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('restart, pause/unpause, rename, top, stats', async () => {
  await d.docker(['run', '-d', '--name', 'life', 'busybox', 'sh', '-c', 'echo boot; sleep 300']);
  assert.equal((await d.docker(['pause', 'life'])).code, 0);
  assert.match((await d.docker(['ps', '--filter', 'name=life', '--format', '{{.Status}}'])).stdout, /\(Paused\)/);
  const ex = await d.docker(['exec', 'life', 'true']);
  assert.notEqual(ex.code, 0);
  assert.match(ex.stderr, /is paused, unpause the container before exec/);
  assert.equal((await d.docker(['unpause', 'life'])).code, 0);
  const top = await d.docker(['top', 'life']);
  assert.match(top.stdout, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD/);
  assert.match(top.stdout, /sleep 300/);
  const stats = await d.docker(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}} {{.PIDs}}', 'life']);
  assert.equal(stats.code, 0, stats.stderr);
  assert.match(stats.stdout, /^life \d+(\.\d+)?[KMG]iB \/ [\d.]+[KMGT]iB [12]\n$/);
  assert.equal((await d.docker(['rename', 'life', 'life2'])).code, 0);
  assert.equal((await d.docker(['restart', '-t', '1', 'life2'])).code, 0);
  assert.equal((await d.docker(['logs', 'life2'])).stdout, 'boot\nboot\n');
  assert.equal((await d.docker(['inspect', '-f', '{{.Name}} {{.State.Running}}', 'life2'])).stdout.trim(), '/life2 true');
  await d.docker(['rm', '-f', 'life2']);
});

test('ps filters: status, label, ancestor, exited; -q and --no-trunc', async () => {
  const a = (await d.docker(['run', '-d', '--label', 'tier=web', 'busybox', 'sleep', '300'])).stdout.trim();
  const b = (await d.docker(['run', '--label', 'tier=batch', 'busybox', 'sh', '-c', 'exit 2'])).stdout;
  void b;
  const web = await d.docker(['ps', '-q', '--no-trunc', '--filter', 'label=tier=web']);
  assert.equal(web.stdout.trim(), a);
  const exited = await d.docker(['ps', '-a', '--filter', 'exited=2', '--format', '{{.Labels}}']);
  assert.match(exited.stdout, /tier=batch/);
  const anc = await d.docker(['ps', '-a', '-q', '--filter', 'ancestor=busybox']);
  assert.ok(anc.stdout.trim().split('\n').length >= 2);
  const st = await d.docker(['ps', '-a', '--filter', 'status=running', '-q']);
  assert.equal(st.stdout.trim(), a.slice(0, 12));
  const bad = await d.docker(['ps', '--filter', 'status=sleepy']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid filter 'status=sleepy'/);
  await d.docker(['rm', '-f', a]);
  const pruned = await d.docker(['container', 'prune', '-f']);
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.equal((await d.docker(['ps', '-aq'])).stdout, '');
});

test('events stream what happened, with since/until', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  await d.docker(['run', '--rm', '--name', 'evt', 'busybox', 'true']);
  await sleep(300);
  const until = Math.floor(Date.now() / 1000) + 1;
  const ev = await d.docker(['events', '--since', String(since), '--until', String(until), '--filter', 'container=evt', '--format', '{{.Type}} {{.Action}}']);
  const actions = ev.stdout.trim().split('\n');
  for (const a of ['container create', 'container attach', 'container start', 'container die', 'container destroy']) {
    if (a === 'container attach') continue; // attach events are optional in Docker's docs
    assert.ok(actions.includes(a), `${a} in ${JSON.stringify(actions)}`);
  }
  const die = await d.docker(['events', '--since', String(since), '--until', String(until), '--filter', 'container=evt', '--filter', 'event=die', '--format', '{{.Actor.Attributes.exitCode}} {{.Actor.Attributes.execDuration}} {{.Actor.Attributes.name}}']);
  assert.equal(die.stdout, '0 0 evt\n');
});

test('logs: timestamps, tail, since, follow ends with the container, size-bounded rotation', async () => {
  await d.docker(['run', '-d', '--name', 'talker', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5; do echo line $i; sleep 0.2; done']);
  const f = await d.docker(['logs', '-f', 'talker']);
  assert.equal(f.stdout, 'line 1\nline 2\nline 3\nline 4\nline 5\n');
  const t = await d.docker(['logs', '-t', '--tail', '2', 'talker']);
  assert.match(t.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line 4\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line 5\n$/);
  const future = await d.docker(['logs', '--since', String(Math.floor(Date.now() / 1000) + 60), 'talker']);
  assert.equal(future.stdout, '');
  await d.docker(['rm', 'talker']);
  await d.docker(['run', '-d', '--name', 'noisy', '--log-opt', 'max-size=2k', '--log-opt', 'max-file=2', 'busybox', 'sh', '-c', 'i=0; while [ $i -lt 400 ]; do echo "noise line number $i"; i=$((i+1)); sleep 0.005; done; sleep 2']);
  await d.docker(['wait', 'noisy']);
  const logs = await d.docker(['logs', 'noisy']);
  const lines = logs.stdout.trim().split('\n');
  assert.ok(lines.length < 400, `rotation dropped old lines (${lines.length} kept)`);
  assert.equal(lines.at(-1), 'noise line number 399');
  await d.docker(['rm', 'noisy']);
});

test('-it in a pseudo-terminal: prompt, command, exit code', async () => {
  const out = await new Promise<{ code: number; stdout: string }>((resolve) => {
    const child = execFile('script', ['-qec', 'docker run -it --rm busybox sh', '/dev/null'], { env: d.env, timeout: 30_000 }, (err, stdout) => {
      resolve({ code: err ? (err as any).code ?? 1 : 0, stdout: String(stdout) });
    });
    setTimeout(() => child.stdin!.write('echo tty-$((6*7))\r'), 1500);
    setTimeout(() => child.stdin!.write('exit 3\r'), 2500);
  });
  assert.match(out.stdout, /tty-42/);
  assert.equal(out.code, 3);
});

test('wait conditions and --rm exit codes', async () => {
  const r = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'exit 9']);
  assert.equal(r.code, 9);
  const id = (await d.docker(['create', 'busybox', 'sh', '-c', 'sleep 1; exit 4'])).stdout.trim();
  // A created container is not running: wait answers at once, as Docker does.
  assert.equal((await d.docker(['wait', id])).stdout.trim(), '0');
  await d.docker(['start', id]);
  assert.equal((await d.docker(['wait', id])).stdout.trim(), '4');
  const s = await d.docker(['start', '-a', id]);
  assert.equal(s.code, 4);
  await d.docker(['rm', id]);
});

test('a daemon configured for runc runs containers too', async () => {
  const r = await startDaemon({ runtime: 'runc' });
  try {
    await importBusybox(r);
    const out = await r.docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo via-runc; exit 2']);
    assert.equal(out.stdout, 'via-runc\n');
    assert.equal(out.code, 2);
    const info = await r.docker(['info', '--format', '{{.DefaultRuntime}}']);
    assert.equal(info.stdout.trim(), 'runc');
  } finally {
    await destroyDaemon(r);
  }
});

test('security and kernel knobs: caps, privileged, seccomp, no-new-privileges, sysctl, shm, ulimit; volume filled from the image', async () => {
  const capEff = async (args: string[]) => (await d.docker(['run', '--rm', ...args, 'busybox', 'grep', 'CapEff', '/proc/self/status'])).stdout.trim().split(/\s+/)[1];
  assert.equal(await capEff([]), '00000000a80425fb'); // Docker's 14 default capabilities
  assert.equal(await capEff(['--cap-drop', 'ALL']), '0000000000000000');
  assert.equal(await capEff(['--cap-add', 'NET_ADMIN']), '00000000a80435fb');
  const seccomp = async (args: string[]) => (await d.docker(['run', '--rm', ...args, 'busybox', 'grep', 'Seccomp:', '/proc/self/status'])).stdout.trim();
  assert.match(await seccomp([]), /Seccomp:\s+2/);
  assert.match(await seccomp(['--security-opt', 'seccomp=unconfined']), /Seccomp:\s+0/);
  assert.match(await seccomp(['--privileged']), /Seccomp:\s+0/);
  const nnp = await d.docker(['run', '--rm', '--security-opt', 'no-new-privileges', 'busybox', 'grep', 'NoNewPrivs', '/proc/self/status']);
  assert.match(nnp.stdout, /NoNewPrivs:\s+1/);
  const knobs = await d.docker(['run', '--rm', '--sysctl', 'net.ipv4.ip_forward=1', '--shm-size', '16m', '--ulimit', 'nofile=1024:2048', 'busybox', 'sh', '-c', 'cat /proc/sys/net/ipv4/ip_forward; df -k /dev/shm | tail -1 | awk "{print \\$2}"; ulimit -n; ulimit -Hn']);
  assert.equal(knobs.stdout, '1\n16384\n1024\n2048\n');
  const filled = await d.docker(['run', '--rm', '-v', 'etcvol:/etc', 'busybox', 'head', '-1', '/etc/passwd']);
  assert.equal(filled.stdout, 'root:x:0:0:root:/root:/bin/sh\n');
  await d.docker(['volume', 'rm', 'etcvol']);
});

test('rmi deletes unpacked layers no image uses; layers of used and still-tagged images stay', async () => {
  const layerDirs = () => readdirSync(join(d.dataRoot, 'snapshots')).filter((n) => /^[a-f0-9]{64}$/.test(n)).sort();
  const layersSize = async () => (await d.api('GET', '/system/df')).body.LayersSize as number;
  const before = layerDirs();
  const sizeBefore = await layersSize();
  // An image with a layer of its own: importing it unpacks one more layer.
  const src = mkdtempSync(join(tmpdir(), 'berth-gc-'));
  writeFileSync(join(src, 'only-here'), 'x'.repeat(50_000));
  execFileSync('tar', ['-C', src, '-cf', join(src, '..', `${src.split('/').pop()}.tar`), '.']);
  const tar = join(src, '..', `${src.split('/').pop()}.tar`);
  assert.equal((await d.docker(['import', tar, 'gc-one:latest'])).code, 0);
  assert.equal((await d.docker(['create', '--name', 'gc-user', 'gc-one', '/only-here'])).code, 0);
  const withImage = layerDirs();
  assert.equal(withImage.length, before.length + 1);
  assert.ok(await layersSize() > sizeBefore + 50_000);
  // Used by a container: rmi refuses and the layer stays.
  assert.notEqual((await d.docker(['rmi', 'gc-one'])).code, 0);
  assert.deepEqual(layerDirs(), withImage);
  await d.docker(['rm', 'gc-user']);
  await d.docker(['tag', 'gc-one', 'gc-two']);
  assert.match((await d.docker(['rmi', 'gc-one'])).stdout, /^Untagged: gc-one:latest\n$/);
  assert.deepEqual(layerDirs(), withImage, 'untagging one of two names keeps the layer');
  assert.match((await d.docker(['rmi', 'gc-two'])).stdout, /Deleted: sha256:/);
  assert.deepEqual(layerDirs(), before, 'the layer went with its last image');
  assert.equal(await layersSize(), sizeBefore);
  // busybox's layer, still used by its image, is untouched.
  assert.equal((await d.docker(['run', '--rm', 'busybox', 'echo', 'ok'])).stdout, 'ok\n');
  rmSync(src, { recursive: true, force: true });
  rmSync(tar, { force: true });
});
