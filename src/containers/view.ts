// The Docker API's JSON shapes for containers: inspect, list items, human status.
import type { ContainerRecord } from './types.js';
import { healthSuffix, healthView } from './health.js';
import { cgroupVersion } from '../runtime/index.js';

/** dockerd stores the effective cgroupns mode at create: "private" on a cgroup v2 host, else "host" (daemon_unix.go). */
let defaultCgroupns: string | undefined;

export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3600000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3600000 / 24 / 365)} years`;
}

export function humanStatus(rec: ContainerRecord, now = Date.now()): string {
  const s = rec.State;
  switch (s.Status) {
    case 'running': return `Up ${humanDuration(now - Date.parse(s.StartedAt))}${healthSuffix(rec)}`;
    case 'paused': return `Up ${humanDuration(now - Date.parse(s.StartedAt))} (Paused)`;
    case 'restarting': return `Restarting (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
    case 'removing': return 'Removal In Progress';
    case 'dead': return 'Dead';
    case 'exited':
      if (s.FinishedAt.startsWith('0001')) return 'Created';
      return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
    default: return 'Created';
  }
}

export function portList(ports: ContainerRecord['Ports'], exposed: Record<string, unknown> | undefined): { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] {
  const out: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] = [];
  const seen = new Set<string>();
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const [port, proto = 'tcp'] = key.split('/');
    seen.add(key);
    if (!bindings || bindings.length === 0) { out.push({ PrivatePort: Number(port), Type: proto }); continue; }
    for (const b of bindings) out.push({ IP: b.HostIp || '0.0.0.0', PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: proto });
  }
  for (const key of Object.keys(exposed ?? {})) {
    if (seen.has(key)) continue;
    const [port, proto = 'tcp'] = key.split('/');
    out.push({ PrivatePort: Number(port), Type: proto });
  }
  return out;
}

function stateView(rec: ContainerRecord) {
  const s = rec.State;
  return {
    Status: s.Status,
    Running: s.Status === 'running' || s.Status === 'paused',
    Paused: s.Status === 'paused',
    Restarting: s.Status === 'restarting',
    OOMKilled: s.OOMKilled,
    Dead: s.Status === 'dead',
    Pid: s.Pid,
    ExitCode: s.ExitCode,
    Error: s.Error,
    StartedAt: s.StartedAt,
    FinishedAt: s.FinishedAt,
    ...healthView(rec),
  };
}

/**
 * The networks a container that never started will join. dockerd records them at create time
 * (daemon/container_operations.go updateContainerNetworkSettings): the network mode's network, or the
 * NetworkingConfig's, each as an EndpointSettings with only the requested fields set, the rest zero —
 * so `inspect` of a created container already shows `.NetworkSettings.Networks.bridge`.
 */
export function plannedEndpoints(rec: ContainerRecord, endpoints: Record<string, any>): Record<string, any> {
  const mode: string = rec.HostConfig.NetworkMode || 'bridge';
  if (Object.keys(endpoints).length || !rec.State.StartedAt.startsWith('0001') || mode.startsWith('container:') || rec.Config.NetworkDisabled) return endpoints;
  const configured: Record<string, any> = rec.NetworkingConfig?.EndpointsConfig ?? {};
  const names = Object.keys(configured).length ? Object.keys(configured) : [mode];
  const out: Record<string, any> = {};
  for (const key of names) {
    const ep = configured[key] ?? {};
    out[key === 'default' ? 'bridge' : key] = {
      IPAMConfig: ep.IPAMConfig ?? null, Links: ep.Links ?? null, Aliases: ep.Aliases ?? null, MacAddress: ep.MacAddress ?? '',
      DriverOpts: ep.DriverOpts ?? null, GwPriority: ep.GwPriority ?? 0, NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '',
      IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
    };
  }
  return out;
}

export function networkSettings(rec: ContainerRecord, endpoints0: Record<string, any>, sandboxKey?: string) {
  const endpoints = plannedEndpoints(rec, endpoints0);
  const primary = endpoints.bridge ?? Object.values(endpoints)[0] ?? {};
  const isDefaultBridge = !!endpoints.bridge;
  return {
    Bridge: '',
    SandboxID: rec.State.Status === 'running' ? rec.Id : '',
    SandboxKey: sandboxKey ?? '',
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    Ports: rec.State.Status === 'running' || rec.State.Status === 'paused' ? (rec.Ports ?? {}) : {},
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: isDefaultBridge ? primary.EndpointID ?? '' : '',
    Gateway: isDefaultBridge ? primary.Gateway ?? '' : '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: isDefaultBridge ? primary.IPAddress ?? '' : '',
    IPPrefixLen: isDefaultBridge ? primary.IPPrefixLen ?? 0 : 0,
    IPv6Gateway: '',
    MacAddress: isDefaultBridge ? primary.MacAddress ?? '' : '',
    Networks: endpoints,
  };
}

export function inspectView(rec: ContainerRecord, opts: { endpoints: Record<string, any>; execIds: string[]; dir: string; size?: { rw: number; rootfs: number }; sandboxKey?: string }) {
  const upper = `${opts.dir}/upper`;
  const out: Record<string, unknown> = {
    Id: rec.Id,
    Created: rec.Created,
    Path: rec.Path,
    Args: rec.Args,
    State: stateView(rec),
    Image: rec.ImageId,
    ResolvConfPath: rec.ResolvConfPath,
    HostnamePath: rec.HostnamePath,
    HostsPath: rec.HostsPath,
    LogPath: rec.LogPath,
    Name: `/${rec.Name}`,
    RestartCount: rec.RestartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: opts.execIds.length ? opts.execIds : null,
    HostConfig: hostConfigView(rec.HostConfig),
    GraphDriver: {
      Data: { LowerDir: rec.LayerDirs.slice().reverse().join(':'), MergedDir: `${opts.dir}/rootfs`, UpperDir: upper, WorkDir: `${opts.dir}/work` },
      Name: 'overlay2',
    },
    Mounts: rec.Mounts.map(mountView),
    Config: configView(rec.Config),
    NetworkSettings: networkSettings(rec, opts.endpoints, opts.sandboxKey),
  };
  if (opts.size) { out.SizeRw = opts.size.rw; out.SizeRootFs = opts.size.rootfs; }
  return out;
}

export function mountView(m: ContainerRecord['Mounts'][number]) {
  const v: Record<string, unknown> = { Type: m.Type };
  if (m.Type === 'volume') v.Name = m.Name;
  v.Source = m.Source;
  v.Destination = m.Destination;
  if (m.Type === 'volume') v.Driver = m.Driver ?? 'local';
  v.Mode = m.Mode;
  v.RW = m.RW;
  v.Propagation = m.Propagation;
  return v;
}

function configView(c: Record<string, any>) {
  return {
    Hostname: c.Hostname, Domainname: c.Domainname ?? '', User: c.User ?? '',
    AttachStdin: !!c.AttachStdin, AttachStdout: !!c.AttachStdout, AttachStderr: !!c.AttachStderr,
    ...(c.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
    Tty: !!c.Tty, OpenStdin: !!c.OpenStdin, StdinOnce: !!c.StdinOnce,
    Env: c.Env ?? null, Cmd: c.Cmd ?? null,
    ...(c.Healthcheck ? { Healthcheck: c.Healthcheck } : {}),
    Image: c.Image, Volumes: c.Volumes ?? null, WorkingDir: c.WorkingDir ?? '',
    Entrypoint: c.Entrypoint ?? null, OnBuild: c.OnBuild ?? null, Labels: c.Labels ?? {},
    ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
    ...(c.StopTimeout !== undefined && c.StopTimeout !== null ? { StopTimeout: c.StopTimeout } : {}),
  };
}

function hostConfigView(hc: Record<string, any>) {
  const defaults: Record<string, unknown> = {
    Binds: null, ContainerIDFile: '', LogConfig: { Type: 'json-file', Config: {} }, NetworkMode: 'bridge',
    PortBindings: {}, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: false, VolumeDriver: '',
    VolumesFrom: null, ConsoleSize: [0, 0], CapAdd: null, CapDrop: null, CgroupnsMode: 'host', Dns: [], DnsOptions: [],
    DnsSearch: [], ExtraHosts: null, GroupAdd: null, IpcMode: 'private', Cgroup: '', Links: null, OomScoreAdj: 0,
    PidMode: '', Privileged: false, PublishAllPorts: false, ReadonlyRootfs: false, SecurityOpt: null, UTSMode: '',
    UsernsMode: '', ShmSize: 67108864, Runtime: 'runc', Isolation: '', CpuShares: 0, Memory: 0, NanoCpus: 0,
    CgroupParent: '', BlkioWeight: 0, BlkioWeightDevice: [], BlkioDeviceReadBps: [], BlkioDeviceWriteBps: [],
    BlkioDeviceReadIOps: [], BlkioDeviceWriteIOps: [], CpuPeriod: 0, CpuQuota: 0, CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0, CpusetCpus: '', CpusetMems: '', Devices: [], DeviceCgroupRules: null, DeviceRequests: null,
    MemoryReservation: 0, MemorySwap: 0, MemorySwappiness: null, OomKillDisable: null, PidsLimit: null, Ulimits: [],
    CpuCount: 0, CpuPercent: 0, IOMaximumIOps: 0, IOMaximumBandwidth: 0, MaskedPaths: [], ReadonlyPaths: [],
  };
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(hc)) if (v !== undefined) out[k] = v;
  if (!out.ShmSize) out.ShmSize = 67108864;
  if (!out.CgroupnsMode) out.CgroupnsMode = defaultCgroupns ??= cgroupVersion() === 2 ? 'private' : 'host';
  return out;
}

export function listView(rec: ContainerRecord, endpoints: Record<string, any>, now = Date.now()) {
  return {
    Id: rec.Id,
    Names: [`/${rec.Name}`],
    Image: rec.Image,
    ImageID: rec.ImageId,
    // moby quotes arguments holding a space with single quotes.
    Command: rec.Args.length ? `${rec.Path} ${rec.Args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}` : rec.Path,
    Created: Math.floor(Date.parse(rec.Created) / 1000),
    Ports: rec.State.Status === 'running' || rec.State.Status === 'paused' ? portList(rec.Ports, rec.Config.ExposedPorts) : portList({}, rec.Config.ExposedPorts),
    Labels: rec.Config.Labels ?? {},
    State: rec.State.Status,
    Status: humanStatus(rec, now),
    HostConfig: { NetworkMode: rec.HostConfig.NetworkMode ?? 'bridge' },
    NetworkSettings: { Networks: plannedEndpoints(rec, endpoints) },
    Mounts: rec.Mounts.map(mountView),
  };
}
