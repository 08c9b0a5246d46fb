// Legacy container links (`--link name:alias`) and `--volumes-from`: both
// borrow from another container, named at create time.
import { posix } from 'node:path';
import { invalidArgument, conflict } from '../util/index.js';
import type { ContainerRecord, MountPoint } from './types.js';

export interface LinkRef { child: string; alias: string }

/** "name:alias" or "name" (alias = name); also the stored "/name:/parent/alias" form. */
export function parseLink(raw: string): LinkRef {
  if (typeof raw !== 'string' || !raw) throw invalidArgument(`invalid link format: ${raw}`);
  const [name, alias, ...rest] = raw.split(':');
  if (rest.length || !name) throw invalidArgument(`invalid link format: ${raw}`);
  const child = name.replace(/^\//, '');
  return { child, alias: alias ? posix.basename(alias) : child };
}

/**
 * Validate links at create and store them as dockerd reports them in inspect:
 * "/child:/parent/alias". A missing child is a 400, as dockerd answers.
 */
export function normalizeLinks(links: unknown, parentName: string, find: (ref: string) => ContainerRecord | undefined): string[] | null {
  if (!Array.isArray(links) || links.length === 0) return null;
  return links.map((raw: string) => {
    const { child, alias } = parseLink(raw);
    const c = find(child);
    if (!c) throw invalidArgument(`could not get container for ${child}: No such container: ${child}`);
    return `/${c.Name}:/${parentName}/${alias}`;
  });
}

/** What a link adds to the parent: an /etc/hosts line and the legacy env vars. */
export function linkEntries(parent: ContainerRecord, child: ContainerRecord, alias: string, ip: string): { host: string; env: string[] } {
  if (child.State.Status !== 'running') {
    throw conflict(`Cannot link to a non running container: /${child.Name} AS /${parent.Name}/${alias}`);
  }
  // Docker's hosts line: alias, the child's hostname, and its name when the alias differs.
  const names = [alias, child.Config.Hostname];
  if (alias !== child.Name) names.push(child.Name);
  const host = `${[...new Set(names.filter(Boolean))].join(' ')}:${ip}`;
  const prefix = alias.toUpperCase().replace(/-/g, '_');
  const env: string[] = [];
  const ports = Object.keys(child.Config.ExposedPorts ?? {})
    .map((p) => { const [port, proto = 'tcp'] = p.split('/'); return { port: Number(port), proto }; })
    .filter((p) => Number.isInteger(p.port))
    .sort((a, b) => a.port - b.port || a.proto.localeCompare(b.proto));
  if (ports[0]) env.push(`${prefix}_PORT=${ports[0].proto}://${ip}:${ports[0].port}`);
  for (const p of ports) {
    const k = `${prefix}_PORT_${p.port}_${p.proto.toUpperCase()}`;
    env.push(`${k}=${p.proto}://${ip}:${p.port}`, `${k}_ADDR=${ip}`, `${k}_PORT=${p.port}`, `${k}_PROTO=${p.proto}`);
  }
  env.push(`${prefix}_NAME=/${parent.Name}/${alias}`);
  for (const kv of child.Config.Env ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) continue;
    const name = kv.slice(0, i);
    if (name === 'HOME' || name === 'PATH') continue;
    env.push(`${prefix}_ENV_${name}=${kv.slice(i + 1)}`);
  }
  return { host, env };
}

/**
 * `--volumes-from c[:ro|:rw]`: the other container's volumes and binds at the
 * same places (its tmpfs mounts are its own). A mount the new container asks
 * for itself wins. The borrowed volumes are not anonymous here, so `rm -v`
 * of the borrower leaves them to their owner.
 */
export function volumesFrom(list: unknown, own: MountPoint[], get: (ref: string) => ContainerRecord): MountPoint[] {
  if (!Array.isArray(list)) return [];
  const taken = new Set(own.map((m) => m.Destination));
  const out: MountPoint[] = [];
  for (const raw of list as string[]) {
    const [ref, mode, ...rest] = String(raw).split(':');
    if (!ref || rest.length || (mode !== undefined && !/^(ro|rw|z|Z)(,(ro|rw|z|Z))*$/.test(mode))) {
      throw invalidArgument(`invalid mode for volumes-from: ${mode ?? raw}`);
    }
    const src = get(ref);
    const ro = mode?.split(',').includes('ro');
    const rwForced = mode?.split(',').includes('rw');
    for (const m of src.Mounts) {
      if (m.Type === 'tmpfs' || taken.has(m.Destination)) continue;
      taken.add(m.Destination);
      const RW = ro ? false : rwForced ? true : m.RW;
      out.push({ ...m, Anonymous: false, RW, Mode: mode ?? m.Mode, Options: m.Options?.filter((o) => o !== 'nocopy') });
    }
  }
  return out;
}

/**
 * What dockerd refuses to combine with `--network host` / `container:x`
 * (its validateNetMode / validateNetContainerMode, in its words). Checked on
 * the request itself, before the image's config is merged in.
 */
export function checkNetworkConflicts(config: Record<string, any>, hc: Record<string, any>, nc: Record<string, any>): void {
  const mode = typeof hc.NetworkMode === 'string' ? hc.NetworkMode : '';
  const isContainer = mode.startsWith('container:');
  const links = Array.isArray(hc.Links) && hc.Links.length > 0;
  const mac = config.MacAddress || Object.values((nc?.EndpointsConfig ?? {}) as Record<string, { MacAddress?: string }>).some((e) => e?.MacAddress);
  if (mode === 'host' && links) throw invalidArgument("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
  if ((mode === 'host' || isContainer) && mac) throw invalidArgument('conflicting options: mac-address and the network mode');
  if (!isContainer) return;
  if (config.Hostname) throw invalidArgument('conflicting options: hostname and the network mode');
  if (links) throw invalidArgument("conflicting options: container type network can't be used with links. This would result in undefined behavior");
  if (Array.isArray(hc.Dns) && hc.Dns.length) throw invalidArgument('conflicting options: dns and the network mode');
  if (Array.isArray(hc.ExtraHosts) && hc.ExtraHosts.length) throw invalidArgument('conflicting options: custom host-to-IP mapping and the network mode');
  if ((hc.PortBindings && Object.keys(hc.PortBindings).length) || hc.PublishAllPorts) {
    throw invalidArgument('conflicting options: port publishing and the container type network mode');
  }
  if (config.ExposedPorts && Object.keys(config.ExposedPorts).length) throw invalidArgument('conflicting options: port exposing and the container type network mode');
}
