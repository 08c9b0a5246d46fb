// The network folder's tables. Networks, endpoints (a container's attachment
// to a network, with its IP lease while it runs) and published ports.
import { migrate, type DB } from '../util/index.js';

export interface NetworkRow {
  id: string;
  name: string;
  driver: string;
  created: string;
  subnet: string;
  gateway: string;
  ip_range: string;
  aux: string; // JSON Record<string,string>
  internal: number;
  attachable: number;
  ipv6: number;
  bridge: string;
  labels: string; // JSON
  options: string; // JSON
  ipam_driver: string;
  ipam_options: string; // JSON
  /** 1 when the client gave the IPAM config (inspect shows it as given). */
  user_ipam: number;
  builtin: number;
}

export interface EndpointRow {
  container_id: string;
  network_id: string;
  network_name: string;
  endpoint_id: string;
  container_name: string;
  hostname: string;
  /** Interface name inside the container: eth0, eth1, … */
  ifname: string;
  /** Host side of the veth pair while plumbed, else ''. */
  host_if: string;
  static_ip: string;
  /** Current lease; '' while the container is not running. */
  ip: string;
  mac: string;
  static_mac: string;
  aliases: string; // JSON string[]
  is_gateway: number;
  seq: number;
  /** JSON string[]: the container's --dns servers, which aardvark-dns forwards its other queries to. */
  dns: string;
  /** JSON string[]: EndpointSettings.Links as given, `container` or `container:alias`. */
  links: string;
}

export interface PortRow {
  container_id: string;
  host_ip: string;
  /** What was asked: '' for an ephemeral port. */
  host_port_req: string;
  /** What was allocated (0 while not running). */
  host_port: number;
  container_port: number;
  proto: string;
  seq: number;
}

const MIGRATIONS = [
  `CREATE TABLE network_networks (
     id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, driver TEXT NOT NULL, created TEXT NOT NULL,
     subnet TEXT NOT NULL, gateway TEXT NOT NULL, ip_range TEXT NOT NULL, aux TEXT NOT NULL,
     internal INTEGER NOT NULL, attachable INTEGER NOT NULL, ipv6 INTEGER NOT NULL, bridge TEXT NOT NULL,
     labels TEXT NOT NULL, options TEXT NOT NULL, ipam_driver TEXT NOT NULL, ipam_options TEXT NOT NULL,
     user_ipam INTEGER NOT NULL, builtin INTEGER NOT NULL)`,
  `CREATE TABLE network_endpoints (
     container_id TEXT NOT NULL, network_id TEXT NOT NULL, network_name TEXT NOT NULL, endpoint_id TEXT NOT NULL,
     container_name TEXT NOT NULL, hostname TEXT NOT NULL, ifname TEXT NOT NULL, host_if TEXT NOT NULL,
     static_ip TEXT NOT NULL, ip TEXT NOT NULL, mac TEXT NOT NULL, static_mac TEXT NOT NULL,
     aliases TEXT NOT NULL, is_gateway INTEGER NOT NULL, seq INTEGER NOT NULL,
     PRIMARY KEY (container_id, network_id))`,
  // Two containers never hold the same IP on one network.
  `CREATE UNIQUE INDEX network_endpoints_lease ON network_endpoints (network_id, ip) WHERE ip != ''`,
  `CREATE TABLE network_ports (
     container_id TEXT NOT NULL, host_ip TEXT NOT NULL, host_port_req TEXT NOT NULL, host_port INTEGER NOT NULL,
     container_port INTEGER NOT NULL, proto TEXT NOT NULL, seq INTEGER NOT NULL)`,
  `CREATE INDEX network_ports_container ON network_ports (container_id)`,
  `ALTER TABLE network_endpoints ADD COLUMN dns TEXT NOT NULL DEFAULT '[]'`,
  // EndpointSettings.Links ("container:alias"), which name other containers on the network.
  `ALTER TABLE network_endpoints ADD COLUMN links TEXT NOT NULL DEFAULT '[]'`,
];

export class NetworkStore {
  constructor(private readonly db: DB) {
    migrate(db, 'network', MIGRATIONS);
  }

  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  networks(): NetworkRow[] {
    return this.db.prepare('SELECT * FROM network_networks ORDER BY created, name').all() as NetworkRow[];
  }

  insertNetwork(n: NetworkRow): void {
    this.db
      .prepare(
        `INSERT INTO network_networks (id, name, driver, created, subnet, gateway, ip_range, aux, internal, attachable,
           ipv6, bridge, labels, options, ipam_driver, ipam_options, user_ipam, builtin)
         VALUES (@id, @name, @driver, @created, @subnet, @gateway, @ip_range, @aux, @internal, @attachable,
           @ipv6, @bridge, @labels, @options, @ipam_driver, @ipam_options, @user_ipam, @builtin)`,
      )
      .run(n);
  }

  deleteNetwork(id: string): void {
    this.db.prepare('DELETE FROM network_networks WHERE id = ?').run(id);
  }

  endpoints(containerId?: string): EndpointRow[] {
    if (containerId === undefined) return this.db.prepare('SELECT * FROM network_endpoints ORDER BY seq').all() as EndpointRow[];
    return this.db.prepare('SELECT * FROM network_endpoints WHERE container_id = ? ORDER BY seq').all(containerId) as EndpointRow[];
  }

  endpointsOn(networkId: string): EndpointRow[] {
    return this.db.prepare('SELECT * FROM network_endpoints WHERE network_id = ? ORDER BY seq').all(networkId) as EndpointRow[];
  }

  insertEndpoint(e: EndpointRow): void {
    this.db
      .prepare(
        `INSERT INTO network_endpoints (container_id, network_id, network_name, endpoint_id, container_name, hostname,
           ifname, host_if, static_ip, ip, mac, static_mac, aliases, is_gateway, seq, dns, links)
         VALUES (@container_id, @network_id, @network_name, @endpoint_id, @container_name, @hostname,
           @ifname, @host_if, @static_ip, @ip, @mac, @static_mac, @aliases, @is_gateway, @seq, @dns, @links)`,
      )
      .run(e);
  }

  updateEndpoint(e: EndpointRow): void {
    this.db
      .prepare(
        `UPDATE network_endpoints SET endpoint_id = @endpoint_id, host_if = @host_if, ip = @ip, mac = @mac,
           is_gateway = @is_gateway, ifname = @ifname WHERE container_id = @container_id AND network_id = @network_id`,
      )
      .run(e);
  }

  setDns(containerId: string, dns: string): void {
    this.db.prepare('UPDATE network_endpoints SET dns = ? WHERE container_id = ?').run(dns, containerId);
  }

  deleteEndpoint(containerId: string, networkId: string): void {
    this.db.prepare('DELETE FROM network_endpoints WHERE container_id = ? AND network_id = ?').run(containerId, networkId);
  }

  nextSeq(): number {
    const r = this.db.prepare('SELECT MAX(seq) AS m FROM network_endpoints').get() as { m: number | null };
    return (r.m ?? 0) + 1;
  }

  ports(containerId?: string): PortRow[] {
    if (containerId === undefined) return this.db.prepare('SELECT * FROM network_ports ORDER BY seq').all() as PortRow[];
    return this.db.prepare('SELECT * FROM network_ports WHERE container_id = ? ORDER BY seq').all(containerId) as PortRow[];
  }

  replacePorts(containerId: string, rows: PortRow[]): void {
    this.db.prepare('DELETE FROM network_ports WHERE container_id = ?').run(containerId);
    const ins = this.db.prepare(
      `INSERT INTO network_ports (container_id, host_ip, host_port_req, host_port, container_port, proto, seq)
       VALUES (@container_id, @host_ip, @host_port_req, @host_port, @container_port, @proto, @seq)`,
    );
    for (const r of rows) ins.run(r);
  }

  deleteContainer(containerId: string): void {
    this.db.prepare('DELETE FROM network_endpoints WHERE container_id = ?').run(containerId);
    this.db.prepare('DELETE FROM network_ports WHERE container_id = ?').run(containerId);
  }

  containerIds(): string[] {
    const rows = this.db
      .prepare('SELECT container_id FROM network_endpoints UNION SELECT container_id FROM network_ports')
      .all() as { container_id: string }[];
    return rows.map((r) => r.container_id);
  }
}
