// Bad input over the API: clear 4xx errors in Docker's words, nothing written outside the data root, the daemon stays up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pack } from 'tar-stream';
import { startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
before(async () => { d = await startDaemon(); await importBusybox(d); });
after(async () => { if (d) await destroyDaemon(d); });

function raw(method: string, path: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => { let b: any = text; try { b = JSON.parse(text); } catch { /* keep text */ } resolve({ status: res.statusCode!, body: b }); });
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('malformed JSON and wrong shapes are 400s', async () => {
  const r = await raw('POST', '/v1.50/containers/create', '{"Image": "busybox", ', { 'Content-Type': 'application/json' });
  assert.equal(r.status, 400);
  assert.match(r.body.message, /invalid JSON/);
  const e = await raw('POST', '/v1.50/containers/create', '', { 'Content-Type': 'application/json' });
  assert.equal(e.status, 400);
});

test('huge and negative resource values are refused', async () => {
  const big = await d.api('POST', '/v1.50/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { Memory: 1e300 } });
  assert.equal(big.status, 400);
  const neg = await d.api('POST', '/v1.50/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { CpuShares: -5 } });
  assert.equal(neg.status, 400);
  const small = await d.api('POST', '/v1.50/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { Memory: 1024 } });
  assert.equal(small.status, 400);
  assert.equal(small.body.message, 'Minimum memory limit allowed is 6MB');
});

test('unknown ids answer 404 with Docker text', async () => {
  const c = await d.api('GET', '/v1.50/containers/deadbeef0000/json');
  assert.equal(c.status, 404);
  assert.equal(c.body.message, 'No such container: deadbeef0000');
  const i = await d.api('GET', '/v1.50/images/nosuch:tag/json');
  assert.equal(i.status, 404);
  assert.match(i.body.message, /^No such image: nosuch:tag/);
  const v = await d.api('GET', '/v1.50/volumes/nosuchvol');
  assert.equal(v.status, 404);
  const x = await d.api('GET', '/v1.50/exec/nosuchexec/json');
  assert.equal(x.status, 404);
  const bad = await d.api('POST', '/v1.50/containers/create?name=bad%20name', { Image: 'busybox', Cmd: ['true'] });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /Invalid container name \(bad name\)/);
});

test('an import tar with .. and absolute paths writes nothing outside the data root', async () => {
  const outside = mkdtempSync(join(tmpdir(), 'escape-'));
  const p = pack();
  p.entry({ name: `../../../../../../../..${outside}/dotdot.txt` }, 'x');
  p.entry({ name: `${outside}/abs.txt` }, 'x');
  p.entry({ name: 'link', type: 'symlink', linkname: outside });
  p.entry({ name: 'link/through.txt' }, 'x');
  p.entry({ name: 'hard', type: 'link', linkname: '/etc/passwd' });
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  const r = await raw('POST', '/v1.50/images/create?fromSrc=-&repo=evil&tag=1', Buffer.concat(chunks), { 'Content-Type': 'application/x-tar' });
  // Either the import is refused, or the image exists but running it can't reach outside.
  if (r.status === 200 && !String(JSON.stringify(r.body)).includes('error')) {
    await d.docker(['run', '--rm', 'evil:1', 'true']);
  }
  for (const f of ['dotdot.txt', 'abs.txt', 'through.txt']) assert.equal(existsSync(join(outside, f)), false, f);
  const ping = await d.api('GET', '/_ping');
  assert.equal(ping.status, 200);
});
