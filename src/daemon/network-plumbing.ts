// Adapts the network manager to what the container service asks of it.
import type { NetworkManager, PortSpec } from '../network/index.js';
import type { NetworkPlumbing } from '../containers/index.js';
import { invalidArgument } from '../util/index.js';

/** Docker's PortBindings (plus -P over ExposedPorts) as the network manager's port specs. */
export function portSpecs(bindings: Record<string, { HostIp?: string; HostPort?: string }[] | null>, exposed: string[], publishAll: boolean): PortSpec[] {
  const out: PortSpec[] = [];
  const keys = new Set(Object.keys(bindings ?? {}));
  if (publishAll) for (const k of exposed) keys.add(k);
  for (const key of keys) {
    const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(key);
    if (!m) throw invalidArgument(`invalid port specification: "${key}"`);
    const proto = (m[2] ?? 'tcp') as 'tcp' | 'udp';
    if (proto !== 'tcp' && proto !== 'udp') throw invalidArgument(`unsupported protocol: ${m[2]}`);
    const list = bindings?.[key];
    if (!list || list.length === 0) {
      if (publishAll) out.push({ containerPort: Number(m[1]), proto, hostPort: '' });
      continue;
    }
    for (const b of list) out.push({ containerPort: Number(m[1]), proto, hostIp: b.HostIp || undefined, hostPort: b.HostPort ?? '' });
  }
  return out;
}

export function networkPlumbing(network: NetworkManager): NetworkPlumbing {
  return {
    prepare: (id, mode) => network.prepare(id, { mode }),
    attach: async (id, o) => {
      const mode = o.mode;
      if (mode !== 'none' && mode !== 'host' && !mode.startsWith('container:')) {
        // The docker CLI keys the endpoint of the network mode by the mode's own
        // name, and `default` means the default bridge.
        const wanted: typeof o.endpoints = {};
        for (const [k, v] of Object.entries(o.endpoints ?? {})) wanted[k === 'default' ? 'bridge' : k] = v;
        if (!Object.keys(wanted).includes(mode)) wanted[mode] = {};
        const have = network.endpoints(id);
        for (const [net, ep] of Object.entries(wanted)) {
          if (have[net]) continue;
          await network.connect(id, net, {
            containerName: o.containerName, hostname: o.hostname, aliases: ep?.Aliases ?? undefined,
            ipv4Address: ep?.IPAMConfig?.IPv4Address || undefined, macAddress: ep?.MacAddress || undefined,
          });
        }
        await network.publish(id, portSpecs(o.portBindings, o.exposedPorts, o.publishAll));
      }
      return { networks: network.endpoints(id), ports: network.portMap(id) };
    },
    ports: (id) => network.portMap(id),
    writeFiles: async (dir, o) => network.writeContainerFiles(dir, {
      hostname: o.hostname, domainname: o.domainname, extraHosts: o.extraHosts, dns: o.dns, dnsSearch: o.dnsSearch,
      dnsOptions: o.dnsOptions, networkMode: o.mode, containerId: o.containerId,
    }),
    teardown: (id) => network.teardown(id),
    release: (id) => network.release(id),
    endpoints: (id) => network.endpoints(id),
  };
}
