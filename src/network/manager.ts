// NetworkManager: Docker's networks on one host. The database holds networks,
// endpoints (a container's attachment, with its IP lease while it runs) and
// published ports; the kernel state (bridges, veths, netns, the nft table,
// aardvark-dns config) is derived from it, so a restart or a crash is repaired
// by re-deriving (init + reconcile).
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import {
  conflict,
  forbidden,
  hasCode,
  invalidArgument,
  newId,
  noEvents,
  notFound,
  notImplemented,
  shortId,
  unavailable,
  parseGoDuration,
  type DB,
  type EventSink,
  type Logger,
} from '../util/index.js';
import * as cidr from './cidr.js';
import { Aardvark, type DnsNetwork } from './dns.js';
import { runStep } from './exec.js';
import { writeContainerFiles, type ContainerFiles, type ContainerFilesOpts } from './files.js';
import * as link from './link.js';
import { tableScript, type NftNetwork, type NftPort } from './nft.js';
import { ToolSession, ipTool, nftTool } from './session.js';
import { ShellSpawner } from './spawner.js';
import { NetworkStore, type EndpointRow, type NetworkRow, type PortRow } from './store.js';
import type { EndpointSettings, NetworkCreateBody, NetworkResource, PortMap, PortSpec } from './types.js';

export interface AddressPool {
  base: string;
  size: number;
}

export interface NetworkConfig {
  /** Default bridge address with prefix, as dockerd's `bip` (e.g. 172.17.0.1/16). */
  bip?: string;
  defaultAddressPools?: AddressPool[];
  /** false: manage no firewall rules at all (dockerd's `iptables: false`). */
  iptables?: boolean;
  /** Name of the default bridge device (default berth0). */
  bridgeName?: string;
  /** Name of berth's nft table, family ip (default berth). */
  nftTable?: string;
  aardvarkBinary?: string;
  /** Ephemeral host port range for -P (default: the kernel's ip_local_port_range). */
  portRange?: [number, number];
}

export interface NetworkManagerOpts {
  db: DB;
  execRoot: string;
  dataRoot: string;
  log: Logger;
  events?: EventSink;
  config?: NetworkConfig;
}

export type NetworkMode = 'bridge' | 'none' | 'host' | `container:${string}` | string;

export interface ConnectOpts {
  containerName: string;
  aliases?: string[];
  ipv4Address?: string;
  macAddress?: string;
  hostname?: string;
  /** EndpointSettings.Links: `container[:alias]`; the alias resolves to that container on this network. */
  links?: string[];
}

// Docker's defaults: 172.17.0.0/16 … 172.31.0.0/16, then 192.168.0.0/16 in /20s.
const DEFAULT_POOLS: AddressPool[] = [
  ...Array.from({ length: 15 }, (_, i) => ({ base: `172.${17 + i}.0.0/16`, size: 16 })),
  { base: '192.168.0.0/16', size: 20 },
];

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export class NetworkManager {
  private readonly store: NetworkStore;
  private readonly log: Logger;
  private readonly events: EventSink;
  private readonly netnsDir: string;
  private readonly dns: Aardvark;
  private readonly bridgeName: string;
  private readonly table: string;
  private readonly firewall: boolean;
  private readonly pools: AddressPool[];
  private readonly bip?: string;
  private readonly portRange?: [number, number];
  private chain: Promise<unknown> = Promise.resolve();
  /** The latest DNS sync, and that same run while it has not read the database yet. */
  private dnsRunning?: Promise<void>;
  private dnsQueued?: Promise<void>;
  private readonly nft: ToolSession;
  private readonly ip: ToolSession;
  private readonly spawner: ShellSpawner;

  constructor(opts: NetworkManagerOpts) {
    const cfg = opts.config ?? {};
    this.store = new NetworkStore(opts.db);
    this.log = opts.log;
    this.events = opts.events ?? noEvents;
    this.netnsDir = join(opts.execRoot, 'netns');
    if (/\s/.test(this.netnsDir)) throw invalidArgument(`exec root must not contain white space: ${opts.execRoot}`);
    this.dns = new Aardvark(join(opts.execRoot, 'aardvark-dns'), cfg.aardvarkBinary ?? '/usr/lib/podman/aardvark-dns', this.log);
    this.bridgeName = link.safeIfname(cfg.bridgeName ?? 'berth0');
    this.table = cfg.nftTable ?? 'berth';
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,30}$/.test(this.table)) throw invalidArgument(`invalid nft table name: ${this.table}`);
    this.firewall = cfg.iptables !== false;
    this.pools = cfg.defaultAddressPools?.length ? cfg.defaultAddressPools : DEFAULT_POOLS;
    this.bip = cfg.bip;
    this.portRange = cfg.portRange;
    this.nft = new ToolSession(nftTool, this.log);
    this.ip = new ToolSession(ipTool, this.log);
    this.spawner = new ShellSpawner(this.log);
  }

  /** Stop the helper processes this manager keeps (nft, ip and sh sessions). Rules, links and aardvark-dns stay. */
  close(): void {
    this.nft.close();
    this.ip.close();
    this.spawner.close();
  }

  // ---------------------------------------------------------------- networks

  async init(): Promise<void> {
    mkdirSync(this.netnsDir, { recursive: true, mode: 0o700 });
    if (this.firewall) writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
    const rows = this.store.networks();
    const byName = new Set(rows.map((r) => r.name));
    if (!byName.has('bridge')) {
      let subnet: string;
      let gateway: string;
      // As dockerd with docker0: a bridge device that already has an address keeps it.
      const bip = this.bip ?? (await link.bridgeAddress(this.bridgeName));
      if (bip) {
        const [ip] = bip.split('/');
        subnet = cidr.formatCidr(cidr.parseCidr(bip));
        gateway = ip!;
      } else {
        subnet = await this.freeSubnet();
        gateway = cidr.formatIp(cidr.parseCidr(subnet).base + 1);
      }
      this.store.insertNetwork(
        this.row({
          name: 'bridge', driver: 'bridge', subnet, gateway, bridge: this.bridgeName, builtin: 1,
          options: {
            'com.docker.network.bridge.default_bridge': 'true',
            'com.docker.network.bridge.enable_icc': 'true',
            'com.docker.network.bridge.enable_ip_masquerade': 'true',
            'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
            'com.docker.network.bridge.name': this.bridgeName,
            'com.docker.network.driver.mtu': '1500',
          },
        }),
      );
    }
    if (!byName.has('host')) this.store.insertNetwork(this.row({ name: 'host', driver: 'host', builtin: 1 }));
    if (!byName.has('none')) this.store.insertNetwork(this.row({ name: 'none', driver: 'null', builtin: 1 }));
    await this.serial(async () => {
      await link.ensureBridges(this.bridges().map((n) => this.bridgeSpec(n)), this.firewall);
      await this.syncRules();
    });
  }

  async create(body: NetworkCreateBody): Promise<{ Id: string; Warning: string }> {
    const name = body.Name;
    if (typeof name !== 'string' || name === '') throw invalidArgument('network name must not be empty');
    if (!NAME_RE.test(name)) throw invalidArgument(`invalid network name "${name}": must match ${NAME_RE.source}`);
    const driver = body.Driver === undefined || body.Driver === '' ? 'bridge' : String(body.Driver);
    if (driver === 'host' || driver === 'null') throw forbidden(`only one instance of "${driver}" network is allowed`);
    if (['overlay', 'macvlan', 'ipvlan'].includes(driver)) throw notImplemented(`network driver "${driver}" is not supported by berth`);
    if (driver !== 'bridge') throw notFound(`plugin "${driver}" not found`);
    if (body.ConfigOnly || body.ConfigFrom) throw notImplemented('config-only networks are not supported by berth');
    if (body.Ingress) throw notImplemented('ingress networks are not supported by berth');
    const labels = stringRecord(body.Labels, 'Labels');
    const options = stringRecord(body.Options, 'Options');
    const ipam = (body.IPAM ?? {}) as { Driver?: unknown; Config?: unknown; Options?: unknown };
    if (ipam.Driver !== undefined && ipam.Driver !== '' && ipam.Driver !== 'default') {
      throw notFound(`plugin "${String(ipam.Driver)}" not found`);
    }
    const warnings: string[] = [];
    if (body.EnableIPv6 === true) warnings.push('IPv6 is not supported by berth: the network is IPv4 only');
    const configs = Array.isArray(ipam.Config) ? (ipam.Config as Record<string, unknown>[]) : [];
    const v4 = configs.filter((c) => typeof c?.Subnet !== 'string' || !String(c.Subnet).includes(':'));
    if (v4.length < configs.length) warnings.push('IPv6 subnets were ignored: berth networks are IPv4 only');
    if (v4.length > 1) throw notImplemented('berth supports one IPv4 subnet per network');

    const existing = this.store.networks();
    if (existing.some((n) => n.name === name)) throw conflict(`network with name ${name} already exists`);

    const id = newId();
    const bridge = options['com.docker.network.bridge.name'] ?? `br-${id.slice(0, 12)}`;
    link.safeIfname(bridge);
    if (existing.some((n) => n.bridge === bridge)) throw conflict(`bridge name ${bridge} is already in use by another network`);

    const c = v4[0] ?? {};
    let subnet: string;
    let gateway = '';
    let ipRange = '';
    let aux: Record<string, string> = {};
    if (typeof c.Subnet === 'string' && c.Subnet) {
      const s = cidr.parseCidr(c.Subnet);
      subnet = cidr.formatCidr(s);
      const taken = existing.filter((n) => n.subnet).map((n) => cidr.parseCidr(n.subnet));
      if (taken.some((t) => cidr.overlaps(t, s))) {
        throw forbidden('invalid pool request: Pool overlaps with other one on this address space');
      }
      if (typeof c.IPRange === 'string' && c.IPRange) {
        const r = cidr.parseCidr(c.IPRange);
        if (!cidr.contains(s, r.base) || !cidr.contains(s, cidr.lastOf(r))) throw invalidArgument(`no matching subnet for range ${c.IPRange}`);
        ipRange = cidr.formatCidr(r);
      }
      if (typeof c.Gateway === 'string' && c.Gateway) {
        if (!cidr.contains(s, cidr.parseIp(c.Gateway))) throw invalidArgument(`no matching subnet for gateway ${c.Gateway}`);
        gateway = c.Gateway;
      }
      aux = stringRecord(c.AuxiliaryAddresses, 'AuxiliaryAddresses');
      for (const [k, v] of Object.entries(aux)) {
        if (!cidr.contains(s, cidr.parseIp(v))) throw invalidArgument(`no matching subnet for aux-address ${k}=${v}`);
      }
      if (s.bits > 30) throw invalidArgument(`subnet ${subnet} is too small for a network`);
    } else {
      if (c.IPRange || c.Gateway) throw invalidArgument('a gateway or an IP range needs a subnet');
      subnet = await this.freeSubnet();
    }
    if (!gateway) gateway = cidr.formatIp(cidr.parseCidr(subnet).base + 1);

    const row = this.row({
      id, name, driver, subnet, gateway, bridge, ipRange, aux, labels, options,
      internal: body.Internal === true ? 1 : 0,
      attachable: body.Attachable === true ? 1 : 0,
      ipv6: body.EnableIPv6 === true ? 1 : 0,
      userIpam: v4.length ? 1 : 0,
      ipamOptions: stringRecord(ipam.Options, 'IPAM.Options'),
    });
    await this.serial(async () => {
      // Checked again in turn: creates that ran at once all passed the checks above (and an automatic
      // subnet was picked with an await in between), so two could take one name or one subnet.
      const now = this.store.networks();
      if (now.some((n) => n.name === name)) throw conflict(`network with name ${name} already exists`);
      if (now.some((n) => n.bridge === bridge)) throw conflict(`bridge name ${bridge} is already in use by another network`);
      const mine = cidr.parseCidr(row.subnet);
      if (now.some((n) => n.subnet && cidr.overlaps(cidr.parseCidr(n.subnet), mine))) {
        if (v4.length && typeof v4[0]?.Subnet === 'string' && v4[0].Subnet) throw forbidden('invalid pool request: Pool overlaps with other one on this address space');
        row.subnet = await this.freeSubnet();
        row.gateway = cidr.formatIp(cidr.parseCidr(row.subnet).base + 1);
      }
      this.store.insertNetwork(row);
      try {
        await link.ensureBridges([this.bridgeSpec(row)], this.firewall);
        await this.syncRules();
      } catch (err) {
        this.store.deleteNetwork(id);
        await link.deleteLinks([bridge]);
        throw err;
      }
    });
    this.events('network', 'create', id, { name, type: driver });
    return { Id: id, Warning: warnings.join('\n') };
  }

  list(filters: Record<string, string[]> = {}): NetworkResource[] {
    const known = new Set(['name', 'id', 'label', 'driver', 'type', 'dangling', 'scope']);
    for (const k of Object.keys(filters)) if (!known.has(k)) throw invalidArgument(`invalid filter '${k}'`);
    const used = this.activeNetworks();
    return this.store
      .networks()
      .filter((n) => matchFilters(n, filters, used))
      .map((n) => this.resource(n));
  }

  inspect(idOrName: string): NetworkResource {
    return this.resource(this.find(idOrName));
  }

  async remove(idOrName: string): Promise<void> {
    const n = this.find(idOrName);
    if (n.builtin) throw forbidden(`${n.name} is a pre-defined network and cannot be removed`);
    await this.serial(async () => {
      const active = this.store.endpointsOn(n.id).filter((e) => e.ip || e.endpoint_id);
      if (active.length) {
        const list = active.map((e) => `name:"${e.container_name}" id:"${shortId(e.container_id)}"`).join(', ');
        throw forbidden(`error while removing network: network ${n.name} has active endpoints (${list})`);
      }
      this.store.deleteNetwork(n.id);
      await this.syncRules();
      await link.deleteLinks([n.bridge]);
    });
    this.events('network', 'destroy', n.id, { name: n.name, type: n.driver });
  }

  async prune(filters: Record<string, string[]> = {}): Promise<{ NetworksDeleted: string[] }> {
    for (const k of Object.keys(filters)) if (!['until', 'label', 'label!'].includes(k)) throw invalidArgument(`invalid filter '${k}'`);
    // A bad until= is refused before anything is looked at, as dockerd does, even when nothing could be pruned.
    if (filters.until?.length) untilMs(filters.until[0]!);
    const used = this.activeNetworks();
    const deleted: string[] = [];
    for (const n of this.store.networks()) {
      if (n.builtin || used.has(n.id)) continue;
      if (filters.until?.length && !(Date.parse(n.created) < untilMs(filters.until[0]!))) continue;
      if (filters.label && !matchLabels(JSON.parse(n.labels), filters.label)) continue;
      if (filters['label!'] && filters['label!'].some((l) => matchLabels(JSON.parse(n.labels), [l]))) continue;
      await this.remove(n.id);
      deleted.push(n.name);
    }
    this.events('network', 'prune', '', { reclaimed: '0' }); // as dockerd, after every network prune
    return { NetworksDeleted: deleted };
  }

  // ------------------------------------------------------- container plumbing

  /** The netns file of a container (bind mount under execRoot/netns). */
  netnsPath(containerId: string): string {
    return join(this.netnsDir, containerId);
  }

  /**
   * Give a container its network before it starts: a netns for every mode but
   * host, with every recorded endpoint plumbed and its ports published.
   */
  async prepare(containerId: string, opts: { mode: NetworkMode; containerName?: string }): Promise<{ netnsPath?: string }> {
    checkId(containerId);
    const mode = !opts.mode || opts.mode === 'default' ? 'bridge' : opts.mode;
    if (mode === 'host') {
      await this.activate(containerId);
      return {};
    }
    if (mode.startsWith('container:')) {
      const other = mode.slice('container:'.length);
      const path = this.netnsPath(checkId(other));
      if (!existsSync(path)) throw conflict(`cannot join network namespace of a non running container: ${other}`);
      return { netnsPath: path };
    }
    if (mode !== 'none' && !this.store.endpoints(containerId).some((e) => e.network_id === this.find(mode).id)) {
      await this.connect(containerId, mode, { containerName: opts.containerName ?? shortId(containerId) });
    }
    // Leases, ports and rules are decided under the lock (they must see a
    // stable database); the netns and its links are made outside it, so that
    // concurrent starts overlap their `unshare ip -batch` spawns instead of
    // queueing behind each other (20 starts at once: 20 spawns in a row).
    const path = this.netnsPath(containerId);
    const t0 = performance.now();
    let tLocked = t0;
    const plan = await this.serial(async () => {
      tLocked = performance.now();
      const create = !existsSync(path);
      if (mode === 'none') return create ? this.lease(containerId, [], { create, nft: false }) : undefined;
      try {
        const hasPorts = this.store.ports(containerId).length > 0;
        if (hasPorts) {
          this.allocatePorts(containerId);
          await this.probePorts(containerId);
        }
        return this.lease(containerId, this.store.endpoints(containerId).filter((e) => !e.ip), { create, nft: hasPorts });
      } catch (err) {
        await this.unplumb(containerId, { nft: this.hasPorts(containerId) });
        throw err;
      }
    });
    const tLeased = performance.now();
    if (plan) {
      try {
        await this.wire(plan);
      } catch (err) {
        await this.serial(() => this.unplumb(containerId, { nft: this.hasPorts(containerId) }));
        throw err;
      }
    }
    const tWired = performance.now();
    if (mode !== 'none') await this.syncDns();
    const ms = (a: number, b: number): number => Math.round((b - a) * 10) / 10;
    this.log.debug('network prepare', {
      id: containerId.slice(0, 12), lockWait: ms(t0, tLocked), lease: ms(tLocked, tLeased), wire: ms(tLeased, tWired), dns: ms(tWired, performance.now()),
    });
    return { netnsPath: path };
  }

  /**
   * Mark a starting container's host and none endpoints active (they have
   * nothing to plumb): Docker lists the container on those networks while it
   * runs. teardown() makes them inactive again.
   */
  async activate(containerId: string): Promise<void> {
    await this.serial(async () => {
      for (const e of this.store.endpoints(containerId)) {
        if (!e.endpoint_id && !e.ifname) this.store.updateEndpoint({ ...e, endpoint_id: newId() });
      }
    });
  }

  async connect(containerId: string, network: string, opts: ConnectOpts): Promise<EndpointSettings> {
    checkId(containerId);
    let n = this.find(network);
    return this.serial(async () => {
      // Looked up again in turn: a `network rm` queued before this connect may have deleted it (404 then,
      // not an endpoint on a network that no longer exists).
      n = this.find(n.id);
      const eps = this.store.endpoints(containerId);
      if (eps.some((e) => e.network_id === n.id)) {
        throw forbidden(`endpoint with name ${stripSlash(opts.containerName)} already exists in network ${n.name}`);
      }
      if ((n.driver === 'host' || eps.some((e) => e.network_name === 'host')) && eps.length) {
        throw forbidden('container cannot be disconnected from host network or connected to host network');
      }
      if (opts.aliases?.length && n.builtin && n.name === 'bridge') {
        throw invalidArgument('network-scoped alias is supported only for containers in user defined networks');
      }
      if (opts.links !== undefined && (!Array.isArray(opts.links) || opts.links.some((l) => typeof l !== 'string'))) {
        throw invalidArgument('Links must be a list of strings');
      }
      if (opts.links?.length && n.builtin) throw invalidArgument('links are only supported for user-defined networks');
      for (const l of opts.links ?? []) parseLink(l);
      let staticIp = '';
      if (opts.ipv4Address) {
        if (n.builtin) throw invalidArgument('user specified IP address is supported on user defined networks only');
        if (!n.user_ipam) {
          throw invalidArgument('user specified IP address is supported only when connecting to networks with user configured subnets');
        }
        const ip = cidr.parseIp(opts.ipv4Address);
        const range = cidr.parseCidr(n.ip_range || n.subnet);
        if (!cidr.contains(cidr.parseCidr(n.subnet), ip)) {
          throw invalidArgument(`no configured subnet or ip-range contain the IP address ${opts.ipv4Address}`);
        }
        if (!cidr.contains(range, ip) && n.ip_range) {
          throw invalidArgument(`no configured subnet or ip-range contain the IP address ${opts.ipv4Address}`);
        }
        staticIp = cidr.formatIp(ip);
      }
      if (opts.macAddress && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(opts.macAddress)) {
        throw invalidArgument(`invalid MAC address: ${opts.macAddress}`);
      }
      const used = new Set(eps.map((e) => e.ifname));
      let idx = 0;
      while (used.has(`eth${idx}`)) idx++;
      const row: EndpointRow = {
        container_id: containerId, network_id: n.id, network_name: n.name, endpoint_id: '',
        container_name: stripSlash(opts.containerName), hostname: opts.hostname ?? '',
        ifname: n.driver === 'bridge' ? `eth${idx}` : '', host_if: '', static_ip: staticIp, ip: '', mac: '',
        static_mac: (opts.macAddress ?? '').toLowerCase(), aliases: JSON.stringify(opts.aliases ?? []),
        is_gateway: 0, seq: this.store.nextSeq(), dns: eps[0]?.dns ?? '[]', links: JSON.stringify(opts.links ?? []),
      };
      this.store.insertEndpoint(row);
      if (n.driver === 'bridge' && existsSync(this.netnsPath(containerId))) {
        try {
          await this.plumb(containerId, [row], { create: false, nft: this.hasPorts(containerId) });
          await this.syncRules({ nft: false });
        } catch (err) {
          this.store.deleteEndpoint(containerId, n.id);
          throw err;
        }
      }
      this.events('network', 'connect', n.id, { container: containerId, name: n.name, type: n.driver });
      const fresh = this.store.endpoints(containerId).find((e) => e.network_id === n.id)!;
      return this.settings(fresh, n);
    });
  }

  async disconnect(containerId: string, network: string, opts: { force?: boolean } = {}): Promise<void> {
    let n: NetworkRow | undefined;
    try {
      n = this.find(network);
    } catch (err) {
      if (!opts.force) throw err;
    }
    await this.serial(async () => {
      const eps = this.store.endpoints(containerId);
      const ep = eps.find((e) => (n ? e.network_id === n.id : e.network_name === network));
      if (!ep) {
        if (opts.force) return;
        throw forbidden(`container ${containerId} is not connected to network ${n?.name ?? network}`);
      }
      if (ep.network_name === 'host' && !opts.force) {
        throw forbidden('container cannot be disconnected from host network or connected to host network');
      }
      await this.deleteLinks([ep.host_if]);
      this.store.deleteEndpoint(containerId, ep.network_id);
      if (ep.is_gateway) await this.promoteGateway(containerId);
      await this.syncRules({ nft: this.hasPorts(containerId) });
      this.events('network', 'disconnect', ep.network_id, { container: containerId, name: ep.network_name, type: n?.driver ?? 'bridge' });
    });
  }

  /**
   * Record a container's published ports (replacing earlier ones). While the
   * container runs, host ports are allocated and forwarded at once; otherwise
   * at prepare().
   */
  async publish(containerId: string, ports: PortSpec[]): Promise<PortMap> {
    checkId(containerId);
    return this.serial(async () => {
      const rows: PortRow[] = [];
      let seq = 0;
      for (const p of ports) {
        const hostIp = p.hostIp === '0.0.0.0' ? '' : (p.hostIp ?? '');
        if (hostIp.includes(':')) continue; // IPv6 bindings: berth networks are IPv4 only
        if (hostIp) cidr.parseIp(hostIp);
        const req = p.hostPort ?? '';
        if (req !== '' && !(/^\d+$/.test(req) && Number(req) > 0 && Number(req) < 65536)) throw invalidArgument(`invalid hostPort: ${req}`);
        if (!(Number.isInteger(p.containerPort) && p.containerPort > 0 && p.containerPort < 65536)) {
          throw invalidArgument(`invalid containerPort: ${p.containerPort}`);
        }
        if (p.proto !== 'tcp' && p.proto !== 'udp') throw invalidArgument(`invalid proto: ${String(p.proto)}`);
        rows.push({ container_id: containerId, host_ip: hostIp, host_port_req: req, host_port: 0, container_port: p.containerPort, proto: p.proto, seq: seq++ });
      }
      const previous = this.store.ports(containerId);
      this.store.replacePorts(containerId, rows);
      if (this.isPlumbed(containerId)) {
        try {
          this.allocatePorts(containerId);
          await this.probePorts(containerId);
          await this.syncRules();
        } catch (err) {
          this.store.replacePorts(containerId, previous);
          await this.syncRules();
          throw err;
        }
      }
      return this.portMap(containerId);
    });
  }

  /** Docker's NetworkSettings.Ports for a container. */
  portMap(containerId: string): PortMap {
    const map: PortMap = {};
    for (const p of this.store.ports(containerId)) {
      const key = `${p.container_port}/${p.proto}`;
      (map[key] ??= []).push({ HostIp: p.host_ip || '0.0.0.0', HostPort: p.host_port ? String(p.host_port) : p.host_port_req });
    }
    return map;
  }

  /** At container stop: links, rules, DNS entries and netns go; IP leases and host ports are released. */
  async teardown(containerId: string): Promise<void> {
    // DNS entries exist only for leases: without one (--network none) there is nothing to re-derive.
    const { leased, hostIfs } = await this.serial(async () => {
      const leased = this.hasLease(containerId);
      return { leased, hostIfs: await this.unplumbRecords(containerId, { nft: this.hasPorts(containerId) }) };
    });
    if (leased) await this.syncDns();
    await this.reapLinks(hostIfs);
  }

  /** At container rm: teardown plus the container's endpoint and port records. */
  async release(containerId: string): Promise<void> {
    const { leased, hostIfs } = await this.serial(async () => {
      const leased = this.hasLease(containerId);
      const hostIfs = await this.unplumbRecords(containerId, { nft: this.hasPorts(containerId) });
      this.store.deleteContainer(containerId);
      return { leased, hostIfs };
    });
    if (leased) await this.syncDns();
    await this.reapLinks(hostIfs);
  }

  endpoints(containerId: string): Record<string, EndpointSettings> {
    const nets = new Map(this.store.networks().map((n) => [n.id, n]));
    const out: Record<string, EndpointSettings> = {};
    for (const e of this.store.endpoints(containerId)) {
      const n = nets.get(e.network_id);
      out[e.network_name] = this.settings(e, n);
    }
    return out;
  }

  async writeContainerFiles(containerDir: string, opts: ContainerFilesOpts & { containerId?: string }): Promise<ContainerFiles> {
    const containerId = opts.containerId ?? basename(containerDir);
    const nets = new Map(this.store.networks().map((n) => [n.id, n]));
    const eps = this.store.endpoints(containerId).filter((e) => e.ip);
    // --dns on a user-defined network: the network's DNS server forwards this container's other queries there.
    const dns = JSON.stringify((opts.dns ?? []).filter(cidr.isIpv4));
    if (this.store.endpoints(containerId).some((e) => e.dns !== dns)) {
      await this.serial(async () => {
        this.store.setDns(containerId, dns);
        await this.syncRules({ nft: false });
      });
    }
    // As Docker: the embedded DNS serves a container with an endpoint on a user-defined network,
    // even when its network mode is the default bridge and the user network was connected
    // before start (testcontainers' withNetworkAliases does exactly that). Its own mode first.
    const mode = opts.networkMode ?? eps[0]?.network_name ?? 'bridge';
    const joined = eps.map((e) => nets.get(e.network_id));
    const primary = joined.find((n) => n && (n.name === mode || n.id === mode));
    const dnsNet = primary && !primary.builtin ? primary : joined.find((n) => n && !n.builtin && n.driver === 'bridge');
    const bridge = this.store.networks().find((n) => n.name === 'bridge');
    return writeContainerFiles(containerDir, {
      ...opts,
      useHostFiles: opts.useHostFiles ?? opts.networkMode === 'host',
      ips: eps.map((e) => e.ip),
      hostGateway: bridge?.gateway ?? '',
      dnsServer: dnsNet?.gateway,
    });
  }

  /**
   * Repair after a crash: netns, veths, leases and rules of containers not in
   * `running` are removed; with `known`, records of containers that no longer
   * exist at all are dropped.
   */
  async reconcile(running: Iterable<string>, opts: { known?: Iterable<string> } = {}): Promise<void> {
    const live = new Set(running);
    await this.serial(async () => {
      for (const id of new Set([...safeReaddir(this.netnsDir), ...this.store.containerIds()])) {
        if (!live.has(id)) await this.unplumb(id, { nft: false });
      }
      if (opts.known) {
        const known = new Set(opts.known);
        for (const id of this.store.containerIds()) if (!known.has(id)) this.store.deleteContainer(id);
      }
      const bridges = this.bridges();
      await link.ensureBridges(bridges.map((n) => this.bridgeSpec(n)), this.firewall);
      for (const id of live) if (this.isPlumbed(id)) await this.repairEndpoints(id);
      const ours = new Set(bridges.map((n) => n.bridge));
      const wanted = new Set(this.store.endpoints().map((e) => e.host_if).filter(Boolean));
      const stray = (await link.hostLinks()).filter((l) => l.master && ours.has(l.master) && l.kind === 'veth' && !wanted.has(l.ifname));
      await this.deleteLinks(stray.map((l) => l.ifname));
      await this.syncRules();
    });
  }

  // ---------------------------------------------------------------- internals

  /**
   * A `network connect` to a running container that a kill -9 cut short leaves an endpoint recorded
   * (maybe with its IP leased) but its veth missing, half made, or off the bridge: the container
   * would list a network it cannot reach. Finish the connect (the veth is made again from scratch);
   * if that fails, drop the endpoint and its lease. Bridge networks only; caller holds the lock.
   */
  private async repairEndpoints(containerId: string): Promise<void> {
    const nets = new Map(this.bridges().map((n) => [n.id, n]));
    for (const e of this.store.endpoints(containerId)) {
      const net = nets.get(e.network_id);
      if (!net) continue;
      if (e.ip && e.host_if && e.endpoint_id && hostLinkMaster(e.host_if) === net.bridge) continue;
      this.log.info('finishing an interrupted network connect', { container: containerId.slice(0, 12), network: net.name });
      await this.deleteLinks([e.host_if]).catch(() => undefined); // its peer inside the netns goes with it
      const row: EndpointRow = { ...e, ip: '', host_if: '', endpoint_id: '', mac: '', is_gateway: 0 };
      this.store.updateEndpoint(row);
      try {
        await this.plumb(containerId, [row], { create: false, nft: false });
      } catch (err) {
        this.log.warn('cannot finish an interrupted network connect: disconnecting', { container: containerId.slice(0, 12), network: net.name, err });
        this.store.deleteEndpoint(containerId, e.network_id);
      }
    }
  }


  /** Mutating operations run one at a time: allocation and rule sync see a stable database. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private find(idOrName: string): NetworkRow {
    const rows = this.store.networks();
    const hit = rows.find((n) => n.name === idOrName) ?? rows.find((n) => n.id === idOrName);
    if (hit) return hit;
    if (/^[a-f0-9]+$/.test(idOrName)) {
      const pre = rows.filter((n) => n.id.startsWith(idOrName));
      if (pre.length === 1) return pre[0]!;
      if (pre.length > 1) throw invalidArgument(`network ${idOrName} is ambiguous (${pre.length} matches found based on ID prefix)`);
    }
    throw notFound(`network ${idOrName} not found`);
  }

  /** Networks some running container is attached to. */
  private activeNetworks(): Set<string> {
    return new Set(this.store.endpoints().filter((e) => e.ip || e.endpoint_id).map((e) => e.network_id));
  }

  private bridges(): NetworkRow[] {
    return this.store.networks().filter((n) => n.driver === 'bridge');
  }

  private bridgeSpec(n: NetworkRow): { name: string; address: string } {
    return { name: n.bridge, address: `${n.gateway}/${cidr.parseCidr(n.subnet).bits}` };
  }

  private isPlumbed(containerId: string): boolean {
    return existsSync(this.netnsPath(containerId));
  }

  /** The first subnet of the address pools not used by a network or routed on the host. */
  private async freeSubnet(): Promise<string> {
    const taken = [
      ...this.store.networks().filter((n) => n.subnet).map((n) => cidr.parseCidr(n.subnet)),
      ...(await link.hostRoutes()).map((r) => cidr.parseCidr(r)),
    ];
    for (const pool of this.pools) {
      for (const s of cidr.subnetsOf(cidr.parseCidr(pool.base), pool.size)) {
        if (!taken.some((t) => cidr.overlaps(t, s))) return cidr.formatCidr(s);
      }
    }
    throw forbidden('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
  }

  private allocateIp(n: NetworkRow, ep: EndpointRow): string {
    const subnet = cidr.parseCidr(n.subnet);
    const used = new Set<number>([subnet.base, cidr.lastOf(subnet), cidr.parseIp(n.gateway)]);
    for (const v of Object.values(JSON.parse(n.aux) as Record<string, string>)) used.add(cidr.parseIp(v));
    for (const e of this.store.endpointsOn(n.id)) {
      if (e.container_id === ep.container_id) continue;
      if (e.ip) used.add(cidr.parseIp(e.ip));
      if (e.static_ip) used.add(cidr.parseIp(e.static_ip));
    }
    if (ep.static_ip) {
      const ip = cidr.parseIp(ep.static_ip);
      const holder = this.store.endpointsOn(n.id).find((e) => e.ip === ep.static_ip && e.container_id !== ep.container_id);
      if (holder || ip === subnet.base || ip === cidr.lastOf(subnet) || ep.static_ip === n.gateway) {
        throw conflict(`Address already in use: ${ep.static_ip}`);
      }
      return ep.static_ip;
    }
    const range = n.ip_range ? cidr.parseCidr(n.ip_range) : subnet;
    for (let ip = range.base; ip <= cidr.lastOf(range); ip++) {
      if (!used.has(ip)) return cidr.formatIp(ip);
    }
    throw unavailable(`no available IPv4 addresses on network ${n.name}`);
  }

  /**
   * Lease IPs for endpoints and wire them into the container's netns (created
   * when `create`), with the nft table re-derived when `nft`.
   */
  private async plumb(containerId: string, rows: EndpointRow[], opts: { create: boolean; nft: boolean }): Promise<void> {
    await this.wire(this.lease(containerId, rows, opts));
  }

  /**
   * The database half of plumb (synchronous, so callers hold the lock only
   * briefly): lease IPs, MACs and veth names; returns what wire() does.
   */
  private lease(containerId: string, rows: EndpointRow[], opts: { create: boolean; nft: boolean }): Plumbing {
    const nets = new Map(this.store.networks().map((n) => [n.id, n]));
    const todo: { row: EndpointRow; net: NetworkRow }[] = [];
    for (const row of rows) {
      const net = nets.get(row.network_id);
      if (!net) throw notFound(`network ${row.network_name} not found`);
      if (net.driver !== 'bridge') continue;
      todo.push({ row, net });
    }
    let hasGateway = this.store.endpoints(containerId).some((e) => e.is_gateway && e.ip);
    this.store.tx(() => {
      for (const t of todo) {
        const ip = this.allocateIp(t.net, t.row);
        t.row.ip = ip;
        t.row.mac = t.row.static_mac || macFor(ip);
        t.row.host_if = `veth${randomBytes(4).toString('hex').slice(0, 7)}`;
        t.row.endpoint_id = newId();
        t.row.is_gateway = 0;
        if (!hasGateway && !t.net.internal) {
          t.row.is_gateway = 1;
          hasGateway = true;
        }
        this.store.updateEndpoint(t.row);
      }
    });
    return { containerId, rows: todo.map((t) => t.row), nets: todo.map((t) => t.net), ...opts };
  }

  /** The kernel half of plumb; on failure the leases of `plan` are given back. */
  private async wire(plan: Plumbing): Promise<void> {
    const netns = this.netnsPath(plan.containerId);
    const { inside, host } = link.plumbSteps(
      netns,
      plan.rows.map((row, i) => {
        const net = plan.nets[i]!;
        return {
          hostIf: row.host_if, bridge: net.bridge, ifname: row.ifname, mac: row.mac,
          address: `${row.ip}/${cidr.parseCidr(net.subnet).bits}`,
          gateway: row.is_gateway ? net.gateway : undefined,
        };
      }),
      { create: plan.create },
    );
    try {
      if (plan.create) link.netnsMountpoint(netns);
      if (inside) await this.spawner.run(inside); // in the netns: a process of its own, started by the helper shell
      if (host) await this.ip.run(host);
      if (plan.nft) await this.applyNft();
    } catch (err) {
      if (plan.create) link.unmountNetns(netns);
      await this.deleteLinks(plan.rows.map((row) => row.host_if));
      this.store.tx(() => {
        for (const row of plan.rows) this.store.updateEndpoint({ ...row, ip: '', host_if: '', endpoint_id: '', mac: '', is_gateway: 0 });
      });
      throw err;
    }
  }

  /** Delete host links that still exist; ones already gone are fine. */
  private async deleteLinks(names: string[]): Promise<void> {
    const present = names.filter((n) => n && link.linkExists(n));
    if (!present.length) return;
    try {
      await this.ip.run(link.deleteLinksScript(present));
    } catch (err) {
      // Raced with the kernel's own cleanup of a dying netns: only a link still there is a failure.
      if (present.some(link.linkExists)) throw err;
    }
  }

  /**
   * Undo plumb for a whole container (safe on one that is not plumbed): the
   * netns is unpinned, leftover veths deleted, leases and host ports released,
   * and the nft table re-derived when `nft`, all in one spawn.
   */
  private async unplumb(containerId: string, opts: { nft: boolean }): Promise<void> {
    await this.reapLinks(await this.unplumbRecords(containerId, opts));
  }

  /** The part of unplumb that needs the lock; returns the host veths for reapLinks. */
  private async unplumbRecords(containerId: string, opts: { nft: boolean }): Promise<string[]> {
    const eps = this.store.endpoints(containerId);
    link.unmountNetns(this.netnsPath(containerId));
    this.store.tx(() => {
      for (const e of eps) {
        if (e.ip || e.host_if || e.endpoint_id) this.store.updateEndpoint({ ...e, ip: '', host_if: '', endpoint_id: '', mac: '', is_gateway: 0 });
      }
      const ports = this.store.ports(containerId);
      if (ports.some((p) => p.host_port)) this.store.replacePorts(containerId, ports.map((p) => ({ ...p, host_port: 0 })));
    });
    if (opts.nft) await this.applyNft();
    return eps.map((e) => e.host_if).filter(Boolean);
  }

  /**
   * With its netns unpinned and no process left in it, the kernel destroys
   * the veths itself (10-40 ms here, the same as an `ip link del`, which
   * would only compete with it); delete whatever is still there after that.
   * Needs no lock: veth names are random and never reused by a later lease.
   */
  private async reapLinks(hostIfs: string[]): Promise<void> {
    for (let waited = 0; waited < 150 && hostIfs.some(link.linkExists); waited += 5) await sleep(5);
    await this.deleteLinks(hostIfs);
  }

  private async promoteGateway(containerId: string): Promise<void> {
    const nets = new Map(this.store.networks().map((n) => [n.id, n]));
    const next = this.store.endpoints(containerId).find((e) => e.ip && !nets.get(e.network_id)?.internal);
    if (!next) return;
    const net = nets.get(next.network_id)!;
    await link.setDefaultRoute(this.netnsPath(containerId), net.gateway, next.ifname);
    this.store.updateEndpoint({ ...next, is_gateway: 1 });
  }

  /** Pick host ports for the container's published ports (sync: no interleaving allocations). */
  private allocatePorts(containerId: string): void {
    const mine = this.store.ports(containerId);
    if (mine.every((p) => p.host_port)) return; // none, or allocated already (a second prepare)
    const others = this.store.ports().filter((p) => p.container_id !== containerId && p.host_port);
    const taken = (ip: string, port: number, proto: string, rows: PortRow[]) =>
      rows.some((o) => o.host_port === port && o.proto === proto && (!o.host_ip || !ip || o.host_ip === ip));
    const [lo, hi] = this.portRange ?? ephemeralRange();
    let cursor = lo;
    const done: PortRow[] = [];
    for (const p of mine) {
      let port = Number(p.host_port_req || 0);
      if (port) {
        if (taken(p.host_ip, port, p.proto, others) || taken(p.host_ip, port, p.proto, done)) {
          throw conflict(`Bind for ${p.host_ip || '0.0.0.0'}:${port} failed: port is already allocated`);
        }
      } else {
        while (cursor <= hi && (taken(p.host_ip, cursor, p.proto, others) || taken(p.host_ip, cursor, p.proto, done))) cursor++;
        if (cursor > hi) throw unavailable('no free host port in the ephemeral range');
        port = cursor++;
      }
      done.push({ ...p, host_port: port });
    }
    this.store.replacePorts(containerId, done);
  }

  /**
   * DNAT would silently shadow a host process listening on the same port, so
   * check each one is free on the host; an ephemeral one moves on to the next.
   */
  private async probePorts(containerId: string): Promise<void> {
    const rows = this.store.ports(containerId);
    if (!rows.length) return;
    const [, hi] = this.portRange ?? ephemeralRange();
    const others = this.store.ports().filter((p) => p.container_id !== containerId && p.host_port);
    const claimed = new Set(others.map((o) => `${o.proto}/${o.host_port}`));
    let changed = false;
    for (const p of rows) {
      while (!(await portFree(p.host_ip, p.host_port, p.proto as 'tcp' | 'udp'))) {
        if (p.host_port_req) {
          throw conflict(`failed to bind host port ${p.host_ip || '0.0.0.0'}:${p.host_port}/${p.proto}: address already in use`);
        }
        do p.host_port++;
        while (p.host_port <= hi && (claimed.has(`${p.proto}/${p.host_port}`) || rows.some((r) => r !== p && r.proto === p.proto && r.host_port === p.host_port)));
        if (p.host_port > hi) throw unavailable('no free host port in the ephemeral range');
        changed = true;
      }
    }
    if (changed) this.store.replacePorts(containerId, rows);
  }

  /**
   * Re-derive berth's nft table, through the long-lived nft session; should
   * that fail, once more with a fresh `nft -f` (which also words the error).
   */
  private async applyNft(): Promise<void> {
    if (!this.firewall) return;
    const script = this.nftScript();
    try {
      await this.nft.run(script);
    } catch (err) {
      this.log.debug('nft session failed, retrying with nft -f', { err });
      await runStep({ argv: ['nft', '-f', '-'], input: script });
    }
  }

  /** berth's whole nft table, derived from the database as it is now. */
  private nftScript(): string {
    const nets = this.bridges();
    const byId = new Map(nets.map((n) => [n.id, n]));
    const eps = this.store.endpoints().filter((e) => e.ip);
    const nft: NftNetwork[] = nets.map((n) => ({ bridge: n.bridge, subnet: n.subnet, gateway: n.gateway, internal: !!n.internal }));
    const ports: NftPort[] = [];
    for (const p of this.store.ports()) {
      if (!p.host_port) continue;
      // Ports forward to the container's first address on a network with a way out.
      const target = eps.find((e) => e.container_id === p.container_id && !byId.get(e.network_id)?.internal);
      if (!target) continue;
      ports.push({ hostIp: p.host_ip, hostPort: p.host_port, proto: p.proto as 'tcp' | 'udp', targetIp: target.ip, targetPort: p.container_port });
    }
    return tableScript(this.table, nft, ports);
  }

  /** True when the container holds an IP on some network (so DNS knows it). */
  private hasLease(containerId: string): boolean {
    return this.store.endpoints(containerId).some((e) => e.ip);
  }

  /** True when the container has host ports allocated (its rules are in the nft maps). */
  private hasPorts(containerId: string): boolean {
    return this.store.ports(containerId).some((p) => p.host_port);
  }

  /**
   * Re-derive the nft table and the aardvark-dns config from the database.
   * nft costs a process, so callers skip it when no rule can have changed;
   * the DNS config is compared file by file and aardvark only signalled on change.
   */
  private async syncRules(opts: { nft?: boolean } = {}): Promise<void> {
    if (opts.nft !== false) await this.applyNft();
    await this.syncDns();
  }

  /**
   * Bring aardvark-dns up to date with the database. Concurrent callers share
   * runs: a call joins the queued run if it has not read the database yet,
   * else queues the next one; so starts that finish together cost one config
   * rewrite and one SIGHUP. A reload is not free: aardvark-dns 1.4 (Debian
   * 12) tears down and rebinds its sockets on SIGHUP (1.11 and later do not),
   * refusing or losing the queries of that moment.
   */
  private syncDns(): Promise<void> {
    // A run not yet past reading the database covers this caller's change too.
    if (this.dnsQueued) return this.dnsQueued;
    const after = this.dnsRunning?.catch(() => undefined) ?? Promise.resolve();
    const run = after
      // One event-loop turn: starts whose wiring finished together share a reload.
      .then(() => new Promise<void>((r) => setImmediate(r)))
      .then(() => {
        if (this.dnsQueued === run) this.dnsQueued = undefined;
        return this.dns.sync(this.dnsNetworks());
      });
    this.dnsQueued = run;
    this.dnsRunning = run;
    return run;
  }

  private dnsNetworks(): DnsNetwork[] {
    const eps = this.store.endpoints().filter((e) => e.ip);
    return this.bridges()
      .filter((n) => !n.builtin)
      .map((n) => ({
        name: n.name,
        gateway: n.gateway,
        entries: eps
          .filter((e) => e.network_id === n.id)
          .map((e) => ({ containerId: e.container_id, ip: e.ip, names: [...dnsNames(e), ...linkAliases(e, eps)], servers: JSON.parse(e.dns || '[]') as string[] })),
      }));
  }

  private settings(e: EndpointRow, n: NetworkRow | undefined): EndpointSettings {
    const bits = n?.subnet ? cidr.parseCidr(n.subnet).bits : 0;
    const aliases = JSON.parse(e.aliases) as string[];
    const links = JSON.parse(e.links || '[]') as string[];
    return {
      IPAMConfig: e.static_ip ? { IPv4Address: e.static_ip } : null,
      Links: links.length ? links : null,
      MacAddress: e.mac,
      Aliases: aliases.length ? aliases : null,
      DriverOpts: null,
      GwPriority: 0,
      NetworkID: e.network_id,
      EndpointID: e.endpoint_id,
      Gateway: e.ip && n ? n.gateway : '',
      IPAddress: e.ip,
      IPPrefixLen: e.ip ? bits : 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      DNSNames: n && !n.builtin && n.driver === 'bridge' ? dnsNames(e) : null,
    };
  }

  private resource(n: NetworkRow): NetworkResource {
    const containers: NetworkResource['Containers'] = {};
    const bits = n.subnet ? cidr.parseCidr(n.subnet).bits : 0;
    for (const e of this.store.endpointsOn(n.id)) {
      if (!e.ip && !e.endpoint_id) continue;
      containers[e.container_id] = {
        Name: e.container_name, EndpointID: e.endpoint_id, MacAddress: e.mac, IPv4Address: e.ip ? `${e.ip}/${bits}` : '', IPv6Address: '',
      };
    }
    const config: Record<string, unknown>[] = [];
    if (n.subnet) {
      const c: Record<string, unknown> = { Subnet: n.subnet, Gateway: n.gateway };
      if (n.ip_range) c.IPRange = n.ip_range;
      const aux = JSON.parse(n.aux) as Record<string, string>;
      if (Object.keys(aux).length) c.AuxiliaryAddresses = aux;
      config.push(c);
    }
    const ipamOptions = JSON.parse(n.ipam_options) as Record<string, string>;
    return {
      Name: n.name,
      Id: n.id,
      Created: n.created,
      Scope: 'local',
      Driver: n.driver,
      EnableIPv4: true,
      EnableIPv6: false,
      IPAM: { Driver: n.ipam_driver, Options: Object.keys(ipamOptions).length ? ipamOptions : null, Config: config },
      Internal: !!n.internal,
      Attachable: !!n.attachable,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: containers,
      Options: JSON.parse(n.options) as Record<string, string>,
      Labels: JSON.parse(n.labels) as Record<string, string>,
    };
  }

  private row(p: {
    id?: string; name: string; driver: string; subnet?: string; gateway?: string; bridge?: string; builtin?: number;
    ipRange?: string; aux?: Record<string, string>; labels?: Record<string, string>; options?: Record<string, string>;
    internal?: number; attachable?: number; ipv6?: number; userIpam?: number; ipamOptions?: Record<string, string>;
  }): NetworkRow {
    return {
      id: p.id ?? newId(), name: p.name, driver: p.driver, created: new Date().toISOString(),
      subnet: p.subnet ?? '', gateway: p.gateway ?? '', ip_range: p.ipRange ?? '', aux: JSON.stringify(p.aux ?? {}),
      internal: p.internal ?? 0, attachable: p.attachable ?? 0, ipv6: p.ipv6 ?? 0, bridge: p.bridge ?? '',
      labels: JSON.stringify(p.labels ?? {}), options: JSON.stringify(p.options ?? {}), ipam_driver: 'default',
      ipam_options: JSON.stringify(p.ipamOptions ?? {}), user_ipam: p.userIpam ?? 0, builtin: p.builtin ?? 0,
    };
  }
}

// ------------------------------------------------------------------ helpers

/** What lease() decided and wire() carries out. */
interface Plumbing {
  containerId: string;
  rows: EndpointRow[];
  nets: NetworkRow[];
  create: boolean;
  nft: boolean;
}

function checkId(id: string): string {
  // Container ids name files under execRoot/netns and lines of aardvark's config.
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(id) || id === '.' || id === '..') throw invalidArgument(`invalid container id: ${id}`);
  return id;
}

const stripSlash = (s: string): string => s.replace(/^\//, '');

function dnsNames(e: EndpointRow): string[] {
  const names = [e.container_name, ...(JSON.parse(e.aliases) as string[]), shortId(e.container_id)];
  if (e.hostname) names.push(e.hostname);
  // aardvark's config is whitespace- and comma-separated: such names could not be served anyway.
  return [...new Set(names.filter((x) => x && /^[A-Za-z0-9_.-]+$/.test(x)))];
}

/** `name[:alias]` (either may carry Docker's leading slash) → [name, alias]. */
function parseLink(link: string): [string, string] {
  const parts = link.split(':');
  if (parts.length > 2 || !parts[0]) throw invalidArgument(`invalid link: ${link}`);
  const name = stripSlash(parts[0]);
  const alias = stripSlash((parts[1] ?? name).split('/').pop()!);
  if (!name || !alias) throw invalidArgument(`invalid link: ${link}`);
  return [name, alias];
}

/**
 * The aliases other endpoints on `e`'s network give e's container through their Links
 * (compose sends `links:` this way). Docker's resolver answers such an alias only to the
 * container that declared the link; aardvark-dns has no per-client names, so berth answers
 * it on the whole network, which resolves the same for the linking container.
 */
function linkAliases(e: EndpointRow, all: EndpointRow[]): string[] {
  const out: string[] = [];
  for (const other of all) {
    if (other.network_id !== e.network_id || other.links === '[]' || !other.links) continue;
    for (const l of JSON.parse(other.links) as string[]) {
      const [name, alias] = parseLink(l);
      if (name === e.container_name || name === e.container_id || (name.length >= 12 && e.container_id.startsWith(name))) {
        if (/^[A-Za-z0-9_.-]+$/.test(alias)) out.push(alias);
      }
    }
  }
  return out;
}

function macFor(ip: string): string {
  // Docker's classic scheme: 02:42 followed by the IPv4 address.
  const n = cidr.parseIp(ip);
  return ['02', '42', ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function ephemeralRange(): [number, number] {
  try {
    const [a, b] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (a && b) return [a, b];
  } catch (err) {
    if (!hasCode(err, 'ENOENT')) throw err;
  }
  return [32768, 60999]; // Docker's defaults
}

function portFree(host: string, port: number, proto: 'tcp' | 'udp'): Promise<boolean> {
  return new Promise((resolve) => {
    if (proto === 'udp') {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind({ address: host || '0.0.0.0', port, exclusive: true }, () => s.close(() => resolve(true)));
      return;
    }
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: host || '0.0.0.0', port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function stringRecord(v: unknown, what: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidArgument(`${what} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') throw invalidArgument(`${what}: value of ${k} must be a string`);
    out[k] = x;
  }
  return out;
}

function matchLabels(labels: Record<string, string>, wanted: string[]): boolean {
  return wanted.every((w) => {
    const i = w.indexOf('=');
    return i < 0 ? w in labels : labels[w.slice(0, i)] === w.slice(i + 1);
  });
}

function untilMs(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  // Any Go duration ("90m", "1h30m", "1.5h"), as dockerd's timetypes.GetTimestamp takes it.
  if (v !== '0' && /^[+-]?[\d.]+(ns|us|µs|ms|s|m|h)/.test(v)) {
    try { return Date.now() - parseGoDuration(v) / 1e6; } catch { /* not a duration: a date below */ }
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalidArgument(`invalid filter 'until=${v}'`);
  return t;
}

function matchFilters(n: NetworkRow, f: Record<string, string[]>, used: Set<string>): boolean {
  if (f.name?.length && !f.name.some((x) => n.name.includes(x))) return false;
  if (f.id?.length && !f.id.some((x) => n.id.startsWith(x))) return false;
  if (f.driver?.length && !f.driver.includes(n.driver)) return false;
  if (f.scope?.length && !f.scope.includes('local')) return false;
  if (f.label?.length && !matchLabels(JSON.parse(n.labels), f.label)) return false;
  if (f.type?.length) {
    for (const t of f.type) if (t !== 'custom' && t !== 'builtin') throw invalidArgument(`invalid filter: 'type'='${t}'`);
    if (!f.type.includes(n.builtin ? 'builtin' : 'custom')) return false;
  }
  if (f.dangling?.length) {
    // dockerd 28's words (daemon/network/filter.go).
    if (f.dangling.length > 1) throw invalidArgument('got more than one value for filter key "dangling"');
    const v = f.dangling[0];
    if (!['true', 'false', '1', '0'].includes(v!)) throw invalidArgument('invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")');
    const dangling = !n.builtin && !used.has(n.id);
    if ((v === 'true' || v === '1') !== dangling) return false;
  }
  return true;
}

/** The bridge a host link is enslaved to ('' when none, or no such link). */
function hostLinkMaster(ifname: string): string {
  try { return basename(readlinkSync(`/sys/class/net/${ifname}/master`)); } catch { return ''; }
}
