// Adapts the network manager to what the container service asks of it.
import { portSpecs, type NetworkManager } from '../network/index.js';
import type { NetworkPlumbing } from '../containers/index.js';

export function networkPlumbing(network: NetworkManager): NetworkPlumbing {
  return {
    prepare: (id, mode) => network.prepare(id, { mode }),
    attach: async (id, o) => {
      const mode = o.mode;
      if (mode.startsWith('container:')) return { networks: network.endpoints(id), ports: {} };
      // The docker CLI keys the endpoint of the network mode by the mode's own
      // name, and `default` means the default bridge. host and none get an
      // endpoint too: Docker lists the container on those networks.
      const wanted: typeof o.endpoints = {};
      if (mode === 'host' || mode === 'none') {
        wanted[mode] = {};
      } else {
        for (const [k, v] of Object.entries(o.endpoints ?? {})) wanted[k === 'default' ? 'bridge' : k] = v;
        if (!Object.keys(wanted).includes(mode)) wanted[mode] = {};
      }
      const have = network.endpoints(id);
      for (const [net, ep] of Object.entries(wanted)) {
        if (have[net]) continue;
        await network.connect(id, net, {
          containerName: o.containerName, hostname: o.hostname, aliases: ep?.Aliases ?? undefined,
          ipv4Address: ep?.IPAMConfig?.IPv4Address || undefined, macAddress: ep?.MacAddress || undefined,
          links: ep?.Links ?? undefined,
        });
      }
      // Docker discards published ports in host and none mode.
      if (mode === 'host' || mode === 'none') await network.activate(id);
      else await network.publish(id, portSpecs({ portBindings: o.portBindings, exposedPorts: o.exposedPorts, publishAll: o.publishAll }));
      return { networks: network.endpoints(id), ports: network.portMap(id) };
    },
    ports: (id) => network.portMap(id),
    writeFiles: (dir, o) => network.writeContainerFiles(dir, {
      hostname: o.hostname, domainname: o.domainname, extraHosts: o.extraHosts, dns: o.dns, dnsSearch: o.dnsSearch,
      dnsOptions: o.dnsOptions, networkMode: o.mode, containerId: o.containerId,
    }),
    teardown: (id) => network.teardown(id),
    release: (id) => network.release(id),
    endpoints: (id) => network.endpoints(id),
  };
}
