// OCI spec generation: pure data. generateSpec() starts from Docker's default
// spec (moby oci/defaults.go, FACTS.md §4.1) and applies one small transform
// per concern (SpecOpt), in the style of containerd's pkg/oci spec_opts.
// Host facts (caps the daemon holds, rlimits, arch, init binary) come in
// through HostInfo so tests can pin them.
import { posix } from 'node:path';
import { invalidArgument } from '../util/index.js';
import { tweakCapabilities } from './caps.js';
import { readHostInfo, type HostInfo } from './host.js';
import { SeccompCache, resolveSeccomp, type SeccompProfile } from './seccomp.js';
import {
  OCI_VERSION, type OciSpec, type OciMount, type OciNamespace, type OciLinuxDevice, type OciDeviceCgroup,
  type OciRlimit, type OciLinuxResources,
} from './oci.js';

/** private: a new namespace; host: the daemon's; {path}: join an existing one (/proc/<pid>/ns/x, /run/netns/x). */
export type NamespaceMode = 'private' | 'host' | { path: string };

export interface SpecMount {
  /** bind, tmpfs, or any fs type the runtime can mount. A volume is a bind of its directory. */
  type: string;
  destination: string;
  source?: string;
  readOnly?: boolean;
  /** Bind propagation: rprivate (default), private, rshared, shared, rslave, slave. */
  propagation?: string;
  /** Binds are recursive (rbind) unless false. */
  recursive?: boolean;
  /** Extra fs options: tmpfs "size=64m", "mode=1777", "exec"; or raw OCI options. */
  options?: string[];
}

export interface DeviceMapping { pathOnHost: string; pathInContainer?: string; cgroupPermissions?: string }

export interface ResourceOptions {
  memory?: number;
  memorySwap?: number;
  memoryReservation?: number;
  memorySwappiness?: number;
  oomKillDisable?: boolean;
  nanoCpus?: number;
  cpuShares?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  cpuRealtimePeriod?: number;
  cpuRealtimeRuntime?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number;
  blkioWeight?: number;
  /** --device-read-bps & co., devices already resolved to major:minor. */
  blkioThrottle?: { readBps?: BlkioRate[]; writeBps?: BlkioRate[]; readIops?: BlkioRate[]; writeIops?: BlkioRate[] };
}

export interface BlkioRate { major: number; minor: number; rate: number }

export interface SpecOptions {
  /** Container id: names the cgroup. */
  id: string;
  /** Host path of the container's root filesystem (already mounted). */
  rootfs: string;
  readonlyRootfs?: boolean;
  args: string[];
  env?: string[];
  cwd?: string;
  user?: { uid: number; gid: number; additionalGids?: number[] };
  hostname?: string;
  domainname?: string;
  tty?: boolean;
  consoleSize?: { height: number; width: number };
  namespaces?: { network?: NamespaceMode; pid?: NamespaceMode; ipc?: NamespaceMode; uts?: 'private' | 'host'; cgroup?: 'private' | 'host' };
  /** cgroup v2 hosts get a private cgroupns by default, v1 the host's (as Docker). */
  cgroupVersion?: 1 | 2;
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  devices?: DeviceMapping[];
  /** "c 1:3 mr", "a *:* rwm", as HostConfig.DeviceCgroupRules. */
  deviceCgroupRules?: string[];
  /** 'default' (Docker's profile), 'unconfined', or a profile in Docker's format. */
  seccomp?: 'default' | 'unconfined' | SeccompProfile;
  noNewPrivileges?: boolean;
  /** Size of /dev/shm in bytes (HostConfig.ShmSize); 64 MiB when 0 or unset. */
  shmSize?: number;
  /** `--ipc none`: a private IPC namespace and no /dev/shm at all. */
  noShm?: boolean;
  /** Caller mounts: binds, volumes, tmpfs, /etc/hosts & co. Applied after the defaults. */
  mounts?: SpecMount[];
  sysctls?: Record<string, string>;
  /** HostConfig.Ulimits: name without RLIMIT_ ("nofile"). */
  ulimits?: { name: string; soft: number; hard: number }[];
  oomScoreAdj?: number;
  resources?: ResourceOptions;
  /** cgroup parent; the cgroup is `<parent>/<id>`. Default /berth. */
  cgroupParent?: string;
  /** Run catatonit/tini as pid 1 (bound at /sbin/docker-init). */
  init?: boolean;
  /** Replace Docker's default masked / read-only paths (HostConfig.MaskedPaths, ReadonlyPaths). */
  maskedPaths?: string[];
  readonlyPaths?: string[];
  annotations?: Record<string, string>;
}

export interface SpecContext { host: HostInfo; seccomp: SeccompCache }
export type SpecOpt = (spec: OciSpec, opts: SpecOptions, ctx: SpecContext) => void;

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
export const DEFAULT_CGROUP_PARENT = '/berth';
export const INIT_PATH_IN_CONTAINER = '/sbin/docker-init';

export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Docker's device cgroup rules: deny all, allow null, zero, full, random, urandom, tty, console; deny tun. */
export const DEFAULT_DEVICE_RULES: readonly OciDeviceCgroup[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
  { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' },
];

/** Docker's default mounts, before ShmSize is applied. */
export function defaultMounts(shmSize = DEFAULT_SHM_SIZE): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize}`] },
  ];
}

/** The base spec every container starts from (Docker's oci.DefaultLinuxSpec). */
export function defaultSpec(): OciSpec {
  return {
    ociVersion: OCI_VERSION,
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: [], env: [], cwd: '/', capabilities: {} },
    root: { path: 'rootfs', readonly: false },
    mounts: defaultMounts(),
    linux: {
      namespaces: [{ type: 'mount' }, { type: 'network' }, { type: 'uts' }, { type: 'pid' }, { type: 'ipc' }],
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
      resources: { devices: DEFAULT_DEVICE_RULES.map((d) => ({ ...d })) },
    },
  };
}

// ---- the transforms, in the order generateSpec applies them ----

export const withProcess: SpecOpt = (spec, o) => {
  const p = spec.process!;
  if (!o.args.length) throw invalidArgument('No command specified');
  p.args = [...o.args];
  p.cwd = o.cwd || '/';
  if (!p.cwd.startsWith('/')) throw invalidArgument(`the working directory '${p.cwd}' is invalid, it needs to be an absolute path`);
  p.terminal = !!o.tty;
  if (o.tty && o.consoleSize && o.consoleSize.height > 0 && o.consoleSize.width > 0) p.consoleSize = { ...o.consoleSize };
  if (o.user) p.user = { uid: o.user.uid, gid: o.user.gid, ...(o.user.additionalGids?.length ? { additionalGids: [...o.user.additionalGids] } : {}) };
  p.env = dockerEnv(o.env ?? [], { hostname: o.hostname ?? '', tty: !!o.tty });
  if (o.noNewPrivileges) p.noNewPrivileges = true;
  if (o.oomScoreAdj !== undefined) p.oomScoreAdj = o.oomScoreAdj;
};

/** Docker's environment: default PATH if the container has none, HOSTNAME, TERM=xterm with a TTY; the container's env wins. */
export function dockerEnv(env: string[], o: { hostname: string; tty: boolean }): string[] {
  const key = (kv: string) => kv.split('=', 1)[0]!;
  const out: string[] = [];
  if (!env.some((e) => key(e) === 'PATH')) out.push(DEFAULT_PATH_ENV);
  out.push(`HOSTNAME=${o.hostname}`);
  if (o.tty) out.push('TERM=xterm');
  for (const kv of env) {
    const i = out.findIndex((e) => key(e) === key(kv));
    if (i >= 0) out[i] = kv; else out.push(kv);
  }
  return out;
}

export const withRoot: SpecOpt = (spec, o) => {
  spec.root = { path: o.rootfs, readonly: !!o.readonlyRootfs };
};

export const withNamespaces: SpecOpt = (spec, o) => {
  const ns = o.namespaces ?? {};
  const out: OciNamespace[] = [{ type: 'mount' }];
  const add = (type: OciNamespace['type'], mode: NamespaceMode | undefined) => {
    if (mode === 'host') return;
    out.push(typeof mode === 'object' ? { type, path: mode.path } : { type });
  };
  add('network', ns.network);
  add('uts', ns.uts);
  add('pid', ns.pid);
  add('ipc', ns.ipc);
  const cgroupns = ns.cgroup ?? (o.cgroupVersion === 2 ? 'private' : 'host');
  if (cgroupns === 'private') out.push({ type: 'cgroup' });
  spec.linux!.namespaces = out;
  // Without its own UTS namespace a container cannot set a hostname.
  if (ns.uts !== 'host') {
    if (o.hostname) spec.hostname = o.hostname;
    if (o.domainname) spec.domainname = o.domainname;
  }
};

export const withCapabilities: SpecOpt = (spec, o, ctx) => {
  const caps = tweakCapabilities({ add: o.capAdd, drop: o.capDrop, privileged: o.privileged, available: ctx.host.capabilities });
  spec.process!.capabilities = { bounding: [...caps], effective: [...caps], permitted: [...caps] };
};

export const withMaskedPaths: SpecOpt = (spec, o, ctx) => {
  const linux = spec.linux!;
  if (o.privileged) {
    delete linux.maskedPaths;
    delete linux.readonlyPaths;
    return;
  }
  linux.maskedPaths = o.maskedPaths ? [...o.maskedPaths] : [...DEFAULT_MASKED_PATHS, ...ctx.host.thermalThrottlePaths];
  linux.readonlyPaths = o.readonlyPaths ? [...o.readonlyPaths] : [...DEFAULT_READONLY_PATHS];
};

export const withDevices: SpecOpt = (spec, o, ctx) => {
  const linux = spec.linux!;
  const rules = linux.resources!.devices!;
  const devices: OciLinuxDevice[] = [];
  if (o.privileged) {
    devices.push(...ctx.host.listDevices('/dev'));
    linux.resources!.devices = [{ allow: true, access: 'rwm' }];
  } else {
    for (const m of o.devices ?? []) {
      const perms = m.cgroupPermissions || 'rwm';
      if (!/^[rwm]{1,3}$/.test(perms)) throw invalidArgument(`invalid device mode: ${perms}`);
      const inCtr = m.pathInContainer || m.pathOnHost;
      const one = ctx.host.statDevice(m.pathOnHost);
      const found = one ? [one] : ctx.host.listDevices(m.pathOnHost);
      if (!found.length) throw invalidArgument(`error gathering device information while adding custom device "${m.pathOnHost}": no such file or directory`);
      for (const d of found) {
        const path = one ? inCtr : posix.join(inCtr, posix.relative(m.pathOnHost, d.path));
        devices.push({ ...d, path });
        rules.push({ allow: true, type: d.type === 'b' ? 'b' : 'c', major: d.major, minor: d.minor, access: perms });
      }
    }
  }
  for (const r of o.deviceCgroupRules ?? []) linux.resources!.devices!.push(parseDeviceCgroupRule(r));
  if (devices.length) linux.devices = devices;
};

/** "c 1:3 mr" / "a *:* rwm" → an allow rule (HostConfig.DeviceCgroupRules). */
export function parseDeviceCgroupRule(rule: string): OciDeviceCgroup {
  const m = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.exec(rule.trim());
  if (!m) throw invalidArgument(`invalid device cgroup rule format: '${rule}'`);
  const out: OciDeviceCgroup = { allow: true, type: m[1] as 'a' | 'b' | 'c', access: m[4]! };
  if (m[2] !== '*') out.major = Number(m[2]);
  if (m[3] !== '*') out.minor = Number(m[3]);
  return out;
}

export const withSeccomp: SpecOpt = (spec, o, ctx) => {
  if (o.privileged || o.seccomp === 'unconfined') return;
  const caps = spec.process!.capabilities?.bounding ?? [];
  const c = { caps, arch: ctx.host.arch, kernel: ctx.host.kernel };
  spec.linux!.seccomp = o.seccomp && typeof o.seccomp === 'object' ? resolveSeccomp(o.seccomp, c) : ctx.seccomp.defaultFor(c);
};

const BIND_PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];

/** A caller mount as the runtime takes it. */
export function toOciMount(m: SpecMount): OciMount {
  if (!m.destination.startsWith('/')) throw invalidArgument(`invalid mount config: mount path must be absolute: ${m.destination}`);
  const destination = posix.normalize(m.destination);
  const extra = m.options ?? [];
  if (m.type === 'bind') {
    if (!m.source) throw invalidArgument(`invalid mount config for type "bind": field Source must not be empty`);
    const propagation = m.propagation ?? extra.find((x) => BIND_PROPAGATIONS.includes(x)) ?? 'rprivate';
    if (!BIND_PROPAGATIONS.includes(propagation)) throw invalidArgument(`invalid propagation mode: ${propagation}`);
    const readOnly = m.readOnly ?? extra.includes('ro');
    const rest = extra.filter((x) => !['ro', 'rw', 'bind', 'rbind', ...BIND_PROPAGATIONS].includes(x));
    const recursive = m.recursive ?? !extra.includes('bind');
    return { destination, type: 'bind', source: m.source, options: [recursive ? 'rbind' : 'bind', readOnly ? 'ro' : 'rw', propagation, ...rest] };
  }
  if (m.type === 'tmpfs') {
    return { destination, type: 'tmpfs', source: m.source ?? 'tmpfs', options: mergeTmpfsOptions(extra, m.readOnly) };
  }
  const options = [...extra];
  if (m.readOnly && !options.includes('ro')) options.push('ro');
  return { destination, type: m.type, source: m.source ?? m.type, options };
}

/** Docker's tmpfs defaults (noexec,nosuid,nodev) overridden by the user's flags; the user's values win. */
export function mergeTmpfsOptions(user: string[], readOnly?: boolean): string[] {
  const opposite: Record<string, string> = { exec: 'noexec', suid: 'nosuid', dev: 'nodev', noexec: 'exec', nosuid: 'suid', nodev: 'dev', ro: 'rw', rw: 'ro' };
  let out = ['noexec', 'nosuid', 'nodev'];
  for (const raw of user.flatMap((u) => u.split(',')).map((s) => s.trim()).filter(Boolean)) {
    const key = raw.split('=', 1)[0]!;
    if (raw.includes('=')) out = out.filter((x) => x.split('=', 1)[0] !== key);
    else out = out.filter((x) => x !== raw && x !== opposite[raw]);
    out.push(raw);
  }
  if (readOnly && !out.includes('ro')) out = [...out.filter((x) => x !== 'rw'), 'ro'];
  return out;
}

export const withMounts: SpecOpt = (spec, o, ctx) => {
  const shm = o.shmSize && o.shmSize > 0 ? o.shmSize : DEFAULT_SHM_SIZE;
  let mounts = defaultMounts(shm);
  if (o.namespaces?.ipc === 'host') {
    // Sharing the host's IPC namespace means sharing its /dev/shm too.
    mounts = mounts.filter((m) => m.destination !== '/dev/shm');
    mounts.push({ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rw', 'rprivate'] });
  }
  if (o.noShm) mounts = mounts.filter((m) => m.destination !== '/dev/shm');
  if (o.privileged) {
    for (const m of mounts) if (m.type === 'sysfs' || m.type === 'cgroup') m.options = m.options!.filter((x) => x !== 'ro').concat('rw');
  }
  const user = (o.mounts ?? []).map(toOciMount);
  if (o.init) {
    if (!ctx.host.initPath) throw invalidArgument('no init binary (catatonit, tini) found on the host for --init');
    user.push({ destination: INIT_PATH_IN_CONTAINER, type: 'bind', source: ctx.host.initPath, options: ['bind', 'ro', 'rprivate'] });
  }
  // A caller mount replaces a default mount at the same place or above it
  // (a bind on /dev/shm replaces the shm tmpfs; a mount on /sys, /sys/fs/cgroup).
  const covered = (d: string) => user.some((u) => u.destination === d || d.startsWith(u.destination === '/' ? '/' : u.destination + '/'));
  mounts = mounts.filter((m) => !covered(m.destination));
  const seen = new Set<string>();
  for (const u of user) {
    if (seen.has(u.destination)) throw invalidArgument(`Duplicate mount point: ${u.destination}`);
    seen.add(u.destination);
  }
  // Parents before children: fewer path components first, stable otherwise (as moby sorts).
  const depth = (d: string) => d.split('/').filter(Boolean).length;
  user.sort((a, b) => depth(a.destination) - depth(b.destination));
  spec.mounts = [...mounts, ...user];
};

export const withInit: SpecOpt = (spec, o) => {
  if (!o.init) return;
  spec.process!.args = [INIT_PATH_IN_CONTAINER, '--', ...spec.process!.args];
};

export const withSysctls: SpecOpt = (spec, o) => {
  if (!o.sysctls || !Object.keys(o.sysctls).length) return;
  if (o.namespaces?.network === 'host' && Object.keys(o.sysctls).some((k) => k.startsWith('net.'))) {
    throw invalidArgument('sysctl net.* are not allowed with --network=host');
  }
  spec.linux!.sysctl = { ...o.sysctls };
};

/**
 * HostConfig.Ulimits → process.rlimits. The daemon cannot raise a hard limit
 * above its own without CAP_SYS_RESOURCE (this machine has none, and a
 * RLIMIT_NOFILE hard limit of 20000), and the runtime would fail the whole
 * container on setrlimit(EPERM) — so limits are clamped to the daemon's hard
 * limit there, and a soft limit never exceeds its hard limit.
 */
export const withRlimits: SpecOpt = (spec, o, ctx) => {
  if (!o.ulimits?.length) return;
  const out: OciRlimit[] = [];
  for (const u of o.ulimits) {
    const type = `RLIMIT_${u.name.toUpperCase().replace(/^RLIMIT_/, '')}`;
    if (!Object.values(RLIMIT_TYPES).includes(type)) throw invalidArgument(`invalid ulimit type: ${u.name}`);
    let { soft, hard } = u;
    if (soft > hard) throw invalidArgument(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
    const cap = ctx.host.rlimitHard[type];
    if (!ctx.host.canRaiseRlimits && cap !== undefined && cap !== Infinity) {
      hard = Math.min(hard, cap);
      soft = Math.min(soft, hard);
    }
    const i = out.findIndex((r) => r.type === type);
    if (i >= 0) out.splice(i, 1);
    out.push({ type, soft, hard });
  }
  spec.process!.rlimits = out;
};

const RLIMIT_TYPES: Record<string, string> = Object.fromEntries(
  ['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack']
    .map((n) => [n, `RLIMIT_${n.toUpperCase()}`]),
);

export const withResources: SpecOpt = (spec, o) => {
  const r = o.resources ?? {};
  const res: OciLinuxResources = spec.linux!.resources!;
  if (r.nanoCpus && (r.cpuQuota || r.cpuPeriod)) {
    throw invalidArgument(r.cpuPeriod ? 'Conflicting options: Nano CPUs and CPU Period cannot both be set' : 'Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  }
  if (r.memory && r.memory > 0 && r.memory < 6 * 1024 * 1024) throw invalidArgument('Minimum memory limit allowed is 6MB');
  const memory: NonNullable<OciLinuxResources['memory']> = {};
  if (r.memory && r.memory > 0) {
    memory.limit = r.memory;
    // Docker gives a container as much swap as memory unless told otherwise.
    memory.swap = r.memorySwap && r.memorySwap !== 0 ? r.memorySwap : r.memory * 2;
    if (memory.swap > 0 && memory.swap < r.memory) throw invalidArgument('Minimum memoryswap limit should be larger than memory limit, see usage');
  } else if (r.memorySwap && r.memorySwap > 0) {
    throw invalidArgument('You should always set the Memory limit when using Memoryswap limit, see usage');
  }
  if (r.memoryReservation && r.memoryReservation > 0) memory.reservation = r.memoryReservation;
  if (r.memorySwappiness !== undefined && r.memorySwappiness >= 0) memory.swappiness = r.memorySwappiness;
  if (r.oomKillDisable) memory.disableOOMKiller = true;
  if (Object.keys(memory).length) res.memory = memory;

  const cpu: NonNullable<OciLinuxResources['cpu']> = {};
  if (r.nanoCpus && r.nanoCpus > 0) {
    cpu.period = 100_000;
    cpu.quota = Math.floor((r.nanoCpus * cpu.period) / 1e9);
  }
  if (r.cpuQuota) cpu.quota = r.cpuQuota;
  if (r.cpuPeriod) cpu.period = r.cpuPeriod;
  if (r.cpuShares) cpu.shares = r.cpuShares;
  if (r.cpuRealtimePeriod) cpu.realtimePeriod = r.cpuRealtimePeriod;
  if (r.cpuRealtimeRuntime) cpu.realtimeRuntime = r.cpuRealtimeRuntime;
  if (r.cpusetCpus) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length) res.cpu = cpu;

  if (r.pidsLimit !== undefined && r.pidsLimit !== 0) res.pids = { limit: r.pidsLimit < 0 ? -1 : r.pidsLimit };
  if (r.blkioWeight) {
    if (r.blkioWeight < 10 || r.blkioWeight > 1000) throw invalidArgument('Range of blkio weight is from 10 to 1000');
    res.blockIO = { weight: r.blkioWeight };
  }
  const t = r.blkioThrottle;
  if (t && (t.readBps?.length || t.writeBps?.length || t.readIops?.length || t.writeIops?.length)) {
    const io = (res.blockIO ??= {});
    if (t.readBps?.length) io.throttleReadBpsDevice = t.readBps.map((x) => ({ ...x }));
    if (t.writeBps?.length) io.throttleWriteBpsDevice = t.writeBps.map((x) => ({ ...x }));
    if (t.readIops?.length) io.throttleReadIOPSDevice = t.readIops.map((x) => ({ ...x }));
    if (t.writeIops?.length) io.throttleWriteIOPSDevice = t.writeIops.map((x) => ({ ...x }));
  }
  if (r.cpuRealtimePeriod && r.cpuRealtimeRuntime && r.cpuRealtimeRuntime > r.cpuRealtimePeriod) {
    throw invalidArgument('cpu-rt-runtime cannot be higher than cpu-rt-period');
  }
};

export const withCgroupsPath: SpecOpt = (spec, o) => {
  const parent = o.cgroupParent || DEFAULT_CGROUP_PARENT;
  spec.linux!.cgroupsPath = posix.join(parent.startsWith('/') ? parent : `/${parent}`, o.id);
};

export const withAnnotations: SpecOpt = (spec, o) => {
  if (o.annotations && Object.keys(o.annotations).length) spec.annotations = { ...o.annotations };
};

/** The transforms generateSpec applies, in order (capabilities before seccomp, mounts before init). */
export const SPEC_OPTS: readonly SpecOpt[] = [
  withRoot, withProcess, withNamespaces, withCapabilities, withMaskedPaths, withDevices, withSeccomp,
  withMounts, withInit, withSysctls, withRlimits, withResources, withCgroupsPath, withAnnotations,
];

let defaultCtx: SpecContext | undefined;
/** Host facts and the seccomp cache, read once per process (host facts don't change under us). */
export function defaultSpecContext(): SpecContext {
  defaultCtx ??= { host: readHostInfo(), seccomp: new SeccompCache() };
  return defaultCtx;
}

/** A complete runtime-spec config.json for one container. */
export function generateSpec(opts: SpecOptions, ctx: Partial<SpecContext> = {}): OciSpec {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(opts.id)) throw invalidArgument(`invalid container id: ${opts.id}`);
  const full: SpecContext = {
    host: ctx.host ?? defaultSpecContext().host,
    seccomp: ctx.seccomp ?? defaultSpecContext().seccomp,
  };
  const spec = defaultSpec();
  for (const opt of SPEC_OPTS) opt(spec, opts, full);
  return spec;
}
