// A hostile registry (a Node server of our own): wrong digests and sizes, huge
// manifests, redirect loops, cut connections, stalls and 5xx storms. The client
// must fail clearly, resume where it can, and never commit an unverified blob.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { LocalContentStore } from '../../src/content/index.js';
import { Registry } from '../../src/distribution/index.js';
import { errorKind } from '../../src/util/index.js';
import { sha } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'berth-hostile-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

/** A registry whose /v2/<name>/blobs and /manifests answers are up to the test. */
async function hostile(handler: Handler): Promise<{ host: string; port: number; requests: http.IncomingMessage[]; close(): Promise<void> }> {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/v2/') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end('{}');
    }
    requests.push(req);
    handler(req, res, requests.length);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    port,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const blob = randomBytes(300_000);
const desc = { digest: sha(blob), size: blob.length };
const fastRegistry = () => new Registry({ retryDelayMs: 10, requestTimeoutMs: 1000 });

function storeDir() {
  const root = mkdtempSync(join(tmp, 'cs-'));
  return { root, store: new LocalContentStore({ root }) };
}
const leftovers = (root: string) => [...readdirSync(join(root, 'blobs', 'sha256')), ...readdirSync(join(root, 'ingest'))];

test('a blob with the wrong digest is refused, not retried, and nothing stays', async () => {
  const evil = randomBytes(blob.length);
  const srv = await hostile((_req, res) => {
    res.writeHead(200, { 'Content-Length': evil.length });
    res.end(evil);
  });
  const reg = fastRegistry();
  const { root, store } = storeDir();
  try {
    await assert.rejects(reg.repository({ domain: srv.host, path: 'x' }).fetchBlob(desc, store), (err: Error) => {
      assert.equal(errorKind(err), 'InvalidArgument');
      assert.match(err.message, /unexpected digest/);
      return true;
    });
    assert.equal(srv.requests.length, 1);
    assert.deepEqual(leftovers(root), []);
  } finally {
    reg.close();
    await srv.close();
  }
});

test('a blob longer than its descriptor is cut off and refused', async () => {
  const srv = await hostile((_req, res) => {
    res.writeHead(200);
    res.end(Buffer.concat([blob, randomBytes(1000)]));
  });
  const reg = fastRegistry();
  const { root, store } = storeDir();
  try {
    await assert.rejects(reg.repository({ domain: srv.host, path: 'x' }).fetchBlob(desc, store), /unexpected size/);
    assert.deepEqual(leftovers(root), []);
  } finally {
    reg.close();
    await srv.close();
  }
});

test('a huge manifest is refused', async () => {
  const srv = await hostile((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
    // No Content-Length: the limit must hold while streaming.
    const chunk = Buffer.alloc(1 << 20, 0x20);
    for (let i = 0; i < 6; i++) res.write(chunk);
    res.end();
  });
  const reg = fastRegistry();
  try {
    await assert.rejects(reg.repository({ domain: srv.host, path: 'x' }).getManifest('latest'), /manifest too large/);
  } finally {
    reg.close();
    await srv.close();
  }
});

test('a schema 1 manifest gets Docker\'s deprecation error', async () => {
  const srv = await hostile((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' });
    res.end(JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'latest', fsLayers: [] }));
  });
  const reg = fastRegistry();
  try {
    await assert.rejects(reg.repository({ domain: srv.host, path: 'old' }).getManifest('latest'), (err: Error) => {
      assert.equal(err.message, `Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of ${srv.host}/old to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2. More information at https://docs.docker.com/go/deprecated-image-specs/`);
      return true;
    });
  } finally {
    reg.close();
    await srv.close();
  }
});

test('a manifest pulled by digest must hash to that digest', async () => {
  const srv = await hostile((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
    res.end(JSON.stringify({ schemaVersion: 2, config: {}, layers: [] }));
  });
  const reg = fastRegistry();
  try {
    await assert.rejects(reg.repository({ domain: srv.host, path: 'x' }).getManifest(sha('other')), /manifest verification failed/);
  } finally {
    reg.close();
    await srv.close();
  }
});

test('redirect loops and endless redirects end with a clear error', async () => {
  const srv = await hostile((req, res) => {
    const u = new URL(req.url!, 'http://x');
    if (u.pathname.includes('/blobs/')) {
      res.writeHead(307, { Location: '/loop/a' });
      return res.end();
    }
    if (u.pathname === '/loop/a') {
      res.writeHead(302, { Location: '/loop/b' });
      return res.end();
    }
    if (u.pathname === '/loop/b') {
      res.writeHead(302, { Location: '/loop/a' });
      return res.end();
    }
    const n = Number(u.pathname.split('/').pop());
    res.writeHead(302, { Location: `/chain/${n + 1}` });
    res.end();
  });
  const reg = fastRegistry();
  const { root, store } = storeDir();
  try {
    await assert.rejects(reg.repository({ domain: srv.host, path: 'x' }).fetchBlob(desc, store), /redirect loop/);
    await assert.rejects(reg.http.send({ method: 'GET', url: `http://${srv.host}/chain/0` }), /stopped after 10 redirects/);
    assert.deepEqual(leftovers(root), []);
  } finally {
    reg.close();
    await srv.close();
  }
});

test('credentials are not sent to the storage host a blob redirects to', async () => {
  const seen: (string | undefined)[] = [];
  const storage = http.createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(200, { 'Content-Length': blob.length });
    res.end(blob);
  });
  await new Promise<void>((r) => storage.listen(0, '127.0.0.1', r));
  const sport = (storage.address() as AddressInfo).port;
  const authSeen: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    if (!req.headers.authorization) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' });
      return res.end();
    }
    authSeen.push(req.headers.authorization);
    if (req.url === '/v2/') {
      res.writeHead(200);
      return res.end('{}');
    }
    // "localhost" is another host than "127.0.0.1", as S3 is for a registry.
    res.writeHead(307, { Location: `http://localhost:${sport}/bucket/blob?sig=1` });
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const reg = fastRegistry();
  const { store } = storeDir();
  try {
    await reg.repository({ domain: host, path: 'x' }, { auth: { username: 'u', password: 'p' } }).fetchBlob(desc, store);
    assert.equal(await store.has(desc.digest), true);
    assert.ok(authSeen.length > 0 && authSeen.every((a) => a?.startsWith('Basic ')));
    assert.deepEqual(seen, [undefined]);
  } finally {
    reg.close();
    server.closeAllConnections();
    storage.closeAllConnections();
    await new Promise((r) => server.close(r));
    await new Promise((r) => storage.close(r));
  }
});

test('a connection cut mid-blob is resumed with a Range request', async () => {
  const ranges: (string | undefined)[] = [];
  const srv = await hostile((req, res, n) => {
    ranges.push(req.headers.range);
    if (n === 1) {
      res.writeHead(200, { 'Content-Length': blob.length });
      res.write(blob.subarray(0, 100_000), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    res.writeHead(m ? 206 : 200, { 'Content-Length': blob.length - start, ...(m ? { 'Content-Range': `bytes ${start}-${blob.length - 1}/${blob.length}` } : {}) });
    res.end(blob.subarray(start));
  });
  const reg = fastRegistry();
  const { root, store } = storeDir();
  const retries: number[] = [];
  try {
    await reg.repository({ domain: srv.host, path: 'x' }).fetchBlob(desc, store, { onRetry: (a) => retries.push(a) });
    assert.equal(await store.has(desc.digest), true);
    assert.deepEqual(retries, [1]);
    assert.equal(ranges[0], undefined);
    assert.equal(ranges[1], 'bytes=100000-');
    assert.deepEqual(readdirSync(join(root, 'ingest')), []);
  } finally {
    reg.close();
    await srv.close();
  }
});

test('a stalled body times out and the download resumes', async () => {
  const ranges: (string | undefined)[] = [];
  const srv = await hostile((req, res, n) => {
    ranges.push(req.headers.range);
    if (n === 1) {
      res.writeHead(200, { 'Content-Length': blob.length });
      res.write(blob.subarray(0, 50_000)); // then nothing, forever
      return;
    }
    const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    res.writeHead(206, { 'Content-Length': blob.length - start, 'Content-Range': `bytes ${start}-${blob.length - 1}/${blob.length}` });
    res.end(blob.subarray(start));
  });
  const reg = new Registry({ retryDelayMs: 10, requestTimeoutMs: 300 });
  const { store } = storeDir();
  try {
    await reg.repository({ domain: srv.host, path: 'x' }).fetchBlob(desc, store);
    assert.equal(await store.has(desc.digest), true);
    assert.equal(ranges[1], 'bytes=50000-');
  } finally {
    reg.close();
    await srv.close();
  }
});

test('a server ignoring Range restarts the download from zero', async () => {
  const srv = await hostile((_req, res, n) => {
    res.writeHead(200, { 'Content-Length': blob.length });
    if (n === 1) {
      res.write(blob.subarray(0, 120_000), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(blob);
  });
  const reg = fastRegistry();
  const { store } = storeDir();
  try {
    await reg.repository({ domain: srv.host, path: 'x' }).fetchBlob(desc, store);
    assert.equal(await store.has(desc.digest), true);
  } finally {
    reg.close();
    await srv.close();
  }
});

test('a 5xx storm: five attempts, then the status, and nothing stored', async () => {
  const srv = await hostile((_req, res) => {
    res.writeHead(503, { 'Content-Type': 'text/plain' });
    res.end('overloaded');
  });
  const reg = fastRegistry();
  const { root, store } = storeDir();
  try {
    await assert.rejects(reg.repository({ domain: srv.host, path: 'x' }).fetchBlob(desc, store), (err: Error) => {
      assert.equal(err.message, 'received unexpected HTTP status: 503 Service Unavailable');
      assert.equal(errorKind(err), 'Unavailable');
      return true;
    });
    assert.equal(srv.requests.length, 5);
    assert.deepEqual(leftovers(root), []);
    await assert.rejects(reg.repository({ domain: srv.host, path: 'x' }).getManifest('latest'), /503 Service Unavailable/);
  } finally {
    reg.close();
    await srv.close();
  }
});

test('a cancelled download stops at once', async () => {
  const srv = await hostile((_req, res) => {
    res.writeHead(200, { 'Content-Length': blob.length });
    res.write(blob.subarray(0, 10_000));
  });
  const reg = new Registry({ retryDelayMs: 10, requestTimeoutMs: 30_000 });
  const { store } = storeDir();
  const ctl = new AbortController();
  try {
    setTimeout(() => ctl.abort(new Error('cancelled by test')), 100);
    const t0 = Date.now();
    await assert.rejects(reg.repository({ domain: srv.host, path: 'x' }).fetchBlob(desc, store, { signal: ctl.signal }));
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(await store.has(desc.digest), false);
  } finally {
    reg.close();
    await srv.close();
  }
});
