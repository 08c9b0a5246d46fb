// `run`/`create` flags and their translation into the create body the docker CLI sends
// ({Config..., HostConfig, NetworkingConfig}), field for field.

import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { FlagSpec, FlagValue } from '../flags.js';
import type { ContainerCreateBody, EndpointSettings, HealthConfig } from '../../client/index.js';
import { parseGoDuration, ramInBytes } from '../format/units.js';
import { parsePortSpecs } from './ports.js';
import { parseMount } from './mounts.js';

import { RunOptionError } from './errors.js';
import { FlagError } from '../flags.js';

export { RunOptionError };

const list = (name: string, desc: string, short?: string, type = 'list'): FlagSpec => ({ name, short, kind: 'list', type, desc });
const str = (name: string, desc: string, short?: string, type = 'string', def?: string): FlagSpec => ({ name, short, kind: 'string', type, desc, def });
const bool = (name: string, desc: string, short?: string, def?: boolean): FlagSpec => ({ name, short, kind: 'bool', desc, def });
const int = (name: string, desc: string, def?: number, type = 'int'): FlagSpec => ({ name, kind: 'int', type, desc, def });

export const CREATE_FLAGS: FlagSpec[] = [
  list('add-host', 'Add a custom host-to-IP mapping (host:ip)'),
  list('attach', 'Attach to STDIN, STDOUT or STDERR', 'a'),
  list('cap-add', 'Add Linux capabilities'),
  list('cap-drop', 'Drop Linux capabilities'),
  str('cgroup-parent', 'Optional parent cgroup for the container'),
  str('cgroupns', 'Cgroup namespace to use (host|private)'),
  str('cidfile', 'Write the container ID to the file'),
  int('cpu-period', 'Limit CPU CFS (Completely Fair Scheduler) period'),
  int('cpu-quota', 'Limit CPU CFS (Completely Fair Scheduler) quota'),
  int('cpu-shares', 'CPU shares (relative weight)'),
  { name: 'cpus', kind: 'string', type: 'decimal', desc: 'Number of CPUs' },
  str('cpuset-cpus', 'CPUs in which to allow execution (0-3, 0,1)'),
  str('cpuset-mems', 'MEMs in which to allow execution (0-3, 0,1)'),
  list('device', 'Add a host device to the container'),
  list('dns', 'Set custom DNS servers'),
  list('dns-option', 'Set DNS options'),
  list('dns-search', 'Set custom DNS search domains'),
  str('domainname', 'Container NIS domain name'),
  str('entrypoint', 'Overwrite the default ENTRYPOINT of the image'),
  list('env', 'Set environment variables', 'e'),
  list('env-file', 'Read in a file of environment variables'),
  list('expose', 'Expose a port or a range of ports'),
  list('group-add', 'Add additional groups to join'),
  str('health-cmd', 'Command to run to check health'),
  str('health-interval', 'Time between running the check (ms|s|m|h) (default 0s)', undefined, 'duration'),
  int('health-retries', 'Consecutive failures needed to report unhealthy'),
  str('health-start-interval', 'Time between running the check during the start period (ms|s|m|h) (default 0s)', undefined, 'duration'),
  str('health-start-period', 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)', undefined, 'duration'),
  str('health-timeout', 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)', undefined, 'duration'),
  str('hostname', 'Container host name', 'h'),
  bool('init', 'Run an init inside the container that forwards signals and reaps processes'),
  bool('interactive', 'Keep STDIN open even if not attached', 'i'),
  str('ip', 'IPv4 address (e.g., 172.30.100.104)'),
  str('ip6', 'IPv6 address (e.g., 2001:db8::33)'),
  str('ipc', 'IPC mode to use'),
  str('isolation', 'Container isolation technology'),
  list('label', 'Set meta data on a container', 'l'),
  list('label-file', 'Read in a line delimited file of labels'),
  list('link', 'Add link to another container'),
  str('log-driver', 'Logging driver for the container'),
  list('log-opt', 'Log driver options'),
  str('mac-address', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)'),
  str('memory', 'Memory limit', 'm', 'bytes'),
  str('memory-reservation', 'Memory soft limit', undefined, 'bytes'),
  str('memory-swap', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", undefined, 'bytes'),
  int('memory-swappiness', 'Tune container memory swappiness (0 to 100)', -1),
  { name: 'mount', kind: 'list', type: 'mount', desc: 'Attach a filesystem mount to the container' },
  str('name', 'Assign a name to the container'),
  { name: 'network', kind: 'list', type: 'network', desc: 'Connect a container to a network' },
  { name: 'net', kind: 'list', type: 'network', desc: 'Connect a container to a network', hidden: true },
  list('network-alias', 'Add network-scoped alias for the container'),
  { name: 'net-alias', kind: 'list', desc: 'Add network-scoped alias for the container', hidden: true },
  bool('no-healthcheck', 'Disable any container-specified HEALTHCHECK'),
  bool('oom-kill-disable', 'Disable OOM Killer'),
  int('oom-score-adj', "Tune host's OOM preferences (-1000 to 1000)"),
  str('pid', 'PID namespace to use'),
  int('pids-limit', 'Tune container pids limit (set -1 for unlimited)'),
  str('platform', 'Set platform if server is multi-platform capable'),
  bool('privileged', 'Give extended privileges to this container'),
  list('publish', "Publish a container's port(s) to the host", 'p'),
  bool('publish-all', 'Publish all exposed ports to random ports', 'P'),
  str('pull', 'Pull image before creating ("always", "missing", "never")', undefined, 'string', 'missing'),
  bool('quiet', 'Suppress the pull output', 'q'),
  bool('read-only', "Mount the container's root filesystem as read only"),
  str('restart', 'Restart policy to apply when a container exits', undefined, 'string', 'no'),
  bool('rm', 'Automatically remove the container and its associated anonymous volumes when it exits'),
  str('runtime', 'Runtime to use for this container'),
  list('security-opt', 'Security Options'),
  str('shm-size', 'Size of /dev/shm', undefined, 'bytes'),
  str('stop-signal', 'Signal to stop the container'),
  int('stop-timeout', 'Timeout (in seconds) to stop a container'),
  list('storage-opt', 'Storage driver options for the container'),
  { name: 'sysctl', kind: 'list', type: 'map', desc: 'Sysctl options' },
  list('tmpfs', 'Mount a tmpfs directory'),
  bool('tty', 'Allocate a pseudo-TTY', 't'),
  { name: 'ulimit', kind: 'list', type: 'ulimit', desc: 'Ulimit options' },
  str('user', 'Username or UID (format: <name|uid>[:<group|gid>])', 'u'),
  str('userns', 'User namespace to use'),
  str('uts', 'UTS namespace to use'),
  list('volume', 'Bind mount a volume', 'v'),
  str('volume-driver', 'Optional volume driver for the container'),
  list('volumes-from', 'Mount volumes from the specified container(s)'),
  str('workdir', 'Working directory inside the container', 'w'),
];

export const RUN_FLAGS: FlagSpec[] = [
  ...CREATE_FLAGS,
  bool('detach', 'Run container in background and print container ID', 'd'),
  str('detach-keys', 'Override the key sequence for detaching a container'),
  bool('sig-proxy', 'Proxy received signals to the process', undefined, true),
];

type Flags = Record<string, FlagValue>;

/** A bad flag value, reported the way pflag reports it (usage error, exit 125). */
export function badValue(name: string, value: string, msg: string): FlagError {
  const f = RUN_FLAGS.find((x) => x.name === name);
  const d = f?.short ? `-${f.short}, --${name}` : `--${name}`;
  return new FlagError(`invalid argument "${value}" for "${d}" flag: ${msg}`);
}

export interface RunOptions {
  body: ContainerCreateBody;
  name: string;
  platform: string;
  pull: string;
  image: string;
}

function endpoint(): EndpointSettings {
  return {
    IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', DriverOpts: null, GwPriority: 0, NetworkID: '', EndpointID: '',
    Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
  };
}

function keyValueMap(items: string[]): Record<string, string> {
  const m: Record<string, string> = {};
  for (const it of items) {
    const eq = it.indexOf('=');
    if (eq < 0) m[it] = '';
    else m[it.slice(0, eq)] = it.slice(eq + 1);
  }
  return m;
}

/** Env entries: "K=V" as is; a bare "K" takes the client's value when it has one. */
function envEntry(e: string, env: NodeJS.ProcessEnv): string {
  if (e.includes('=')) {
    if (e.startsWith('=')) throw badValue('env', e, `invalid environment variable: ${e}`);
    return e;
  }
  const v = env[e];
  return v !== undefined ? `${e}=${v}` : e;
}

function readLinesFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RunOptionError(`open ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
  return text.split('\n').map((l) => l.replace(/\r$/, '').trimStart()).filter((l) => l && !l.startsWith('#'));
}

function bytesFlag(flags: Flags, name: string): number {
  const v = flags[name] as string;
  if (!v) return 0;
  if (name === 'memory-swap' && v === '-1') return -1;
  try {
    return ramInBytes(v);
  } catch {
    throw badValue(name, v, `invalid size: '${v}'`);
  }
}

function durationNs(flags: Flags, name: string): number {
  const v = flags[name] as string;
  if (!v) return 0;
  try {
    return Math.round(parseGoDuration(v) * 1e6);
  } catch (err) {
    throw badValue(name, v, (err as Error).message);
  }
}

function normalizeCap(c: string): string {
  const u = c.trim().toUpperCase();
  if (u === 'ALL') return u;
  return u.startsWith('CAP_') ? u : `CAP_${u}`;
}

function capList(items: string[]): string[] | null {
  if (!items.length) return null;
  return [...new Set(items.map(normalizeCap))];
}

export function restartPolicy(v: string): { Name: string; MaximumRetryCount: number } {
  if (!v) return { Name: 'no', MaximumRetryCount: 0 };
  // The daemon judges the policy name; the client only parses the count.
  const [name, count] = v.split(':');
  if (count !== undefined && !/^\d+$/.test(count)) throw new RunOptionError(`invalid restart policy format: maximum retry count must be an integer`);
  return { Name: name!, MaximumRetryCount: count ? Number(count) : 0 };
}

function ulimit(u: string): { Name: string; Hard: number; Soft: number } {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(u);
  if (!m) throw badValue('ulimit', u, `invalid ulimit argument: ${u}`);
  const soft = Number(m[2]);
  const hard = m[3] !== undefined ? Number(m[3]) : soft;
  if (soft > hard) throw badValue('ulimit', u, `ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: m[1]!, Hard: hard, Soft: soft };
}

function device(d: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const parts = d.split(':');
  const host = parts[0]!;
  let inCtr = host;
  let perms = 'rwm';
  if (parts.length === 2) {
    if (/^[rwm]+$/.test(parts[1]!)) perms = parts[1]!;
    else inCtr = parts[1]!;
  } else if (parts.length === 3) {
    inCtr = parts[1]!;
    perms = parts[2]!;
  }
  return { PathOnHost: host, PathInContainer: inCtr, CgroupPermissions: perms };
}

function securityOpts(items: string[]): string[] | null {
  if (!items.length) return null;
  return items.map((o) => {
    const eq = o.indexOf('=') >= 0 ? o.indexOf('=') : o.indexOf(':');
    const key = eq >= 0 ? o.slice(0, eq) : o;
    const val = eq >= 0 ? o.slice(eq + 1) : '';
    if (key === 'seccomp' && val && val !== 'unconfined' && val !== 'builtin') {
      // The docker CLI sends the profile's contents, not its path.
      let text: string;
      try {
        text = readFileSync(val, 'utf8');
      } catch (err) {
        throw new RunOptionError(`opening seccomp profile (${val}) failed: ${(err as Error).message}`);
      }
      return `seccomp=${JSON.stringify(JSON.parse(text))}`;
    }
    return o;
  });
}

/** -v: "dst" is an anonymous volume; "src:dst[:opts]" a bind or named volume (relative sources made absolute). */
function volumeSpec(spec: string, binds: string[], volumes: Record<string, object>): void {
  // The daemon validates the spec; the client only sorts anonymous volumes from binds.
  const parts = spec.split(':');
  if (parts.length === 1) {
    volumes[spec] = {};
    return;
  }
  let src = parts[0]!;
  if (src.startsWith('.')) src = resolvePath(src);
  binds.push([src, ...parts.slice(1)].join(':'));
}

export function parseRunOptions(flags: Flags, changed: Set<string>, args: string[], opts: { env: NodeJS.ProcessEnv; isRun: boolean; consoleSize?: [number, number] }): RunOptions {
  const image = args[0]!;
  const cmd = args.slice(1);
  const L = (n: string) => flags[n] as string[];
  const S = (n: string) => flags[n] as string;
  const B = (n: string) => flags[n] as boolean;
  const N = (n: string) => flags[n] as number;

  // Attach streams: -a picks them; without -a, stdout and stderr; -i adds stdin.
  const attach = L('attach').map((a) => a.toLowerCase());
  for (const a of attach) if (!['stdin', 'stdout', 'stderr'].includes(a)) throw new RunOptionError(`invalid argument "${a}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`);
  let attachStdin = attach.includes('stdin');
  let attachStdout = attach.includes('stdout');
  let attachStderr = attach.includes('stderr');
  if (B('interactive')) attachStdin = true;
  if (!attach.length) {
    attachStdout = true;
    attachStderr = true;
  }
  const detach = opts.isRun && B('detach');
  if (detach) {
    if (attach.length) throw new RunOptionError('conflicting options: cannot specify both --attach and --detach');
    attachStdin = attachStdout = attachStderr = false;
  }
  if (B('rm') && changed.has('restart') && S('restart') !== 'no') throw new RunOptionError('conflicting options: cannot specify both --restart and --rm');

  // Ports: -p bindings, --expose and the published ports' container side are all exposed.
  const exposed: Record<string, object> = {};
  const { exposed: pExposed, bindings } = parsePortSpecs(L('publish'));
  for (const e of L('expose')) {
    const [p, proto = 'tcp'] = e.split('/');
    const m = /^(\d+)(?:-(\d+))?$/.exec(p!);
    if (!m) throw new RunOptionError(`invalid range format for --expose: ${e}, error: invalid syntax`);
    const end = m[2] ? Number(m[2]) : Number(m[1]);
    for (let x = Number(m[1]); x <= end; x++) exposed[`${x}/${proto}`] = {};
  }
  for (const k of Object.keys(pExposed)) exposed[k] = {};

  const env: string[] = [];
  for (const f of L('env-file')) for (const l of readLinesFile(f)) env.push(envEntry(l, opts.env));
  for (const e of L('env')) env.push(envEntry(e, opts.env));
  const labels = keyValueMap([...L('label-file').flatMap(readLinesFile), ...L('label')]);

  const binds: string[] = [];
  const volumes: Record<string, object> = {};
  for (const v of L('volume')) volumeSpec(v, binds, volumes);
  const mounts = L('mount').map(parseMount);
  const tmpfs: Record<string, string> = {};
  for (const t of L('tmpfs')) {
    const i = t.indexOf(':');
    tmpfs[i >= 0 ? t.slice(0, i) : t] = i >= 0 ? t.slice(i + 1) : '';
  }

  let health: HealthConfig | undefined;
  const healthFlags = ['health-cmd', 'health-interval', 'health-timeout', 'health-start-period', 'health-start-interval'];
  const anyHealth = healthFlags.some((f) => S(f)) || changed.has('health-retries');
  if (B('no-healthcheck')) {
    if (anyHealth) throw new RunOptionError('--no-healthcheck conflicts with --health-* options');
    health = { Test: ['NONE'] };
  } else if (anyHealth) {
    health = {};
    if (S('health-cmd')) health.Test = ['CMD-SHELL', S('health-cmd')];
    const iv = durationNs(flags, 'health-interval');
    const to = durationNs(flags, 'health-timeout');
    const sp = durationNs(flags, 'health-start-period');
    const si = durationNs(flags, 'health-start-interval');
    if (iv) health.Interval = iv;
    if (to) health.Timeout = to;
    if (sp) health.StartPeriod = sp;
    if (si) health.StartInterval = si;
    if (N('health-retries')) health.Retries = N('health-retries');
    if (N('health-retries') < 0) throw new RunOptionError('--health-retries cannot be negative');
  }

  let nanoCpus = 0;
  if (S('cpus')) {
    const n = Number(S('cpus'));
    if (Number.isNaN(n)) throw badValue('cpus', S('cpus'), `failed to parse ${S('cpus')} as a rational number`);
    nanoCpus = Math.round(n * 1e9);
  }

  // Networks: the first --network is the mode; without one, "default".
  const nets = [...L('network'), ...L('net')];
  const netMode = nets[0] ?? 'default';
  const ep = endpoint();
  const aliases = [...L('network-alias'), ...L('net-alias')];
  if (aliases.length) ep.Aliases = aliases;
  if (S('ip') || S('ip6')) {
    ep.IPAMConfig = {};
    if (S('ip')) ep.IPAMConfig.IPv4Address = S('ip');
    if (S('ip6')) ep.IPAMConfig.IPv6Address = S('ip6');
  }
  if (L('link').length) ep.Links = L('link');
  if (S('mac-address')) ep.MacAddress = S('mac-address');
  const endpoints: Record<string, EndpointSettings> = { [netMode]: ep };
  for (const n of nets.slice(1)) endpoints[n] = endpoint();

  const entrypoint = changed.has('entrypoint') ? [S('entrypoint')] : null;
  const hostConfig: Record<string, unknown> = {
    Binds: binds.length ? binds : null,
    ContainerIDFile: S('cidfile'),
    LogConfig: { Type: S('log-driver'), Config: keyValueMap(L('log-opt')) },
    NetworkMode: netMode,
    PortBindings: bindings,
    RestartPolicy: restartPolicy(S('restart')),
    AutoRemove: B('rm'),
    VolumeDriver: S('volume-driver'),
    VolumesFrom: L('volumes-from').length ? L('volumes-from') : null,
    ConsoleSize: opts.consoleSize ?? [0, 0],
    CapAdd: capList(L('cap-add')),
    CapDrop: capList(L('cap-drop')),
    CgroupnsMode: S('cgroupns'),
    Dns: L('dns'),
    DnsOptions: L('dns-option'),
    DnsSearch: L('dns-search'),
    ExtraHosts: L('add-host').length ? L('add-host').map((h) => (h.includes('=') ? h.replace('=', ':') : h)) : null,
    GroupAdd: L('group-add').length ? L('group-add') : null,
    IpcMode: S('ipc'),
    Cgroup: '',
    Links: L('link').length ? L('link') : null,
    OomScoreAdj: N('oom-score-adj'),
    PidMode: S('pid'),
    Privileged: B('privileged'),
    PublishAllPorts: B('publish-all'),
    ReadonlyRootfs: B('read-only'),
    SecurityOpt: securityOpts(L('security-opt')),
    ...(L('storage-opt').length ? { StorageOpt: keyValueMap(L('storage-opt')) } : {}),
    ...(Object.keys(tmpfs).length ? { Tmpfs: tmpfs } : {}),
    UTSMode: S('uts'),
    UsernsMode: S('userns'),
    ShmSize: bytesFlag(flags, 'shm-size'),
    ...(L('sysctl').length ? { Sysctls: keyValueMap(L('sysctl')) } : {}),
    ...(S('runtime') ? { Runtime: S('runtime') } : {}),
    Isolation: S('isolation'),
    CpuShares: N('cpu-shares'),
    Memory: bytesFlag(flags, 'memory'),
    NanoCpus: nanoCpus,
    CgroupParent: S('cgroup-parent'),
    BlkioWeight: 0,
    BlkioWeightDevice: [],
    BlkioDeviceReadBps: [],
    BlkioDeviceWriteBps: [],
    BlkioDeviceReadIOps: [],
    BlkioDeviceWriteIOps: [],
    CpuPeriod: N('cpu-period'),
    CpuQuota: N('cpu-quota'),
    CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0,
    CpusetCpus: S('cpuset-cpus'),
    CpusetMems: S('cpuset-mems'),
    Devices: L('device').map(device),
    DeviceCgroupRules: null,
    DeviceRequests: null,
    MemoryReservation: bytesFlag(flags, 'memory-reservation'),
    MemorySwap: bytesFlag(flags, 'memory-swap'),
    MemorySwappiness: N('memory-swappiness'),
    OomKillDisable: B('oom-kill-disable'),
    PidsLimit: N('pids-limit'),
    Ulimits: L('ulimit').map(ulimit),
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    ...(mounts.length ? { Mounts: mounts } : {}),
    MaskedPaths: null,
    ReadonlyPaths: null,
    ...(changed.has('init') ? { Init: B('init') } : {}),
  };

  const config: Record<string, unknown> = {
    Hostname: S('hostname'),
    Domainname: S('domainname'),
    User: S('user'),
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    ...(Object.keys(exposed).length ? { ExposedPorts: sortKeys(exposed) } : {}),
    Tty: B('tty'),
    OpenStdin: B('interactive'),
    StdinOnce: !detach && B('interactive') && attachStdin,
    Env: env.length ? env : null,
    Cmd: cmd.length ? cmd : null,
    ...(health ? { Healthcheck: health } : {}),
    Image: image,
    Volumes: volumes,
    WorkingDir: S('workdir'),
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: labels,
    ...(S('stop-signal') ? { StopSignal: S('stop-signal') } : {}),
    ...(changed.has('stop-timeout') ? { StopTimeout: N('stop-timeout') } : {}),
  };
  const pull = S('pull');
  if (!['always', 'missing', 'never'].includes(pull)) throw new RunOptionError(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`);
  return {
    body: { ...config, HostConfig: hostConfig, NetworkingConfig: { EndpointsConfig: endpoints } } as ContainerCreateBody,
    name: S('name'),
    platform: S('platform'),
    pull,
    image,
  };
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
