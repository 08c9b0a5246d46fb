// A scripted Engine API server on a unix socket. It answers the way berthd/dockerd do for a
// few canned objects so that the docker CLI and berth can be compared byte for byte without a
// daemon, and it records every request so tests can check the exact bodies a command sends.
// (A mock because the real daemon is a separate component; the integration tests use berthd.)

import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Handler = (req: Recorded, res: http.ServerResponse, raw: http.IncomingMessage) => void | Promise<void>;

export interface MockDaemon {
  socket: string;
  host: string;
  requests: Recorded[];
  route(method: string, pattern: RegExp, h: Handler): void;
  close(): Promise<void>;
}

export function sendJSON(res: http.ServerResponse, status: number, body: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Api-Version': '1.50' });
  res.end(text ? text + '\n' : '');
}

/** Hijack the connection as dockerd does for attach/exec: 101, then raw bytes. */
export function upgrade(raw: http.IncomingMessage, contentType: string): Socket {
  const sock = raw.socket as Socket;
  sock.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
  return sock;
}

export async function startMockDaemon(): Promise<MockDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-mock-'));
  const socket = join(dir, 'api.sock');
  const routes: { method: string; re: RegExp; h: Handler }[] = [];
  const requests: Recorded[] = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/^\/v\d+\.\d+/, '');
    const isUpgrade = req.headers.upgrade === 'tcp';
    let body = '';
    if (!isUpgrade) for await (const c of req) body += c;
    const rec: Recorded = { method: req.method ?? '', path, query: url.searchParams, headers: req.headers, body };
    requests.push(rec);
    res.setHeader('Api-Version', '1.50');
    res.setHeader('Ostype', 'linux');
    const r = routes.find((x) => x.method === req.method && x.re.test(path));
    if (path === '/_ping' && !r) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : 'OK');
      return;
    }
    if (!r) return sendJSON(res, 404, { message: `page not found` });
    try {
      await r.h(rec, res, req);
    } catch (err) {
      sendJSON(res, 500, { message: String(err) });
    }
  });
  // Upgrade requests reach 'upgrade', not 'request': feed them to the same router.
  server.on('upgrade', (req: http.IncomingMessage, sock: Socket) => {
    const res = new http.ServerResponse(req);
    res.assignSocket(sock);
    server.emit('request', req, res);
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    host: `unix://${socket}`,
    requests,
    route(method, re, h) {
      routes.unshift({ method, re, h });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
