// cgroups: which version the host runs, where a container's cgroup lives,
// making a hybrid host usable by crun, and reading a container's stats.
import { readFileSync, mkdirSync, rmdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { totalmem } from 'node:os';
import { hasCode, silentLogger, type Logger } from '../util/index.js';

export type CgroupMode = 'v1' | 'hybrid' | 'v2';

export interface MountInfo { mountPoint: string; fsType: string; superOptions: string[]; root: string }

export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const f = pre.split(' ');
    const g = post.split(' ');
    const unescape = (s: string) => s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    out.push({ root: unescape(f[3] ?? ''), mountPoint: unescape(f[4] ?? ''), fsType: g[0] ?? '', superOptions: (g[2] ?? '').split(',') });
  }
  return out;
}

/** The host's cgroup layout. */
export interface CgroupLayout {
  mode: CgroupMode;
  /** v1 controller (and name=…) → mount point of its hierarchy. */
  v1: Record<string, string>;
  /** The cgroup2 mount (/sys/fs/cgroup on v2, /sys/fs/cgroup/unified on hybrid). */
  v2Mount?: string;
}

const V1_OPTS_IGNORED = new Set(['rw', 'ro', 'relatime', 'nosuid', 'nodev', 'noexec', 'noatime', 'clone_children', 'xattr']);

export function detectCgroups(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): CgroupLayout {
  const mounts = parseMountInfo(mountinfo);
  const v1: Record<string, string> = {};
  let v2Mount: string | undefined;
  for (const m of mounts) {
    if (m.fsType === 'cgroup2' && (v2Mount === undefined || m.mountPoint === '/sys/fs/cgroup')) v2Mount = m.mountPoint;
    if (m.fsType === 'cgroup') {
      for (const o of m.superOptions) if (!V1_OPTS_IGNORED.has(o) && !o.startsWith('release_agent')) v1[o] ??= m.mountPoint;
    }
  }
  const mode: CgroupMode = v2Mount === '/sys/fs/cgroup' ? 'v2' : Object.keys(v1).length ? (v2Mount ? 'hybrid' : 'v1') : v2Mount ? 'v2' : 'v1';
  return { mode, v1, v2Mount };
}

/** 2 on a pure cgroup v2 host, else 1 (v1 and hybrid): what `docker info` calls CgroupVersion. */
export function cgroupVersion(layout: CgroupLayout = detectCgroups()): 1 | 2 {
  return layout.mode === 'v2' ? 2 : 1;
}

/**
 * Make a hybrid host usable by crun 1.8, which refuses to run when any
 * controller is bound to the cgroup2 hierarchy ("cgroups in hybrid mode not
 * supported, drop all controllers from cgroupv2"). A controller that no v2
 * cgroup uses can be moved: mounting it as its own v1 hierarchy takes it off
 * the v2 mount (verified on this host: hugetlb; crun works afterwards).
 * Idempotent; returns the controllers it moved. Needs CAP_SYS_ADMIN.
 */
export async function prepareHost(opts: { log?: Logger; mount?: (src: string, target: string, fstype: string, flags: number, data: string) => void } = {}): Promise<{ moved: string[]; layout: CgroupLayout }> {
  const log = opts.log ?? silentLogger;
  let layout = detectCgroups();
  const moved: string[] = [];
  if (layout.mode !== 'hybrid' || !layout.v2Mount) return { moved, layout };
  let controllers: string[] = [];
  try {
    controllers = readFileSync(join(layout.v2Mount, 'cgroup.controllers'), 'utf8').split(/\s+/).filter(Boolean);
  } catch (err) {
    if (!hasCode(err, 'ENOENT')) throw err;
  }
  const mount = opts.mount ?? (await import('../sys/index.js')).mount;
  for (const c of controllers) {
    const target = `/sys/fs/cgroup/${c}`;
    try {
      mkdirSync(target, { recursive: true });
      mount('cgroup', target, 'cgroup', 0, c);
      moved.push(c);
      log.info('moved cgroup controller off the cgroup2 mount so crun accepts the host', { controller: c, mountpoint: target });
    } catch (err) {
      log.warn('could not move cgroup controller off the cgroup2 mount; crun will refuse this host', { controller: c, error: err });
    }
  }
  layout = detectCgroups();
  return { moved, layout };
}

/** Host directories of a container's cgroup, by controller (v1) or the single v2 directory. */
export function cgroupDirs(layout: CgroupLayout, cgroupsPath: string): { v2?: string; v1: Record<string, string> } {
  const rel = posix.normalize('/' + cgroupsPath);
  if (layout.mode === 'v2') return { v2: join(layout.v2Mount ?? '/sys/fs/cgroup', rel), v1: {} };
  const v1: Record<string, string> = {};
  for (const [ctrl, mnt] of Object.entries(layout.v1)) v1[ctrl] = join(mnt, rel);
  return { v1 };
}

/** Pids in a container's cgroup (for `docker top`). */
export async function cgroupPids(layout: CgroupLayout, cgroupsPath: string): Promise<number[]> {
  const dirs = cgroupDirs(layout, cgroupsPath);
  const candidates = dirs.v2 ? [dirs.v2] : ['pids', 'memory', 'freezer', 'cpu', 'devices'].map((c) => dirs.v1[c]).filter((d): d is string => !!d);
  for (const d of candidates) {
    try {
      const text = await readFile(join(d, 'cgroup.procs'), 'utf8');
      return text.split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) throw err;
    }
  }
  return [];
}

/** Remove a container's (empty) cgroup directories the runtime left behind. Best effort. */
export function removeCgroup(layout: CgroupLayout, cgroupsPath: string): void {
  const dirs = cgroupDirs(layout, cgroupsPath);
  for (const d of dirs.v2 ? [dirs.v2] : Object.values(dirs.v1)) {
    try { rmdirSync(d); } catch { /* gone or busy */ }
  }
}

/**
 * Remove every directory of a container's cgroup, v1 hierarchies and (on a
 * hybrid host) the cgroup2 one too, as the runtime does on delete. true when
 * none is left; false when one is still busy (a process not yet gone) or
 * cannot be removed, so the caller can leave the job to the runtime.
 */
export function removeCgroupDirs(layout: CgroupLayout, cgroupsPath: string): boolean {
  const rel = posix.normalize('/' + cgroupsPath);
  if (rel === '/') return false;
  const mounts = new Set(Object.values(layout.v1));
  if (layout.v2Mount) mounts.add(layout.v2Mount);
  let clean = true;
  for (const mnt of mounts) {
    try { rmdirSync(join(mnt, rel)); } catch (err) { if (!hasCode(err, 'ENOENT')) clean = false; }
  }
  return clean;
}

// ---- stats ----

export interface BlkioEntry { major: number; minor: number; op: string; value: number }

/** What the cgroup files say, in one shape for v1 and v2 (times in nanoseconds). */
export interface CgroupStats {
  read: Date;
  cgroupVersion: 1 | 2;
  cpu: {
    totalUsage: number;
    usageInKernelmode: number;
    usageInUsermode: number;
    /** v1 only (cpuacct.usage_percpu). */
    percpuUsage?: number[];
    throttling: { periods: number; throttledPeriods: number; throttledTime: number };
  };
  /** Sum of /proc/stat's cpu line, in ns: the denominator of `docker stats` CPU %. */
  systemCpuUsage: number;
  onlineCpus: number;
  memory: { usage: number; maxUsage?: number; failcnt?: number; limit: number; stats: Record<string, number> };
  pids: { current: number; limit?: number };
  blkio: { ioServiceBytesRecursive: BlkioEntry[]; ioServicedRecursive: BlkioEntry[] };
}

const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;

async function readOpt(path: string | undefined): Promise<string | undefined> {
  if (!path) return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (hasCode(err, 'ENOENT') || hasCode(err, 'ENODEV') || hasCode(err, 'EINVAL') || hasCode(err, 'ENOTSUP')) return undefined;
    throw err;
  }
}

const num = (s: string | undefined): number | undefined => {
  if (s === undefined) return undefined;
  const t = s.trim();
  if (t === '' || t === 'max') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
};

export function parseKeyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && Number.isFinite(Number(v))) out[k] = Number(v);
  }
  return out;
}

/** /proc/stat's first line (user nice system idle iowait irq softirq steal) in ns, and the CPU count. */
export function parseProcStat(text: string): { systemCpuUsage: number; onlineCpus: number } {
  const lines = text.split('\n');
  const cpu = lines.find((l) => l.startsWith('cpu '));
  const fields = (cpu ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const ticks = fields.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const onlineCpus = lines.filter((l) => /^cpu\d+ /.test(l)).length;
  return { systemCpuUsage: ticks * NS_PER_TICK, onlineCpus };
}

function parseBlkioV1(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\d+):(\d+) (\w+) (\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3]!, value: Number(m[4]) });
  }
  return out;
}

function parseIoStatV2(text: string | undefined): { bytes: BlkioEntry[]; ios: BlkioEntry[] } {
  const bytes: BlkioEntry[] = [], ios: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const [dev, ...kvs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const kv = Object.fromEntries(kvs.map((x) => x.split('=') as [string, string]));
    const major = Number(m[1]), minor = Number(m[2]);
    bytes.push({ major, minor, op: 'read', value: Number(kv.rbytes ?? 0) }, { major, minor, op: 'write', value: Number(kv.wbytes ?? 0) });
    ios.push({ major, minor, op: 'read', value: Number(kv.rios ?? 0) }, { major, minor, op: 'write', value: Number(kv.wios ?? 0) });
  }
  return { bytes, ios };
}

/** Read a container's cgroup stats. Missing files read as zero (the container may be exiting). */
export async function readCgroupStats(layout: CgroupLayout, cgroupsPath: string): Promise<CgroupStats> {
  const dirs = cgroupDirs(layout, cgroupsPath);
  const procStat = parseProcStat((await readOpt('/proc/stat')) ?? '');
  const read = new Date();
  const hostMem = totalmem();
  if (dirs.v2) {
    const d = dirs.v2;
    const [cpuStat, memCur, memMax, memStat, pidsCur, pidsMax, ioStat] = await Promise.all(
      ['cpu.stat', 'memory.current', 'memory.max', 'memory.stat', 'pids.current', 'pids.max', 'io.stat'].map((f) => readOpt(join(d, f))),
    );
    const cs = parseKeyValues(cpuStat);
    const io = parseIoStatV2(ioStat);
    return {
      read, cgroupVersion: 2,
      cpu: {
        totalUsage: (cs.usage_usec ?? 0) * 1000, usageInKernelmode: (cs.system_usec ?? 0) * 1000, usageInUsermode: (cs.user_usec ?? 0) * 1000,
        throttling: { periods: cs.nr_periods ?? 0, throttledPeriods: cs.nr_throttled ?? 0, throttledTime: (cs.throttled_usec ?? 0) * 1000 },
      },
      ...procStat,
      memory: { usage: num(memCur) ?? 0, limit: Math.min(num(memMax) ?? hostMem, hostMem), stats: parseKeyValues(memStat) },
      pids: { current: num(pidsCur) ?? 0, limit: num(pidsMax) },
      blkio: { ioServiceBytesRecursive: io.bytes, ioServicedRecursive: io.ios },
    };
  }
  const v = dirs.v1;
  const f = (ctrl: string, file: string) => (v[ctrl] ? join(v[ctrl]!, file) : undefined);
  const [usage, percpu, acctStat, cpuStat, memUsage, memMaxUsage, memFail, memLimit, memStat, pidsCur, pidsMax, blkBytes, blkIos, thrBytes, thrIos] = await Promise.all([
    readOpt(f('cpuacct', 'cpuacct.usage')), readOpt(f('cpuacct', 'cpuacct.usage_percpu')), readOpt(f('cpuacct', 'cpuacct.stat')),
    readOpt(f('cpu', 'cpu.stat')),
    readOpt(f('memory', 'memory.usage_in_bytes')), readOpt(f('memory', 'memory.max_usage_in_bytes')), readOpt(f('memory', 'memory.failcnt')),
    readOpt(f('memory', 'memory.limit_in_bytes')), readOpt(f('memory', 'memory.stat')),
    readOpt(f('pids', 'pids.current')), readOpt(f('pids', 'pids.max')),
    readOpt(f('blkio', 'blkio.io_service_bytes_recursive')), readOpt(f('blkio', 'blkio.io_serviced_recursive')),
    readOpt(f('blkio', 'blkio.throttle.io_service_bytes_recursive')), readOpt(f('blkio', 'blkio.throttle.io_serviced_recursive')),
  ]);
  const acct = parseKeyValues(acctStat);
  const cs = parseKeyValues(cpuStat);
  const bytes = parseBlkioV1(blkBytes);
  const ios = parseBlkioV1(blkIos);
  return {
    read, cgroupVersion: 1,
    cpu: {
      totalUsage: num(usage) ?? 0,
      usageInKernelmode: (acct.system ?? 0) * NS_PER_TICK,
      usageInUsermode: (acct.user ?? 0) * NS_PER_TICK,
      percpuUsage: (percpu ?? '').trim().split(/\s+/).filter(Boolean).map(Number),
      throttling: { periods: cs.nr_periods ?? 0, throttledPeriods: cs.nr_throttled ?? 0, throttledTime: cs.throttled_time ?? 0 },
    },
    ...procStat,
    memory: {
      usage: num(memUsage) ?? 0, maxUsage: num(memMaxUsage) ?? 0, failcnt: num(memFail) ?? 0,
      // An unlimited v1 cgroup says 9223372036854771712; Docker shows the host's memory instead.
      limit: Math.min(num(memLimit) ?? hostMem, hostMem),
      stats: parseKeyValues(memStat),
    },
    pids: { current: num(pidsCur) ?? 0, limit: num(pidsMax) },
    blkio: {
      ioServiceBytesRecursive: bytes.length ? bytes : parseBlkioV1(thrBytes),
      ioServicedRecursive: ios.length ? ios : parseBlkioV1(thrIos),
    },
  };
}

/** Whether the kernel OOM-killed something in the container's memory cgroup (v1: memory.oom_control; v2: memory.events). */
export async function cgroupOomKilled(layout: CgroupLayout, cgroupsPath: string): Promise<boolean> {
  const dirs = cgroupDirs(layout, cgroupsPath);
  const text = dirs.v2 ? await readOpt(join(dirs.v2, 'memory.events')) : await readOpt(dirs.v1.memory && join(dirs.v1.memory, 'memory.oom_control'));
  const kv = parseKeyValues(text);
  return (kv.oom_kill ?? 0) > 0 || (!dirs.v2 && (kv.under_oom ?? 0) > 0);
}

// ---- Docker's /containers/{id}/stats JSON ----

export interface DockerCpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

export interface DockerStats {
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: {
    io_service_bytes_recursive: BlkioEntry[] | null;
    io_serviced_recursive: BlkioEntry[] | null;
    io_queue_recursive: null; io_service_time_recursive: null; io_wait_time_recursive: null;
    io_merged_recursive: null; io_time_recursive: null; sectors_recursive: null;
  };
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: DockerCpuStats;
  precpu_stats: DockerCpuStats;
  memory_stats: { usage?: number; max_usage?: number; stats?: Record<string, number>; failcnt?: number; limit?: number };
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

function cpuStats(s: CgroupStats): DockerCpuStats {
  return {
    cpu_usage: {
      total_usage: s.cpu.totalUsage,
      ...(s.cpu.percpuUsage?.length ? { percpu_usage: s.cpu.percpuUsage } : {}),
      usage_in_kernelmode: s.cpu.usageInKernelmode,
      usage_in_usermode: s.cpu.usageInUsermode,
    },
    system_cpu_usage: s.systemCpuUsage,
    online_cpus: s.onlineCpus || s.cpu.percpuUsage?.length || 1,
    throttling_data: { periods: s.cpu.throttling.periods, throttled_periods: s.cpu.throttling.throttledPeriods, throttled_time: s.cpu.throttling.throttledTime },
  };
}

/**
 * Docker's stats object (without name, id, networks — the caller adds those).
 * `prev` is the previous sample, for precpu_stats; the first sample has zeros as Docker's does.
 */
export function toDockerStats(raw: CgroupStats, prev?: CgroupStats): DockerStats {
  return {
    read: raw.read.toISOString(),
    preread: prev ? prev.read.toISOString() : ZERO_TIME,
    pids_stats: { current: raw.pids.current, ...(raw.pids.limit !== undefined ? { limit: raw.pids.limit } : {}) },
    blkio_stats: {
      io_service_bytes_recursive: raw.blkio.ioServiceBytesRecursive.length ? raw.blkio.ioServiceBytesRecursive : null,
      io_serviced_recursive: raw.blkio.ioServicedRecursive.length ? raw.blkio.ioServicedRecursive : null,
      io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null,
      io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(raw),
    precpu_stats: prev
      ? cpuStats(prev)
      : { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    memory_stats: {
      usage: raw.memory.usage,
      ...(raw.memory.maxUsage !== undefined ? { max_usage: raw.memory.maxUsage } : {}),
      stats: raw.memory.stats,
      ...(raw.memory.failcnt !== undefined ? { failcnt: raw.memory.failcnt } : {}),
      limit: raw.memory.limit,
    },
  };
}

