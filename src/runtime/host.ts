// Facts about the machine that shape a container's spec: CPU architecture,
// the daemon's capability bounding set and rlimits, the kernel version, the
// init binary, host devices. Spec generation takes a HostInfo argument so it
// stays pure and testable with a made-up host; readHostInfo() reads the real one.
import { readFileSync, readdirSync, lstatSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { release } from 'node:os';
import { capsFromMask, ALL_CAPS } from './caps.js';
import type { OciLinuxDevice } from './oci.js';

export interface HostInfo {
  /** Go-style architecture name as seccomp profiles use it: amd64, arm64, … */
  arch: string;
  /** [major, minor] of the running kernel. */
  kernel: [number, number];
  /** Capabilities in the daemon's bounding set: a container can get no more. */
  capabilities: readonly string[];
  /** Hard rlimits of the daemon by RLIMIT_* name (Infinity for unlimited). */
  rlimitHard: Readonly<Record<string, number>>;
  /** Whether the daemon may raise hard limits (it holds CAP_SYS_RESOURCE). */
  canRaiseRlimits: boolean;
  /** Static init binary to bind at /sbin/docker-init (catatonit or tini), if any. */
  initPath?: string;
  /** /sys/devices/system/cpu/cpuN/thermal_throttle paths that exist (masked, as Docker does). */
  thermalThrottlePaths: readonly string[];
  /** Device nodes under /dev, for privileged containers and --device DIR. */
  listDevices(dir?: string): OciLinuxDevice[];
  /** One device node (char/block) at a host path, or undefined. */
  statDevice(path: string): OciLinuxDevice | undefined;
}

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips: 'mips', mipsel: 'mipsle' };

/** The candidates for --init, in order: all statically linked (the rootfs may have no libc). */
export const INIT_CANDIDATES = ['/usr/bin/catatonit', '/usr/libexec/podman/catatonit', '/usr/bin/tini-static', '/usr/bin/docker-init'];

// /proc/self/limits names → RLIMIT_* names.
const LIMIT_NAMES: Record<string, string> = {
  'Max cpu time': 'RLIMIT_CPU', 'Max file size': 'RLIMIT_FSIZE', 'Max data size': 'RLIMIT_DATA',
  'Max stack size': 'RLIMIT_STACK', 'Max core file size': 'RLIMIT_CORE', 'Max resident set': 'RLIMIT_RSS',
  'Max processes': 'RLIMIT_NPROC', 'Max open files': 'RLIMIT_NOFILE', 'Max locked memory': 'RLIMIT_MEMLOCK',
  'Max address space': 'RLIMIT_AS', 'Max file locks': 'RLIMIT_LOCKS', 'Max pending signals': 'RLIMIT_SIGPENDING',
  'Max msgqueue size': 'RLIMIT_MSGQUEUE', 'Max nice priority': 'RLIMIT_NICE', 'Max realtime priority': 'RLIMIT_RTPRIO',
  'Max realtime timeout': 'RLIMIT_RTTIME',
};

export function parseProcLimits(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n').slice(1)) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (!m) continue;
    const name = LIMIT_NAMES[m[1]!];
    if (name) out[name] = m[3] === 'unlimited' ? Infinity : Number(m[3]);
  }
  return out;
}

function statusField(name: string): string | undefined {
  const m = new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m?.[1];
}

/** Major/minor from a stat() rdev (glibc's encoding). */
function devMajor(dev: number): number {
  const hi = Math.floor(dev / 2 ** 32), lo = dev >>> 0;
  return ((lo >>> 8) & 0xfff) + ((hi & 0xfffff000) >>> 0);
}
function devMinor(dev: number): number {
  const hi = Math.floor(dev / 2 ** 32), lo = dev >>> 0;
  return ((lo & 0xff) | ((lo >>> 12) & 0xfff00)) + (hi & 0xfff) * 2 ** 20;
}

export function statDevice(path: string): OciLinuxDevice | undefined {
  let st;
  try { st = lstatSync(path); } catch { return undefined; }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) return undefined;
  return {
    type: st.isCharacterDevice() ? 'c' : 'b', path, major: devMajor(st.rdev), minor: devMinor(st.rdev),
    fileMode: st.mode & 0o777, uid: st.uid, gid: st.gid,
  };
}

/** Device nodes below `dir`, skipping what Docker skips (pts, shm, mqueue, symlinks). */
export function listDevices(dir = '/dev'): OciLinuxDevice[] {
  const out: OciLinuxDevice[] = [];
  const walk = (d: string) => {
    let names: string[];
    try { names = readdirSync(d); } catch { return; }
    for (const n of names) {
      const p = join(d, n);
      if (['/dev/pts', '/dev/shm', '/dev/mqueue', '/dev/.lxc', '/dev/.udev'].includes(p)) continue;
      let st;
      try { st = lstatSync(p); } catch { continue; }
      if (st.isDirectory()) walk(p);
      else if (p === '/dev/console') continue;
      else { const dev = statDevice(p); if (dev) out.push(dev); }
    }
  };
  walk(dir);
  return out;
}

/** Read the real host's facts (cheap; callers may keep the result). */
export function readHostInfo(): HostInfo {
  const [maj, min] = release().split(/[.-]/).map(Number);
  const bnd = statusField('CapBnd');
  const eff = statusField('CapEff');
  const capabilities = bnd ? capsFromMask(bnd) : [...ALL_CAPS];
  const effective = eff ? capsFromMask(eff) : [];
  let rlimitHard: Record<string, number> = {};
  try { rlimitHard = parseProcLimits(readFileSync('/proc/self/limits', 'utf8')); } catch { /* not Linux procfs */ }
  const thermal: string[] = [];
  try {
    for (const n of readdirSync('/sys/devices/system/cpu')) {
      const p = `/sys/devices/system/cpu/${n}/thermal_throttle`;
      if (/^cpu\d+$/.test(n) && existsSync(p)) thermal.push(p);
    }
  } catch { /* no sysfs */ }
  return {
    arch: GOARCH[process.arch] ?? process.arch,
    kernel: [maj ?? 0, min ?? 0],
    capabilities,
    rlimitHard,
    canRaiseRlimits: effective.includes('CAP_SYS_RESOURCE'),
    initPath: INIT_CANDIDATES.find((p) => existsSync(p)),
    thermalThrottlePaths: thermal,
    listDevices,
    statDevice,
  };
}
