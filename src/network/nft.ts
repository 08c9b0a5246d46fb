// The berth nft table: every NAT and filter rule berth needs, in one table of
// its own so that cleanup is exact (`delete table`) and nothing else on the
// host is touched. The whole table is regenerated from the database and
// applied as one nft transaction: atomic, idempotent, and never dependent on
// rule handles or on what a previous (crashed) daemon left behind.
//
// Published ports are elements of two maps (keyed by protocol and port, and
// by address, protocol and port), so a container's ports are data, not rules.
// Loopback access to published ports uses DNAT in the output hook plus
// route_localnet on the bridges and a masquerade of 127.0.0.0/8 sources;
// this keeps working while berthd restarts, unlike a userland proxy.

export interface NftNetwork {
  bridge: string;
  subnet: string;
  gateway: string;
  internal: boolean;
}

export interface NftPort {
  /** '' or '0.0.0.0' means every local address. */
  hostIp: string;
  hostPort: number;
  proto: 'tcp' | 'udp';
  targetIp: string;
  targetPort: number;
}

const q = (s: string): string => JSON.stringify(s);

export function tableScript(table: string, networks: NftNetwork[], ports: NftPort[]): string {
  const t = `ip ${table}`;
  const out: string[] = [
    `add table ${t}`,
    `add chain ${t} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    `add chain ${t} output { type nat hook output priority -100; policy accept; }`,
    `add chain ${t} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    `add chain ${t} forward { type filter hook forward priority filter; policy accept; }`,
    `add chain ${t} input { type filter hook input priority filter; policy accept; }`,
    `add chain ${t} ports`,
    `add map ${t} ports_any { type inet_proto . inet_service : ipv4_addr . inet_service; }`,
    `add map ${t} ports_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }`,
    `add set ${t} bridges { type ifname; }`,
  ];
  for (const c of ['prerouting', 'output', 'postrouting', 'forward', 'input', 'ports']) out.push(`flush chain ${t} ${c}`);
  for (const m of ['map ports_any', 'map ports_ip', 'set bridges']) out.push(`flush ${m.split(' ')[0]} ${t} ${m.split(' ')[1]}`);

  out.push(
    `add rule ${t} prerouting fib daddr type local jump ports`,
    `add rule ${t} output fib daddr type local jump ports`,
    `add rule ${t} ports dnat ip to ip daddr . meta l4proto . th dport map @ports_ip`,
    `add rule ${t} ports dnat ip to meta l4proto . th dport map @ports_any`,
    // Loopback clients of a published port: the reply must come back to the host.
    `add rule ${t} postrouting oifname @bridges ip saddr 127.0.0.0/8 masquerade`,
  );
  if (networks.length) out.push(`add element ${t} bridges { ${networks.map((n) => q(n.bridge)).join(', ')} }`);

  for (const n of networks) {
    const br = q(n.bridge);
    // Hairpin: a container reaching a published port of its own network through a host address.
    out.push(`add rule ${t} postrouting oifname ${br} ip saddr ${n.subnet} ct status dnat masquerade`);
    if (n.internal) {
      out.push(
        `add rule ${t} forward iifname ${br} oifname != ${br} drop`,
        `add rule ${t} forward oifname ${br} iifname != ${br} drop`,
        `add rule ${t} input iifname ${br} ip daddr != ${n.gateway} drop`,
      );
    } else {
      out.push(`add rule ${t} postrouting ip saddr ${n.subnet} oifname != ${br} masquerade`);
    }
  }
  // Published ports are reachable from any network; otherwise networks are isolated from each other.
  out.push(`add rule ${t} forward ct status dnat accept`);
  for (const n of networks) {
    const br = q(n.bridge);
    out.push(`add rule ${t} forward iifname ${br} oifname @bridges oifname != ${br} drop`);
  }

  const any = ports.filter((p) => !p.hostIp || p.hostIp === '0.0.0.0');
  const byIp = ports.filter((p) => p.hostIp && p.hostIp !== '0.0.0.0');
  if (any.length) {
    out.push(`add element ${t} ports_any { ${any.map((p) => `${p.proto} . ${p.hostPort} : ${p.targetIp} . ${p.targetPort}`).join(', ')} }`);
  }
  if (byIp.length) {
    out.push(
      `add element ${t} ports_ip { ${byIp.map((p) => `${p.hostIp} . ${p.proto} . ${p.hostPort} : ${p.targetIp} . ${p.targetPort}`).join(', ')} }`,
    );
  }
  return out.join('\n') + '\n';
}
