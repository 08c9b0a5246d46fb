// Which URLs serve a registry host, and with which TLS settings (moby
// registry/config.go + service_v2.go): Docker Hub is registry-1.docker.io,
// mirrors go first for Hub pulls, insecure registries are tried over https
// without verification and then over plain http, certs.d supplies CAs and
// client certificates.
import { readdir, readFile } from 'node:fs/promises';
import { BlockList, isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import { hasCode, invalidArgument } from '../util/index.js';

export const DOCKER_HUB_DOMAIN = 'docker.io';
export const DOCKER_HUB_ENDPOINT = 'https://registry-1.docker.io';
/** The key the CLI stores Hub credentials under, and what login reports for Hub. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';
export const DEFAULT_CERTS_DIRS = ['/etc/docker/certs.d', '/etc/berth/certs.d'];

export interface TlsSettings {
  /** false: skip verification (insecure registry). */
  verify: boolean;
  ca?: string[];
  cert?: Buffer;
  key?: Buffer;
}

export interface Endpoint {
  /** Base URL without a trailing slash: https://registry-1.docker.io */
  url: string;
  mirror: boolean;
  /** Undefined for http endpoints. */
  tls?: TlsSettings;
}

export type Purpose = 'pull' | 'push' | 'login';

export class EndpointResolver {
  private readonly mirrors: string[];
  private readonly insecureHosts = new Set<string>();
  private readonly insecureNets = new BlockList();
  private readonly certsDirs: string[];

  constructor(cfg: { mirrors?: string[]; insecureRegistries?: string[]; certsDirs?: string[] } = {}) {
    this.mirrors = (cfg.mirrors ?? []).map(validateMirror);
    this.certsDirs = cfg.certsDirs ?? DEFAULT_CERTS_DIRS;
    this.insecureNets.addSubnet('127.0.0.0', 8, 'ipv4');
    this.insecureNets.addSubnet('::1', 128, 'ipv6');
    for (let entry of cfg.insecureRegistries ?? []) {
      entry = entry.replace(/^https?:\/\//, '').replace(/\/+$/, '');
      const slash = entry.indexOf('/');
      if (slash !== -1 && isIP(entry.slice(0, slash))) {
        const prefix = Number(entry.slice(slash + 1));
        const addr = entry.slice(0, slash);
        const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
        if (!Number.isInteger(prefix) || prefix < 0 || prefix > (type === 'ipv6' ? 128 : 32)) {
          throw invalidArgument(`insecure registry ${entry} is not valid: invalid CIDR`);
        }
        this.insecureNets.addSubnet(addr, prefix, type);
      } else if (slash === -1 && entry !== '') {
        this.insecureHosts.add(entry.toLowerCase());
      } else {
        throw invalidArgument(`insecure registry ${entry} is not valid`);
      }
    }
  }

  /** True when `host` (host[:port]) is listed, or resolves into an insecure CIDR. */
  async isInsecure(host: string): Promise<boolean> {
    if (this.insecureHosts.has(host.toLowerCase())) return true;
    const name = hostnameOf(host);
    if (this.insecureHosts.has(name.toLowerCase())) return true;
    const check = (a: string) => this.insecureNets.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4');
    if (isIP(name)) return check(name);
    try {
      const addrs = await lookup(name, { all: true });
      return addrs.some((a) => check(a.address));
    } catch {
      return false;
    }
  }

  /** Endpoints to try, in order, for a registry domain (`docker.io`, `localhost:5000`, …). */
  async endpoints(domain: string, purpose: Purpose): Promise<Endpoint[]> {
    const out: Endpoint[] = [];
    if (domain === DOCKER_HUB_DOMAIN || domain === 'index.docker.io') {
      if (purpose === 'pull') {
        for (const m of this.mirrors) {
          const host = new URL(m).host;
          if (m.startsWith('http://')) out.push({ url: m, mirror: true });
          else out.push({ url: m, mirror: true, tls: await this.tlsFor(host, !(await this.isInsecure(host))) });
        }
      }
      out.push({ url: DOCKER_HUB_ENDPOINT, mirror: false, tls: { verify: true } });
      return out;
    }
    const secure = !(await this.isInsecure(domain));
    out.push({ url: `https://${domain}`, mirror: false, tls: await this.tlsFor(domain, secure) });
    if (!secure) out.push({ url: `http://${domain}`, mirror: false });
    return out;
  }

  /** CAs (*.crt) and a client pair (*.cert + *.key) from certs.d/<host>/. */
  private async tlsFor(host: string, verify: boolean): Promise<TlsSettings> {
    const tls: TlsSettings = { verify };
    const cas: string[] = [];
    for (const base of this.certsDirs) {
      const dir = join(base, host.replace(/[/\\]/g, '_'));
      let names: string[];
      try {
        names = (await readdir(dir)).sort();
      } catch (err) {
        if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR')) continue;
        throw err;
      }
      for (const n of names) {
        if (n.endsWith('.crt')) cas.push(await readFile(join(dir, n), 'utf8'));
        else if (n.endsWith('.cert') && !tls.cert) {
          const keyName = n.slice(0, -'.cert'.length) + '.key';
          if (!names.includes(keyName)) throw invalidArgument(`missing key ${keyName} for client certificate ${n}`);
          tls.cert = await readFile(join(dir, n));
          tls.key = await readFile(join(dir, keyName));
        } else if (n.endsWith('.key')) {
          const certName = n.slice(0, -'.key'.length) + '.cert';
          if (!names.includes(certName)) throw invalidArgument(`missing client certificate ${certName} for key ${n}`);
        }
      }
    }
    // Node's `ca` replaces the system roots; Go's appends. Keep the roots.
    if (cas.length) tls.ca = [...rootCertificates, ...cas];
    return tls;
  }
}

function validateMirror(m: string): string {
  let u: URL;
  try {
    u = new URL(m);
  } catch {
    throw invalidArgument(`invalid mirror: "${m}" is not a valid URI`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalidArgument(`invalid mirror: unsupported scheme "${u.protocol.slice(0, -1)}" in "${m}"`);
  if (u.username || u.password) throw invalidArgument(`invalid mirror: username/password not allowed in URI "${m}"`);
  if (u.search || u.hash) throw invalidArgument(`invalid mirror: query or fragment at end of the URI "${m}"`);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

/** host[:port] or [v6]:port → hostname without brackets. */
export function hostnameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const i = host.lastIndexOf(':');
  return i !== -1 && host.indexOf(':') === i ? host.slice(0, i) : host;
}

/** A login `serveraddress` → registry domain: '' and Hub's aliases → docker.io. */
export function domainFromServerAddress(s: string | undefined): string {
  if (!s) return DOCKER_HUB_DOMAIN;
  const host = s.replace(/^https?:\/\//, '').replace(/\/.*$/, '').toLowerCase();
  if (host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'docker.io') return DOCKER_HUB_DOMAIN;
  return host;
}
