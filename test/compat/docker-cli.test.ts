// The real docker CLI (v28) against berthd: what a user types, what they see.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemon();
  await importBusybox(d);
});
after(async () => { if (d) await destroyDaemon(d); });

test('docker version and info talk to berthd', async () => {
  const v = await d.docker(['version', '--format', '{{.Server.APIVersion}}']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), '1.50');
  const i = await d.docker(['info', '--format', '{{.Driver}} {{.OSType}}']);
  assert.equal(i.stdout.trim(), 'overlay2 linux');
});

test('run in the foreground prints output and returns the exit code', async () => {
  const r = await d.docker(['run', '--rm', 'busybox', 'echo', 'hello from berth']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello from berth\n');
  const e = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(e.code, 3);
  assert.equal(e.stdout, 'out\n');
  assert.equal(e.stderr, 'err\n');
});

test('unknown image and unknown command give Docker errors and exit codes', async () => {
  const r = await d.docker(['run', '--rm', 'nosuchimage-xyz:1']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Unable to find image 'nosuchimage-xyz:1' locally/);
  const n = await d.docker(['run', '--rm', 'busybox', '/nonexistent']);
  assert.equal(n.code, 127, n.stderr);
  const c = await d.docker(['inspect', 'no-such-container-q']);
  assert.equal(c.code, 1);
  assert.match(c.stderr, /No such object: no-such-container-q/);
});

test('-i with piped stdin reaches the container', async () => {
  const r = await d.docker(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'tr a-z A-Z'], { input: 'shout\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'SHOUT\n');
});

test('detached run, logs, exec, ps, inspect, stop, rm', async () => {
  const run = await d.docker(['run', '-d', '--name', 'web1', '-e', 'GREETING=hi', '-w', '/srv/app', '-h', 'boxhost', 'busybox', 'sh', '-c', 'echo started; echo $GREETING; pwd; hostname; trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done']);
  assert.equal(run.code, 0, run.stderr);
  const id = run.stdout.trim();
  assert.match(id, /^[a-f0-9]{64}$/);
  await waitFor(async () => (await d.docker(['logs', 'web1'])).stdout.includes('boxhost'));
  const logs = await d.docker(['logs', 'web1']);
  assert.equal(logs.stdout, 'started\nhi\n/srv/app\nboxhost\n');
  const ps = await d.docker(['ps', '--format', '{{.ID}} {{.Names}} {{.Status}}']);
  assert.match(ps.stdout, new RegExp(`^${id.slice(0, 12)} web1 Up `, 'm'));
  const ex = await d.docker(['exec', 'web1', 'sh', '-c', 'echo in-exec; cat /etc/hostname; exit 4']);
  assert.equal(ex.code, 4);
  assert.equal(ex.stdout, 'in-exec\nboxhost\n');
  const insp = await d.docker(['inspect', '-f', '{{.State.Status}} {{.Name}} {{.Config.WorkingDir}}', 'web1']);
  assert.equal(insp.stdout.trim(), 'running /web1 /srv/app');
  const stop = await d.docker(['stop', 'web1']);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(stop.stdout.trim(), 'web1');
  const after = await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'web1']);
  assert.equal(after.stdout.trim(), 'exited 0');
  assert.match((await d.docker(['logs', '--tail', '1', 'web1'])).stdout, /^bye\n$/);
  const psa = await d.docker(['ps', '-a', '--filter', 'name=web1', '--format', '{{.Status}}']);
  assert.match(psa.stdout, /^Exited \(0\) /);
  const rm = await d.docker(['rm', 'web1']);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal((await d.docker(['ps', '-aq', '--filter', 'name=web1'])).stdout, '');
});

test('kill, wait and removal conflicts', async () => {
  const id = (await d.docker(['run', '-d', 'busybox', 'sleep', '300'])).stdout.trim();
  const rm = await d.docker(['rm', id]);
  assert.notEqual(rm.code, 0);
  assert.match(rm.stderr, /stop the container before removing or force remove/);
  assert.equal((await d.docker(['kill', '-s', 'KILL', id])).code, 0);
  const w = await d.docker(['wait', id]);
  assert.equal(w.stdout.trim(), '137');
  assert.equal((await d.docker(['rm', id])).code, 0);
});

test('volumes: named volume keeps data across containers; bind mounts; read-only rootfs with tmpfs', async () => {
  assert.equal((await d.docker(['volume', 'create', 'data1'])).stdout.trim(), 'data1');
  assert.equal((await d.docker(['run', '--rm', '-v', 'data1:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f'])).code, 0);
  const r = await d.docker(['run', '--rm', '-v', 'data1:/data:ro', 'busybox', 'cat', '/data/f']);
  assert.equal(r.stdout, 'kept\n');
  const ls = await d.docker(['volume', 'ls', '--format', '{{.Name}}']);
  assert.match(ls.stdout, /^data1$/m);
  const host = mkdtempSync(join(tmpdir(), 'bind-'));
  writeFileSync(join(host, 'in.txt'), 'from host\n');
  const b = await d.docker(['run', '--rm', '-v', `${host}:/mnt`, 'busybox', 'sh', '-c', 'cat /mnt/in.txt; echo back > /mnt/out.txt']);
  assert.equal(b.stdout, 'from host\n');
  assert.equal(readFileSync(join(host, 'out.txt'), 'utf8'), 'back\n');
  const ro = await d.docker(['run', '--rm', '--read-only', '--tmpfs', '/scratch', 'busybox', 'sh', '-c', 'touch /x 2>/dev/null && echo wrote || echo denied; touch /scratch/y && echo tmpfs-ok']);
  assert.equal(ro.stdout, 'denied\ntmpfs-ok\n');
  assert.equal((await d.docker(['volume', 'rm', 'data1'])).code, 0);
});

test('user, init and limits', async () => {
  const u = await d.docker(['run', '--rm', '-u', 'www', 'busybox', 'id']);
  assert.equal(u.stdout.trim(), 'uid=33(www) gid=33(www) groups=33(www),50(staff)');
  const n = await d.docker(['run', '--rm', '-u', '1234:5678', 'busybox', 'id', '-u']);
  assert.equal(n.stdout.trim(), '1234');
  const init = await d.docker(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "']);
  assert.match(init.stdout, /(catatonit|tini|docker-init)/);
  const oom = await d.docker(['run', '--memory', '16m', '--memory-swap', '16m', '--name', 'oomer', 'busybox', 'sh', '-c', 'x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; while true; do x=$x$x; done']);
  assert.equal(oom.code, 137);
  const killed = await d.docker(['inspect', '-f', '{{.State.OOMKilled}}', 'oomer']);
  assert.equal(killed.stdout.trim(), 'true');
  await d.docker(['rm', 'oomer']);
  // A fork bomb stops at the limit: the shell can't fork past 20 processes.
  const pids = await d.docker(['run', '--rm', '--pids-limit', '20', 'busybox', 'sh', '-c', 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; for i in $(seq 1 40); do sleep 3 & done; echo never']);
  assert.equal(pids.stdout, '20\n');
  assert.match(pids.stderr, /can't fork/);
  assert.notEqual(pids.code, 0);
  const cpus = await d.docker(['run', '--rm', '--cpus', '0.5', 'busybox', 'sh', '-c', 'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max']);
  assert.match(cpus.stdout.replace(/\n/g, ' '), /^(50000 100000|50000 100000) ?$/);
  const mem = await d.docker(['run', '--rm', '-m', '64m', 'busybox', 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max']);
  assert.equal(mem.stdout.trim(), String(64 * 1024 * 1024));
});

test('image import, tag, save, load round trip', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'save-'));
  assert.equal((await d.docker(['tag', 'busybox', 'example.com/team/box:v1'])).code, 0);
  const imgs = await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.match(imgs.stdout, /^example\.com\/team\/box:v1$/m);
  const s = await d.docker(['save', '-o', join(dir, 'box.tar'), 'example.com/team/box:v1']);
  assert.equal(s.code, 0, s.stderr);
  assert.equal((await d.docker(['rmi', 'example.com/team/box:v1'])).code, 0);
  const l = await d.docker(['load', '-i', join(dir, 'box.tar')]);
  assert.equal(l.code, 0, l.stderr);
  assert.match(l.stdout, /Loaded image: example\.com\/team\/box:v1/);
  const r = await d.docker(['run', '--rm', 'example.com/team/box:v1', 'echo', 'loaded']);
  assert.equal(r.stdout, 'loaded\n');
});

async function waitFor(fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting');
}
