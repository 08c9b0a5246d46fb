// A small HTTP/1.1 client on node:net, for the daemon's unix socket (or plain TCP).
//
// Why not node:http: loading it (agents, parsers, outgoing/incoming message machinery) is a
// noticeable part of a short command's start-up, and the CLI needs only a sliver of it: one
// request per connection, bodies by Content-Length or chunked, streamed responses and the
// 101 upgrade of attach/exec. Every connection is closed after its response.

import net from 'node:net';
import { Readable } from 'node:stream';
import type { Endpoint } from './host.js';

/** A response: its body is the stream itself. */
export interface Response extends Readable {
  statusCode: number;
  statusMessage: string;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
}

export interface Http1Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Sent with Content-Length; a Readable is sent chunked. */
  body?: Buffer | string | Readable;
  signal?: AbortSignal;
  /** Ask for a connection upgrade (attach/exec): the answer is the raw socket after a 101. */
  upgrade?: boolean;
}

export type Http1Result = { kind: 'response'; res: Response } | { kind: 'upgrade'; res: Response; socket: net.Socket };

const HEAD_END = Buffer.from('\r\n\r\n');

function abortError(): Error {
  return Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
}

function connect(ep: Endpoint): net.Socket {
  // Half-open: after stdin ends (our write side closed), output may still arrive.
  return ep.kind === 'unix' ? net.connect({ path: ep.socketPath, allowHalfOpen: true }) : net.connect({ host: ep.host, port: ep.port, allowHalfOpen: true });
}

function head(req: Http1Request, ep: Endpoint, extra: Record<string, string>): string {
  const host = ep.kind === 'unix' ? 'api.moby.localhost' : `${ep.host}:${ep.port}`;
  let s = `${req.method} ${req.path} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (const [k, v] of Object.entries({ ...req.headers, ...extra })) s += `${k}: ${v}\r\n`;
  return s + '\r\n';
}

async function writeChunked(sock: net.Socket, body: Readable): Promise<void> {
  for await (const c of body) {
    const chunk = typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
    if (!chunk.length) continue;
    // All three pieces are written whatever write() answers; false only asks to wait for 'drain'.
    sock.write(`${chunk.length.toString(16)}\r\n`);
    sock.write(chunk);
    if (!sock.write('\r\n')) await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        sock.off('drain', done);
        sock.off('close', closed);
        err ? reject(err) : resolve();
      };
      const closed = () => done(new Error('connection closed while sending the request body'));
      sock.once('drain', done);
      sock.once('close', closed);
    });
  }
  sock.write('0\r\n\r\n');
}

/** Decodes a chunked body; feed() returns the decoded bytes and whether the last chunk was seen. */
class Dechunker {
  private buf: Buffer = Buffer.alloc(0);
  private left = -1; // bytes of the current chunk still to read; -1: expecting a size line
  private trailer = false;
  feed(data: Buffer): { out: Buffer[]; done: boolean } {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    const out: Buffer[] = [];
    for (;;) {
      if (this.trailer) {
        // After the 0-size chunk: optional trailers, then an empty line.
        const nl = this.buf.indexOf('\r\n');
        if (nl < 0) return { out, done: false };
        const line = this.buf.subarray(0, nl);
        this.buf = this.buf.subarray(nl + 2);
        if (!line.length) return { out, done: true };
        continue;
      }
      if (this.left < 0) {
        const nl = this.buf.indexOf('\r\n');
        if (nl < 0) return { out, done: false };
        const size = parseInt(this.buf.subarray(0, nl).toString('latin1').split(';')[0]!.trim(), 16);
        if (Number.isNaN(size)) throw new Error('malformed chunked encoding in the response');
        this.buf = this.buf.subarray(nl + 2);
        if (size === 0) {
          this.trailer = true;
          continue;
        }
        this.left = size;
      }
      if (this.left > 0) {
        if (!this.buf.length) return { out, done: false };
        const n = Math.min(this.left, this.buf.length);
        out.push(this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        this.left -= n;
      }
      if (this.left === 0) {
        if (this.buf.length < 2) return { out, done: false };
        this.buf = this.buf.subarray(2); // the CRLF after the data
        this.left = -1;
      }
    }
  }
}

function parseHead(text: string): { statusCode: number; statusMessage: string; headers: Record<string, string> } {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (!m) throw new Error(`malformed HTTP response from the daemon: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i <= 0) continue;
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
  }
  return { statusCode: Number(m[1]), statusMessage: m[2] ?? '', headers };
}

/** Send one request on a new connection; resolves once the response head has arrived. */
export function request(ep: Endpoint, req: Http1Request): Promise<Http1Result> {
  return new Promise<Http1Result>((resolve, reject) => {
    if (req.signal?.aborted) return reject(abortError());
    const sock = connect(ep);
    let res: Response | undefined;
    let pending: Buffer = Buffer.alloc(0);
    let settled = false;
    const fail = (err: Error) => {
      if (!settled) {
        settled = true;
        reject(err);
      } else if (res && !res.readableEnded) res.destroy(err);
      sock.destroy();
    };
    const onAbort = () => fail(abortError());
    req.signal?.addEventListener('abort', onAbort, { once: true });
    sock.on('error', fail);

    const extra: Record<string, string> = {};
    const body = req.body;
    const streamed = body instanceof Readable;
    if (streamed) extra['Transfer-Encoding'] = 'chunked';
    else if (body !== undefined) extra['Content-Length'] = String(Buffer.byteLength(body));
    else if (req.method === 'POST' || req.method === 'PUT') extra['Content-Length'] = '0';
    if (req.upgrade) Object.assign(extra, { Connection: 'Upgrade', Upgrade: 'tcp' });
    sock.write(head(req, ep, extra));
    if (streamed) {
      body.on('error', fail);
      writeChunked(sock, body).catch(fail);
    } else if (body !== undefined) sock.write(body);

    // Body framing, decided from the head.
    let mode: 'length' | 'chunked' | 'eof' | 'none' = 'eof';
    let left = 0;
    let dechunk: Dechunker | undefined;
    const finish = () => {
      if (!res || res.readableEnded) return;
      res.push(null);
      req.signal?.removeEventListener('abort', onAbort);
      sock.removeListener('data', onData);
      sock.destroy();
    };
    const deliver = (data: Buffer) => {
      if (!res || !data.length) return;
      if (!res.push(data)) sock.pause();
    };
    const onBody = (data: Buffer) => {
      if (mode === 'length') {
        const n = Math.min(left, data.length);
        deliver(data.subarray(0, n));
        left -= n;
        if (left === 0) finish();
      } else if (mode === 'chunked') {
        const { out, done } = dechunk!.feed(data);
        for (const b of out) deliver(b);
        if (done) finish();
      } else if (mode === 'eof') deliver(data);
    };
    const onData = (chunk: Buffer) => {
      if (res) return onBody(chunk);
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      const end = pending.indexOf(HEAD_END);
      if (end < 0) return;
      let h;
      try {
        h = parseHead(pending.subarray(0, end).toString('latin1'));
      } catch (err) {
        return fail(err as Error);
      }
      const rest = pending.subarray(end + 4);
      // Interim answers (100 Continue) carry no body; the real head follows.
      if (h.statusCode >= 100 && h.statusCode < 200 && h.statusCode !== 101) {
        pending = Buffer.alloc(0);
        if (rest.length) onData(rest);
        return;
      }
      res = Object.assign(new Readable({ read: () => void sock.resume() }), h) as Response;
      settled = true;
      if (req.upgrade && h.statusCode === 101) {
        // The socket is the stream from here on; bytes that came with the head go back first.
        sock.removeListener('data', onData);
        sock.removeListener('error', fail);
        req.signal?.removeEventListener('abort', onAbort);
        // Stop the flow (a flowing stream with no listener drops data), then make the state
        // "not yet flowing" so the caller's 'data' listener or pipe() starts it again.
        sock.pause();
        (sock as { readableFlowing: boolean | null }).readableFlowing = null;
        if (rest.length) sock.unshift(rest);
        res.push(null);
        return resolve({ kind: 'upgrade', res, socket: sock });
      }
      const te = (h.headers['transfer-encoding'] ?? '').toLowerCase();
      if (req.method === 'HEAD' || h.statusCode === 204 || h.statusCode === 304) mode = 'none';
      else if (te.includes('chunked')) {
        mode = 'chunked';
        dechunk = new Dechunker();
      } else if (h.headers['content-length'] !== undefined) {
        mode = 'length';
        left = Number(h.headers['content-length']);
      }
      resolve({ kind: 'response', res });
      if (mode === 'none' || (mode === 'length' && left === 0)) return finish();
      if (rest.length) onBody(rest);
    };
    sock.on('data', onData);
    sock.on('end', () => {
      if (!res) return fail(Object.assign(new Error('the daemon closed the connection without an answer'), { code: 'ECONNRESET' }));
      if (mode === 'eof') return finish();
      if (!res.readableEnded) fail(new Error('the daemon closed the connection in the middle of the answer'));
    });
  });
}
