// Links and namespaces, driven through iproute2 in batches: a change is one
// `ip -batch -` inside the container's netns (a new process: it must run in
// there) and a few lines to the host's long-lived ip session, whatever the
// number of commands.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { hasCode } from '../util/index.js';
import { umount2, MNT_DETACH } from '../sys/index.js';
import { run, type Step } from './exec.js';

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

/** The first IPv4 address (a.b.c.d/n) of a link, if it exists and has one. */
export async function bridgeAddress(name: string): Promise<string | undefined> {
  if (!linkExists(safeIfname(name))) return undefined;
  const res = await run('ip', ['-j', '-4', 'addr', 'show', 'dev', name], { allowFail: true });
  const links = JSON.parse(res.stdout || '[]') as { addr_info?: { local?: string; prefixlen?: number }[] }[];
  const a = links[0]?.addr_info?.find((x) => x.local && x.prefixlen !== undefined);
  return a ? `${a.local}/${a.prefixlen}` : undefined;
}

/** Create (if missing) and configure bridges; one batch for all of them. */
export async function ensureBridges(bridges: { name: string; address: string }[], routeLocalnet: boolean): Promise<void> {
  if (!bridges.length) return;
  const existing = new Set((await hostLinks()).map((l) => l.ifname));
  const cmds: string[] = [];
  for (const b of bridges) {
    const name = safeIfname(b.name);
    // A bridge without a MAC of its own takes the lowest of its ports' and
    // changes it as containers come and go; the containers' cached gateway
    // MAC then goes stale and the gateway (DNS, the way out) is unreachable
    // for tens of seconds. So the MAC is set once and for all, as dockerd does.
    if (!existing.has(name)) cmds.push(`link add ${name} address ${randomMac()} type bridge`);
    else if (readSys(name, 'addr_assign_type') !== '3') cmds.push(`link set ${name} address ${readSys(name, 'address') || randomMac()}`);
    cmds.push(`addr replace ${b.address} dev ${name}`, `link set ${name} up`);
  }
  await run('ip', ['-batch', '-'], { input: cmds.join('\n') + '\n' });
  if (routeLocalnet) {
    // Lets DNAT'ed packets from 127.0.0.1 (published ports on loopback) leave through the bridge.
    for (const b of bridges) writeFileSync(`/proc/sys/net/ipv4/conf/${b.name}/route_localnet`, '1');
  }
}

/** A random unicast, locally administered MAC. */
function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function readSys(ifname: string, attr: string): string {
  try {
    return readFileSync(`/sys/class/net/${ifname}/${attr}`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** `ip -batch` commands deleting links. */
export const deleteLinksScript = (names: string[]): string => names.map((n) => `link del ${safeIfname(n)}`).join('\n');

/** Delete links that may already be gone (their netns died first): never fails. */
export async function deleteLinks(names: string[]): Promise<void> {
  if (names.length) await run('ip', ['-force', '-batch', '-'], { input: deleteLinksScript(names) + '\n', allowFail: true });
}

/**
 * The steps that plumb endpoints into a container's netns, creating the
 * netns when `create` is set (the caller has made the mount point file):
 * one `ip -batch` inside the netns (`unshare --net=PATH` pins a new one by
 * bind mount, `nsenter` joins an existing one) creates each veth pair with its
 * peer already in the host netns, then addresses and routes; one `ip -batch`
 * on the host attaches the peers to their bridges.
 */
export function plumbSteps(netns: string, eps: EndpointPlumbing[], opts: { create: boolean }): { inside?: Step; host?: string } {
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
  return {
    inside: inside.length
      ? { argv: [opts.create ? 'unshare' : 'nsenter', `--net=${netns}`, 'ip', '-batch', '-'], input: inside.join('\n') + '\n' }
      : undefined,
    host: eps.length ? eps.map((e) => `link set ${safeIfname(e.hostIf)} master ${safeIfname(e.bridge)} up`).join('\n') : undefined,
  };
}

/** A file to bind-mount a netns on. */
export function netnsMountpoint(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  closeSync(openSync(path, 'a'));
}

/**
 * Unpin a netns. Once no process is left in it the kernel destroys it with its
 * veths, in its own time; callers delete host sides still present (a process
 * lingers in the netns, or the kernel has not got to it yet) with deleteLinks.
 */
export function unmountNetns(path: string): void {
  try {
    umount2(path, MNT_DETACH);
  } catch (err) {
    if (!hasCode(err, 'EINVAL') && !hasCode(err, 'ENOENT')) throw err;
  }
  rmSync(path, { force: true });
}

export const linkExists = (name: string): boolean => existsSync(`/sys/class/net/${name}`);

export async function setDefaultRoute(netns: string, gateway: string, ifname: string): Promise<void> {
  await run('nsenter', [`--net=${netns}`, 'ip', 'route', 'replace', 'default', 'via', gateway, 'dev', safeIfname(ifname)]);
}
