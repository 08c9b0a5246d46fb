// The Docker Engine API server: routing with and without /v1.NN, version
// checks, Docker's headers, JSON errors, and hijacked (upgraded) streams.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { invalidArgument, type Logger } from '../util/index.js';
import { statusOf, messageOf } from './errors.js';

export const API_VERSION = '1.50';
export const MIN_API_VERSION = '1.24';
export const SERVER_VERSION = '28.2.2';
export const BERTH_VERSION = '0.1.0';

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The API version the client asked for (path prefix), else the server's. */
  version: string;
  /** True when the request carries `Upgrade: tcp` (docker CLI attach/exec). */
  upgrade: boolean;
  head: Buffer;
  versionAtLeast(v: string): boolean;
  json(status: number, body: unknown): void;
  noContent(): void;
  body<T = any>(opts?: { optional?: boolean; limit?: number }): Promise<T>;
  /** Take over the connection: writes 101 UPGRADED (or the legacy 200) and returns the raw socket. */
  hijack(contentType: string): Socket;
  /** Boolean query parameter as Docker reads them (1/true/True). */
  qbool(name: string, dflt?: boolean): boolean;
  qint(name: string, dflt?: number): number | undefined;
  /** JSON-encoded query parameter such as filters. */
  qjson<T>(name: string): T | undefined;
}

export type Handler = (ctx: Ctx) => unknown | Promise<unknown>;

interface Route { method: string; re: RegExp; names: string[]; handler: Handler }

export class Router {
  private routes: Route[] = [];
  add(method: string, pattern: string, handler: Handler): this {
    const names: string[] = [];
    // {name} matches one segment; {name:.*} matches the rest, slashes included (image names).
    const re = pattern.replace(/\{(\w+)(:\.\*)?\}/g, (_m, name: string, greedy?: string) => {
      names.push(name);
      return greedy ? '(.+)' : '([^/]+)';
    });
    this.routes.push({ method, re: new RegExp(`^${re}$`), names, handler });
    return this;
  }
  get(p: string, h: Handler) { return this.add('GET', p, h); }
  post(p: string, h: Handler) { return this.add('POST', p, h); }
  put(p: string, h: Handler) { return this.add('PUT', p, h); }
  delete(p: string, h: Handler) { return this.add('DELETE', p, h); }
  head(p: string, h: Handler) { return this.add('HEAD', p, h); }

  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | 'method' | undefined {
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== method) continue;
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => { params[n] = decodePathParam(m[i + 1]!); });
      return { handler: r.handler, params };
    }
    return pathMatched ? 'method' : undefined;
  }
}

/** A path parameter, %-decoded; a malformed escape (`%zz`, a lone `%`) is the client's mistake, not a 500. */
function decodePathParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    // Go's net/url words (the request never reaches a handler in dockerd).
    const bad = /%(?![0-9a-fA-F]{2})[^%]{0,2}/.exec(raw)?.[0] ?? raw;
    throw invalidArgument(`invalid URL escape ${JSON.stringify(bad)}`);
  }
}

/**
 * The request target split as Go's net/http sees it: the path exactly as sent (no WHATWG dot-segment
 * resolution, so `/volumes/..` or `/containers/%2e%2e/json` name a resource called ".." rather than
 * silently becoming another route; `//x` is a path, not a host) and the query string.
 */
export function splitTarget(target: string): { path: string; query: URLSearchParams } {
  const q = target.indexOf('?');
  const rawPath = (q < 0 ? target : target.slice(0, q)).split('#')[0]!;
  // A repeated slash is one, as gorilla/mux's path cleaning makes it (`//containers/json`).
  const path = ('/' + rawPath.replace(/^[a-z]+:\/\/[^/]*/i, '')).replace(/\/{2,}/g, '/').replace(/\/+$/, '') || '/';
  return { path, query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)) };
}

/** A form value as moby's httputils.BoolValue reads it: anything but "", 0, no, false, none is true. */
export function boolValue(v: string): boolean {
  const s = v.trim().toLowerCase();
  return !(s === '' || s === '0' || s === 'no' || s === 'false' || s === 'none');
}

/** Go's strconv.Atoi for a form value (int64 range), with its error text; clients' mistakes are 400s. */
export function atoi(v: string): number {
  const quoted = JSON.stringify(v);
  if (!/^[+-]?\d+$/.test(v)) throw invalidArgument(`strconv.Atoi: parsing ${quoted}: invalid syntax`);
  const big = BigInt(v);
  if (big > 9223372036854775807n || big < -9223372036854775808n) throw invalidArgument(`strconv.Atoi: parsing ${quoted}: value out of range`);
  return Number(big);
}

export function commonHeaders(): Record<string, string> {
  return {
    'Api-Version': API_VERSION,
    'Server': `Docker/${SERVER_VERSION} (linux)`,
    'Ostype': 'linux',
    'Docker-Experimental': 'false',
  };
}

export function writeJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) { res.end(); return; }
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function writeError(res: ServerResponse, err: unknown): void {
  writeJson(res, statusOf(err), { message: messageOf(err) });
}

const JSON_LIMIT = 16 * 1024 * 1024;

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw invalidArgument(`request body too large (limit ${limit} bytes)`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function createApiServer(router: Router, log: Logger): http.Server {
  const server = http.createServer({ keepAliveTimeout: 60_000, requestTimeout: 0, headersTimeout: 60_000 });
  server.on('request', (req, res) => { void dispatch(router, log, req, res, req.socket, Buffer.alloc(0), false); });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    // Build a ServerResponse bound to the raw socket so ordinary handlers and
    // errors still answer in HTTP; hijacking handlers take the socket instead.
    const res = new http.ServerResponse(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    res.on('finish', () => socket.end());
    void dispatch(router, log, req, res, socket, head, true);
  });
  server.on('clientError', (err, socket) => {
    if (!socket.writable) return;
    socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n' + JSON.stringify({ message: err.message }) + '\n');
  });
  return server;
}

async function dispatch(router: Router, log: Logger, req: IncomingMessage, res: ServerResponse, socket: Socket, head: Buffer, upgrade: boolean): Promise<void> {
  for (const [k, v] of Object.entries(commonHeaders())) res.setHeader(k, v);
  const url = splitTarget(req.url ?? '/');
  let path = url.path;
  let version = API_VERSION;
  const vm = /^\/v([0-9.]+)(\/.*)$/.exec(path);
  if (vm) { version = vm[1]!; path = vm[2]!; }
  const method = req.method ?? 'GET';
  log.debug('request', { method, path: url.path });
  // On an upgraded connection Node leaves the body unparsed: the first
  // Content-Length bytes after the headers are the body, the rest is the stream.
  let upgradeBody: Buffer | undefined;
  if (upgrade) {
    const len = Number(req.headers['content-length'] ?? 0);
    if (len > 0 && len <= JSON_LIMIT) {
      while (head.length < len) {
        const more = await new Promise<Buffer | null>((resolve) => {
          const onData = (c: Buffer) => { cleanup(); resolve(c); };
          const onEnd = () => { cleanup(); resolve(null); };
          const cleanup = () => { socket.off('data', onData); socket.off('end', onEnd); socket.off('close', onEnd); socket.pause(); };
          socket.on('data', onData);
          socket.once('end', onEnd);
          socket.once('close', onEnd);
          socket.resume();
        });
        if (!more) break;
        head = Buffer.concat([head, more]);
      }
      upgradeBody = head.subarray(0, len);
      head = head.subarray(len);
    }
  }
  try {
    if (vm) {
      if (compareVersions(version, MIN_API_VERSION) < 0) {
        throw invalidArgument(`client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
      }
      if (compareVersions(version, API_VERSION) > 0) {
        throw invalidArgument(`client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
      }
    }
    const found = router.match(method, path);
    if (found === undefined || found === 'method') {
      writeJson(res, 404, { message: 'page not found' });
      return;
    }
    let hijacked = false;
    const ctx: Ctx = {
      req, res, params: found.params, query: url.query, version, upgrade, head,
      versionAtLeast: (v) => compareVersions(version, v) >= 0,
      json: (status, body) => writeJson(res, status, body),
      noContent: () => { res.writeHead(204); res.end(); },
      body: async (opts = {}) => {
        const buf = upgradeBody ?? await readBody(req, opts.limit ?? JSON_LIMIT);
        const text = buf.toString('utf8').trim();
        if (!text) {
          if (opts.optional) return undefined;
          throw invalidArgument('empty request body');
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (err) {
          throw invalidArgument(`invalid JSON: ${(err as Error).message}`);
        }
        // Every JSON body of the Engine API is an object. As Go decodes them, `null` is the empty
        // object; an array or a scalar is refused.
        if (parsed === null) return {} as any;
        if (typeof parsed !== 'object' || Array.isArray(parsed)) {
          throw invalidArgument(`invalid JSON: expected an object, got ${Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`}`);
        }
        return parsed as any;
      },
      hijack: (contentType) => {
        hijacked = true;
        const headers = { ...commonHeaders(), 'Content-Type': contentType };
        let text: string;
        if (upgrade) {
          text = 'HTTP/1.1 101 UPGRADED\r\n' + Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + 'Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n';
        } else {
          // Legacy mode (no Upgrade header): 200 and the raw socket from here on.
          text = 'HTTP/1.1 200 OK\r\n' + Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
          req.socket.removeAllListeners('timeout');
        }
        // Keep the socket away from the HTTP machinery from now on.
        (res as unknown as { _headerSent: boolean })._headerSent = true;
        res.removeAllListeners('finish');
        socket.setTimeout(0);
        socket.write(text);
        if (head.length) socket.unshift(head);
        return socket;
      },
      // dockerd reads `all=yes`, `force=on`, `stdout=TRUE` as true: only "", 0, no, false, none are false.
      qbool: (name, dflt = false) => {
        const v = url.query.get(name);
        if (v === null) return dflt;
        return boolValue(v);
      },
      // Integers as strconv.Atoi reads them: `1.5`, `1e3`, `0x10` and out-of-range values are refused.
      qint: (name, dflt) => {
        const v = url.query.get(name);
        if (v === null || v === '') return dflt;
        return atoi(v);
      },
      qjson: <T>(name: string) => {
        const v = url.query.get(name);
        if (v === null || v === '') return undefined;
        try { return JSON.parse(v) as T; } catch { throw invalidArgument(`invalid ${name} parameter: ${v}`); }
      },
    };
    await found.handler(ctx);
    if (!hijacked && !res.headersSent && !res.writableEnded) {
      res.writeHead(204);
      res.end();
    }
  } catch (err) {
    const status = statusOf(err);
    if (status >= 500) log.error('handler failed', { method, path: url.path, err: messageOf(err) });
    else log.debug('request refused', { method, path: url.path, status, err: messageOf(err) });
    if (res.headersSent) {
      // Streaming already began: there is no way to send a status; end the stream.
      if (!res.writableEnded) res.end();
      return;
    }
    if (!socket.writable) return;
    writeError(res, err);
  }
}
