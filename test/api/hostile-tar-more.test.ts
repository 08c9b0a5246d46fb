// Hostile tars beyond test/compat/{cp,build}.test.ts and test/images/archive.test.ts: build contexts that
// reach for host files through -f, symlinks or COPY, docker cp targets that are symlinks, images/load
// manifests that point outside the archive, device/setuid/duplicate layer entries, gzip bombs and lying
// tar headers. Nothing lands outside the data root or the container, errors are 4xx, berthd stays up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, writeFileSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startDaemon, destroyDaemon, importBusybox, type TestDaemon } from '../helpers/daemon.js';
import { makeTar } from '../snapshots/tarkit.js';

let d: TestDaemon;
let outside: string;
let cid: string;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const q = encodeURIComponent;

function send(method: string, target: string, body: Buffer): Promise<{ status: number; text: string; json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, method, path: target, headers: { 'Content-Type': 'application/x-tar', 'Content-Length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: any;
        try { json = JSON.parse(text); } catch { /* a JSON stream or nothing */ }
        resolve({ status: res.statusCode!, text, json });
      });
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${target}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The last message of a JSON-lines stream (build, load, import). */
const lastMessage = (text: string) => JSON.parse(text.trim().split(/\r?\n/).pop()!);

async function docker(args: string[]): Promise<string> {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  d = await startDaemon();
  await importBusybox(d);
  outside = mkdtempSync(join(tmpdir(), 'berth-hostile-outside-'));
  writeFileSync(join(outside, 'Dockerfile'), 'FROM busybox\nLABEL leaked=yes\n');
  writeFileSync(join(outside, 'secret'), 'host-secret\n');
  cid = (await docker(['run', '-d', '--name', 'tgt', 'busybox', 'sleep', '1000'])).trim();
});

after(async () => {
  if (outside) {
    // The host directory is as the test made it: nothing added, nothing changed.
    assert.deepEqual(readdirSync(outside).sort(), ['Dockerfile', 'secret']);
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'host-secret\n');
    rmSync(outside, { recursive: true, force: true });
  }
  if (d) {
    assert.equal((await d.api('GET', '/_ping')).status, 200, 'berthd still answers');
    assert.doesNotMatch(readFileSync(d.logFile, 'utf8'), /handler failed/, 'no request ended in a server error');
    await destroyDaemon(d);
  }
});

test('build: -f, a symlinked Dockerfile and COPY never read a host file', async () => {
  const DF = 'FROM busybox\n';
  const build = (tag: string, entries: Parameters<typeof makeTar>[0], query = '') => makeTar(entries).then((t) => send('POST', `/build?t=${tag}${query}`, t));
  // The Dockerfile is looked up inside the context, whatever -f says: `../Dockerfile` is the context's own
  // (scoped to the context root as dockerd does), a host path is not found.
  const own = await build('f1', [{ name: 'Dockerfile', data: DF }], `&dockerfile=${q('../Dockerfile')}`);
  assert.equal(own.status, 200, own.text);
  assert.equal((await d.api('GET', '/images/f1/json')).body.Config.Labels?.leaked, undefined, 'not the host Dockerfile');
  for (const [tag, df] of [['f2', join(outside, 'Dockerfile')], ['f3', `../../../../../..${outside}/Dockerfile`]] as const) {
    const r = await build(tag, [{ name: 'Dockerfile', data: DF }], `&dockerfile=${q(df)}`);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.message, `Cannot locate specified Dockerfile: ${df}`);
  }
  // A Dockerfile that is a symlink to a host file (absolute, or climbing) is not followed out of the context.
  for (const link of [join(outside, 'Dockerfile'), `../../../../../../..${outside}/Dockerfile`]) {
    const r = await build('f4', [{ name: 'Dockerfile', type: 'symlink', linkname: link }]);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.message, 'Cannot locate specified Dockerfile: Dockerfile');
  }
  // COPY through a symlink (to a file, to a directory), of a climbing path or an absolute one: not found in the context.
  const copies: [string, Parameters<typeof makeTar>[0]][] = [
    ['COPY link /got', [{ name: 'link', type: 'symlink', linkname: join(outside, 'secret') }]],
    ['COPY dl/secret /got', [{ name: 'dl', type: 'symlink', linkname: outside }]],
    ['COPY rel/secret /got', [{ name: 'rel', type: 'symlink', linkname: `../../../../../../..${outside}` }]],
    [`COPY ../../../../../..${outside}/secret /got`, []],
    [`ADD ${outside}/secret /got`, []],
  ];
  for (const [step, extra] of copies) {
    const r = await build('c1', [{ name: 'Dockerfile', data: `${DF}${step}\n` }, ...extra]);
    assert.equal(r.status, 200, r.text);
    assert.match(lastMessage(r.text).error, /(COPY|ADD) failed: file not found in build context/, step);
  }
  assert.equal((await d.api('GET', '/images/c1/json')).status, 404, 'no image from a failed COPY');
  // Hardlinks out of the context are refused before any step runs.
  for (const linkname of ['../../../etc/passwd', '/etc/passwd']) {
    const r = await build('h1', [{ name: 'Dockerfile', data: DF }, { name: 'hl', type: 'link', linkname }]);
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.message, /escapes the layer root|target is not in the layer/);
  }
  for (const body of [Buffer.from('not a tar '.repeat(100)), Buffer.alloc(0)]) {
    const r = await send('POST', '/build?t=g1', body);
    assert.equal(r.status, 400, r.text);
  }
});

test('build: .dockerignore tricks, device nodes and many files stay inside the image', async () => {
  // A .dockerignore that is a symlink to a host file, and one full of odd patterns: COPY . copies the context only.
  const ign = await send('POST', '/build?t=ign', await makeTar([
    { name: 'Dockerfile', data: 'FROM busybox\nCOPY . /ctx\n' },
    { name: '.dockerignore', type: 'symlink', linkname: join(outside, 'secret') },
    { name: 'ignored-by-nothing', data: 'ctx file\n' },
  ]));
  assert.equal(ign.status, 200, ign.text);
  assert.ok(lastMessage(ign.text).stream?.startsWith('Successfully tagged'), ign.text);
  const odd = await send('POST', '/build?t=odd', await makeTar([
    { name: 'Dockerfile', data: 'FROM busybox\nCOPY . /ctx\n' },
    { name: '.dockerignore', data: 'Dockerfile\n!../\n..\n/\n[\n**/../**\n' },
    { name: 'dev0', type: 'character-device', devmajor: 1, devminor: 3 },
  ]));
  assert.equal(odd.status, 200, odd.text);
  const ls = await docker(['run', '--rm', 'ign', 'sh', '-c', 'ls -A /ctx; cat /ctx/ignored-by-nothing; readlink /ctx/.dockerignore; cat /ctx/.dockerignore 2>&1 || true']);
  assert.doesNotMatch(ls, /host-secret/, 'the host file is not in the image');
  assert.match(ls, /ctx file/);
  // Thousands of files: done in bounded time.
  const many: Parameters<typeof makeTar>[0] = [{ name: 'Dockerfile', data: 'FROM busybox\nCOPY . /ctx\n' }];
  for (let i = 0; i < 3000; i++) many.push({ name: `f/${i}`, data: '' });
  const t0 = Date.now();
  const big = await send('POST', '/build?t=many', await makeTar(many));
  assert.equal(big.status, 200, big.text);
  assert.ok(Date.now() - t0 < 30_000, `3000-file context took ${Date.now() - t0} ms`);
  assert.equal((await docker(['run', '--rm', 'many', 'sh', '-c', 'ls /ctx/f | wc -l'])).trim(), '3000');
});

test('PUT archive: symlinked targets, climbing path=, noOverwriteDirNonDir, devices, bombs, lies', async () => {
  await docker(['exec', 'tgt', 'sh', '-c', `mkdir -p /tmp/real && ln -s ${outside} /tmp/abs && ln -s ../../../../../..${outside} /tmp/rel`]);
  const put = (path: string, body: Buffer, extra = '') => send('PUT', `/containers/${cid}/archive?path=${q(path)}${extra}`, body);
  const one = await makeTar([{ name: 'dropped', data: 'x' }]);
  // path= through a symlink to a host directory resolves inside the container, where it does not exist.
  for (const p of ['/tmp/abs', '/tmp/rel', '/tmp/abs/', `../../../../../../..${outside}`]) {
    const r = await put(p, one);
    assert.equal(r.status, 404, `${p}: ${r.text}`);
    assert.match(r.json.message, /^Could not find the file .* in container /);
  }
  // Raw %2e%2e%2f in the query is the same path, decoded.
  const enc = await send('PUT', `/containers/${cid}/archive?path=%2e%2e%2f%2e%2e%2f%2e%2e${q(outside)}`, one);
  assert.equal(enc.status, 404, enc.text);
  // noOverwriteDirNonDir with dockerd's booleans (yes is true): neither replacement happens.
  for (const flag of ['1', 'true', 'yes']) {
    const a = await put('/', await makeTar([{ name: 'etc', data: 'x' }]), `&noOverwriteDirNonDir=${flag}`);
    assert.equal(a.status, 400, a.text);
    assert.match(a.json.message, /^cannot overwrite directory "\/etc" with non-directory/);
    const b = await put('/etc', await makeTar([{ name: 'passwd', type: 'directory' }]), `&noOverwriteDirNonDir=${flag}`);
    assert.equal(b.status, 400, b.text);
    assert.match(b.json.message, /^cannot overwrite non-directory "\/etc\/passwd" with directory/);
  }
  assert.match(await docker(['exec', 'tgt', 'head', '-1', '/etc/passwd']), /^root:/);
  // Device nodes, setuid files and duplicate names land in the container (as with dockerd), last entry wins.
  const odd = await put('/tmp', await makeTar([
    { name: 'mydev', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o600 },
    { name: 'suid', data: 'x', mode: 0o4755 },
    { name: 'dup', data: 'a' }, { name: 'dup', type: 'directory' }, { name: 'dup/x', data: 'b' }, { name: 'dup', data: 'last' },
  ]));
  assert.equal(odd.status, 200, odd.text);
  assert.equal(await docker(['exec', 'tgt', 'sh', '-c', 'stat -c "%F %a" /tmp/mydev /tmp/suid; cat /tmp/dup']), 'block special file 600\nregular file 4755\nlast');
  // A gzip bomb (50 MB of zeros in 50 KB) is unpacked in bounded time; a truncated tar or gzip is a 400.
  const bomb = gzipSync(await makeTar([{ name: 'zeros', data: Buffer.alloc(50 * 1024 * 1024) }]), { level: 9 });
  const t0 = Date.now();
  const b = await put('/tmp', bomb);
  assert.equal(b.status, 200, b.text);
  assert.ok(Date.now() - t0 < 20_000, `bomb took ${Date.now() - t0} ms`);
  await docker(['exec', 'tgt', 'rm', '/tmp/zeros']);
  const truncated = (await makeTar([{ name: 'liar', data: Buffer.alloc(10_000) }])).subarray(0, 2048);
  assert.equal((await put('/tmp', truncated)).status, 400);
  const cutGz = gzipSync(await makeTar([{ name: 'r', data: randomBytes(100_000) }])).subarray(0, 5000);
  assert.equal((await put('/tmp', cutGz)).status, 400);
  assert.equal(await docker(['exec', 'tgt', 'ls', '/tmp/real']), '', 'nothing stray in the container either');
});

test('images/load: manifests pointing outside, odd layers, a bounded bomb, lying headers', async () => {
  const layer = await makeTar([{ name: 'hello', data: 'hi' }]);
  const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [`sha256:${sha(layer)}`] } }));
  const archive = (manifest: unknown) => makeTar([
    { name: `${sha(cfg)}.json`, data: cfg }, { name: 'l/layer.tar', data: layer }, { name: 'manifest.json', data: JSON.stringify(manifest) },
  ]);
  const load = async (body: Buffer) => send('POST', '/images/load', body);
  const refused: [unknown, RegExp][] = [
    [[{ Config: `../../../..${outside}/secret`, RepoTags: ['l1:x'], Layers: ['l/layer.tar'] }], /unsafe path/],
    [[{ Config: '/etc/passwd', RepoTags: ['l1:x'], Layers: ['l/layer.tar'] }], /unsafe path "\/etc\/passwd"/],
    [[{ Config: `${sha(cfg)}.json`, RepoTags: ['l1:x'], Layers: ['../l/layer.tar'] }], /unsafe path "\.\.\/l\/layer\.tar"/],
    [[{ Config: `${sha(cfg)}.json`, RepoTags: ['l1:x'], Layers: [join(outside, 'secret')] }], /unsafe path/],
    [{ Config: 1 }, /manifest.json is not a list/],
    [[{ Config: 5, RepoTags: 'x', Layers: {} }], /malformed manifest.json entry/],
    [[null], /malformed manifest.json entry/],
  ];
  for (const [m, re] of refused) {
    const r = await load(await archive(m));
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.message, re);
  }
  // A tar header that claims a huge size and a stream that ends: 400, not a hang.
  const liar = Buffer.from(await makeTar([{ name: 'manifest.json', data: Buffer.alloc(4000, 0x20) }]));
  liar.write('77777777777', 124, 'ascii');
  for (const body of [liar.subarray(0, 1536), Buffer.from('x'.repeat(5000)), Buffer.alloc(0)]) {
    const r = await load(body);
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.message, /^invalid archive/);
  }
  assert.equal((await d.api('GET', '/images/l1:x/json')).status, 404, 'nothing loaded from refused archives');
  // Device nodes, a setuid file and a duplicated name in a layer: loaded, and unpacked inside the data root only.
  const odd = await makeTar([
    { name: 'dev', type: 'directory' }, { name: 'dev/sdz', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o600 },
    { name: 'suid', data: '#!/bin/sh\n', mode: 0o4755 }, { name: 'a', data: '1' }, { name: 'a', data: '2' },
  ]);
  const cfg2 = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [`sha256:${sha(odd)}`] } }));
  const ok = await load(await makeTar([
    { name: `${sha(cfg2)}.json`, data: cfg2 }, { name: 'l/layer.tar', data: odd },
    { name: 'manifest.json', data: JSON.stringify([{ Config: `${sha(cfg2)}.json`, RepoTags: ['oddlayer:1'], Layers: ['l/layer.tar'] }]) },
  ]));
  assert.equal(ok.status, 200, ok.text);
  assert.equal(lastMessage(ok.text).stream, 'Loaded image: oddlayer:1\n');
  const c = await d.api('POST', '/containers/create', { Image: 'oddlayer:1', Cmd: ['x'] });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  // The layer's entries are inside the container's root (as in dockerd, devices and setuid bits are kept).
  for (const p of ['/dev/sdz', '/suid', '/a']) {
    const st = await d.api('HEAD', `/containers/${c.body.Id}/archive?path=${q(p)}`);
    assert.equal(st.status, 200, p);
  }
  await d.api('DELETE', `/containers/${c.body.Id}`);
  // A gzip-compressed archive whose layer is 100 MB of zeros: loaded in bounded time (Docker has no cap either).
  const zeros = await makeTar([{ name: 'zeros', data: Buffer.alloc(100 * 1024 * 1024) }]);
  const cfg3 = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [`sha256:${sha(zeros)}`] } }));
  const bomb = gzipSync(await makeTar([
    { name: `${sha(cfg3)}.json`, data: cfg3 }, { name: 'l/layer.tar', data: zeros },
    { name: 'manifest.json', data: JSON.stringify([{ Config: `${sha(cfg3)}.json`, RepoTags: ['bomb:1'], Layers: ['l/layer.tar'] }]) },
  ]), { level: 9 });
  const t0 = Date.now();
  const br = await load(bomb);
  assert.equal(br.status, 200, br.text);
  assert.ok(Date.now() - t0 < 30_000, `bomb took ${Date.now() - t0} ms`);
  assert.equal((await d.api('DELETE', '/images/bomb:1')).status, 200);
  // Nothing of any of this outside the data root: the content store holds what was loaded.
  assert.ok(statSync(join(d.dataRoot, 'content')).isDirectory());
});

test('images/create?fromSrc=-: garbage, truncated gzip, bad names are 4xx and store nothing', async () => {
  const imp = (query: string, body: Buffer) => send('POST', `/images/create?fromSrc=-${query}`, body);
  const before = (await d.api('GET', '/images/json')).body.length;
  const cases: [string, Buffer, RegExp][] = [
    ['&repo=imp1', Buffer.from('garbage'.repeat(300)), /^archive\/tar: invalid tar header$/],
    ['&repo=imp2', gzipSync(await makeTar([{ name: 'r', data: randomBytes(100_000) }])).subarray(0, 5000), /^invalid gzip layer: unexpected end of file$/],
    ['&repo=imp3', gzipSync(randomBytes(100_000)).subarray(0, 5000), /unexpected end of file/],
    ['&repo=BAD', await makeTar([{ name: 'a', data: 'a' }]), /must be lowercase/],
    [`&repo=ok&tag=${q('a b')}`, await makeTar([{ name: 'a', data: 'a' }]), /^invalid tag format$/],
    [`&repo=ok&changes=${q('RUN rm -rf /')}`, await makeTar([{ name: 'a', data: 'a' }]), /RUN is not a valid change command/],
    [`&repo=${q('../x')}`, await makeTar([{ name: 'a', data: 'a' }]), /invalid reference format/],
  ];
  for (const [query, body, re] of cases) {
    const r = await imp(query, body);
    assert.equal(r.status, 400, `${query}: ${r.text}`);
    assert.match(r.json.message, re, query);
  }
  const url = await send('POST', `/images/create?fromSrc=${q('file:///etc/passwd')}`, Buffer.alloc(0));
  assert.equal(url.status, 400);
  assert.equal((await d.api('GET', '/images/json')).body.length, before, 'no image from a refused import');
  // A tar whose entry climbs out is stored as given (the layer blob) but never unpacked outside: creating a container from it is refused.
  const climb = await imp('&repo=climb', await makeTar([{ name: `../../../../../..${outside}/planted`, data: 'x' }]));
  assert.equal(climb.status, 200, climb.text);
  const c = await d.api('POST', '/containers/create', { Image: 'climb', Cmd: ['x'] });
  assert.equal(c.status, 400, JSON.stringify(c.body));
  assert.match(c.body.message, /path escapes the layer root/);
});
