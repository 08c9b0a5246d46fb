// A Docker Engine API client over a unix socket (or plain TCP), promise based.
// It negotiates the API version once with HEAD /_ping (as the docker CLI does), then prefixes
// every path with /v<version>. Errors become ApiError (status + daemon message) or ConnectError.

import type { Duplex, Readable } from 'node:stream';
import { parseHost, type Endpoint } from './host.js';
import { request as http1, type Response } from './http1.js';
import { ApiError, ConnectError, isConnectCode } from './errors.js';

export const CLIENT_API_VERSION = '1.50';
const FALLBACK_API_VERSION = '1.24';

export type QueryValue = string | number | boolean | undefined | null | string[];
export type Query = Record<string, QueryValue>;

export interface RequestOptions {
  query?: Query;
  /** JSON-encoded unless a Buffer, string or Readable. */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Skip the version prefix (for /_ping). */
  unversioned?: boolean;
}

export interface ClientOptions {
  host: string;
  /** Fixed API version (DOCKER_API_VERSION); disables negotiation. */
  version?: string;
  userAgent?: string;
}

export interface Hijacked {
  socket: Duplex;
  contentType: string;
}

export interface PingResult {
  apiVersion: string;
  osType: string;
  experimental: boolean;
  builderVersion: string;
}

export function versionLess(a: string, b: string): boolean {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}

export function encodeQuery(q: Query | undefined): string {
  if (!q) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null) continue;
    const vals = Array.isArray(v) ? v : [v];
    for (const one of vals) {
      const s = typeof one === 'boolean' ? (one ? '1' : '0') : String(one);
      parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(s)}`);
    }
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

function isReadable(x: unknown): x is Readable {
  return !!x && typeof (x as Readable).pipe === 'function' && typeof (x as Readable).on === 'function';
}

async function readAll(res: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Decode an error response the way the Go client does: JSON only for exactly application/json. */
async function toApiError(res: Response): Promise<ApiError> {
  const body = (await readAll(res)).toString('utf8');
  const ct = (res.headers['content-type'] ?? '').split(';')[0]!.trim();
  let message = body.trim();
  if (ct === 'application/json') {
    try {
      const j = JSON.parse(body) as { message?: string };
      if (typeof j.message === 'string') message = j.message;
    } catch {
      /* keep the raw text */
    }
  }
  if (!message) message = `${res.statusCode} ${res.statusMessage ?? ''}`.trim();
  return new ApiError(res.statusCode ?? 500, message);
}

/** A response whose body was already read to check it: hand the error back as a thrown ApiError. */
function replayedError(res: Response, err: ApiError): Response {
  (res as Response & { berthError?: ApiError }).berthError = err;
  return res;
}

export class Client {
  readonly endpoint: Endpoint;
  private fixedVersion: string | undefined;
  private negotiating: Promise<string> | undefined;
  private readonly userAgent: string;
  ping?: PingResult;

  constructor(opts: ClientOptions) {
    this.endpoint = parseHost(opts.host);
    this.fixedVersion = opts.version;
    this.userAgent = opts.userAgent ?? 'berth-cli';
  }

  get host(): string {
    return this.endpoint.url;
  }

  /** The negotiated API version (negotiating first if needed). */
  async apiVersion(): Promise<string> {
    if (this.fixedVersion) return this.fixedVersion;
    this.negotiating ??= this.negotiate();
    return (this.fixedVersion = await this.negotiating);
  }

  /**
   * Startup speed: instead of a /_ping round trip before the first call, send it with our own
   * version and negotiate only if the daemon answers that the version is too new (an older
   * daemon). Requests with a streamed body cannot be replayed and negotiate first.
   */
  private optimistic = true;

  private async versionFor(opts: RequestOptions): Promise<string | undefined> {
    if (opts.unversioned) return undefined;
    if (this.fixedVersion) return this.fixedVersion;
    if (this.optimistic && !isReadable(opts.body)) return CLIENT_API_VERSION;
    return this.apiVersion();
  }

  private async negotiate(): Promise<string> {
    let res = await this.raw('HEAD', '/_ping', { unversioned: true });
    res.resume();
    if (res.statusCode !== 200 && res.statusCode !== 500) {
      res = await this.raw('GET', '/_ping', { unversioned: true });
      res.resume();
    }
    const h = res.headers;
    const server = (h['api-version'] as string | undefined) || FALLBACK_API_VERSION;
    this.ping = {
      apiVersion: server,
      osType: (h['ostype'] as string | undefined) ?? '',
      experimental: h['docker-experimental'] === 'true',
      builderVersion: (h['builder-version'] as string | undefined) ?? '',
    };
    return versionLess(server, CLIENT_API_VERSION) ? server : CLIENT_API_VERSION;
  }

  private async fullPath(path: string, opts: RequestOptions, version?: string): Promise<string> {
    const v = version ?? (opts.unversioned ? undefined : await this.apiVersion());
    return (v ? `/v${v}` : '') + path + encodeQuery(opts.query);
  }

  /** A 400 "client version X is too new" means: negotiate, then replay once. */
  private async tooNew(res: Response, sentVersion: string | undefined): Promise<ApiError | undefined> {
    if (res.statusCode !== 400 || !sentVersion || this.fixedVersion) return undefined;
    const err = await toApiError(res);
    if (!/client version .* is too new/i.test(err.message)) return err;
    this.optimistic = false;
    return undefined;
  }

  private wrapConnectError(err: unknown): unknown {
    const code = (err as NodeJS.ErrnoException)?.code;
    return isConnectCode(code) ? new ConnectError(this.host, code) : err;
  }

  /** Send a request and return the response whatever its status. */
  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const version = await this.versionFor(opts);
    const res = await this.send(method, path, opts, version);
    if (version && this.optimistic && res.statusCode === 400 && !this.fixedVersion) {
      const err = await this.tooNew(res, version);
      if (err) return replayedError(res, err);
      return this.send(method, path, opts, await this.apiVersion());
    }
    if (version && !this.fixedVersion && res.statusCode && res.statusCode < 400) this.fixedVersion = version;
    return res;
  }

  private async send(method: string, path: string, opts: RequestOptions, version: string | undefined): Promise<Response> {
    const full = await this.fullPath(path, opts, version ?? '');
    const headers: Record<string, string> = { 'User-Agent': this.userAgent, ...opts.headers };
    const body = opts.body;
    let payload: Buffer | string | Readable | undefined;
    if (isReadable(body)) payload = body;
    else if (body !== undefined) {
      if (Buffer.isBuffer(body) || typeof body === 'string') payload = body;
      else {
        payload = JSON.stringify(body);
        headers['Content-Type'] ??= 'application/json';
      }
    }
    try {
      return (await http1(this.endpoint, { method, path: full, headers, body: payload, signal: opts.signal })).res;
    } catch (err) {
      throw this.wrapConnectError(err);
    }
  }

  /** Send a request; reject with ApiError on a status >= 400. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const res = await this.raw(method, path, opts);
    const pre = (res as Response & { berthError?: ApiError }).berthError;
    if (pre) throw pre;
    if ((res.statusCode ?? 500) >= 400) throw await toApiError(res);
    return res;
  }

  /** A request whose answer is JSON (or empty: returns undefined). */
  async json<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    const text = (await readAll(res)).toString('utf8');
    return (text.trim() ? JSON.parse(text) : undefined) as T;
  }

  get<T = unknown>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.json<T>('GET', path, { query, signal });
  }

  post<T = unknown>(path: string, query?: Query, body?: unknown, headers?: Record<string, string>): Promise<T> {
    return this.json<T>('POST', path, { query, body, headers });
  }

  delete<T = unknown>(path: string, query?: Query): Promise<T> {
    return this.json<T>('DELETE', path, { query });
  }

  /**
   * Upgrade the connection to a raw bidirectional stream (attach, exec start).
   * Bytes that arrived with the 101 are pushed back so no early output is lost.
   * A non-101 answer is decoded as an error, like the docker CLI does.
   */
  async hijack(method: string, path: string, opts: RequestOptions = {}): Promise<Hijacked> {
    const full = await this.fullPath(path, opts, await this.apiVersion());
    const headers: Record<string, string> = { ...opts.headers };
    let payload: string | undefined;
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['Content-Type'] = 'application/json';
    } else headers['Content-Type'] ??= 'text/plain';
    let r;
    try {
      r = await http1(this.endpoint, { method, path: full, headers: { 'User-Agent': this.userAgent, ...headers }, body: payload, upgrade: true });
    } catch (err) {
      throw this.wrapConnectError(err);
    }
    if (r.kind === 'upgrade') return { socket: r.socket, contentType: r.res.headers['content-type'] ?? '' };
    if (r.res.statusCode >= 400) throw await toApiError(r.res);
    r.res.resume();
    throw new Error(`unable to upgrade to tcp, received ${r.res.statusCode}`);
  }
}
