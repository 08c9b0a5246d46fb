// -p/--publish specs (nat.ParsePortSpecs): [ip:][hostPort:]containerPort[/proto], with ranges
// ("8000-8001:80-81") and IPv6 addresses in brackets.

import { RunOptionError } from './errors.js';

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

function parseRange(s: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new RunOptionError(`invalid ${what}: ${s}`);
  const a = Number(m[1]);
  const b = m[2] ? Number(m[2]) : a;
  if (a > 65535 || b > 65535 || b < a) throw new RunOptionError(`invalid ${what}: ${s}`);
  return [a, b];
}

export function parsePortSpecs(specs: string[]): { exposed: Record<string, object>; bindings: Record<string, PortBinding[]> } {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, PortBinding[]> = {};
  for (const spec of specs) {
    let rest = spec;
    let proto = 'tcp';
    const slash = rest.lastIndexOf('/');
    if (slash >= 0) {
      proto = rest.slice(slash + 1).toLowerCase();
      rest = rest.slice(0, slash);
      if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new RunOptionError(`invalid proto: ${proto}`);
    }
    let ip = '';
    let hostPart = '';
    let ctrPart: string;
    if (rest.startsWith('[')) {
      const close = rest.indexOf(']');
      if (close < 0) throw new RunOptionError(`invalid IP address: ${rest}`);
      ip = rest.slice(1, close);
      const after = rest.slice(close + 1).replace(/^:/, '').split(':');
      if (after.length === 2) [hostPart, ctrPart] = after as [string, string];
      else ctrPart = after[0]!;
    } else {
      const parts = rest.split(':');
      if (parts.length === 1) ctrPart = parts[0]!;
      else if (parts.length === 2) [hostPart, ctrPart] = parts as [string, string];
      else if (parts.length === 3) [ip, hostPart, ctrPart] = parts as [string, string, string];
      else throw new RunOptionError(`invalid port format for --publish: ${spec}`);
    }
    if (!ctrPart) throw new RunOptionError(`no port specified: ${spec}<empty>`);
    const [c0, c1] = parseRange(ctrPart, 'containerPort');
    let h: [number, number] | undefined;
    if (hostPart) h = parseRange(hostPart, 'hostPort');
    if (h && c1 !== c0 && h[1] - h[0] !== c1 - c0)
      throw new RunOptionError(`invalid ranges specified for container and host Ports: ${ctrPart} and ${hostPart}`);
    for (let i = 0; i <= c1 - c0; i++) {
      const key = `${c0 + i}/${proto}`;
      exposed[key] = {};
      let hostPort = '';
      if (h) hostPort = c1 === c0 && h[1] !== h[0] ? `${h[0]}-${h[1]}` : String(h[0] + i);
      (bindings[key] ??= []).push({ HostIp: ip, HostPort: hostPort });
    }
  }
  return { exposed, bindings };
}
