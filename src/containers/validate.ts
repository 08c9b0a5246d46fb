// Type checks on a create body, as Go's JSON decoding does them in dockerd: a
// field of the wrong JSON type is a 400 with encoding/json's words, before
// anything is stored ("json: cannot unmarshal string into Go struct field
// HostConfig.HostConfig.Memory of type int64"). `null` is always fine (the zero
// value); unknown fields are ignored, as Go ignores them.
import { invalidArgument } from '../util/index.js';

type Kind =
  | 'string' | 'bool' | 'int' | 'strings' | 'strslice' | 'stringmap' | 'set' | 'object' | 'objects'
  | { object: Record<string, Kind>; go: string }
  | { array: Kind; go: string }
  | { map: Kind; go: string };

const GO: Record<string, string> = {
  string: 'string', bool: 'bool', int: 'int64', strings: '[]string', strslice: 'strslice.StrSlice',
  stringmap: 'map[string]string', set: 'map[string]struct {}', object: 'struct', objects: '[]struct',
};

const RESTART: Kind = { object: { Name: 'string', MaximumRetryCount: 'int' }, go: 'container.RestartPolicy' };
const ULIMIT: Kind = { object: { Name: 'string', Soft: 'int', Hard: 'int' }, go: 'container.Ulimit' };
const DEVICE: Kind = { object: { PathOnHost: 'string', PathInContainer: 'string', CgroupPermissions: 'string' }, go: 'container.DeviceMapping' };
const PORT_BINDINGS: Kind = { map: { array: { object: { HostIp: 'string', HostPort: 'string' }, go: 'nat.PortBinding' }, go: '[]nat.PortBinding' }, go: 'nat.PortMap' };
const LOG_CONFIG: Kind = { object: { Type: 'string', Config: 'stringmap' }, go: 'container.LogConfig' };

const CONFIG: Record<string, Kind> = {
  Hostname: 'string', Domainname: 'string', User: 'string', Image: 'string', WorkingDir: 'string', MacAddress: 'string',
  StopSignal: 'string', AttachStdin: 'bool', AttachStdout: 'bool', AttachStderr: 'bool', Tty: 'bool', OpenStdin: 'bool',
  StdinOnce: 'bool', ArgsEscaped: 'bool', NetworkDisabled: 'bool', Env: 'strings', Cmd: 'strslice', Entrypoint: 'strslice',
  OnBuild: 'strings', Shell: 'strslice', ExposedPorts: 'set', Volumes: 'set', Labels: 'stringmap', StopTimeout: 'int',
  Healthcheck: 'object',
};

const HOST_CONFIG: Record<string, Kind> = {
  Binds: 'strings', ContainerIDFile: 'string', NetworkMode: 'string', IpcMode: 'string', PidMode: 'string', UTSMode: 'string',
  UsernsMode: 'string', CgroupnsMode: 'string', VolumeDriver: 'string', Runtime: 'string', CgroupParent: 'string',
  Cgroup: 'string', Isolation: 'string', PortBindings: PORT_BINDINGS, RestartPolicy: RESTART, AutoRemove: 'bool',
  Privileged: 'bool', PublishAllPorts: 'bool', ReadonlyRootfs: 'bool', Init: 'bool', OomKillDisable: 'bool',
  Dns: 'strings', DnsOptions: 'strings', DnsSearch: 'strings', ExtraHosts: 'strings', CapAdd: 'strslice', CapDrop: 'strslice',
  GroupAdd: 'strings', SecurityOpt: 'strings', VolumesFrom: 'strings', Links: 'strings', DeviceCgroupRules: 'strings',
  Memory: 'int', MemorySwap: 'int', MemoryReservation: 'int', NanoCpus: 'int', CpuShares: 'int', CpuPeriod: 'int',
  CpuQuota: 'int', CpuRealtimePeriod: 'int', CpuRealtimeRuntime: 'int', PidsLimit: 'int', ShmSize: 'int',
  BlkioWeight: 'int', OomScoreAdj: 'int', MemorySwappiness: 'int', KernelMemory: 'int', CpusetCpus: 'string',
  CpusetMems: 'string', Tmpfs: 'stringmap', Sysctls: 'stringmap', StorageOpt: 'stringmap',
  Ulimits: { array: ULIMIT, go: '[]*container.Ulimit' }, Devices: { array: DEVICE, go: '[]container.DeviceMapping' },
  Mounts: 'objects', LogConfig: LOG_CONFIG, ConsoleSize: { array: 'int', go: '[2]uint' },
};

const jsonType = (v: unknown): string => (Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v);

function fail(v: unknown, where: string, go: string): never {
  throw invalidArgument(`json: cannot unmarshal ${jsonType(v)} into Go struct field ${where} of type ${go}`);
}

function check(v: unknown, kind: Kind, where: string): void {
  if (v === null || v === undefined) return;
  if (typeof kind === 'string') {
    const go = GO[kind]!;
    const isObj = typeof v === 'object' && !Array.isArray(v);
    switch (kind) {
      case 'string': if (typeof v !== 'string') fail(v, where, go); return;
      case 'bool': if (typeof v !== 'boolean') fail(v, where, go); return;
      case 'int': if (typeof v !== 'number' || !Number.isInteger(v)) fail(v, where, go); return;
      case 'strings':
        if (!Array.isArray(v)) fail(v, where, go);
        for (const x of v) if (typeof x !== 'string') fail(x, where, 'string');
        return;
      case 'strslice': // a string or a list of strings
        if (typeof v === 'string') return;
        if (!Array.isArray(v)) fail(v, where, go);
        for (const x of v) if (typeof x !== 'string') fail(x, where, 'string');
        return;
      case 'stringmap':
        if (!isObj) fail(v, where, go);
        for (const x of Object.values(v as object)) if (typeof x !== 'string' && x !== null) fail(x, where, 'string');
        return;
      case 'set': case 'object': if (!isObj) fail(v, where, go); return;
      case 'objects':
        if (!Array.isArray(v)) fail(v, where, go);
        for (const x of v) if (x !== null && (typeof x !== 'object' || Array.isArray(x))) fail(x, where, 'struct');
        return;
    }
  }
  if ('object' in kind) {
    if (typeof v !== 'object' || Array.isArray(v)) fail(v, where, kind.go);
    const o = v as Record<string, unknown>;
    for (const [k, sub] of Object.entries(kind.object)) check(o[k], sub, `${where}.${k}`);
  } else if ('array' in kind) {
    if (!Array.isArray(v)) fail(v, where, kind.go);
    for (const x of v) check(x, kind.array, where);
  } else {
    if (typeof v !== 'object' || Array.isArray(v)) fail(v, where, kind.go);
    for (const x of Object.values(v as object)) check(x, kind.map, where);
  }
}

/** Throws dockerd's 400 for a create body whose fields have the wrong JSON types. */
export function checkCreateBody(body: Record<string, unknown>): void {
  for (const [k, kind] of Object.entries(CONFIG)) check(body[k], kind, `CreateRequest.${k}`);
  const hc = body.HostConfig;
  if (hc !== null && hc !== undefined) {
    if (typeof hc !== 'object' || Array.isArray(hc)) fail(hc, 'CreateRequest.HostConfig', 'container.HostConfig');
    for (const [k, kind] of Object.entries(HOST_CONFIG)) check((hc as Record<string, unknown>)[k], kind, `CreateRequest.HostConfig.${k}`);
  }
  const nc = body.NetworkingConfig;
  if (nc !== null && nc !== undefined) {
    if (typeof nc !== 'object' || Array.isArray(nc)) fail(nc, 'CreateRequest.NetworkingConfig', 'network.NetworkingConfig');
    const eps = (nc as Record<string, unknown>).EndpointsConfig;
    check(eps, { map: 'object', go: 'map[string]*network.EndpointSettings' }, 'CreateRequest.NetworkingConfig.EndpointsConfig');
  }
}
