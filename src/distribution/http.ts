// Bounded HTTP for registry traffic on node:http/https: one agent per TLS
// setting, idle timeouts on connect/headers/body, redirects followed for
// GET/HEAD only (blob downloads are redirected to storage backends), at most
// MAX_REDIRECTS, loops detected, and credentials never sent to another host.
import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { isIP } from 'node:net';
import { BerthError, invalidArgument } from '../util/index.js';
import type { TlsSettings } from './endpoints.js';

export const MAX_REDIRECTS = 10;

export interface SendOptions {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** A buffer, or a stream (sent once; requests with streams are never redirected). */
  body?: Buffer | Readable;
  tls?: TlsSettings;
  signal?: AbortSignal;
  /** Idle time allowed while connecting, waiting for headers or reading the body. */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  /** All values of a header (WWW-Authenticate may repeat). */
  headerValues(name: string): string[];
  /** The final URL after redirects. */
  url: string;
  body: IncomingMessage;
}

const TRANSPORT = Symbol.for('berth.distribution.transport');

/** Connection-level failures: the next endpoint (https → http, mirror → Hub) may work. */
export const isTransportError = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[TRANSPORT] === true;

const goMethod = (m: string) => m.charAt(0) + m.slice(1).toLowerCase();

export class HttpClient {
  private readonly agents = new Map<string, http.Agent>();
  constructor(private readonly opts: { userAgent?: string; timeoutMs?: number } = {}) {}

  private agentFor(url: URL, tls: TlsSettings | undefined): http.Agent {
    const key = url.protocol === 'https:' ? `https:${JSON.stringify(tls ?? {})}` : 'http';
    let a = this.agents.get(key);
    if (!a) {
      a = url.protocol === 'https:'
        ? new https.Agent({
          keepAlive: true,
          rejectUnauthorized: tls?.verify !== false,
          ca: tls?.ca,
          cert: tls?.cert,
          key: tls?.key,
        })
        : new http.Agent({ keepAlive: true });
      this.agents.set(key, a);
    }
    return a;
  }

  /** Sends a request; the caller must consume or destroy `body` of the response. */
  async send(o: SendOptions): Promise<HttpResponse> {
    const follow = o.method === 'GET' || o.method === 'HEAD';
    const origin = new URL(o.url);
    const visited = new Set<string>();
    let url = origin;
    let headers = { ...o.headers };
    for (let hop = 0; ; hop++) {
      visited.add(url.href);
      const res = await this.once(o, url, headers);
      const loc = res.headers.location;
      if (!follow || ![301, 302, 303, 307, 308].includes(res.status) || !loc) return res;
      res.body.resume();
      if (hop + 1 > MAX_REDIRECTS) {
        throw transportError(`${goMethod(o.method)} "${url.href}": stopped after ${MAX_REDIRECTS} redirects`);
      }
      const next = new URL(loc, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw invalidArgument(`${goMethod(o.method)} "${url.href}": redirect to unsupported scheme ${next.protocol}`);
      }
      if (visited.has(next.href)) {
        throw transportError(`${goMethod(o.method)} "${origin.href}": redirect loop at "${next.href}"`);
      }
      // Blob downloads are redirected to storage (S3, CDNs): the registry's
      // credentials must not follow the request there.
      if (next.host !== origin.host || (origin.protocol === 'https:' && next.protocol === 'http:')) {
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
      }
      url = next;
    }
  }

  private once(o: SendOptions, url: URL, headers: Record<string, string>): Promise<HttpResponse> {
    const timeoutMs = o.timeoutMs ?? this.opts.timeoutMs ?? 60_000;
    const mod = url.protocol === 'https:' ? https : http;
    const h: Record<string, string> = { 'User-Agent': this.opts.userAgent ?? 'berth', ...headers };
    if (Buffer.isBuffer(o.body)) h['Content-Length'] = String(o.body.length);
    else if (o.body === undefined && (o.method === 'PUT' || o.method === 'POST' || o.method === 'PATCH')) h['Content-Length'] = '0';
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      const req = mod.request(url, {
        method: o.method,
        headers: h,
        agent: this.agentFor(url, o.tls),
        signal: o.signal,
        servername: url.hostname.startsWith('[') || isIP(url.hostname) ? undefined : url.hostname,
      }, (res) => {
        settled = true;
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          headers: res.headers,
          headerValues: (name) => res.headersDistinct[name.toLowerCase()] ?? [],
          url: url.href,
          body: res,
        });
      });
      // Covers connect, headers and body: a stalled body is cut and the download resumed.
      req.setTimeout(timeoutMs, () => {
        req.destroy(transportError(`${goMethod(o.method)} "${url.href}": timeout after ${timeoutMs} ms without data`));
      });
      req.on('error', (err) => {
        if (o.signal?.aborted) return fail(o.signal.reason instanceof Error ? o.signal.reason : err);
        if (err instanceof BerthError || isTransportError(err)) return fail(err);
        fail(transportError(`${goMethod(o.method)} "${url.href}": ${goNetError(err, url)}`, err));
      });
      if (o.body === undefined) req.end();
      else if (Buffer.isBuffer(o.body)) req.end(o.body);
      else {
        o.body.on('error', (err) => req.destroy(err));
        o.body.pipe(req);
      }
    });
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

/** Node's socket errors in the words Go's net package uses (what Docker users know). */
function goNetError(err: NodeJS.ErrnoException & { address?: string; port?: number }, url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const addr = `${err.address ?? url.hostname}:${err.port ?? port}`;
  switch (err.code) {
    case 'ECONNREFUSED': return `dial tcp ${addr}: connect: connection refused`;
    case 'EHOSTUNREACH': return `dial tcp ${addr}: connect: no route to host`;
    case 'ENETUNREACH': return `dial tcp ${addr}: connect: network is unreachable`;
    case 'ENOTFOUND': return `dial tcp: lookup ${url.hostname}: no such host`;
    case 'ECONNRESET': return 'read: connection reset by peer';
    default: return goTlsError(err, url) ?? err.message;
  }
}

/** OpenSSL's verification failures in crypto/x509's words ("tls: failed to verify certificate: x509: …"). */
function goTlsError(err: NodeJS.ErrnoException & { cert?: { subjectaltname?: string; valid_from?: string; valid_to?: string } }, url: URL): string | undefined {
  const prefix = 'tls: failed to verify certificate: x509: ';
  switch (err.code) {
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return `${prefix}certificate signed by unknown authority`;
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return `${prefix}certificate has expired or is not yet valid`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID': {
      // Go lists the names of the kind asked for: IP SANs for an IP host, DNS SANs otherwise.
      const host = url.hostname.replace(/^\[|\]$/g, '');
      const want = isIP(host) ? 'IP Address:' : 'DNS:';
      const names = (err.cert?.subjectaltname ?? '').split(', ').filter((n) => n.startsWith(want)).map((n) => n.slice(want.length));
      return names.length ? `${prefix}certificate is valid for ${names.join(', ')}, not ${host}` : `${prefix}certificate is not valid for any names, but wanted to match ${host}`;
    }
  }
  // https spoken to a plain-http server: OpenSSL reads the HTTP reply as a broken record.
  if (err.code === 'EPROTO' && /wrong version number|packet length too long|http request/i.test(err.message)) {
    return 'http: server gave HTTP response to HTTPS client';
  }
  // A server that wants a client certificate and got none (or one it does not trust).
  if (typeof err.code === 'string' && /^ERR_SSL_(SSLV3|TLSV13)_ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED)$/.test(err.code)) {
    return err.code.endsWith('CERTIFICATE_REQUIRED') ? 'remote error: tls: certificate required' : 'remote error: tls: bad certificate';
  }
  return undefined;
}

function transportError(msg: string, cause?: unknown): Error {
  const e = new Error(msg, cause === undefined ? undefined : { cause });
  (e as unknown as Record<symbol, unknown>)[TRANSPORT] = true;
  return e;
}

/** Reads a whole body, refusing more than `max` bytes. */
export async function readBody(res: HttpResponse, max: number, what = 'response'): Promise<Buffer> {
  const len = Number(res.headers['content-length']);
  if (Number.isFinite(len) && len > max) {
    res.body.destroy();
    throw invalidArgument(`${what} too large: ${len} bytes, limit ${max}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res.body) {
    size += (c as Buffer).length;
    if (size > max) {
      res.body.destroy();
      throw invalidArgument(`${what} too large: more than ${max} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Drains a body we do not need (keeps the connection reusable), bounded. */
export async function discardBody(res: HttpResponse): Promise<void> {
  try {
    await readBody(res, 1 << 20);
  } catch {
    res.body.destroy();
  }
}
