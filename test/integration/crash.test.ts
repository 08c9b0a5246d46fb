// kill -9 of berthd: containers keep running, nothing is lost or half-made, exits that happened meanwhile are right.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
before(async () => { d = await startDaemon(); await importBusybox(d); });
after(async () => { if (d) await destroyDaemon(d); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('containers outlive a kill -9 of berthd and are found again', async () => {
  const long = (await d.docker(['run', '-d', '--name', 'survivor', 'busybox', 'sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done'])).stdout.trim();
  const short = (await d.docker(['run', '-d', '--name', 'quitter', 'busybox', 'sh', '-c', 'sleep 1; exit 7'])).stdout.trim();
  const gone = (await d.docker(['run', '-d', '--rm', '--name', 'vanisher', 'busybox', 'sh', '-c', 'sleep 1; exit 0'])).stdout.trim();
  assert.ok(long && short && gone);
  const pid = Number((await d.docker(['inspect', '-f', '{{.State.Pid}}', 'survivor'])).stdout.trim());
  assert.ok(pid > 0);
  await d.stop('SIGKILL');
  await sleep(2000); // quitter and vanisher end while the daemon is away
  process.kill(pid, 0); // still alive
  await d.restart();
  const st = await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.Pid}}', 'survivor']);
  assert.equal(st.stdout.trim(), `running ${pid}`);
  const q = await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'quitter']);
  assert.equal(q.stdout.trim(), 'exited 7');
  const v = await d.docker(['ps', '-aq', '--filter', 'name=vanisher']);
  assert.equal(v.stdout.trim(), '');
  const before = (await d.docker(['logs', 'survivor'])).stdout.split('\n').filter(Boolean).length;
  await sleep(600);
  const after = (await d.docker(['logs', 'survivor'])).stdout.split('\n').filter(Boolean).length;
  assert.ok(after > before, 'logs go on after the restart');
  const stop = await d.docker(['stop', '-t', '1', 'survivor']);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal((await d.docker(['inspect', '-f', '{{.State.Status}}', 'survivor'])).stdout.trim(), 'exited');
  await d.docker(['rm', 'survivor', 'quitter']);
});

test('SIGTERM leaves running containers running, even with a client attached', async () => {
  await d.docker(['run', '-d', '--name', 'calm', 'busybox', 'sleep', '60']);
  const pid = Number((await d.docker(['inspect', '-f', '{{.State.Pid}}', 'calm'])).stdout.trim());
  // A hijacked attach stream must not keep the daemon from stopping.
  const attached = spawn('docker', ['attach', 'calm'], { env: { ...process.env, DOCKER_HOST: d.host }, stdio: 'ignore' });
  const attachEnded = new Promise((r) => attached.once('exit', r));
  await sleep(500);
  const t0 = Date.now();
  await d.stop('SIGTERM');
  assert.ok(Date.now() - t0 < 5000, 'berthd stopped promptly');
  await attachEnded;
  process.kill(pid, 0);
  await d.restart();
  assert.equal((await d.docker(['inspect', '-f', '{{.State.Running}}', 'calm'])).stdout.trim(), 'true');
  await d.docker(['rm', '-f', 'calm']);
});

test('a kill -9 in the middle of an import leaves no half image', async () => {
  const { spawn } = await import('node:child_process');
  // A slow import: a tar body trickling in.
  const child = spawn('sh', ['-c', `(tar -C / -cf - bin/busybox; sleep 5) | docker import - halfway:1`], { env: d.env, stdio: 'ignore' });
  await sleep(800);
  await d.stop('SIGKILL');
  child.kill('SIGKILL');
  await d.restart();
  const imgs = await d.docker(['images', '--format', '{{.Repository}}']);
  assert.doesNotMatch(imgs.stdout, /halfway/);
  assert.equal((await d.docker(['run', '--rm', 'busybox', 'echo', 'ok'])).stdout, 'ok\n');
});

test('kill -9 during create and during rm: every container left is whole, no orphan directories', async () => {
  const { readdirSync } = await import('node:fs');
  const { join } = await import('node:path');
  for (let round = 0; round < 4; round++) {
    const victim = (await d.docker(['create', 'busybox', 'true'])).stdout.trim();
    // Race a create and a rm against a kill -9 at a varying moment.
    const creating = d.api('POST', '/v1.50/containers/create', { Image: 'busybox', Cmd: ['true'] }).catch(() => undefined);
    const removing = d.api('DELETE', `/v1.50/containers/${victim}?force=1`).catch(() => undefined);
    await sleep(round * 15);
    await d.stop('SIGKILL');
    await Promise.all([creating, removing]);
    await d.restart();
    const ids = (await d.docker(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
    for (const id of ids) {
      const insp = await d.docker(['inspect', '-f', '{{.State.Status}}', id]);
      assert.equal(insp.code, 0, insp.stderr);
      const rm = await d.docker(['rm', '-f', id]);
      assert.equal(rm.code, 0, rm.stderr);
    }
    const dirs = readdirSync(join(d.dataRoot, 'containers')).filter((n) => /^[a-f0-9]{64}$/.test(n));
    assert.deepEqual(dirs, [], 'no container directory without its record');
  }
  assert.equal((await d.docker(['run', '--rm', 'busybox', 'echo', 'alive'])).stdout, 'alive\n');
});
