// Spec generation is pure data: these run without root, against a made-up host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  generateSpec, tweakCapabilities, DEFAULT_CAPS, ALL_CAPS, SeccompCache, resolveSeccomp, loadDefaultProfile,
  mergeTmpfsOptions, parseDeviceCgroupRule, dockerEnv, type HostInfo, type SpecOptions,
} from '../../src/runtime/index.js';
import { isInvalidArgument } from '../../src/util/index.js';

const host: HostInfo = {
  arch: 'amd64',
  kernel: [6, 1],
  capabilities: ALL_CAPS.filter((c) => c !== 'CAP_SYS_RESOURCE'),
  rlimitHard: { RLIMIT_NOFILE: 20000, RLIMIT_NPROC: 96364 },
  canRaiseRlimits: false,
  initPath: '/usr/bin/catatonit',
  thermalThrottlePaths: ['/sys/devices/system/cpu/cpu0/thermal_throttle'],
  listDevices: (dir) => (dir === '/dev' ? [{ type: 'c', path: '/dev/null', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }] : []),
  statDevice: (p) => (p === '/dev/fuse' ? { type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 } : undefined),
};
const ctx = { host, seccomp: new SeccompCache() };
const base: SpecOptions = { id: 'c1', rootfs: '/var/lib/berth/containers/c1/rootfs', args: ['sh'] };
const gen = (o: Partial<SpecOptions> = {}) => generateSpec({ ...base, ...o }, ctx);

test('the default spec is Docker\'s', () => {
  const s = gen({ hostname: 'abc', env: ['FOO=bar'] });
  assert.equal(s.root!.path, base.rootfs);
  assert.equal(s.root!.readonly, false);
  assert.equal(s.hostname, 'abc');
  assert.deepEqual(s.process!.args, ['sh']);
  assert.equal(s.process!.cwd, '/');
  assert.deepEqual(s.process!.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=abc', 'FOO=bar']);
  assert.deepEqual(s.process!.capabilities!.bounding, DEFAULT_CAPS);
  assert.deepEqual(s.process!.capabilities!.effective, DEFAULT_CAPS);
  assert.equal(s.process!.capabilities!.inheritable, undefined);
  assert.deepEqual(s.linux!.namespaces!.map((n) => n.type).sort(), ['ipc', 'mount', 'network', 'pid', 'uts']);
  assert.equal(s.linux!.cgroupsPath, '/berth/c1');
  assert.deepEqual(s.mounts!.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);
  assert.deepEqual(s.mounts!.find((m) => m.destination === '/dev/shm')!.options, ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864']);
  assert.ok(s.mounts!.find((m) => m.destination === '/sys')!.options!.includes('ro'));
  assert.ok(s.linux!.maskedPaths!.includes('/proc/kcore'));
  assert.ok(s.linux!.maskedPaths!.includes('/sys/devices/system/cpu/cpu0/thermal_throttle'));
  assert.deepEqual(s.linux!.readonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  assert.deepEqual(s.linux!.resources!.devices![0], { allow: false, access: 'rwm' });
  assert.equal(s.linux!.resources!.devices!.length, 8);
  assert.equal(s.linux!.seccomp!.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(s.linux!.seccomp!.defaultErrnoRet, 1);
  assert.deepEqual(s.linux!.seccomp!.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.equal(s.process!.rlimits, undefined);
});

test('env: TTY adds TERM, the container overrides PATH and HOSTNAME', () => {
  assert.deepEqual(dockerEnv(['PATH=/x', 'HOSTNAME=mine'], { hostname: 'h', tty: true }), ['HOSTNAME=mine', 'TERM=xterm', 'PATH=/x']);
  const s = gen({ tty: true, consoleSize: { height: 24, width: 80 } });
  assert.equal(s.process!.terminal, true);
  assert.deepEqual(s.process!.consoleSize, { height: 24, width: 80 });
  assert.ok(s.process!.env!.includes('TERM=xterm'));
});

test('capabilities: add and drop with and without CAP_, ALL, unknown names', () => {
  const caps = (add: string[], drop: string[]) => tweakCapabilities({ add, drop, available: host.capabilities });
  assert.ok(caps(['net_admin'], []).includes('CAP_NET_ADMIN'));
  assert.ok(caps(['CAP_SYS_ADMIN'], []).includes('CAP_SYS_ADMIN'));
  assert.ok(!caps([], ['chown']).includes('CAP_CHOWN'));
  assert.deepEqual(caps(['NET_ADMIN'], ['ALL']), ['CAP_NET_ADMIN']);
  const all = caps(['ALL'], ['MKNOD']);
  assert.ok(!all.includes('CAP_MKNOD') && all.includes('CAP_SYS_ADMIN'));
  // The daemon lacks CAP_SYS_RESOURCE: no container can get it.
  assert.ok(!all.includes('CAP_SYS_RESOURCE'));
  assert.throws(() => caps(['NOPE'], []), (e) => isInvalidArgument(e) && /unknown capability: "CAP_NOPE"/.test((e as Error).message));
});

test('seccomp follows the capabilities: SYS_ADMIN unlocks mount, unconfined drops it', () => {
  const names = (o: Partial<SpecOptions>) => new Set(gen(o).linux!.seccomp!.syscalls!.filter((s) => s.action === 'SCMP_ACT_ALLOW').flatMap((s) => s.names));
  assert.ok(!names({}).has('mount'));
  assert.ok(names({ capAdd: ['SYS_ADMIN'] }).has('mount'));
  assert.ok(names({}).has('read'));
  // The clone rule with a mask exists only without SYS_ADMIN.
  const clone = gen({}).linux!.seccomp!.syscalls!.find((s) => s.names.includes('clone') && s.args?.length);
  assert.ok(clone);
  assert.equal(gen({ seccomp: 'unconfined' }).linux!.seccomp, undefined);
  // The arm64 host gets its own architectures and the arm-only rules.
  const arm = resolveSeccomp(loadDefaultProfile(), { caps: DEFAULT_CAPS, arch: 'arm64', kernel: [6, 1] });
  assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.ok(!arm.syscalls!.some((s) => s.names.includes('arch_prctl')));
  // Cached results are copies.
  const a = ctx.seccomp.defaultFor({ caps: DEFAULT_CAPS, arch: 'amd64', kernel: [6, 1] });
  a.syscalls!.length = 0;
  assert.ok(ctx.seccomp.defaultFor({ caps: DEFAULT_CAPS, arch: 'amd64', kernel: [6, 1] }).syscalls!.length > 10);
});

test('privileged: all caps the daemon has, all devices, no seccomp, no masks, rw sysfs', () => {
  const s = gen({ privileged: true });
  assert.equal(s.process!.capabilities!.bounding!.length, host.capabilities.length);
  assert.equal(s.linux!.seccomp, undefined);
  assert.equal(s.linux!.maskedPaths, undefined);
  assert.equal(s.linux!.readonlyPaths, undefined);
  assert.deepEqual(s.linux!.resources!.devices, [{ allow: true, access: 'rwm' }]);
  assert.equal(s.linux!.devices![0]!.path, '/dev/null');
  const sys = s.mounts!.find((m) => m.destination === '/sys')!;
  assert.ok(!sys.options!.includes('ro') && sys.options!.includes('rw'));
});

test('devices and device cgroup rules', () => {
  const s = gen({ devices: [{ pathOnHost: '/dev/fuse', pathInContainer: '/dev/myfuse', cgroupPermissions: 'rw' }], deviceCgroupRules: ['c 42:* rmw'] });
  assert.deepEqual(s.linux!.devices, [{ type: 'c', path: '/dev/myfuse', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }]);
  const rules = s.linux!.resources!.devices!;
  assert.deepEqual(rules.at(-2), { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' });
  assert.deepEqual(rules.at(-1), { allow: true, type: 'c', major: 42, access: 'rmw' });
  assert.throws(() => gen({ devices: [{ pathOnHost: '/dev/nope' }] }), isInvalidArgument);
  assert.throws(() => parseDeviceCgroupRule('x 1:2 r'), isInvalidArgument);
});

test('namespaces: host, paths, and no hostname without a UTS namespace', () => {
  const s = gen({ hostname: 'h', namespaces: { network: { path: '/run/netns/x' }, pid: 'host', ipc: { path: '/proc/42/ns/ipc' }, uts: 'host' } });
  const ns = s.linux!.namespaces!;
  assert.deepEqual(ns.find((n) => n.type === 'network'), { type: 'network', path: '/run/netns/x' });
  assert.equal(ns.find((n) => n.type === 'pid'), undefined);
  assert.equal(ns.find((n) => n.type === 'uts'), undefined);
  assert.deepEqual(ns.find((n) => n.type === 'ipc'), { type: 'ipc', path: '/proc/42/ns/ipc' });
  assert.equal(s.hostname, undefined);
  assert.ok(gen({ cgroupVersion: 2 }).linux!.namespaces!.some((n) => n.type === 'cgroup'));
  const hostIpc = gen({ namespaces: { ipc: 'host' } });
  assert.deepEqual(hostIpc.mounts!.find((m) => m.destination === '/dev/shm'), { destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rw', 'rprivate'] });
});

test('mounts: binds, tmpfs, shm size, replacing defaults, parents first', () => {
  const s = gen({
    shmSize: 1 << 20,
    readonlyRootfs: true,
    mounts: [
      { type: 'bind', source: '/data/sub', destination: '/data/sub', readOnly: true },
      { type: 'bind', source: '/data', destination: '/data', propagation: 'rshared' },
      { type: 'tmpfs', destination: '/run', options: ['size=65536k', 'exec'] },
      { type: 'bind', source: '/etc/resolv.conf.x', destination: '/etc/resolv.conf' },
      { type: 'tmpfs', destination: '/sys/fs/cgroup' },
    ],
  });
  assert.equal(s.root!.readonly, true);
  const dests = s.mounts!.map((m) => m.destination);
  assert.ok(dests.indexOf('/data') < dests.indexOf('/data/sub'));
  assert.equal(dests.filter((d) => d === '/sys/fs/cgroup').length, 1);
  assert.equal(s.mounts!.find((m) => m.destination === '/sys/fs/cgroup')!.type, 'tmpfs');
  assert.deepEqual(s.mounts!.find((m) => m.destination === '/data/sub')!.options, ['rbind', 'ro', 'rprivate']);
  assert.deepEqual(s.mounts!.find((m) => m.destination === '/data')!.options, ['rbind', 'rw', 'rshared']);
  assert.deepEqual(s.mounts!.find((m) => m.destination === '/run')!.options, ['nosuid', 'nodev', 'size=65536k', 'exec']);
  assert.ok(s.mounts!.find((m) => m.destination === '/dev/shm')!.options!.includes('size=1048576'));
  assert.deepEqual(mergeTmpfsOptions(['rw,size=1m', 'size=2m']), ['noexec', 'nosuid', 'nodev', 'rw', 'size=2m']);
  assert.throws(() => gen({ mounts: [{ type: 'bind', source: '/a', destination: '/x' }, { type: 'bind', source: '/b', destination: '/x' }] }), /Duplicate mount point: \/x/);
  assert.throws(() => gen({ mounts: [{ type: 'bind', source: '/a', destination: 'rel' }] }), isInvalidArgument);
});

test('init: catatonit bound at /sbin/docker-init and run before the command', () => {
  const s = gen({ init: true, args: ['sleep', '1'] });
  assert.deepEqual(s.process!.args, ['/sbin/docker-init', '--', 'sleep', '1']);
  assert.deepEqual(s.mounts!.find((m) => m.destination === '/sbin/docker-init'), { destination: '/sbin/docker-init', type: 'bind', source: '/usr/bin/catatonit', options: ['bind', 'ro', 'rprivate'] });
  assert.throws(() => generateSpec({ ...base, init: true }, { ...ctx, host: { ...host, initPath: undefined } }), isInvalidArgument);
});

test('ulimits are clamped to the daemon\'s hard limit without CAP_SYS_RESOURCE', () => {
  const s = gen({ ulimits: [{ name: 'nofile', soft: 1048576, hard: 1048576 }, { name: 'nproc', soft: 100, hard: 200 }, { name: 'core', soft: 0, hard: 0 }] });
  assert.deepEqual(s.process!.rlimits, [
    { type: 'RLIMIT_NOFILE', soft: 20000, hard: 20000 },
    { type: 'RLIMIT_NPROC', soft: 100, hard: 200 },
    { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
  ]);
  const raised = generateSpec({ ...base, ulimits: [{ name: 'nofile', soft: 1048576, hard: 1048576 }] }, { ...ctx, host: { ...host, canRaiseRlimits: true } });
  assert.deepEqual(raised.process!.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 }]);
  assert.throws(() => gen({ ulimits: [{ name: 'bogus', soft: 1, hard: 1 }] }), isInvalidArgument);
  assert.throws(() => gen({ ulimits: [{ name: 'nofile', soft: 2, hard: 1 }] }), isInvalidArgument);
});

test('resources, sysctls, oom score, no-new-privileges, user', () => {
  const s = gen({
    resources: { memory: 64 << 20, memoryReservation: 32 << 20, nanoCpus: 1.5e9, cpuShares: 512, cpusetCpus: '0-1', pidsLimit: 100, blkioWeight: 300 },
    sysctls: { 'net.ipv4.ip_forward': '1' }, oomScoreAdj: 500, noNewPrivileges: true,
    user: { uid: 33, gid: 33, additionalGids: [50] }, cwd: '/work',
  });
  const r = s.linux!.resources!;
  assert.deepEqual(r.memory, { limit: 64 << 20, swap: 128 << 20, reservation: 32 << 20 });
  assert.deepEqual(r.cpu, { period: 100000, quota: 150000, shares: 512, cpus: '0-1' });
  assert.deepEqual(r.pids, { limit: 100 });
  assert.deepEqual(r.blockIO, { weight: 300 });
  assert.deepEqual(s.linux!.sysctl, { 'net.ipv4.ip_forward': '1' });
  assert.equal(s.process!.oomScoreAdj, 500);
  assert.equal(s.process!.noNewPrivileges, true);
  assert.deepEqual(s.process!.user, { uid: 33, gid: 33, additionalGids: [50] });
  assert.equal(s.process!.cwd, '/work');
  assert.deepEqual(gen({ resources: { memory: 64 << 20, memorySwap: -1 } }).linux!.resources!.memory, { limit: 64 << 20, swap: -1 });
  assert.throws(() => gen({ resources: { nanoCpus: 1e9, cpuPeriod: 1000 } }), /Conflicting options: Nano CPUs and CPU Period/);
  assert.throws(() => gen({ resources: { memory: 1024 } }), /Minimum memory limit allowed is 6MB/);
  assert.throws(() => gen({ sysctls: { 'net.core.somaxconn': '1' }, namespaces: { network: 'host' } }), isInvalidArgument);
  assert.throws(() => gen({ args: [] }), isInvalidArgument);
  assert.throws(() => gen({ id: '../x' }), isInvalidArgument);
});
