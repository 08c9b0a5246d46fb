// Registries end to end: docker CLI v28 → berthd → a real docker-registry on
// 127.0.0.1 (plain, htpasswd, token auth). Images are put there by skopeo, so
// pulls read what another tool wrote; pushes are checked with skopeo.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';
import { busyboxTar } from '../helpers/fixtures.js';
import {
  OciLayout, makeTar, skopeoPush, startRegistry, startTokenServer, freePort,
  type BuiltImage, type RunningRegistry, type TokenServer,
} from '../distribution/helpers.js';

let d: TestDaemon;
let reg: RunningRegistry;
let layout: OciLayout;
let bb: BuiltImage;
let multi: { digest: string };
const cleanups: (() => Promise<void> | void)[] = [];

before(async () => {
  reg = await startRegistry();
  cleanups.push(() => reg.stop());
  layout = new OciLayout();
  cleanups.push(() => layout.remove());
  bb = layout.image([readFileSync(busyboxTar())], { cmd: ['sh'] });
  layout.tag('1.0', bb);
  skopeoPush(layout, '1.0', `${reg.host}/team/busybox:1.0`);
  // A multi-arch index: busybox for amd64, a one-file image for arm64.
  const arm = layout.image([makeTar({ 'arch.txt': 'arm64\n' })], { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
  multi = layout.tagIndex('multi', [bb, arm]);
  skopeoPush(layout, 'multi', `${reg.host}/team/multi:1`, { all: true });
  // An address pool of its own: the default pools may be taken by other daemons on this host.
  d = await startDaemon({ config: { 'default-address-pools': [{ base: '10.213.0.0/16', size: 24 }] } });
  cleanups.push(() => stopDaemon(d));
  await importBusybox(d);
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The lines of a docker output, trailing whitespace dropped. */
const lines = (s: string) => s.split('\n').map((l) => l.trimEnd()).filter(Boolean);

function skopeoInspect(ref: string, creds?: string): { Digest: string; Layers: string[] } {
  const args = ['inspect', '--tls-verify=false'];
  if (creds) args.push('--creds', creds);
  args.push(`docker://${ref}`);
  return JSON.parse(execFileSync('skopeo', args, { env: { ...process.env, HOME: layout.dir } }).toString());
}

test('pull an image skopeo pushed: progress, images, run, up to date, by digest', async () => {
  const ref = `${reg.host}/team/busybox:1.0`;
  const p = await d.docker(['pull', ref]);
  assert.equal(p.code, 0, p.stderr);
  const out = lines(p.stdout);
  const layerId = bb.layers[0]!.digest.slice(7, 19);
  assert.equal(out[0], '1.0: Pulling from team/busybox');
  assert.deepEqual(out.filter((l) => l.startsWith(`${layerId}: `)).filter((l) => !/Downloading|Extracting|Waiting/.test(l)),
    [`${layerId}: Pulling fs layer`, `${layerId}: Verifying Checksum`, `${layerId}: Download complete`, `${layerId}: Pull complete`]);
  assert.deepEqual(out.slice(-3), [`Digest: ${bb.manifestDigest}`, `Status: Downloaded newer image for ${ref}`, ref]);

  const imgs = await d.docker(['images', '--digests', '--format', '{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}}']);
  assert.match(imgs.stdout, new RegExp(`^${reg.host}/team/busybox 1\\.0 ${bb.manifestDigest} ${bb.configDigest.slice(7, 19)}$`, 'm'));
  const run = await d.docker(['run', '--rm', ref, 'sh', '-c', 'echo pulled-and-running']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'pulled-and-running\n');

  // Again: nothing to download, and Docker says so without listing layers.
  const again = await d.docker(['pull', ref]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(lines(again.stdout), ['1.0: Pulling from team/busybox', `Digest: ${bb.manifestDigest}`, `Status: Image is up to date for ${ref}`, ref]);

  // By digest, under another name: same image, no new layers.
  const byDigest = `${reg.host}/team/busybox@${bb.manifestDigest}`;
  const dg = await d.docker(['pull', byDigest]);
  assert.equal(dg.code, 0, dg.stderr);
  assert.equal(lines(dg.stdout)[0], `${bb.manifestDigest}: Pulling from team/busybox`);
  assert.deepEqual(lines(dg.stdout).slice(-2), [`Status: Image is up to date for ${byDigest}`, byDigest]);
  const insp = await d.docker(['image', 'inspect', '-f', '{{.Id}} {{json .RepoDigests}}', byDigest]);
  assert.equal(insp.stdout.trim(), `${bb.configDigest} ["${byDigest}"]`);
});

test('--platform picks the entry of a multi-arch index', async () => {
  const ref = `${reg.host}/team/multi:1`;
  const p = await d.docker(['pull', '--platform', 'linux/arm64', ref]);
  assert.equal(p.code, 0, p.stderr);
  assert.deepEqual(lines(p.stdout).slice(-3), [`Digest: ${multi.digest}`, `Status: Downloaded newer image for ${ref}`, ref]);
  const arch = await d.docker(['image', 'inspect', '-f', '{{.Os}}/{{.Architecture}}/{{.Variant}}', ref]);
  assert.equal(arch.stdout.trim(), 'linux/arm64/v8');
  // The host's platform: the amd64 entry, which is the busybox image pulled before.
  const host = await d.docker(['pull', ref]);
  assert.equal(host.code, 0, host.stderr);
  const id = await d.docker(['image', 'inspect', '-f', '{{.Id}} {{.Architecture}}', ref]);
  assert.equal(id.stdout.trim(), `${bb.configDigest} amd64`);
  const none = await d.docker(['pull', '--platform', 'linux/s390x', ref]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no matching manifest for linux\/s390x in the manifest list entries/);
});

test('tag and push: Pushed, digest line, skopeo sees it, pushing again finds the layers', async () => {
  const ref = `${reg.host}/mine/box:2`;
  assert.equal((await d.docker(['tag', 'busybox', ref])).code, 0);
  const p = await d.docker(['push', ref]);
  assert.equal(p.code, 0, p.stderr);
  const out = lines(p.stdout);
  assert.equal(out[0], `The push refers to repository [${reg.host}/mine/box]`);
  const pushed = out.filter((l) => /: Pushed$/.test(l));
  assert.equal(pushed.length, 1, p.stdout);
  const m = /^2: digest: (sha256:[a-f0-9]{64}) size: (\d+)$/.exec(out[out.length - 1]!);
  assert.ok(m, p.stdout);
  const seen = skopeoInspect(ref);
  assert.equal(seen.Digest, m[1]);
  assert.equal(seen.Layers.length, 1);
  const digests = await d.docker(['images', '--digests', '--format', '{{.Repository}} {{.Digest}}', `${reg.host}/mine/box`]);
  assert.equal(digests.stdout.trim(), `${reg.host}/mine/box ${m[1]}`);

  const again = await d.docker(['push', ref]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^[a-f0-9]{12}: Layer already exists$/m);
  assert.doesNotMatch(again.stdout, /Pushed/);
  assert.equal(lines(again.stdout).at(-1), `2: digest: ${m[1]} size: ${m[2]}`);

  // The pulled busybox, pushed to another repository of the same registry, is mounted, not uploaded.
  const other = `${reg.host}/mine/copy:1`;
  assert.equal((await d.docker(['tag', `${reg.host}/team/busybox:1.0`, other])).code, 0);
  const mnt = await d.docker(['push', other]);
  assert.equal(mnt.code, 0, mnt.stderr);
  assert.match(mnt.stdout, /: Mounted from team\/busybox$/m);
  assert.equal(lines(mnt.stdout).at(-1), `1: digest: ${bb.manifestDigest} size: ${bb.manifest.length}`);
});

test('pull --all-tags and push --all-tags', async () => {
  const a = layout.image([makeTar({ 'a.txt': 'a\n' })]);
  layout.tag('a', a);
  const b = layout.image([makeTar({ 'b.txt': 'b\n' })]);
  layout.tag('b', b);
  skopeoPush(layout, 'a', `${reg.host}/team/tags:1`);
  skopeoPush(layout, 'b', `${reg.host}/team/tags:2`);
  const name = `${reg.host}/team/tags`;
  const p = await d.docker(['pull', '--all-tags', name]);
  assert.equal(p.code, 0, p.stderr);
  const out = lines(p.stdout);
  // Each tag in the registry's order (not necessarily sorted), one status line at the end.
  const seq = out.filter((l) => /Pulling from|^Digest|^Status/.test(l));
  const pairs = [seq.slice(0, 2).join(' '), seq.slice(2, 4).join(' ')].sort();
  assert.deepEqual(pairs, [`1: Pulling from team/tags Digest: ${a.manifestDigest}`, `2: Pulling from team/tags Digest: ${b.manifestDigest}`]);
  assert.equal(seq[4], `Status: Downloaded newer image for ${name}`);
  assert.equal(out.at(-1), name);
  const tags = await d.docker(['images', '--format', '{{.Tag}} {{.ID}}', name]);
  assert.deepEqual(lines(tags.stdout).sort(), [`1 ${a.configDigest.slice(7, 19)}`, `2 ${b.configDigest.slice(7, 19)}`]);
  const again = await d.docker(['pull', '-a', name]);
  assert.equal(lines(again.stdout).at(-2), `Status: Image is up to date for ${name}`);
  const none = await d.docker(['pull', '-a', `${reg.host}/team/nothing-here`]);
  assert.equal(none.code, 1);
  assert.equal(none.stderr.trim(), `Error response from daemon: repository ${reg.host}/team/nothing-here not found: name unknown: repository name not known to registry`);

  const dest = `${reg.host}/mine/alltags`;
  await tagged(`${dest}:x`);
  await tagged(`${dest}:y`);
  const push = await d.docker(['push', '--all-tags', dest]);
  assert.equal(push.code, 0, push.stderr);
  const digestLines = lines(push.stdout).filter((l) => / digest: /.test(l));
  assert.equal(digestLines.length, 2, push.stdout);
  assert.match(digestLines[0]!, /^x: digest: sha256:[a-f0-9]{64} size: \d+$/);
  assert.match(digestLines[1]!, /^y: digest: sha256:[a-f0-9]{64} size: \d+$/);
  assert.equal(skopeoInspect(`${dest}:y`).Digest, skopeoInspect(`${dest}:x`).Digest);
});

test('registry-mirrors: Docker Hub names are pulled through the mirror', async () => {
  const mirror = await startRegistry();
  cleanups.push(() => mirror.stop());
  skopeoPush(layout, '1.0', `${mirror.host}/library/busybox:1.0`);
  const m = await startDaemon({ config: { 'default-address-pools': [{ base: '10.213.0.0/16', size: 24 }], 'registry-mirrors': [`http://${mirror.host}`] } });
  cleanups.push(() => stopDaemon(m));
  const info = await m.docker(['info', '--format', '{{json .RegistryConfig.Mirrors}}']);
  assert.match(info.stdout, new RegExp(`"http://${mirror.host.replace(/\./g, '\\.')}/?"`));
  const p = await m.docker(['pull', 'busybox:1.0']);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(lines(p.stdout)[0], '1.0: Pulling from library/busybox');
  assert.deepEqual(lines(p.stdout).slice(-3), [`Digest: ${bb.manifestDigest}`, 'Status: Downloaded newer image for busybox:1.0', 'docker.io/library/busybox:1.0']);
  const r = await m.docker(['run', '--rm', 'busybox:1.0', 'echo', 'via mirror']);
  assert.equal(r.stdout, 'via mirror\n');
  // Not on the mirror: Docker falls back to the Hub itself (unreachable from here, or without this image).
  const miss = await m.docker(['pull', 'busybox:not-on-mirror'], { timeout: 90_000 });
  assert.equal(miss.code, 1);
  assert.match(miss.stderr, /^Error response from daemon: /);
});

test('docker run of an image not held locally pulls it first', async () => {
  const ref = `${reg.host}/team/runme:1`;
  skopeoPush(layout, '1.0', ref);
  const r = await d.docker(['run', '--rm', ref, 'echo', 'ran after pull']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'ran after pull\n');
  const err = lines(r.stderr);
  assert.equal(err[0], `Unable to find image '${ref}' locally`);
  assert.equal(err[1], '1: Pulling from team/runme');
  assert.equal(err.at(-1), `Status: Downloaded newer image for ${ref}`);

  const missing = await d.docker(['run', '--rm', `${reg.host}/team/missing:1`, 'true']);
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, new RegExp(`^Unable to find image '${reg.host}/team/missing:1' locally$`, 'm'));
  assert.match(missing.stderr, new RegExp(`docker: Error response from daemon: manifest for ${reg.host}/team/missing:1 not found: manifest unknown: manifest unknown`));
});

test('errors: unknown tag, registry down, malformed X-Registry-Auth', async () => {
  const unknown = await d.docker(['pull', `${reg.host}/team/busybox:nope`]);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr.trim(), `Error response from daemon: manifest for ${reg.host}/team/busybox:nope not found: manifest unknown: manifest unknown`);

  const port = await freePort();
  const t0 = Date.now();
  const down = await d.docker(['pull', `127.0.0.1:${port}/team/busybox:1`]);
  assert.equal(down.code, 1);
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  assert.match(down.stderr, new RegExp(`^Error response from daemon: Get "http://127\\.0\\.0\\.1:${port}/v2/": dial tcp 127\\.0\\.0\\.1:${port}: connect: connection refused$`, 'm'));

  const pushDown = await d.docker(['push', (await tagged(`127.0.0.1:${port}/team/x:1`))]);
  assert.equal(pushDown.code, 1);
  assert.match(pushDown.stderr, /connect: connection refused/);

  // Docker ignores an undecodable X-Registry-Auth on pull (and pulls anonymously).
  const res = await rawPull(`${reg.host}/team/busybox`, '1.0', 'not%base64{');
  assert.equal(res.status, 200);
  assert.match(res.body, /Status: Image is up to date for/);
  const junk = await rawPull(`${reg.host}/team/busybox`, '1.0', Buffer.from('[1,2]').toString('base64'));
  assert.equal(junk.status, 200);
  assert.match(junk.body, /Status: Image is up to date for/);
});

test('login, private pull and push, logout (htpasswd)', async () => {
  const priv = await startRegistry({ htpasswd: [{ user: 'alice', password: 's3cret' }] });
  cleanups.push(() => priv.stop());
  skopeoPush(layout, '1.0', `${priv.host}/private/app:v1`, { creds: 'alice:s3cret' });
  const ref = `${priv.host}/private/app:v1`;

  const anon = await d.docker(['pull', ref]);
  assert.equal(anon.code, 1);
  assert.equal(anon.stderr.trim(), `Error response from daemon: pull access denied for ${priv.host}/private/app, repository does not exist or may require 'docker login': unauthorized: authentication required`);

  const bad = await d.docker(['login', priv.host, '-u', 'alice', '-p', 'wrong']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, new RegExp(`Error response from daemon: login attempt to http://${priv.host.replace(/\./g, '\\.')}/v2/ failed with status: 401 Unauthorized`));

  const ok = await d.docker(['login', priv.host, '-u', 'alice', '--password-stdin'], { input: 's3cret\n' });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^Login Succeeded$/m);
  const cfg = JSON.parse(readFileSync(join(d.env.DOCKER_CONFIG!, 'config.json'), 'utf8'));
  assert.equal(cfg.auths[priv.host].auth, Buffer.from('alice:s3cret').toString('base64'));

  const p = await d.docker(['pull', ref]);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(lines(p.stdout).at(-1), ref);
  const pushRef = `${priv.host}/private/mine:1`;
  const push = await d.docker(['push', await tagged(pushRef)]);
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stdout, /^1: digest: sha256:[a-f0-9]{64} size: \d+$/m);
  assert.ok(skopeoInspect(pushRef, 'alice:s3cret').Digest);

  const out = await d.docker(['logout', priv.host]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, new RegExp(`Removing login credentials for ${priv.host.replace(/\./g, '\\.')}`));
  const denied = await d.docker(['push', await tagged(`${priv.host}/private/mine:2`)]);
  assert.equal(denied.code, 1);
  assert.equal(denied.stderr.trim(), 'unauthorized: authentication required');
  assert.equal((await d.docker(['rmi', ref])).code, 0);
  assert.equal((await d.docker(['pull', ref])).code, 1);

  // -u -p works too (with Docker's warning).
  const pw = await d.docker(['login', priv.host, '-u', 'alice', '-p', 's3cret']);
  assert.equal(pw.code, 0, pw.stderr);
  assert.match(pw.stdout, /Login Succeeded/);
  assert.match(pw.stderr, /Using --password via the CLI is insecure/);
  await d.docker(['logout', priv.host]);
});

test('token auth: login stores an identity token, push and pull with it, anonymous public pull', async () => {
  const ts: TokenServer = await startTokenServer({ users: { bob: 'hunter2' } });
  cleanups.push(() => ts.stop());
  const treg = await startRegistry({ token: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: ts.rootCertBundle } });
  cleanups.push(() => treg.stop());

  const bad = await d.docker(['login', treg.host, '-u', 'bob', '-p', 'nope']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Error response from daemon: .*incorrect username or password/);

  const ok = await d.docker(['login', treg.host, '-u', 'bob', '--password-stdin'], { input: 'hunter2' });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /Login Succeeded/);
  const cfg = JSON.parse(readFileSync(join(d.env.DOCKER_CONFIG!, 'config.json'), 'utf8'));
  assert.ok(cfg.auths[treg.host].identitytoken, JSON.stringify(cfg.auths[treg.host]));

  const pub = `${treg.host}/public/box:1`;
  const push = await d.docker(['push', await tagged(pub)]);
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stdout, /: Pushed$/m);
  // The daemon traded the refresh token for a push token (OAuth2, as Docker does after a login).
  assert.ok(ts.requests.some((r) => r.method === 'POST' && r.grant === 'refresh_token' && r.user === 'bob' && r.scopes.includes('repository:public/box:pull,push')));
  const privRef = `${treg.host}/private/box:1`;
  assert.equal((await d.docker(['push', await tagged(privRef)])).code, 0);

  assert.equal((await d.docker(['logout', treg.host])).code, 0);
  assert.equal((await d.docker(['rmi', pub, privRef])).code, 0);
  const anonPub = await d.docker(['pull', pub]);
  assert.equal(anonPub.code, 0, anonPub.stderr);
  const anonPriv = await d.docker(['pull', privRef]);
  assert.equal(anonPriv.code, 1);
  assert.match(anonPriv.stderr, /pull access denied for .*private\/box, repository does not exist or may require 'docker login'/);
});

/** Stops a test daemon and removes its data, and the bridge and nft table it leaves behind (ours). */
async function stopDaemon(t: TestDaemon): Promise<void> {
  const bridge = JSON.parse(readFileSync(join(t.dataRoot, '..', 'daemon.json'), 'utf8')).bridge as string;
  await destroyDaemon(t);
  for (const cmd of [['ip', 'link', 'del', bridge], ['nft', 'delete', 'table', 'ip', bridge]]) {
    try { execFileSync(cmd[0]!, cmd.slice(1), { stdio: 'ignore' }); } catch { /* already gone */ }
  }
}

/** Tags the local busybox as `ref` and returns it. */
async function tagged(ref: string): Promise<string> {
  const r = await d.docker(['tag', 'busybox', ref]);
  assert.equal(r.code, 0, r.stderr);
  return ref;
}

/** POST /images/create with a raw X-Registry-Auth header, as a non-CLI client might send. */
async function rawPull(image: string, tag: string, auth: string): Promise<{ status: number; body: string }> {
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = http.request({
      socketPath: d.socket, method: 'POST', path: `/v1.47/images/create?fromImage=${encodeURIComponent(image)}&tag=${tag}`,
      headers: { 'X-Registry-Auth': auth },
    }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('GET /distribution/{name}/json: descriptor and platforms without a pull (docker-py get_registry_data)', async () => {
  const one = await d.api('GET', `/distribution/${reg.host}/team/busybox:1.0/json`);
  assert.equal(one.status, 200, JSON.stringify(one.body));
  assert.equal(one.body.Descriptor.digest, bb.manifestDigest);
  assert.equal(one.body.Descriptor.size, bb.manifest.length);
  assert.deepEqual(one.body.Platforms, [{ architecture: 'amd64', os: 'linux' }]);
  const idx = await d.api('GET', `/distribution/${reg.host}/team/multi:1/json`);
  assert.equal(idx.status, 200);
  assert.equal(idx.body.Descriptor.digest, multi.digest);
  assert.deepEqual(idx.body.Platforms.map((p: { os: string; architecture: string; variant?: string }) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`), ['linux/amd64', 'linux/arm64/v8']);
  const missing = await d.api('GET', `/distribution/${reg.host}/team/busybox:nope/json`);
  assert.equal(missing.status, 404);
  assert.match(missing.body.message, /not found/);
  // docker-py, as a user calls it.
  const py = `import docker, sys\nc = docker.DockerClient(base_url=sys.argv[1])\nr = c.images.get_registry_data(sys.argv[2])\nprint(r.id, r.has_platform('linux/arm64/v8'), r.has_platform('linux/s390x'))`;
  const out = execFileSync('/usr/bin/python3', ['-c', py, d.host, `${reg.host}/team/multi:1`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(out.trim(), `${multi.digest} True False`);
});
