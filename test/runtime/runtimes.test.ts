// The runtime table (names, daemon.json validation, defaults) and the dispatcher that sends a
// container's calls to the runtime that created it, including state an older berthd wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  loadRuntimes, RuntimeDispatcher, ConmonDriver, generateSpec, findExecutable, probeRuntime, prepareHost,
} from '../../src/runtime/index.js';
import { busyboxRootfs } from '../helpers/fixtures.js';

const works = async () => undefined;
const errorKind = (err: unknown) => (err as { kind?: string }).kind;

test('loadRuntimes: every working built-in, Docker\'s alias for runc, configured ones; the default', async () => {
  const t = await loadRuntimes({ probe: works, configured: { 'my-runc': { path: 'runc', runtimeArgs: ['--debug'] } } });
  assert.deepEqual([...t.entries.keys()].sort(), ['crun', 'io.containerd.runc.v2', 'my-runc', 'runc']);
  assert.equal(t.defaultName, 'crun'); // berth's choice: the first of crun, runc that works
  assert.equal(t.resolve().name, 'crun');
  assert.equal(t.resolve('io.containerd.runc.v2').path, findExecutable('runc'));
  assert.equal(t.resolve('io.containerd.runc.v2').rootName, 'runc');
  assert.deepEqual(t.info()['my-runc'], { path: findExecutable('runc'), runtimeArgs: ['--debug'] });
  assert.throws(() => t.resolve('nope'), (e: Error) => e.message === 'unknown or invalid runtime name: nope' && errorKind(e) === 'InvalidArgument');

  // A built-in that fails its probe is left out, unless it is the configured default.
  const crunBroken = async (p: string) => (p.endsWith('crun') ? 'cgroup trouble' : undefined);
  const t2 = await loadRuntimes({ probe: crunBroken });
  assert.deepEqual([...t2.entries.keys()].sort(), ['io.containerd.runc.v2', 'runc']);
  assert.equal(t2.defaultName, 'runc');
  assert.equal((await loadRuntimes({ probe: crunBroken, defaultRuntime: 'crun' })).defaultName, 'crun');
  await assert.rejects(loadRuntimes({ probe: async () => 'broken' }), /no working OCI runtime found: crun: broken; runc: broken/);

  // A configured name replaces a built-in one except runc, which is reserved (dockerd's rule).
  const t3 = await loadRuntimes({ probe: works, configured: { 'io.containerd.runc.v2': { path: 'crun' } }, defaultRuntime: 'io.containerd.runc.v2' });
  assert.equal(t3.resolve().path, findExecutable('crun'));
  assert.equal(t3.resolve().rootName, 'io.containerd.runc.v2');
  await assert.rejects(loadRuntimes({ probe: works, configured: { runc: { path: 'crun' } } }), (e: Error) => e.message === "runtime name 'runc' is reserved");
  await assert.rejects(loadRuntimes({ probe: works, defaultRuntime: 'nope' }), /specified default runtime 'nope' does not exist/);
  await assert.rejects(loadRuntimes({ probe: works, configured: { x: {} } }), /runtime x: either a runtimeType or a path must be configured/);
  await assert.rejects(loadRuntimes({ probe: works, configured: { x: { path: 'runc', runtimeType: 'io.containerd.kata.v2' } } }), /cannot configure both path and runtimeType/);
  await assert.rejects(loadRuntimes({ probe: works, configured: { x: { path: 'runc', options: { a: 1 } } } }), /options cannot be used with a path runtime/);
  await assert.rejects(loadRuntimes({ probe: works, configured: { '../evil': { path: 'runc' } } }), /invalid name/);
  await assert.rejects(loadRuntimes({ probe: works, configured: { x: { path: 'runc', runtimeArgs: 'x' as unknown as string[] } } }), /runtimeArgs must be a list/);

  // --runtime with a path, as berthd always took it: known by its file name.
  const t4 = await loadRuntimes({ probe: works, defaultRuntime: findExecutable('runc')! });
  assert.equal(t4.defaultName, 'runc');
});

await prepareHost();
const crun = findExecutable('crun');
const runc = findExecutable('runc');
const skip = !crun || !runc ? 'needs crun and runc' : ((await probeRuntime(crun)) ?? (await probeRuntime(runc)));

test('dispatcher: a container an older berthd made under <exec-root>/runtime-state keeps working; new ones get their runtime\'s root', { skip, timeout: 60_000 }, async () => {
  const execRoot = mkdtempSync(join(tmpdir(), 'berth-exec-'));
  const rootfs = busyboxRootfs();
  const bundles: string[] = [];
  const make = async (create: (id: string, o: Parameters<ConmonDriver['create']>[1]) => Promise<unknown>, args: string[]) => {
    const id = `berthtest-${randomBytes(6).toString('hex')}`;
    const bundleDir = mkdtempSync(join(tmpdir(), 'berth-bundle-'));
    bundles.push(bundleDir);
    const spec = generateSpec({ id, rootfs, hostname: 'box', args });
    await create(id, { bundleDir, spec, logPath: join(bundleDir, 'log'), tty: false, openStdin: false, stdinOnce: true });
    return id;
  };
  // The default here is runc; the old container ran under crun in the single old root.
  const table = await loadRuntimes({ defaultRuntime: 'runc', probe: works });
  const disp = new RuntimeDispatcher(table, { execRoot });
  const ids: string[] = [];
  try {
    const old = new ConmonDriver({ runtime: { name: 'crun', path: crun! }, execRoot });
    const legacy = await make((id, o) => old.create(id, o), ['sleep', '300']);
    ids.push(legacy);
    await old.start(legacy);
    // What an older berthd wrote: no runtimeRoot in state.json.
    const stFile = join(execRoot, legacy, 'state.json');
    const st = JSON.parse(readFileSync(stFile, 'utf8'));
    delete st.runtimeRoot;
    writeFileSync(stFile, JSON.stringify(st));

    const fresh = new RuntimeDispatcher(table, { execRoot }); // as after a restart of berthd
    assert.equal((await fresh.state(legacy)).status, 'running');
    assert.deepEqual(await fresh.runtimeOf(legacy), { name: 'crun', path: crun, args: [], root: join(execRoot, 'runtime-state') });
    await fresh.pause(legacy);
    assert.equal((await fresh.state(legacy)).status, 'paused');
    await fresh.resume(legacy);
    const ex = await fresh.exec(legacy, { process: { args: ['true'], cwd: '/', user: { uid: 0, gid: 0 } }, tty: false, openStdin: false });
    assert.equal(await ex.wait(), 0);
    await fresh.kill(legacy, 'KILL');
    assert.equal((await fresh.waitExit(legacy)).exitCode, 137);
    await fresh.delete(legacy);
    await fresh.cleanup(legacy);
    assert.deepEqual(readdirSync(join(execRoot, 'runtime-state')), []);

    // New containers: the runtime they name, each in its own root.
    const a = await make((id, o) => disp.create(id, { ...o, runtime: 'crun' }), ['sleep', '300']);
    const b = await make((id, o) => disp.create(id, o), ['sleep', '300']);
    ids.push(a, b);
    assert.ok(existsSync(join(execRoot, 'runtimes', 'crun', a, 'status')));
    assert.ok(existsSync(join(execRoot, 'runtimes', 'runc', b, 'state.json')));
    const again = new RuntimeDispatcher(table, { execRoot });
    for (const id of [a, b]) {
      assert.equal((await again.state(id)).status, 'created');
      await again.start(id);
      assert.equal((await again.state(id)).status, 'running');
      await again.kill(id, 'KILL');
      await again.waitExit(id);
      await again.delete(id);
      await again.cleanup(id);
    }
    assert.deepEqual(readdirSync(join(execRoot, 'runtimes', 'crun')), []);
    assert.deepEqual(readdirSync(join(execRoot, 'runtimes', 'runc')), []);
    await assert.rejects(disp.create('berthtest-x', { bundleDir: bundles[0]!, spec: {} as never, logPath: '/dev/null', tty: false, openStdin: false, stdinOnce: true, runtime: 'nope' }), /unknown or invalid runtime name: nope/);
  } finally {
    for (const id of ids) {
      await disp.kill(id, 'KILL', { all: true }).catch(() => undefined);
      await disp.delete(id, { force: true }).catch(() => undefined);
      await disp.cleanup(id).catch(() => undefined);
    }
    for (const b of bundles) rmSync(b, { recursive: true, force: true });
    rmSync(rootfs, { recursive: true, force: true });
    rmSync(execRoot, { recursive: true, force: true });
  }
});
