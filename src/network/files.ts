// /etc/hosts, /etc/hostname and /etc/resolv.conf for a container, as Docker writes them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasCode, invalidArgument, writeFileAtomicSync } from '../util/index.js';

export interface ContainerFilesOpts {
  hostname: string;
  domainname?: string;
  /** `name:ip` or `name:host-gateway`. */
  extraHosts?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  networkMode?: string;
  /** Use the host's files as they are (network mode host). */
  useHostFiles?: boolean;
}

export interface ContainerFilesInput extends ContainerFilesOpts {
  /** Container addresses, one per attached network (first = primary). */
  ips: string[];
  /** The address `host-gateway` stands for. */
  hostGateway: string;
  /** Set when the container resolves through aardvark-dns (user-defined network). */
  dnsServer?: string;
  hostResolvConf?: string;
  hostHosts?: string;
}

export interface ContainerFiles {
  hostsPath: string;
  hostnamePath: string;
  resolvConfPath: string;
}

const DEFAULT_HOSTS = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

export function hostsFile(o: ContainerFilesInput): string {
  if (o.useHostFiles) return o.hostHosts ?? readOr('/etc/hosts', DEFAULT_HOSTS.join('\n') + '\n');
  const lines = [...DEFAULT_HOSTS];
  for (const eh of o.extraHosts ?? []) {
    // name:ip, where ip may itself hold colons (IPv6); Docker also accepts name=ip.
    const m = /^([^:=]+)[:=](.+)$/.exec(eh);
    if (!m) throw invalidArgument(`invalid argument "${eh}" for "--add-host" flag`);
    const ip = m[2] === 'host-gateway' ? o.hostGateway : m[2]!.replace(/^\[(.*)\]$/, '$1');
    lines.push(`${ip}\t${m[1]}`);
  }
  const names = o.domainname ? `${o.hostname}.${o.domainname} ${o.hostname}` : o.hostname;
  for (const ip of o.ips) lines.push(`${ip}\t${names}`);
  return lines.join('\n') + '\n';
}

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

export function parseResolvConf(text: string): ResolvConf {
  const r: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) r.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') r.search = rest;
    else if (key === 'options') r.options.push(...rest);
  }
  return r;
}

export function resolvConfFile(o: ContainerFilesInput): string {
  const hostText = o.hostResolvConf ?? readOr('/etc/resolv.conf', '');
  if (o.useHostFiles) return hostText;
  const host = parseResolvConf(hostText);
  let servers: string[];
  if (o.dnsServer) {
    servers = [o.dnsServer];
  } else if (o.dns?.length) {
    servers = o.dns;
  } else {
    // A resolver on the host's loopback is unreachable from the container's netns.
    servers = host.nameservers.filter((s) => !/^127\./.test(s) && s !== '::1');
    if (servers.length === 0) servers = ['8.8.8.8', '8.8.4.4'];
  }
  const search = o.dnsSearch?.length ? o.dnsSearch : host.search;
  const options = o.dnsOptions?.length ? o.dnsOptions : host.options;
  const lines = servers.map((s) => `nameserver ${s}`);
  if (search.length && !(search.length === 1 && search[0] === '.')) lines.push(`search ${search.join(' ')}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  return lines.join('\n') + '\n';
}

export function writeContainerFiles(dir: string, o: ContainerFilesInput): ContainerFiles {
  const files = { hostsPath: join(dir, 'hosts'), hostnamePath: join(dir, 'hostname'), resolvConfPath: join(dir, 'resolv.conf') };
  writeFileAtomicSync(files.hostsPath, hostsFile(o));
  writeFileAtomicSync(files.hostnamePath, `${o.hostname}\n`);
  writeFileAtomicSync(files.resolvConfPath, resolvConfFile(o));
  return files;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return fallback;
    throw err;
  }
}
