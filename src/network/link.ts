// Links and namespaces, driven through iproute2 in batches: each change costs
// one `ip -batch -` inside the container's netns and one on the host, whatever
// the number of commands.
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { hasCode } from '../util/index.js';
import { umount2, MNT_DETACH } from '../sys/index.js';
import { run } from './exec.js';

export interface HostLink {
  ifname: string;
  master?: string;
  kind?: string;
}

export interface EndpointPlumbing {
  hostIf: string;
  bridge: string;
  ifname: string;
  mac: string;
  /** a.b.c.d/n */
  address: string;
  /** Default route through this gateway, when set. */
  gateway?: string;
}

/** Names given to `ip` and `nft` must not be able to smuggle a second command in. */
export function safeIfname(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new Error(`invalid interface name: ${name}`);
  return name;
}

export async function hostLinks(): Promise<HostLink[]> {
  const res = await run('ip', ['-d', '-j', 'link', 'show']);
  const links = JSON.parse(res.stdout || '[]') as { ifname: string; master?: string; linkinfo?: { info_kind?: string } }[];
  return links.map((l) => ({ ifname: l.ifname, master: l.master, kind: l.linkinfo?.info_kind }));
}

/** IPv4 prefixes routed on the host (all tables), to keep new subnets from shadowing them. */
export async function hostRoutes(): Promise<string[]> {
  const res = await run('ip', ['-j', '-4', 'route', 'show', 'table', 'all']);
  const routes = JSON.parse(res.stdout || '[]') as { dst?: string }[];
  const out: string[] = [];
  for (const r of routes) {
    if (!r.dst || r.dst === 'default') continue;
    out.push(r.dst.includes('/') ? r.dst : `${r.dst}/32`);
  }
  return out;
}

/** Create (if missing) and configure bridges; one batch for all of them. */
export async function ensureBridges(bridges: { name: string; address: string }[], routeLocalnet: boolean): Promise<void> {
  if (!bridges.length) return;
  const existing = new Set((await hostLinks()).map((l) => l.ifname));
  const cmds: string[] = [];
  for (const b of bridges) {
    const name = safeIfname(b.name);
    if (!existing.has(name)) cmds.push(`link add ${name} type bridge`);
    cmds.push(`addr replace ${b.address} dev ${name}`, `link set ${name} up`);
  }
  await run('ip', ['-batch', '-'], { input: cmds.join('\n') + '\n' });
  if (routeLocalnet) {
    // Lets DNAT'ed packets from 127.0.0.1 (published ports on loopback) leave through the bridge.
    for (const b of bridges) writeFileSync(`/proc/sys/net/ipv4/conf/${b.name}/route_localnet`, '1');
  }
}

export async function deleteLinks(names: string[]): Promise<void> {
  if (!names.length) return;
  // -force: go on past links that are already gone (their netns died first).
  await run('ip', ['-force', '-batch', '-'], { input: names.map((n) => `link del ${safeIfname(n)}`).join('\n') + '\n', allowFail: true });
}

/**
 * Plumb endpoints into a container's netns, creating the netns first when
 * `create` is set. Two processes whatever the number of endpoints: one inside
 * the netns (`unshare --net=PATH` pins a new one by bind mount, `nsenter`
 * joins an existing one) creates each veth pair with its peer already in the
 * host netns, then addresses and routes; one on the host attaches the peers
 * to their bridges.
 */
export async function plumb(netns: string, eps: EndpointPlumbing[], opts: { create: boolean }): Promise<void> {
  if (opts.create) {
    mkdirSync(dirname(netns), { recursive: true });
    closeSync(openSync(netns, 'a'));
  }
  const hostNs = `/proc/${process.pid}/ns/net`;
  const inside: string[] = opts.create ? ['link set lo up'] : [];
  for (const e of eps) {
    inside.push(
      `link add ${safeIfname(e.ifname)} address ${e.mac} type veth peer name ${safeIfname(e.hostIf)} netns ${hostNs}`,
      `addr add ${e.address} dev ${e.ifname}`,
      `link set ${e.ifname} up`,
    );
    if (e.gateway) inside.push(`route replace default via ${e.gateway} dev ${e.ifname}`);
  }
  const runner = opts.create ? 'unshare' : 'nsenter';
  try {
    await run(runner, [`--net=${netns}`, 'ip', '-batch', '-'], { input: inside.join('\n') + '\n' });
    if (!eps.length) return;
    await run('ip', ['-batch', '-'], {
      input: eps.map((e) => `link set ${e.hostIf} master ${safeIfname(e.bridge)} up`).join('\n') + '\n',
    });
  } catch (err) {
    if (opts.create) await deleteNetns(netns);
    await deleteLinks(eps.map((e) => e.hostIf).filter((n) => existsSync(`/sys/class/net/${n}`)));
    throw err;
  }
}

/**
 * Unpin a netns. Once no process is left in it the kernel destroys it with its
 * veths; a host side still present (a process lingers in the netns, or the
 * kernel has not got to it yet) is deleted explicitly.
 */
export async function deleteNetns(path: string, hostIfs: string[] = []): Promise<void> {
  try {
    umount2(path, MNT_DETACH);
  } catch (err) {
    if (!hasCode(err, 'EINVAL') && !hasCode(err, 'ENOENT')) throw err;
  }
  rmSync(path, { force: true });
  await deleteLinks(hostIfs.filter((n) => existsSync(`/sys/class/net/${n}`)));
}

export async function setDefaultRoute(netns: string, gateway: string, ifname: string): Promise<void> {
  await run('nsenter', [`--net=${netns}`, 'ip', 'route', 'replace', 'default', 'via', gateway, 'dev', safeIfname(ifname)]);
}
