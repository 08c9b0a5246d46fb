// The API client against a scripted daemon on a unix socket: negotiation, errors, stdcopy,
// JSON lines, and hijacked connections (bytes sent with the 101 are kept; half-close works).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, PassThrough } from 'node:stream';
import { ApiClient, StdcopyParser, encodeFrame, demux, jsonLines, isApiError, isConnectError, resolveHost, parseHost } from '../../src/client/index.js';
import { startMockDaemon, sendJSON, upgrade } from './mock-daemon.js';

test('stdcopy: frames split across chunks, systemerr ends the stream', async () => {
  const all = Buffer.concat([encodeFrame(1, 'hello '), encodeFrame(2, 'oops'), encodeFrame(1, 'world')]);
  const p = new StdcopyParser();
  const frames = [...all].map((b) => p.push(Buffer.from([b]))).flat();
  assert.deepEqual(frames.map((f) => [f.stream, f.data.toString()]), [[1, 'hello '], [2, 'oops'], [1, 'world']]);
  const out = new PassThrough();
  const err = new PassThrough();
  await demux(Readable.from([all]), out, err);
  assert.equal(out.read().toString(), 'hello world');
  assert.equal(err.read().toString(), 'oops');
  await assert.rejects(demux(Readable.from([encodeFrame(3, 'broken')]), out, err), /broken/);
});

test('jsonLines: \\r\\n separated objects across chunk boundaries', async () => {
  const src = Readable.from(['{"status":"a"}\r\n{"sta', 'tus":"b"}\r\n', '{"status":"c"}']);
  const got: string[] = [];
  for await (const m of jsonLines(src)) got.push(m.status!);
  assert.deepEqual(got, ['a', 'b', 'c']);
});

test('hosts: flag, DOCKER_HOST, BERTH_HOST, default', () => {
  assert.equal(resolveHost('unix:///a', { DOCKER_HOST: 'unix:///b' }), 'unix:///a');
  assert.equal(resolveHost(undefined, { DOCKER_HOST: 'unix:///b', BERTH_HOST: 'unix:///c' }), 'unix:///b');
  assert.equal(resolveHost(undefined, { BERTH_HOST: 'unix:///c' }), 'unix:///c');
  assert.equal(resolveHost(undefined, {}), 'unix:///run/berth/berth.sock');
  assert.deepEqual(parseHost('tcp://127.0.0.1:2375'), { kind: 'tcp', host: '127.0.0.1', port: 2375, url: 'tcp://127.0.0.1:2375' });
});

test('client: version prefix, errors with status, negotiation with an older daemon', async () => {
  const d = await startMockDaemon();
  try {
    d.route('GET', /^\/containers\/x\/json$/, (_r, res) => sendJSON(res, 404, { message: 'No such container: x' }));
    const c = new ApiClient({ host: d.host });
    const err = await c.containerInspect('x').catch((e: unknown) => e);
    assert.ok(isApiError(err));
    assert.equal(err.status, 404);
    assert.equal(err.message, 'No such container: x');
    assert.ok(d.requests.some((r) => r.path === '/containers/x/json'));
    await d.close();

    const old = await startMockDaemon();
    const seen: string[] = [];
    old.route('GET', /^\/info$/, (_r, res, raw) => {
      seen.push(raw.url!);
      if (raw.url!.startsWith('/v1.50/')) return sendJSON(res, 400, { message: 'client version 1.50 is too new. Maximum supported API version is 1.41' });
      sendJSON(res, 200, { ok: true });
    });
    // An older daemon refuses 1.50 like dockerd's version middleware does; its ping says 1.41.
    old.route('HEAD', /^\/_ping$/, (_r, res) => {
      res.writeHead(200, { 'Api-Version': '1.41' });
      res.end();
    });
    const c2 = new ApiClient({ host: old.host });
    assert.deepEqual(await c2.info(), { ok: true });
    assert.deepEqual(seen, ['/v1.50/info', '/v1.41/info']);
    await old.close();
  } finally {
    await d.close().catch(() => undefined);
  }
});

test('client: connection refused becomes a ConnectError naming the host', async () => {
  const c = new ApiClient({ host: 'unix:///nonexistent/berth.sock' });
  const err = await c.info().catch((e: unknown) => e);
  assert.ok(isConnectError(err));
  assert.equal((err as Error).message, 'Cannot connect to the berth daemon at unix:///nonexistent/berth.sock. Is the berth daemon running?');
});

test('hijack: 101 with output in the same packet, stdin half-close keeps the stream readable', async () => {
  const d = await startMockDaemon();
  try {
    d.route('POST', /^\/containers\/c1\/attach$/, (_r, _res, raw) => {
      const sock = upgrade(raw, 'application/vnd.docker.multiplexed-stream');
      // Output immediately after the headers, before the client sends anything.
      sock.write(encodeFrame(1, 'early\n'));
      let input = '';
      sock.on('data', (c: Buffer) => (input += c.toString()));
      sock.on('end', () => {
        sock.write(encodeFrame(1, `got:${input}`));
        sock.end();
      });
    });
    const c = new ApiClient({ host: d.host, version: '1.50' });
    const conn = await c.containerAttach('c1', { stream: true, stdin: true, stdout: true });
    assert.equal(conn.contentType, 'application/vnd.docker.multiplexed-stream');
    const out = new PassThrough();
    const done = demux(conn.socket, out, new PassThrough());
    conn.socket.write('abc');
    conn.socket.end();
    await done;
    assert.equal(out.read().toString(), 'early\ngot:abc');
    const req = d.requests.find((r) => r.path === '/containers/c1/attach')!;
    assert.equal(req.headers.upgrade, 'tcp');
    assert.equal(req.headers.connection, 'Upgrade');
  } finally {
    await d.close();
  }
});

test('http1: chunked answers split anywhere, streamed request bodies, answers that end with the connection', async () => {
  const { createServer } = await import('node:net');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { http1Request } = await import('../../src/client/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'berth-http1-'));
  const sock = join(dir, 's.sock');
  const seen: string[] = [];
  // A raw server: it answers by the request line, writing its answer one byte at a time.
  const server = createServer((c) => {
    let req = '';
    c.on('data', async (d) => {
      req += d.toString('latin1');
      if (!req.includes('\r\n\r\n') || (req.startsWith('POST') && !req.endsWith('0\r\n\r\n'))) return;
      seen.push(req);
      const answer = req.startsWith('GET /eof')
        ? 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end'
        : 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nX-A: 2\r\n\r\n5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n';
      for (const b of Buffer.from(answer, 'latin1')) {
        c.write(Buffer.from([b]));
        await new Promise((r) => setImmediate(r));
      }
      if (req.startsWith('GET /eof')) c.end();
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    const ep = parseHost(`unix://${sock}`);
    const r = await http1Request(ep, { method: 'POST', path: '/up', headers: {}, body: Readable.from([Buffer.from('abc'), Buffer.from('defgh')]) });
    assert.equal(r.res.statusCode, 200);
    assert.equal(r.res.headers['x-a'], '1, 2');
    let text = '';
    for await (const c of r.res) text += c;
    assert.equal(text, 'hello world');
    assert.match(seen[0]!, /Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n$/);
    const e = await http1Request(ep, { method: 'GET', path: '/eof', headers: {} });
    text = '';
    for await (const c of e.res) text += c;
    assert.equal(text, 'until the end');
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
