// The API plumbing over a real unix socket: versions, headers, errors, hijack.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Router, createApiServer, frame, Demuxer } from '../../src/api/index.js';
import { notFound, conflict, silentLogger } from '../../src/util/index.js';

const sock = join(mkdtempSync(join(tmpdir(), 'api-')), 'api.sock');
let server: http.Server;

before(async () => {
  const r = new Router();
  r.get('/_ping', (ctx) => { ctx.res.writeHead(200, { 'Content-Type': 'text/plain' }); ctx.res.end('OK'); });
  r.get('/containers/{id}/json', (ctx) => { if (ctx.params.id === 'x') throw notFound('No such container: x'); ctx.json(200, { Id: ctx.params.id, version: ctx.version }); });
  r.delete('/images/{name:.*}', (ctx) => ctx.json(200, { name: ctx.params.name }));
  r.post('/conflict', () => { throw conflict('it is in use'); });
  r.post('/echo', async (ctx) => ctx.json(200, await ctx.body()));
  r.post('/attach', (ctx) => {
    const s = ctx.hijack('application/vnd.docker.multiplexed-stream');
    s.write(frame(1, Buffer.from('hello\n')));
    s.on('data', (d: Buffer) => s.write(frame(2, d)));
    s.on('end', () => { s.write(frame(1, Buffer.from('bye\n'))); s.end(); });
  });
  server = createApiServer(r, silentLogger);
  await new Promise<void>((res) => server.listen(sock, res));
});
after(() => { server.close(); server.closeAllConnections(); });

function request(method: string, path: string, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, method, path, headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('every response carries Docker headers; routes work with and without a version prefix', async () => {
  const a = await request('GET', '/containers/abc/json');
  assert.equal(a.status, 200);
  assert.equal(a.headers['api-version'], '1.50');
  assert.equal(a.headers['ostype'], 'linux');
  assert.deepEqual(JSON.parse(a.text), { Id: 'abc', version: '1.50' });
  const b = await request('GET', '/v1.41/containers/abc/json');
  assert.deepEqual(JSON.parse(b.text), { Id: 'abc', version: '1.41' });
});

test('versions outside 1.24..1.50 are refused with Docker text', async () => {
  const old = await request('GET', '/v1.12/containers/abc/json');
  assert.equal(old.status, 400);
  assert.equal(JSON.parse(old.text).message, 'client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version');
  const nw = await request('GET', '/v1.99/containers/abc/json');
  assert.equal(JSON.parse(nw.text).message, 'client version 1.99 is too new. Maximum supported API version is 1.50');
});

test('errors are JSON with exactly application/json and the right status', async () => {
  const nf = await request('GET', '/v1.50/containers/x/json');
  assert.equal(nf.status, 404);
  assert.equal(nf.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(nf.text), { message: 'No such container: x' });
  assert.equal((await request('POST', '/conflict')).status, 409);
  const none = await request('GET', '/nowhere');
  assert.equal(none.status, 404);
  assert.equal(JSON.parse(none.text).message, 'page not found');
  const bad = await request('POST', '/echo', '{"a":');
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.text).message, /invalid JSON/);
});

test('image names with slashes and tags reach the handler whole', async () => {
  const r = await request('DELETE', '/v1.50/images/localhost:5000/team/app:v1');
  assert.deepEqual(JSON.parse(r.text), { name: 'localhost:5000/team/app:v1' });
});

test('hijack answers 101 UPGRADED, streams frames both ways and honours half-close', async () => {
  const s = net.connect(sock);
  s.write('POST /v1.50/attach HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n');
  let raw = Buffer.alloc(0);
  const frames: string[] = [];
  let headerDone = false;
  const demux = new Demuxer((stream, data) => frames.push(`${stream}:${data}`));
  await new Promise<void>((resolve) => {
    s.on('data', (c: Buffer) => {
      if (headerDone) { demux.push(c); return; }
      raw = Buffer.concat([raw, c]);
      const i = raw.indexOf('\r\n\r\n');
      if (i < 0) return;
      headerDone = true;
      const head = raw.subarray(0, i).toString();
      assert.match(head, /^HTTP\/1\.1 101 UPGRADED\r\n/);
      assert.match(head, /Content-Type: application\/vnd\.docker\.multiplexed-stream/);
      demux.push(raw.subarray(i + 4));
      s.write('ping\n');
      setTimeout(() => s.end(), 50);
    });
    s.on('end', () => resolve());
  });
  assert.deepEqual(frames, ['1:hello\n', '2:ping\n', '1:bye\n']);
});
