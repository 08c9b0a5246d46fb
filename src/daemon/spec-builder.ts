// Maps a container's Docker config (Config + HostConfig, already merged with
// the image) onto the runtime's SpecOptions.
import * as runtime from '../runtime/index.js';
import type { SpecInput, SpecBuilder } from '../containers/index.js';
import { existsSync, statSync } from 'node:fs';
import { invalidArgument } from '../util/index.js';

export function specBuilder(opts: { defaultUlimits?: Record<string, { Name: string; Soft: number; Hard: number }> }): SpecBuilder {
  return {
    resolveUser: (rootfs, user) => runtime.resolveUser(rootfs, user),
    build: (input) => runtime.generateSpec(specOptions(input, opts.defaultUlimits)),
    validate: (hc) => {
      for (const [key, list] of [['CapAdd', hc.CapAdd], ['CapDrop', hc.CapDrop]] as const) {
        for (const c of Array.isArray(list) ? list : []) {
          try { runtime.normalizeCap(String(c)); } catch (err) { throw invalidArgument(`invalid ${key}: ${(err as Error).message}`); }
        }
      }
      securityOptions(hc.SecurityOpt);
    },
  };
}

function namespaceFor(mode: string | undefined): runtime.NamespaceMode {
  if (mode === 'host') return 'host';
  return 'private';
}

export function securityOptions(list: string[] | null | undefined): { seccomp: 'default' | 'unconfined' | runtime.SeccompProfile; noNewPrivileges: boolean } {
  let seccomp: 'default' | 'unconfined' | runtime.SeccompProfile = 'default';
  let noNewPrivileges = false;
  for (const raw of list ?? []) {
    const sep = raw.indexOf('=') >= 0 ? '=' : ':';
    const [key, ...rest] = raw.split(sep);
    const value = rest.join(sep);
    switch (key) {
      case 'seccomp':
        if (value === 'unconfined') seccomp = 'unconfined';
        else if (value === 'builtin' || value === '') seccomp = 'default';
        else {
          try { seccomp = JSON.parse(value) as runtime.SeccompProfile; } catch { throw invalidArgument(`invalid --security-opt: seccomp profile is not valid JSON`); }
        }
        break;
      case 'no-new-privileges':
        noNewPrivileges = value === '' || value === 'true';
        break;
      case 'apparmor':
      case 'label':
        break; // no AppArmor/SELinux on berth's hosts; accepted and ignored as Docker does without them
      default:
        throw invalidArgument(`invalid --security-opt 2: "${raw}"`);
    }
  }
  return { seccomp, noNewPrivileges };
}

/**
 * HOME as runc sets it (what dockerd users get): the user's passwd home, else `/`, unless the env has one.
 * crun leaves HOME unset for a uid missing from /etc/passwd (`-u 1234`); berth sets it for every runtime.
 */
export function withHome(env: string[], home: string | undefined): string[] {
  return env.some((e) => e.startsWith('HOME=')) ? env : [...env, `HOME=${home || '/'}`];
}

export function specOptions(input: SpecInput, defaultUlimits?: Record<string, { Name: string; Soft: number; Hard: number }>): runtime.SpecOptions {
  const hc = input.hostConfig;
  const user = runtime.resolveUser(input.rootfs, input.user, { groupAdd: hc.GroupAdd ?? undefined });
  const sec = securityOptions(hc.SecurityOpt);
  const ulimits = new Map<string, { name: string; soft: number; hard: number }>();
  for (const u of Object.values(defaultUlimits ?? {})) ulimits.set(u.Name, { name: u.Name, soft: u.Soft, hard: u.Hard });
  for (const u of (hc.Ulimits ?? []) as { Name: string; Soft: number; Hard: number }[]) ulimits.set(u.Name, { name: u.Name, soft: u.Soft, hard: u.Hard });
  const network: runtime.NamespaceMode = input.networkMode === 'host' ? 'host' : input.netnsPath ? { path: input.netnsPath } : 'private';
  return {
    id: input.id,
    rootfs: input.rootfs,
    readonlyRootfs: input.readonlyRootfs,
    args: input.args,
    env: withHome(input.env, user.home),
    cwd: input.cwd || '/',
    // dockerd lists the primary group first among the supplementary ones.
    user: { uid: user.uid, gid: user.gid, additionalGids: [user.gid, ...user.additionalGids.filter((g) => g !== user.gid)] },
    hostname: input.networkMode === 'host' && !hc.UTSMode ? undefined : input.hostname,
    domainname: input.domainname,
    tty: input.tty,
    consoleSize: input.consoleSize ? { height: input.consoleSize[0], width: input.consoleSize[1] } : undefined,
    namespaces: {
      network,
      pid: input.pidnsPath ? { path: input.pidnsPath } : namespaceFor(hc.PidMode),
      ipc: input.ipcnsPath ? { path: input.ipcnsPath } : namespaceFor(hc.IpcMode),
      uts: input.networkMode === 'host' || hc.UTSMode === 'host' ? 'host' : 'private',
      cgroup: hc.CgroupnsMode === 'host' ? 'host' : hc.CgroupnsMode === 'private' ? 'private' : undefined,
    },
    capAdd: hc.CapAdd ?? undefined,
    capDrop: hc.CapDrop ?? undefined,
    privileged: !!hc.Privileged,
    devices: ((hc.Devices ?? []) as { PathOnHost: string; PathInContainer?: string; CgroupPermissions?: string }[]).map((d) => ({
      pathOnHost: d.PathOnHost, pathInContainer: d.PathInContainer || undefined, cgroupPermissions: d.CgroupPermissions || undefined,
    })),
    deviceCgroupRules: hc.DeviceCgroupRules ?? undefined,
    seccomp: sec.seccomp,
    noNewPrivileges: sec.noNewPrivileges,
    shmSize: hc.ShmSize || undefined,
    noShm: hc.IpcMode === 'none',
    mounts: input.mounts.map((m) => m.type === 'bind'
      ? { type: 'bind', destination: m.destination, source: m.source, readOnly: m.options.includes('ro'), propagation: m.options.find((o) => /^r?(private|shared|slave)$/.test(o)) }
      : { type: m.type, destination: m.destination, source: m.source, readOnly: m.options.includes('ro'), options: m.options.filter((o) => o !== 'ro' && o !== 'rw') }),
    sysctls: hc.Sysctls ?? undefined,
    ulimits: [...ulimits.values()],
    oomScoreAdj: hc.OomScoreAdj || undefined,
    resources: {
      memory: hc.Memory || undefined,
      memorySwap: hc.MemorySwap || undefined,
      memoryReservation: hc.MemoryReservation || undefined,
      memorySwappiness: hc.MemorySwappiness ?? undefined,
      oomKillDisable: hc.OomKillDisable ?? undefined,
      nanoCpus: hc.NanoCpus || undefined,
      cpuShares: hc.CpuShares || undefined,
      cpuQuota: hc.CpuQuota || undefined,
      cpuPeriod: hc.CpuPeriod || undefined,
      cpusetCpus: hc.CpusetCpus || undefined,
      cpusetMems: hc.CpusetMems || undefined,
      pidsLimit: hc.PidsLimit && hc.PidsLimit > 0 ? hc.PidsLimit : undefined,
      // A v1 blkio controller without a weight file (no CFQ/BFQ weight here): dockerd discards the weight.
      blkioWeight: hc.BlkioWeight && blkioWeightSupported() ? hc.BlkioWeight : undefined,
      blkioThrottle: {
        readBps: throttle(hc.BlkioDeviceReadBps), writeBps: throttle(hc.BlkioDeviceWriteBps),
        readIops: throttle(hc.BlkioDeviceReadIOps), writeIops: throttle(hc.BlkioDeviceWriteIOps),
      },
      cpuRealtimePeriod: hc.CpuRealtimePeriod || undefined,
      cpuRealtimeRuntime: hc.CpuRealtimeRuntime || undefined,
    },
    cgroupParent: hc.CgroupParent || undefined,
    init: input.init,
    maskedPaths: Array.isArray(hc.MaskedPaths) && hc.MaskedPaths.length ? hc.MaskedPaths : undefined,
    readonlyPaths: Array.isArray(hc.ReadonlyPaths) && hc.ReadonlyPaths.length ? hc.ReadonlyPaths : undefined,
  };
}

let weightOk: boolean | undefined;
function blkioWeightSupported(): boolean {
  weightOk ??= !existsSync('/sys/fs/cgroup/blkio') || existsSync('/sys/fs/cgroup/blkio/blkio.weight');
  return weightOk;
}

/** HostConfig.BlkioDevice*: [{Path, Rate}] → the device numbers the cgroup wants. */
function throttle(list: unknown): runtime.BlkioRate[] | undefined {
  if (!Array.isArray(list) || !list.length) return undefined;
  return list.map((d: { Path?: string; Rate?: number }) => {
    const path = String(d?.Path ?? '');
    let st;
    try { st = statSync(path); } catch { throw invalidArgument(`error gathering device information for "${path}": no such file or directory`); }
    if (!st.isBlockDevice()) throw invalidArgument(`"${path}" is not a block device`);
    const rdev = st.rdev;
    const major = Math.floor(rdev / 256) & 0xfff;
    const minor = (rdev & 0xff) | (Math.floor(rdev / 4096) & 0xfff00);
    return { major, minor, rate: Number(d.Rate) || 0 };
  });
}
