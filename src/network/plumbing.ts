// The container-facing side of NetworkManager in the shape the containers
// service asks for (containers/deps.ts NetworkPlumbing, matched structurally):
// Docker's HostConfig.NetworkMode, NetworkingConfig.EndpointsConfig and
// PortBindings/ExposedPorts/PublishAllPorts in, one plumbing spawn out.
import { invalidArgument } from '../util/index.js';
import type { NetworkManager } from './manager.js';
import type { ContainerFiles } from './files.js';
import type { EndpointSettings, PortMap, PortSpec } from './types.js';

export interface AttachOpts {
  containerName: string;
  hostname: string;
  mode: string;
  endpoints: Record<string, { Aliases?: string[]; IPAMConfig?: { IPv4Address?: string }; MacAddress?: string; Links?: string[] }>;
  portBindings: Record<string, { HostIp?: string; HostPort?: string }[] | null>;
  exposedPorts: string[];
  publishAll: boolean;
}

export interface FilesOpts {
  hostname: string;
  domainname: string;
  extraHosts: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  mode: string;
  containerId: string;
}

export interface ContainerPlumbing {
  prepare(containerId: string, mode: string): Promise<{ netnsPath?: string }>;
  attach(containerId: string, opts: AttachOpts): Promise<{ networks: Record<string, EndpointSettings>; ports: PortMap }>;
  writeFiles(containerDir: string, opts: FilesOpts): Promise<ContainerFiles>;
  teardown(containerId: string): Promise<void>;
  release(containerId: string): Promise<void>;
  endpoints(containerId: string): Record<string, EndpointSettings>;
}

const normalMode = (mode: string): string => (!mode || mode === 'default' ? 'bridge' : mode);
const ownNetns = (mode: string): boolean => mode !== 'host' && mode !== 'none' && !mode.startsWith('container:');

/**
 * prepare() only names the netns (the OCI spec needs its path); attach()
 * records the endpoints and ports, then creates and plumbs everything at once.
 */
export function containerPlumbing(nm: NetworkManager): ContainerPlumbing {
  return {
    async prepare(containerId, rawMode) {
      const mode = normalMode(rawMode);
      if (ownNetns(mode)) return { netnsPath: nm.netnsPath(containerId) };
      return nm.prepare(containerId, { mode });
    },

    async attach(containerId, opts) {
      const mode = normalMode(opts.mode);
      if (!ownNetns(mode)) return { networks: nm.endpoints(containerId), ports: {} };
      const have = new Set(Object.keys(nm.endpoints(containerId)));
      const wanted: [string, AttachOpts['endpoints'][string]][] = Object.entries(opts.endpoints ?? {});
      if (!wanted.some(([name]) => name === mode)) wanted.unshift([mode, {}]);
      for (const [name, cfg] of wanted) {
        if (have.has(name)) continue;
        await nm.connect(containerId, name, {
          containerName: opts.containerName, hostname: opts.hostname, aliases: cfg?.Aliases ?? undefined,
          ipv4Address: cfg?.IPAMConfig?.IPv4Address || undefined, macAddress: cfg?.MacAddress || undefined,
          links: cfg?.Links ?? undefined,
        });
        have.add(name);
      }
      await nm.publish(containerId, portSpecs(opts));
      await nm.prepare(containerId, { mode, containerName: opts.containerName });
      return { networks: nm.endpoints(containerId), ports: nm.portMap(containerId) };
    },

    async writeFiles(containerDir, o) {
      return nm.writeContainerFiles(containerDir, {
        containerId: o.containerId, hostname: o.hostname, domainname: o.domainname, extraHosts: o.extraHosts,
        dns: o.dns, dnsSearch: o.dnsSearch, dnsOptions: o.dnsOptions, networkMode: normalMode(o.mode),
      });
    },

    teardown: (id) => nm.teardown(id),
    release: (id) => nm.release(id),
    endpoints: (id) => nm.endpoints(id),
  };
}

/** Docker's PortBindings (+ ExposedPorts with -P) as single-port specs; ranges are expanded. */
export function portSpecs(opts: Pick<AttachOpts, 'portBindings' | 'exposedPorts' | 'publishAll'>): PortSpec[] {
  const specs: PortSpec[] = [];
  const bound = new Set<string>();
  for (const [key, bindings] of Object.entries(opts.portBindings ?? {})) {
    const { ports, proto } = parsePortKey(key);
    bound.add(key);
    for (const b of bindings?.length ? bindings : [{}]) {
      const host = b.HostPort ?? '';
      const hostRange = host.includes('-') ? rangeOf(host) : undefined;
      ports.forEach((containerPort, i) => {
        let hostPort = host;
        if (hostRange) {
          // a host range as long as the container range maps one to one; otherwise its first port
          hostPort = String(hostRange.length === ports.length ? hostRange[i] : hostRange[0]);
        } else if (host && ports.length > 1) {
          hostPort = String(Number(host) + i);
        }
        specs.push({ hostIp: b.HostIp ?? '', hostPort, containerPort, proto });
      });
    }
  }
  if (opts.publishAll) {
    for (const key of opts.exposedPorts ?? []) {
      if (bound.has(key)) continue;
      const { ports, proto } = parsePortKey(key);
      for (const containerPort of ports) specs.push({ hostIp: '', hostPort: '', containerPort, proto });
    }
  }
  return specs;
}

function parsePortKey(key: string): { ports: number[]; proto: 'tcp' | 'udp' } {
  const [port, proto = 'tcp'] = key.split('/');
  if (proto !== 'tcp' && proto !== 'udp') throw invalidArgument(`invalid proto: ${proto} (sctp is not supported)`);
  return { ports: rangeOf(port ?? ''), proto };
}

function rangeOf(s: string): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw invalidArgument(`invalid port: ${s}`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || hi < lo) throw invalidArgument(`invalid port range: ${s}`);
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}
