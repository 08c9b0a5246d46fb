// `docker run --runtime`: runc and crun side by side under one berthd, daemon.json `runtimes`
// (a custom name for runc with runtimeArgs) and `default-runtime`, through the docker CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startDaemon, importBusybox, destroyDaemon, REPO, type TestDaemon } from '../helpers/daemon.js';
import { findExecutable, probeRuntime, prepareHost } from '../../src/runtime/index.js';

await prepareHost();
const runcPath = findExecutable('runc');
const crunPath = findExecutable('crun');
const missing = !runcPath || !crunPath ? 'needs both runc and crun' : (await probeRuntime(runcPath)) ?? (await probeRuntime(crunPath));
const skip = missing ? `runc and crun must both run containers here: ${missing}` : undefined;

let d: TestDaemon;
let debugDir: string;
before(async () => {
  if (skip) return;
  debugDir = mkdtempSync(join(tmpdir(), 'berth-rtlog-'));
  d = await startDaemon({
    config: { runtimes: { 'my-runc': { path: 'runc', runtimeArgs: ['--debug', '--log', join(debugDir, 'runc.log')] } } },
  });
  await importBusybox(d);
});
after(async () => {
  if (d) await destroyDaemon(d);
  if (debugDir) rmSync(debugDir, { recursive: true, force: true });
});

const rtDir = () => join(d.execRoot, 'runtime');
const inspect = async (name: string, fmt: string) => (await d.docker(['inspect', '-f', fmt, name])).stdout.trim();
/** conmon's command line for a container: proves which runtime binary and root it drives. */
const conmonArgs = (id: string): string[] => {
  const pid = readFileSync(join(rtDir(), id, 'conmon.pid'), 'utf8').trim();
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
};
const argAfter = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

test('runc and crun containers side by side; each keeps its runtime across exec, pause, update, a berthd restart, stop, kill and rm', { skip, timeout: 240_000 }, async () => {
  const a = await d.docker(['run', '-d', '--name', 'on-runc', '--runtime', 'runc', 'busybox', 'sleep', '600']);
  assert.equal(a.code, 0, a.stderr);
  const b = await d.docker(['run', '-d', '--name', 'on-crun', '--runtime', 'crun', 'busybox', 'sleep', '600']);
  assert.equal(b.code, 0, b.stderr);
  const c = await d.docker(['run', '-d', '--name', 'on-shim', '--runtime', 'io.containerd.runc.v2', 'busybox', 'sleep', '600']);
  assert.equal(c.code, 0, c.stderr);
  const [ra, rb, rc] = [a.stdout.trim(), b.stdout.trim(), c.stdout.trim()];

  assert.equal(await inspect('on-runc', '{{.HostConfig.Runtime}}'), 'runc');
  assert.equal(await inspect('on-crun', '{{.HostConfig.Runtime}}'), 'crun');
  assert.equal(await inspect('on-shim', '{{.HostConfig.Runtime}}'), 'io.containerd.runc.v2');
  // Each runtime has its own state root; the binary conmon runs is the one asked for.
  assert.equal(argAfter(conmonArgs(ra), '-r'), runcPath);
  assert.equal(argAfter(conmonArgs(rb), '-r'), crunPath);
  assert.equal(argAfter(conmonArgs(rc), '-r'), runcPath); // io.containerd.runc.v2 is runc
  assert.ok(conmonArgs(ra).includes(`--root=${join(rtDir(), 'runtimes', 'runc')}`));
  assert.ok(conmonArgs(rb).includes(`--root=${join(rtDir(), 'runtimes', 'crun')}`));
  assert.ok(existsSync(join(rtDir(), 'runtimes', 'runc', ra, 'state.json')), 'runc keeps state.json');
  assert.ok(existsSync(join(rtDir(), 'runtimes', 'crun', rb, 'status')), 'crun keeps status');
  assert.ok(existsSync(join(rtDir(), 'runtimes', 'runc', rc, 'state.json')));
  assert.ok(!existsSync(join(rtDir(), 'runtimes', 'crun', ra)) && !existsSync(join(rtDir(), 'runtimes', 'runc', rb)));

  const runtimeState = (bin: string, root: string, id: string) => new Promise<string>((resolve) => {
    execFile(bin, ['--root', join(rtDir(), 'runtimes', root), 'state', id], (_e, out) => resolve(String(out)));
  });
  for (const [name, id, bin, root] of [['on-runc', ra, runcPath!, 'runc'], ['on-crun', rb, crunPath!, 'crun']] as const) {
    const ex = await d.docker(['exec', name, 'sh', '-c', 'echo hi from $HOSTNAME']);
    assert.equal(ex.code, 0, ex.stderr);
    assert.equal(ex.stdout, `hi from ${id.slice(0, 12)}\n`);
    assert.equal((await d.docker(['pause', name])).code, 0);
    assert.equal(JSON.parse(await runtimeState(bin, root, id)).status, 'paused');
    assert.equal(await inspect(name, '{{.State.Status}}'), 'paused');
    assert.equal((await d.docker(['unpause', name])).code, 0);
    assert.equal(JSON.parse(await runtimeState(bin, root, id)).status, 'running');
    const up = await d.docker(['update', '--pids-limit', '77', name]);
    assert.equal(up.code, 0, up.stderr);
    const pid = Number(await inspect(name, '{{.State.Pid}}'));
    const pidsCg = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[1]?.split(',').includes('pids'));
    assert.ok(pidsCg, 'the container has a pids cgroup');
    assert.equal(readFileSync(join('/sys/fs/cgroup/pids', pidsCg[2]!, 'pids.max'), 'utf8').trim(), '77');
    const st = await d.docker(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', name]);
    assert.equal(st.stdout.trim(), `${name} 1`, st.stderr);
  }

  // berthd goes away and comes back: it finds each container under its own runtime.
  await d.restart();
  assert.equal(await inspect('on-runc', '{{.State.Status}}'), 'running');
  assert.equal(await inspect('on-crun', '{{.State.Status}}'), 'running');
  assert.equal((await d.docker(['exec', 'on-crun', 'true'])).code, 0);
  assert.equal((await d.docker(['exec', 'on-runc', 'true'])).code, 0);
  assert.equal((await d.docker(['pause', 'on-runc'])).code, 0);
  assert.equal((await d.docker(['unpause', 'on-runc'])).code, 0);

  // kill -9 of berthd; the containers die while it is down; the next berthd sees the exits.
  await d.stop('SIGKILL');
  await new Promise<void>((resolve, reject) => execFile(crunPath!, ['--root', join(rtDir(), 'runtimes', 'crun'), 'kill', rb, 'KILL'], (e) => (e ? reject(e) : resolve())));
  await new Promise<void>((resolve, reject) => execFile(runcPath!, ['--root', join(rtDir(), 'runtimes', 'runc'), 'kill', rc, 'KILL'], (e) => (e ? reject(e) : resolve())));
  await d.restart();
  for (const name of ['on-crun', 'on-shim']) {
    let status = '';
    for (let i = 0; i < 40 && status !== 'exited 137'; i++) {
      status = await inspect(name, '{{.State.Status}} {{.State.ExitCode}}');
      if (status !== 'exited 137') await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(status, 'exited 137', name);
  }
  // Started again: same runtime as before.
  assert.equal((await d.docker(['start', 'on-crun'])).code, 0);
  assert.equal(argAfter(conmonArgs(rb), '-r'), crunPath);
  assert.ok(existsSync(join(rtDir(), 'runtimes', 'crun', rb, 'status')));

  assert.equal((await d.docker(['stop', '-t', '1', 'on-runc'])).code, 0);
  assert.equal(await inspect('on-runc', '{{.State.Status}}'), 'exited');
  assert.equal((await d.docker(['kill', 'on-crun'])).code, 0);
  assert.equal(await inspect('on-crun', '{{.State.ExitCode}}'), '137');
  const rm = await d.docker(['rm', '-f', 'on-runc', 'on-crun', 'on-shim']);
  assert.equal(rm.code, 0, rm.stderr);
  for (const [root, id] of [['runc', ra], ['crun', rb], ['runc', rc]] as const) {
    assert.ok(!existsSync(join(rtDir(), 'runtimes', root, id)), `${root} state of ${id} is gone`);
    assert.ok(!existsSync(join(rtDir(), id)));
  }
});

test('a container without --runtime gets the default, and inspect names it', { skip }, async () => {
  const def = (await d.docker(['info', '--format', '{{.DefaultRuntime}}'])).stdout.trim();
  assert.ok(['crun', 'runc'].includes(def), def);
  const r = await d.docker(['create', 'busybox', 'true']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await inspect(r.stdout.trim(), '{{.HostConfig.Runtime}}'), def);
  await d.docker(['rm', r.stdout.trim()]);
});

test('--runtime nope is Docker\'s error, a 400 from the API', { skip }, async () => {
  const r = await d.docker(['run', '--rm', '--runtime', 'nope', 'busybox', 'true']);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /^docker: Error response from daemon: unknown or invalid runtime name: nope/m);
  const api = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { Runtime: 'nope' } });
  assert.equal(api.status, 400);
  assert.equal(api.body.message, 'unknown or invalid runtime name: nope');
  assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '');
});

test('docker info lists every runtime and the default', { skip }, async () => {
  const r = await d.docker(['info']);
  assert.equal(r.code, 0, r.stderr);
  // The docker CLI prints the names in Go map order, which varies from run to run.
  const line = /^ Runtimes: (.*)$/m.exec(r.stdout);
  assert.ok(line, r.stdout);
  assert.deepEqual(line[1]!.split(' ').sort(), ['crun', 'io.containerd.runc.v2', 'my-runc', 'runc']);
  assert.match(r.stdout, /^ Default Runtime: (crun|runc)$/m);
  const info = (await d.api('GET', '/info')).body;
  assert.deepEqual(info.Runtimes['my-runc'], { path: runcPath, runtimeArgs: ['--debug', '--log', join(debugDir, 'runc.log')] });
  assert.equal(info.Runtimes.crun.path, crunPath);
  assert.equal(info.Runtimes['io.containerd.runc.v2'].path, runcPath);
});

test('daemon.json runtimes: a custom name for runc with runtimeArgs', { skip, timeout: 60_000 }, async () => {
  const r = await d.docker(['run', '--name', 'custom', '--runtime', 'my-runc', 'busybox', 'sh', '-c', 'echo custom; exit 3']);
  assert.equal(r.stdout, 'custom\n');
  assert.equal(r.code, 3);
  assert.equal(await inspect('custom', '{{.HostConfig.Runtime}}'), 'my-runc');
  // runc got the configured arguments: its debug log exists and speaks of this container.
  const id = await inspect('custom', '{{.Id}}');
  const log = readFileSync(join(debugDir, 'runc.log'), 'utf8');
  assert.match(log, /level=debug/);
  assert.ok(log.includes(id), 'the debug log mentions the container');
  // A second run reuses the same runtime root.
  assert.equal((await d.docker(['start', '-a', 'custom'])).code, 3);
  assert.equal((await d.docker(['rm', 'custom'])).code, 0);
});

/** Start berthd with a daemon.json and no wait for the socket: what it says when it refuses. */
function berthdRefuses(config: Record<string, unknown>): Promise<{ code: number; out: string }> {
  const base = mkdtempSync(join(tmpdir(), 'berthd-bad-'));
  const cfgFile = join(base, 'daemon.json');
  writeFileSync(cfgFile, JSON.stringify({ bridge: 'btbad0', ...config }));
  return new Promise((resolve) => {
    execFile(join(REPO, 'bin/berthd'), ['--data-root', join(base, 'data'), '--exec-root', join(base, 'run'), '--host', `unix://${join(base, 's.sock')}`, '--config-file', cfgFile],
      { timeout: 30_000 }, (err, stdout, stderr) => {
        rmSync(base, { recursive: true, force: true });
        resolve({ code: typeof (err as { code?: unknown })?.code === 'number' ? (err as { code: number }).code : 0, out: String(stdout) + String(stderr) });
      });
  });
}

test('daemon.json: runc is reserved, an unknown default-runtime and a runtime without a path stop berthd', { skip, timeout: 90_000 }, async () => {
  const reserved = await berthdRefuses({ runtimes: { runc: { path: '/usr/bin/crun' } } });
  assert.notEqual(reserved.code, 0);
  assert.match(reserved.out, /runtime name 'runc' is reserved/);
  const noDefault = await berthdRefuses({ 'default-runtime': 'nope' });
  assert.notEqual(noDefault.code, 0);
  assert.match(noDefault.out, /specified default runtime 'nope' does not exist/);
  const noPath = await berthdRefuses({ runtimes: { empty: {} } });
  assert.notEqual(noPath.code, 0);
  assert.match(noPath.out, /runtime empty: either a runtimeType or a path must be configured/);
});

test('default-runtime names a configured runtime; its missing binary is a clear error at create', { skip, timeout: 90_000 }, async () => {
  const r = await startDaemon({ config: { 'default-runtime': 'my-crun', runtimes: { 'my-crun': { path: crunPath }, ghost: { path: '/nonexistent/ghost-runtime' } } } });
  try {
    await importBusybox(r);
    assert.equal((await r.docker(['info', '--format', '{{.DefaultRuntime}}'])).stdout.trim(), 'my-crun');
    const out = await r.docker(['run', '--rm', 'busybox', 'echo', 'ok']);
    assert.equal(out.stdout, 'ok\n', out.stderr);
    const id = (await r.docker(['run', '-d', 'busybox', 'sleep', '60'])).stdout.trim();
    assert.equal((await r.docker(['inspect', '-f', '{{.HostConfig.Runtime}}', id])).stdout.trim(), 'my-crun');
    assert.ok(existsSync(join(r.execRoot, 'runtime', 'runtimes', 'my-crun', id, 'status')));
    assert.equal((await r.docker(['rm', '-f', id])).code, 0);
    const ghost = await r.docker(['run', '--rm', '--runtime', 'ghost', 'busybox', 'true']);
    assert.notEqual(ghost.code, 0);
    assert.match(ghost.stderr, /error while looking up the specified runtime path: exec: "\/nonexistent\/ghost-runtime": stat \/nonexistent\/ghost-runtime: no such file or directory/);
  } finally {
    await destroyDaemon(r);
  }
});
