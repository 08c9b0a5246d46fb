// One suite for the conmon driver, run against each OCI runtime (crun, runc).
// Real containers on a busybox rootfs the caller supplies. Only tests import this file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ConmonDriver } from './conmon.js';
import { generateSpec, type SpecOptions } from './spec.js';
import { detectCgroups, cgroupDirs } from './cgroups.js';
import type { AttachStreams } from './attach.js';

export interface DriverFactory {
  (): Promise<{ runtime: { name: string; path: string }; rootfs: string; cleanup: () => Promise<void> }>;
}

interface Ctx {
  driver: ConmonDriver;
  execRoot: string;
  rootfs: string;
  runtime: { name: string; path: string };
  /** Create a container (not started); it is deleted and cleaned up after the test. */
  create(spec: Partial<SpecOptions> & { args: string[] }, o?: { tty?: boolean; openStdin?: boolean; stdinOnce?: boolean }): Promise<{ id: string; pid: number; logPath: string; bundleDir: string }>;
}

/** Collect an attach stream's output until it ends. */
export function collect(a: AttachStreams): Promise<{ stdout: string; stderr: string; chunks: { stream: 1 | 2; data: string }[] }> {
  const chunks: { stream: 1 | 2; data: string }[] = [];
  a.onData((stream, data) => chunks.push({ stream, data: data.toString() }));
  return new Promise((resolve) => a.onEnd(() => resolve({
    stdout: chunks.filter((c) => c.stream === 1).map((c) => c.data).join(''),
    stderr: chunks.filter((c) => c.stream === 2).map((c) => c.data).join(''),
    chunks,
  })));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** k8s-file lines → text of one stream ("P" partial lines are joined with the next). */
export function k8sLogText(text: string, stream: 'stdout' | 'stderr'): string {
  let out = '';
  for (const line of text.split('\n')) {
    const m = /^\S+ (stdout|stderr) ([FP]) (.*)$/.exec(line);
    if (m && m[1] === stream) out += m[3] + (m[2] === 'F' ? '\n' : '');
  }
  return out;
}

export function conmonDriverSuite(name: string, factory: DriverFactory, opts: { skip?: string } = {}): void {
  const it = (title: string, fn: (c: Ctx) => Promise<void>) =>
    test(`${name}: ${title}`, { skip: opts.skip, timeout: 60_000 }, async () => {
      const f = await factory();
      const execRoot = mkdtempSync(join(tmpdir(), 'berth-exec-'));
      const driver = new ConmonDriver({ runtime: f.runtime, execRoot });
      const made: { id: string; bundleDir: string }[] = [];
      const ctx: Ctx = {
        driver, execRoot, rootfs: f.rootfs, runtime: f.runtime,
        async create(spec, o = {}) {
          const id = `berthtest-${randomBytes(6).toString('hex')}`;
          const bundleDir = mkdtempSync(join(tmpdir(), 'berth-bundle-'));
          made.push({ id, bundleDir });
          const logPath = join(bundleDir, 'ctr.log');
          const full = generateSpec({ id, rootfs: f.rootfs, hostname: 'box', tty: o.tty, ...spec });
          const { pid } = await driver.create(id, { bundleDir, spec: full, logPath, tty: !!o.tty, openStdin: !!o.openStdin, stdinOnce: o.stdinOnce ?? true });
          return { id, pid, logPath, bundleDir };
        },
      };
      try {
        await fn(ctx);
      } finally {
        for (const m of made) {
          await driver.kill(m.id, 'KILL', { all: true }).catch(() => undefined);
          await driver.delete(m.id, { force: true }).catch(() => undefined);
          await driver.cleanup(m.id).catch(() => undefined);
          rmSync(m.bundleDir, { recursive: true, force: true });
        }
        rmSync(execRoot, { recursive: true, force: true });
        await f.cleanup();
      }
    });

  it('runs a container: output through attach and the k8s-file log, exit code', async (c) => {
    const { id, pid, logPath } = await c.create({ args: ['sh', '-c', 'echo hello; echo oops >&2; exit 3'] });
    assert.ok(pid > 0);
    assert.equal((await c.driver.state(id)).status, 'created');
    const a = await c.driver.attach(id);
    const out = collect(a);
    await c.driver.start(id);
    const st = await c.driver.waitExit(id);
    assert.equal(st.exitCode, 3);
    assert.equal(st.oomKilled, false);
    const o = await out;
    assert.equal(o.stdout, 'hello\n');
    assert.equal(o.stderr, 'oops\n');
    const log = readFileSync(logPath, 'utf8');
    assert.equal(k8sLogText(log, 'stdout'), 'hello\n');
    assert.equal(k8sLogText(log, 'stderr'), 'oops\n');
    assert.equal((await c.driver.state(id)).status, 'stopped');
    assert.deepEqual(await c.driver.exitStatus(id), st);
  });

  it('delivers all output of a container that exits at once', async (c) => {
    // Many packets queued when conmon hangs up: the attach stream must drain them.
    const { id } = await c.create({ args: ['sh', '-c', 'i=0; while [ $i -lt 200 ]; do echo line$i; i=$((i+1)); done'] });
    const a = await c.driver.attach(id);
    const out = collect(a);
    await c.driver.start(id);
    await c.driver.waitExit(id);
    const lines = (await out).stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, 200);
    assert.equal(lines[199], 'line199');
  });

  it('feeds stdin through attach (cat echoes, EOF ends it)', async (c) => {
    const { id } = await c.create({ args: ['cat'] }, { openStdin: true, stdinOnce: true });
    const a = await c.driver.attach(id);
    const out = collect(a);
    await c.driver.start(id);
    const big = 'x'.repeat(100_000);
    a.stdin!.write('first line\n');
    a.stdin!.end(big + '\n');
    const st = await c.driver.waitExit(id);
    assert.equal(st.exitCode, 0);
    assert.equal((await out).stdout, `first line\n${big}\n`);
  });

  it('runs with a TTY: one stream, a terminal, resize', async (c) => {
    const { id } = await c.create({ args: ['sh', '-c', 'sleep 0.3; [ -t 1 ] && echo tty-yes; stty size'], consoleSize: { height: 30, width: 100 } }, { tty: true });
    const a = await c.driver.attach(id);
    const out = collect(a);
    await c.driver.start(id);
    await c.driver.resize(id, { height: 40, width: 120 });
    assert.equal((await c.driver.waitExit(id)).exitCode, 0);
    const o = await out;
    assert.equal(o.stderr, '');
    assert.match(o.stdout, /tty-yes\r?\n/);
    assert.match(o.stdout, /40 120/);
  });

  it('kills with a signal: exit 128+n', async (c) => {
    const { id } = await c.create({ args: ['sleep', '60'] });
    await c.driver.start(id);
    assert.equal((await c.driver.state(id)).status, 'running');
    await c.driver.kill(id, 'SIGKILL');
    assert.equal((await c.driver.waitExit(id)).exitCode, 137);
    const { id: id2 } = await c.create({ args: ['sh', '-c', 'trap "exit 42" USR1; while :; do sleep 0.05; done'] });
    await c.driver.start(id2);
    await sleep(200);
    await c.driver.kill(id2, 10);
    assert.equal((await c.driver.waitExit(id2)).exitCode, 42);
  });

  it('pauses and resumes', async (c) => {
    const { id } = await c.create({ args: ['sh', '-c', 'while :; do date +%s%N > /tmp/t; sleep 0.05; done'] });
    await c.driver.start(id);
    await c.driver.pause(id);
    assert.equal((await c.driver.state(id)).status, 'paused');
    await c.driver.resume(id);
    assert.equal((await c.driver.state(id)).status, 'running');
    await c.driver.kill(id, 'KILL');
    await c.driver.waitExit(id);
  });

  it('execs with output and exit code, and reports a missing command', async (c) => {
    const { id } = await c.create({ args: ['sleep', '60'] });
    await c.driver.start(id);
    const h = await c.driver.exec(id, { process: { args: ['sh', '-c', 'echo hi; echo oops >&2; exit 5'], cwd: '/', user: { uid: 0, gid: 0 }, env: ['PATH=/bin'] }, tty: false, openStdin: false });
    const out = collect(await h.attach());
    await h.start();
    assert.ok(h.pid > 0);
    assert.equal(await h.wait(), 5);
    assert.deepEqual(await out, { stdout: 'hi\n', stderr: 'oops\n', chunks: (await out).chunks });

    const e = await c.driver.exec(id, { process: { args: ['cat'], cwd: '/', user: { uid: 0, gid: 0 } }, tty: false, openStdin: true });
    const ea = await e.attach();
    const eout = collect(ea);
    await e.start();
    ea.stdin!.end('via stdin\n');
    assert.equal(await e.wait(), 0);
    assert.equal((await eout).stdout, 'via stdin\n');

    const t = await c.driver.exec(id, { process: { args: ['sh', '-c', '[ -t 0 ] && echo term'], cwd: '/', user: { uid: 0, gid: 0 } }, tty: true, openStdin: false });
    const tout = collect(await t.attach());
    await t.start();
    assert.equal(await t.wait(), 0);
    assert.match((await tout).stdout, /term/);

    const bad = await c.driver.exec(id, { process: { args: ['nosuch'], cwd: '/', user: { uid: 0, gid: 0 }, env: ['PATH=/bin'] }, tty: false, openStdin: false });
    await bad.attach();
    await assert.rejects(bad.start(), /OCI runtime exec failed: exec failed: .*nosuch.*not found/);
    assert.equal(await bad.wait(), 127);
  });

  it('fails create with the runtime\'s message for a missing command', async (c) => {
    await assert.rejects(c.create({ args: ['nosuch'] }), (err: Error) => {
      assert.match(err.message, /^OCI runtime create failed: .*nosuch.*not found/);
      return true;
    });
  });

  it('a new driver instance finds, attaches to, kills and waits for a running container', async (c) => {
    const { id } = await c.create({ args: ['sh', '-c', 'trap "echo bye; exit 7" TERM; echo ready; while :; do sleep 0.05; done'] });
    await c.driver.start(id);
    const fresh = new ConmonDriver({ runtime: c.runtime, execRoot: c.execRoot });
    assert.deepEqual(await fresh.list(), [id]);
    const st = await fresh.state(id);
    assert.equal(st.status, 'running');
    assert.ok((await fresh.top(id)).includes(st.pid));
    const out = collect(await fresh.attach(id));
    const waited = fresh.waitExit(id);
    await sleep(300);
    await fresh.kill(id, 'TERM');
    assert.equal((await waited).exitCode, 7);
    assert.match((await out).stdout, /bye\n$/);
  });

  it('reports an OOM kill (exit 137, oomKilled)', async (c) => {
    const { id } = await c.create({
      // A shell variable doubling until the 8 MiB limit (no swap) is hit.
      args: ['sh', '-c', 'x=xxxxxxxxxxxxxxxx; while :; do x=$x$x; done'],
      resources: { memory: 8 * 1024 * 1024, memorySwap: 8 * 1024 * 1024 },
    });
    await c.driver.start(id);
    const st = await c.driver.waitExit(id);
    assert.equal(st.exitCode, 137);
    assert.equal(st.oomKilled, true);
  });

  it('enforces a pids limit', async (c) => {
    // busybox sh gives up when fork fails; without the limit it would print "started".
    const { id } = await c.create({
      args: ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1 & done; echo started'],
      resources: { pidsLimit: 5 },
    });
    const out = collect(await c.driver.attach(id));
    await c.driver.start(id);
    assert.notEqual((await c.driver.waitExit(id)).exitCode, 0);
    const o = await out;
    assert.equal(o.stdout, '');
    assert.match(o.stderr, /can't fork: Resource temporarily unavailable/);
  });

  it('reports stats and removes the cgroup on delete', async (c) => {
    const { id } = await c.create({ args: ['sh', '-c', 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; sleep 30'], resources: { memory: 64 << 20, pidsLimit: 50 } });
    await c.driver.start(id);
    await sleep(500);
    const s = await c.driver.stats(id);
    assert.ok(s.cpu.totalUsage > 0, 'cpu usage');
    assert.ok(s.memory.usage > 0, 'memory usage');
    assert.equal(s.memory.limit, 64 << 20);
    assert.ok(s.pids.current >= 1);
    assert.equal(s.pids.limit, 50);
    assert.ok(s.systemCpuUsage > 0 && s.onlineCpus > 0);
    await c.driver.kill(id, 'KILL');
    await c.driver.waitExit(id);
    await c.driver.delete(id);
    await c.driver.cleanup(id);
    const dirs = cgroupDirs(detectCgroups(), `/berth/${id}`);
    for (const d of [dirs.v2, ...Object.values(dirs.v1)].filter(Boolean)) assert.equal(existsSync(d!), false, `${d} left behind`);
    assert.equal(existsSync(join(c.execRoot, id)), false);
  });

  it('runs with --init as pid 1', async (c) => {
    const { id } = await c.create({ args: ['sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "'], init: true });
    const out = collect(await c.driver.attach(id));
    await c.driver.start(id);
    assert.equal((await c.driver.waitExit(id)).exitCode, 0);
    assert.match((await out).stdout, /^\/sbin\/docker-init -- sh/);
  });

  it('applies the default seccomp profile and capabilities', async (c) => {
    // unshare needs CAP_SYS_ADMIN: denied by default, allowed with --cap-add SYS_ADMIN.
    const { id } = await c.create({ args: ['sh', '-c', 'grep -E "^(CapEff|Seccomp):" /proc/self/status'] });
    const out = collect(await c.driver.attach(id));
    await c.driver.start(id);
    await c.driver.waitExit(id);
    const text = (await out).stdout;
    assert.match(text, /CapEff:\s+00000000a80425fb/);
    assert.match(text, /Seccomp:\s+2/);
  });
}
