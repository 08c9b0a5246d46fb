import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  detectCgroups, parseProcStat, toDockerStats, selectRuntime, prepareHost, probeRuntime, findExecutable,
  toSignalNumber, runtimeErrorText, exitCodeForStartError, type CgroupStats,
} from '../../src/runtime/index.js';
import { isInvalidArgument } from '../../src/util/index.js';

const HYBRID = `22 1 0:21 / /sys rw - sysfs sysfs rw
25 22 0:23 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
26 25 0:24 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
27 25 0:25 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
28 25 0:26 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
29 25 0:27 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const V2 = `30 22 0:28 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate
`;

test('detects v1, hybrid and v2 layouts', () => {
  const h = detectCgroups(HYBRID);
  assert.equal(h.mode, 'hybrid');
  assert.equal(h.v1.memory, '/sys/fs/cgroup/memory');
  assert.equal(h.v1['name=systemd'], '/sys/fs/cgroup/systemd');
  assert.equal(h.v2Mount, '/sys/fs/cgroup/unified');
  assert.equal(detectCgroups(HYBRID.split('\n').slice(0, 5).join('\n')).mode, 'v1');
  assert.deepEqual(detectCgroups(V2), { mode: 'v2', v1: {}, v2Mount: '/sys/fs/cgroup' });
});

test('prepareHost leaves crun a host it accepts', async () => {
  const { layout } = await prepareHost();
  if (layout.mode === 'hybrid') {
    assert.equal(readFileSync(`${layout.v2Mount}/cgroup.controllers`, 'utf8').trim(), '');
  }
  const crun = findExecutable('crun');
  if (crun) assert.equal(await probeRuntime(crun), undefined);
  // Idempotent.
  assert.deepEqual((await prepareHost()).moved, []);
});

test('selectRuntime: configured, first working, none', async () => {
  const cache = new Map<string, string | undefined>();
  const calls: string[] = [];
  const probe = async (p: string) => { calls.push(p); return p.endsWith('/crun') ? 'cgroups in hybrid mode not supported' : undefined; };
  const picked = await selectRuntime({ probe, cache });
  if (findExecutable('crun') && findExecutable('runc')) {
    assert.equal(picked.name, 'runc');
    assert.match(picked.reason, /crun: cgroups in hybrid mode not supported/);
  }
  await selectRuntime({ probe, cache });
  assert.equal(calls.length, new Set(calls).size, 'probes are cached');
  const configured = await selectRuntime({ configured: 'crun', probe, cache });
  assert.equal(configured.name, 'crun');
  assert.equal(configured.reason, 'configured');
  await assert.rejects(selectRuntime({ configured: 'nosuch-runtime', probe }), isInvalidArgument);
  await assert.rejects(selectRuntime({ probe: async () => 'broken' }), /no working OCI runtime found/);
  // On this host, for real: a runtime that works.
  const real = await selectRuntime();
  assert.equal(await probeRuntime(real.path), undefined);
});

test('/proc/stat and Docker\'s stats shape', () => {
  const ps = parseProcStat('cpu  100 0 50 800 10 0 5 0 0 0\ncpu0 50 0 25 400 5 0 2 0 0 0\ncpu1 50 0 25 400 5 0 3 0 0 0\nintr 1\n');
  assert.deepEqual(ps, { systemCpuUsage: 965 * 1e7, onlineCpus: 2 });
  const raw: CgroupStats = {
    read: new Date('2024-01-01T00:00:01Z'), cgroupVersion: 1,
    cpu: { totalUsage: 5e8, usageInKernelmode: 1e8, usageInUsermode: 4e8, percpuUsage: [3e8, 2e8], throttling: { periods: 1, throttledPeriods: 0, throttledTime: 0 } },
    systemCpuUsage: 9.65e9, onlineCpus: 2,
    memory: { usage: 1 << 20, maxUsage: 2 << 20, failcnt: 0, limit: 64 << 20, stats: { total_inactive_file: 4096 } },
    pids: { current: 3, limit: 50 },
    blkio: { ioServiceBytesRecursive: [{ major: 8, minor: 0, op: 'Read', value: 10 }], ioServicedRecursive: [] },
  };
  const first = toDockerStats(raw);
  assert.equal(first.preread, '0001-01-01T00:00:00Z');
  assert.equal(first.precpu_stats.cpu_usage.total_usage, 0);
  assert.deepEqual(first.cpu_stats.cpu_usage, { total_usage: 5e8, percpu_usage: [3e8, 2e8], usage_in_kernelmode: 1e8, usage_in_usermode: 4e8 });
  assert.equal(first.cpu_stats.online_cpus, 2);
  assert.deepEqual(first.memory_stats, { usage: 1 << 20, max_usage: 2 << 20, stats: { total_inactive_file: 4096 }, failcnt: 0, limit: 64 << 20 });
  assert.deepEqual(first.pids_stats, { current: 3, limit: 50 });
  assert.equal(first.blkio_stats.io_serviced_recursive, null);
  const next = toDockerStats({ ...raw, read: new Date('2024-01-01T00:00:02Z') }, raw);
  assert.equal(next.preread, '2024-01-01T00:00:01.000Z');
  assert.equal(next.precpu_stats.system_cpu_usage, 9.65e9);
});

test('signals and runtime messages', () => {
  assert.equal(toSignalNumber('KILL'), 9);
  assert.equal(toSignalNumber('sigterm'), 15);
  assert.equal(toSignalNumber('10'), 10);
  assert.throws(() => toSignalNumber('NOPE'), isInvalidArgument);
  assert.throws(() => toSignalNumber(0), isInvalidArgument);
  assert.equal(runtimeErrorText('time="2024" level=error msg="container not running"\n'), 'container not running');
  assert.equal(runtimeErrorText('crun: executable file `x` not found in $PATH: No such file or directory\n'), 'executable file `x` not found in $PATH: No such file or directory');
  assert.equal(exitCodeForStartError('exec: "nosuch": executable file not found in $PATH'), 127);
  assert.equal(exitCodeForStartError('exec: "/etc": permission denied'), 126);
});
