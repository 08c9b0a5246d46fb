// `ps` columns, as the docker CLI's container formatter computes them.

import type { ContainerSummary, Port } from '../../client/index.js';
import { context } from './template.js';
import type { ListFormat } from './output.js';
import { humanSize, since } from './units.js';
import { ellipsis, goTimeString, truncateId, splitReference } from './ids.js';

export const CONTAINER_FORMAT: ListFormat = {
  table: '{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}',
  quiet: '{{.ID}}',
  headers: {
    ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED',
    Ports: 'PORTS', State: 'STATE', Status: 'STATUS', Size: 'SIZE', Names: 'NAMES', Labels: 'LABELS',
    Mounts: 'MOUNTS', LocalVolumes: 'LOCAL VOLUMES', Networks: 'NETWORKS', Platform: 'PLATFORM',
  },
};

function joinHostPort(ip: string, port: string): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function comparePorts(a: Port, b: Port): number {
  if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
  if ((a.IP ?? '') !== (b.IP ?? '')) return (a.IP ?? '') < (b.IP ?? '') ? -1 : 1;
  if ((a.PublicPort ?? 0) !== (b.PublicPort ?? 0)) return (a.PublicPort ?? 0) - (b.PublicPort ?? 0);
  return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
}

function formGroup(key: string, first: number, last: number): string {
  const slash = key.lastIndexOf('/');
  const ip = slash >= 0 ? key.slice(0, slash) : '';
  const type = slash >= 0 ? key.slice(slash + 1) : key;
  let group = first === last ? String(first) : `${first}-${last}`;
  if (ip) group = `${joinHostPort(ip, group)}->${group}`;
  return `${group}/${type}`;
}

/** Ports as "0.0.0.0:8080->80/tcp, 443/tcp", consecutive ports merged into ranges. */
export function displayablePorts(ports: Port[] | null | undefined): string {
  const sorted = [...(ports ?? [])].sort(comparePorts);
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const hostMappings: string[] = [];
  for (const p of sorted) {
    const cur = p.PrivatePort;
    let key = p.Type;
    if (p.IP) {
      if (p.PublicPort !== cur) {
        hostMappings.push(`${joinHostPort(p.IP, String(p.PublicPort ?? 0))}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: cur, last: cur });
      continue;
    }
    if (cur === g.last + 1) {
      g.last = cur;
      continue;
    }
    result.push(formGroup(key, g.first, g.last));
    // The key keeps its first-seen place in the output order, as in the docker CLI.
    g.first = cur;
    g.last = cur;
  }
  for (const [key, g] of groups) result.push(formGroup(key, g.first, g.last));
  return [...result, ...hostMappings].join(', ');
}

function quoteGo(s: string): string {
  // strconv.Quote: JSON escaping is the same for printable text.
  return JSON.stringify(s);
}

export function containerContext(c: ContainerSummary, trunc: boolean, now = Date.now()) {
  return context({
    ID: () => (trunc ? truncateId(c.Id) : c.Id),
    Image: () => {
      const img = c.Image ?? '';
      if (!img) return '<no image>';
      if (!trunc) return img;
      if (c.ImageID && truncateId(c.ImageID) === truncateId(img)) return truncateId(img);
      if (img.includes('@')) {
        const r = splitReference(img);
        return r.tag ? `${r.repo}:${r.tag}` : r.repo;
      }
      return img;
    },
    Command: () => quoteGo(trunc ? ellipsis(c.Command ?? '', 20) : c.Command ?? ''),
    CreatedAt: () => goTimeString(new Date(c.Created * 1000)),
    RunningFor: () => since(c.Created, now),
    Ports: () => displayablePorts(c.Ports),
    State: () => c.State ?? '',
    Status: () => c.Status ?? '',
    Size: () => {
      const rw = humanSize(c.SizeRw ?? 0);
      return (c.SizeRootFs ?? 0) > 0 ? `${rw} (virtual ${humanSize(c.SizeRootFs!)})` : rw;
    },
    Names: () => {
      let names = (c.Names ?? []).map((n) => n.replace(/^\//, ''));
      if (trunc) {
        const plain = names.find((n) => !n.includes('/'));
        if (plain !== undefined) names = [plain];
      }
      return names.join(',');
    },
    Labels: () =>
      Object.entries(c.Labels ?? {})
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    Label: (name: string) => (c.Labels ?? {})[name] ?? '',
    Mounts: () =>
      (c.Mounts ?? [])
        .map((m) => {
          const name = m.Name || m.Source || '';
          return trunc ? ellipsis(name, 15) : name;
        })
        .join(','),
    LocalVolumes: () => String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length),
    Platform: () => null,
    Networks: () => Object.keys(c.NetworkSettings?.Networks ?? {}).sort().join(','),
  });
}
