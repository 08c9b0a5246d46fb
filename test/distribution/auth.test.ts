// Auth against the real registry: htpasswd (Basic), token auth with a Hub-like
// token server (anonymous, Basic to the realm, OAuth2 refresh tokens), login,
// and TLS with a test CA (insecure https on loopback; certs.d CAs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { LocalContentStore } from '../../src/content/index.js';
import { Registry, EndpointResolver, HttpClient, TokenCache } from '../../src/distribution/index.js';
import { errorKind } from '../../src/util/index.js';
import { OciLayout, makeTar, skopeoPush, startRegistry, startTokenServer, makeTestCa, type RunningRegistry, type TokenServer } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'berth-auth-'));
const layout = new OciLayout();
const img = layout.image([makeTar({ 'etc/hello': 'hello\n' })]);
layout.tag('v1', img);
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  layout.remove();
  rmSync(tmp, { recursive: true, force: true });
});
const newStore = () => new LocalContentStore({ root: mkdtempSync(join(tmp, 'cs-')) });

test('htpasswd: login, pull with and without credentials', async () => {
  const reg = await startRegistry({ htpasswd: [{ user: 'alice', password: 's3cret' }] });
  cleanups.push(() => reg.stop());
  skopeoPush(layout, 'v1', `${reg.host}/private/app:v1`, { creds: 'alice:s3cret' });
  const registry = new Registry({});
  cleanups.push(() => registry.close());

  assert.deepEqual(await registry.login({ username: 'alice', password: 's3cret', serveraddress: reg.host }), { Status: 'Login Succeeded', IdentityToken: '' });
  await assert.rejects(registry.login({ username: 'alice', password: 'wrong', serveraddress: `http://${reg.host}` }), (err: Error) => {
    assert.equal(errorKind(err), 'Unauthorized');
    assert.equal(err.message, `login attempt to http://${reg.host}/v2/ failed with status: 401 Unauthorized`);
    return true;
  });

  const auth = { auth: Buffer.from('alice:s3cret').toString('base64') };
  const repo = registry.repository({ domain: reg.host, path: 'private/app' }, { auth });
  const m = await repo.getManifest('v1');
  assert.equal(m.digest, img.manifestDigest);
  const store = newStore();
  await repo.fetchBlob(img.layers[0]!, store);
  assert.equal(await store.has(img.layers[0]!.digest), true);

  await assert.rejects(registry.repository({ domain: reg.host, path: 'private/app' }).getManifest('v1'), (err: Error) => {
    assert.equal(errorKind(err), 'Unauthorized');
    assert.match(err.message, /^pull access denied for 127\.0\.0\.1:\d+\/private\/app, repository does not exist or may require 'docker login': unauthorized: /);
    return true;
  });
});

test('token auth: anonymous pulls public repos, credentials push, refresh tokens log in', async () => {
  const ts: TokenServer = await startTokenServer({ users: { bob: 'hunter2' } });
  cleanups.push(() => ts.stop());
  const reg: RunningRegistry = await startRegistry({ token: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: ts.rootCertBundle } });
  cleanups.push(() => reg.stop());
  const registry = new Registry({});
  cleanups.push(() => registry.close());
  const bob = { username: 'bob', password: 'hunter2' };

  // Push with credentials: the scope asks for pull,push.
  const store = newStore();
  const pushRepo = registry.repository({ domain: reg.host, path: 'public/app' }, { auth: bob, push: true });
  for (const l of img.layers) {
    const bytes = (await import('node:fs')).readFileSync(join(layout.dir, 'blobs/sha256', l.digest.slice(7)));
    await store.writeBuffer(bytes, l);
    await pushRepo.pushBlob(l, (s, e) => Readable.from([bytes.subarray(s, e)]));
  }
  await pushRepo.pushBlob({ digest: img.configDigest, size: img.config.length }, () => Readable.from([img.config]));
  await pushRepo.putManifest('v1', img.manifest, 'application/vnd.oci.image.manifest.v1+json');
  assert.ok(ts.requests.some((r) => r.user === 'bob' && r.scopes.includes('repository:public/app:pull,push')));

  // Anonymous pull of a public repository: a token without credentials.
  const n = ts.requests.length;
  const anon = await registry.repository({ domain: reg.host, path: 'public/app' }).getManifest('v1');
  assert.equal(anon.digest, img.manifestDigest);
  assert.deepEqual(ts.requests.slice(n).map((r) => [r.user, r.scopes]), [[undefined, ['repository:public/app:pull']]]);
  // The token is cached: a second pull asks the token server nothing.
  await registry.repository({ domain: reg.host, path: 'public/app' }).getManifest('v1');
  assert.equal(ts.requests.length, n + 1);

  // Anonymous on a private repository: the registry refuses the anonymous token.
  await assert.rejects(registry.repository({ domain: reg.host, path: 'private/app' }).getManifest('v1'), (err: Error) => {
    assert.match(err.message, /pull access denied for 127\.0\.0\.1:\d+\/private\/app/);
    return true;
  });

  // Login: offline token → IdentityToken; then pulls with the identity token (OAuth2 POST).
  const res = await registry.login({ ...bob, serveraddress: reg.host });
  assert.equal(res.Status, 'Login Succeeded');
  assert.ok(res.IdentityToken.length > 0);
  assert.ok(ts.requests.some((r) => r.offline === true && r.user === 'bob'));
  const viaRefresh = await registry.repository({ domain: reg.host, path: 'public/app' }, { auth: { identitytoken: res.IdentityToken } }).getManifest('v1');
  assert.equal(viaRefresh.digest, img.manifestDigest);
  assert.ok(ts.requests.some((r) => r.method === 'POST' && r.grant === 'refresh_token' && r.user === 'bob'));

  await assert.rejects(registry.login({ username: 'bob', password: 'nope', serveraddress: reg.host }), (err: Error) => {
    assert.equal(errorKind(err), 'Unauthorized');
    assert.equal(err.message, `Get "http://${reg.host}/v2/": unauthorized: incorrect username or password`);
    return true;
  });
});

test('TLS: insecure loopback pulls over https without verification; certs.d CAs verify', async () => {
  const ca = makeTestCa(join(tmp, 'ca'));
  const reg = await startRegistry({ tls: { cert: ca.cert, key: ca.key } });
  cleanups.push(() => reg.stop());
  skopeoPush(layout, 'v1', `${reg.host}/tls/app:v1`);
  const registry = new Registry({});
  cleanups.push(() => registry.close());
  const repo = registry.repository({ domain: reg.host, path: 'tls/app' });
  assert.equal((await repo.getManifest('v1')).digest, img.manifestDigest);
  assert.equal(repo.endpoint?.url, `https://${reg.host}`);

  // certs.d/<host:port>/ca.crt becomes a trusted CA for that host.
  const certsDir = join(tmp, 'certs.d');
  mkdirSync(join(certsDir, reg.host), { recursive: true });
  copyFileSync(ca.caCert, join(certsDir, reg.host, 'ca.crt'));
  const [ep] = await new EndpointResolver({ certsDirs: [certsDir] }).endpoints(reg.host, 'pull');
  assert.ok(ep!.tls?.ca?.some((c) => c.includes('BEGIN CERTIFICATE')));
  const http = new HttpClient();
  try {
    const ok = await http.send({ method: 'GET', url: `https://${reg.host}/v2/`, tls: { ...ep!.tls!, verify: true } });
    ok.body.resume();
    assert.equal(ok.status, 200);
    await assert.rejects(http.send({ method: 'GET', url: `https://${reg.host}/v2/`, tls: { verify: true } }), /certificate/);
  } finally {
    http.close();
  }
  // A client certificate without its key is a configuration error.
  mkdirSync(join(certsDir, 'other:5000'), { recursive: true });
  copyFileSync(ca.cert, join(certsDir, 'other:5000', 'client.cert'));
  await assert.rejects(new EndpointResolver({ certsDirs: [certsDir] }).endpoints('other:5000', 'pull'), /missing key client\.key/);
});

test('token cache: keyed by scope and credentials, refetched after expiry', async () => {
  const ts = await startTokenServer({ users: { carol: 'pw' }, expiresIn: 30 });
  cleanups.push(() => ts.stop());
  const http = new HttpClient();
  cleanups.push(() => http.close());
  let now = Date.now();
  const cache = new TokenCache(http, () => now);
  const ch = { scheme: 'bearer', params: { realm: ts.realm, service: ts.service } };
  const a = await cache.token(ch, { scopes: ['repository:public/x:pull'] });
  assert.equal((await cache.token(ch, { scopes: ['repository:public/x:pull'] })).token, a.token);
  assert.equal(ts.requests.length, 1);
  await cache.token(ch, { scopes: ['repository:public/y:pull'] });
  await cache.token(ch, { scopes: ['repository:public/x:pull'], auth: { username: 'carol', password: 'pw' } });
  assert.equal(ts.requests.length, 3);
  assert.equal(ts.requests[2]!.user, 'carol');
  // expires_in under 60 s counts as 60 s (Docker's minimum).
  now += 50_000;
  await cache.token(ch, { scopes: ['repository:public/x:pull'] });
  assert.equal(ts.requests.length, 3);
  now += 20_000;
  await cache.token(ch, { scopes: ['repository:public/x:pull'] });
  assert.equal(ts.requests.length, 4);
});
