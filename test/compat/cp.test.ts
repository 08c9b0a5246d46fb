// docker cp / export / diff (the archive API) against berthd, with the real
// docker CLI, docker-py and berth's own CLI; and hostile archives on PUT.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import Docker from 'dockerode';
import { REPO, startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';

const execFileP = promisify(execFile);
let d: TestDaemon;
let work: string;

before(async () => {
  d = await startDaemon();
  await importBusybox(d);
  work = mkdtempSync(join(tmpdir(), 'berth-cp-test-'));
});
after(async () => {
  if (d) await destroyDaemon(d);
  if (work) rmSync(work, { recursive: true, force: true });
});

const ok = async (args: string[]) => {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** Run a program with binary stdin/stdout (docker cp with `-`). */
function runBin(cmd: string, args: string[], input?: Buffer): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: d.env });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }));
    child.stdin.end(input);
  });
}

/** The names in a tar (via GNU tar, as a user would look). */
async function tarNames(buf: Buffer): Promise<string[]> {
  const r = await new Promise<string>((resolve, reject) => {
    const child = spawn('tar', ['-t']);
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`tar -t exited ${code}`))));
    child.stdin.end(buf);
  });
  return r.split('\n').filter(Boolean);
}

async function makeTar(entries: (Partial<tar.Header> & { name: string; data?: string })[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const { data, ...h } of entries) pack.entry(h, data ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

function rawPut(path: string, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, method: 'PUT', path, headers: { 'Content-Type': 'application/x-tar', 'Content-Length': body.length } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const mountsOf = (id: string) => readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(`/containers/${id}/rootfs`));

test('docker cp host -> running container: file into a dir, to a new name, a directory, and a tar on stdin', async () => {
  await ok(['run', '-d', '--name', 'cp-run', 'busybox', 'sleep', '300']);
  const src = join(work, 'src');
  mkdirSync(join(src, 'tree', 'sub'), { recursive: true });
  writeFileSync(join(src, 'hello.txt'), 'hello from host\n');
  writeFileSync(join(src, 'tree', 'a.txt'), 'A\n');
  writeFileSync(join(src, 'tree', 'sub', 'b.txt'), 'B\n');

  await ok(['cp', join(src, 'hello.txt'), 'cp-run:/tmp/']);
  await ok(['cp', join(src, 'hello.txt'), 'cp-run:/tmp/renamed.txt']);
  await ok(['cp', join(src, 'tree'), 'cp-run:/srv']); // /srv does not exist: the tree becomes /srv
  await ok(['cp', join(src, 'tree'), 'cp-run:/tmp']); // an existing dir: the tree goes inside
  const ls = await ok(['exec', 'cp-run', 'sh', '-c', 'cat /tmp/hello.txt /tmp/renamed.txt /srv/a.txt /srv/sub/b.txt /tmp/tree/sub/b.txt']);
  assert.equal(ls, 'hello from host\nhello from host\nA\nB\nB\n');

  // The docker CLI asks dockerd not to replace a directory with a file.
  await ok(['exec', 'cp-run', 'mkdir', '/tmp/clash']);
  writeFileSync(join(src, 'clash'), 'file\n');
  const clash = await d.docker(['cp', join(src, 'clash'), 'cp-run:/tmp']);
  assert.equal(clash.code, 1);
  assert.equal(clash.stderr, 'Error response from daemon: cannot overwrite directory "/tmp/clash" with non-directory "/tmp"\n');

  const t = await makeTar([{ name: 'streamed/', type: 'directory', mode: 0o755 }, { name: 'streamed/s.txt', mode: 0o640, uid: 1234, gid: 4321, data: 'via stdin\n' }]);
  const r = await runBin('docker', ['cp', '-', 'cp-run:/tmp'], t);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await ok(['exec', 'cp-run', 'sh', '-c', 'cat /tmp/streamed/s.txt; stat -c "%a %u %g" /tmp/streamed/s.txt']), 'via stdin\n640 1234 4321\n');
});

test('docker cp running container -> host: file, directory, into a directory, and `-` as a tar stream', async () => {
  await ok(['exec', 'cp-run', 'sh', '-c', 'mkdir -p /data/d/e && echo one > /data/d/one && echo two > /data/d/e/two && ln -s one /data/d/link']);
  const out = join(work, 'out1');
  mkdirSync(out);
  await ok(['cp', 'cp-run:/data/d/one', join(out, 'copy-of-one')]);
  assert.equal(readFileSync(join(out, 'copy-of-one'), 'utf8'), 'one\n');
  await ok(['cp', 'cp-run:/data/d', join(out, 'dcopy')]); // new name: the directory's content lands there
  assert.equal(readFileSync(join(out, 'dcopy', 'e', 'two'), 'utf8'), 'two\n');
  assert.equal(readlinkSync(join(out, 'dcopy', 'link')), 'one');
  await ok(['cp', 'cp-run:/data/d', out]); // existing dir: d goes inside
  assert.equal(readFileSync(join(out, 'd', 'one'), 'utf8'), 'one\n');
  await ok(['cp', 'cp-run:/data/d/.', join(out, 'dotcopy')]); // "dir/.": the contents
  assert.equal(readFileSync(join(out, 'dotcopy', 'e', 'two'), 'utf8'), 'two\n');
  await ok(['cp', 'cp-run:/data/d/.', join(out, 'd')]); // into an existing dir: merged, no d/d
  assert.equal(existsSync(join(out, 'd', 'd')), false);

  const r = await runBin('docker', ['cp', 'cp-run:/data/d', '-']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await tarNames(r.stdout)).sort(), ['d/', 'd/e/', 'd/e/two', 'd/link', 'd/one']);
  const f = await runBin('docker', ['cp', 'cp-run:/etc/passwd', '-']);
  assert.deepEqual(await tarNames(f.stdout), ['passwd']);
});

test('docker cp on a created and on an exited container; a created one is not left mounted', async () => {
  const id = (await ok(['create', '--name', 'cp-created', 'busybox', 'cat', '/from-host.txt'])).trim();
  writeFileSync(join(work, 'from-host.txt'), 'copied before start\n');
  await ok(['cp', join(work, 'from-host.txt'), 'cp-created:/']);
  assert.deepEqual(mountsOf(id), [], 'rootfs mounted only for the copy');
  const back = join(work, 'back.txt');
  await ok(['cp', 'cp-created:/from-host.txt', back]);
  assert.equal(readFileSync(back, 'utf8'), 'copied before start\n');
  // A GET unmounts once the response is written, which can be a moment after the CLI has its bytes.
  for (let i = 0; i < 40 && mountsOf(id).length; i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(mountsOf(id), []);
  // The container starts normally afterwards and sees the file.
  assert.equal(await ok(['start', '-a', 'cp-created']), 'copied before start\n');
  // Exited now: copy out again, and in.
  await ok(['cp', join(work, 'from-host.txt'), 'cp-created:/tmp/again.txt']);
  await ok(['cp', 'cp-created:/tmp/again.txt', join(work, 'again.txt')]);
  assert.equal(readFileSync(join(work, 'again.txt'), 'utf8'), 'copied before start\n');
});

test('symlinks are resolved inside the container, never on the host', async () => {
  // A host file the container must never reach.
  const secretDir = mkdtempSync(join(tmpdir(), 'berth-cp-secret-'));
  writeFileSync(join(secretDir, 'secret'), 'HOST SECRET\n');
  try {
    await ok(['exec', 'cp-run', 'sh', '-c', `mkdir -p ${secretDir} && echo CONTAINER > ${secretDir}/secret && ln -s ${secretDir}/secret /abs-link && ln -s ../../../../../../..${secretDir} /rel-escape && ln -s /etc /etc-link`]);
    // -L follows the link: the container's file, not the host's.
    await ok(['cp', '-L', 'cp-run:/abs-link', join(work, 'followed')]);
    assert.equal(readFileSync(join(work, 'followed'), 'utf8'), 'CONTAINER\n');
    // Without -L the link itself is copied.
    await ok(['cp', 'cp-run:/abs-link', join(work, 'notfollowed')]);
    assert.equal(readlinkSync(join(work, 'notfollowed')), `${secretDir}/secret`);
    // `..` in a link stops at the container root.
    await ok(['cp', 'cp-run:/rel-escape/secret', join(work, 'rel')]);
    assert.equal(readFileSync(join(work, 'rel'), 'utf8'), 'CONTAINER\n');
    // A directory reached through a link in the middle of the path.
    await ok(['cp', 'cp-run:/etc-link/passwd', join(work, 'pw')]);
    assert.match(readFileSync(join(work, 'pw'), 'utf8'), /^root:x:0:0:/);
    // Writing through the links lands in the container too.
    writeFileSync(join(work, 'planted'), 'planted\n');
    await ok(['cp', join(work, 'planted'), 'cp-run:/rel-escape/']);
    assert.equal(existsSync(join(secretDir, 'planted')), false, 'nothing written on the host');
    assert.equal(await ok(['exec', 'cp-run', 'cat', `${secretDir}/planted`]), 'planted\n');
    assert.equal(readFileSync(join(secretDir, 'secret'), 'utf8'), 'HOST SECRET\n');
  } finally {
    rmSync(secretDir, { recursive: true, force: true });
  }
});

test('a missing path gives Docker\'s error and exit code', async () => {
  const r = await d.docker(['cp', 'cp-run:/no/such/file', join(work, 'x')]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'Error response from daemon: Could not find the file /no/such/file in container cp-run\n');
  const h = await d.api('GET', '/containers/cp-run/archive?path=/nope');
  assert.equal(h.status, 404);
  assert.equal(h.body.message, 'Could not find the file /nope in container cp-run');
  const put = await rawPut('/containers/cp-run/archive?path=/nope', await makeTar([{ name: 'f', data: 'x' }]));
  assert.equal(put.status, 404);
  assert.equal(JSON.parse(put.body).message, 'Could not find the file /nope in container cp-run');
  const notDir = await rawPut('/containers/cp-run/archive?path=/etc/passwd', await makeTar([{ name: 'f', data: 'x' }]));
  assert.equal(notDir.status, 400);
  assert.equal(JSON.parse(notDir.body).message, 'extraction point is not a directory');
  const noCtr = await d.docker(['cp', 'no-such-ctr:/etc/passwd', join(work, 'y')]);
  assert.equal(noCtr.code, 1);
  assert.match(noCtr.stderr, /No such container: no-such-ctr/);
});

test('HEAD archive: the path-stat header as dockerd encodes it', async () => {
  const head = (p: string) => new Promise<Record<string, any>>((resolve, reject) => {
    http.request({ socketPath: d.socket, method: 'HEAD', path: `/containers/cp-run/archive?path=${encodeURIComponent(p)}` }, (res) => {
      res.resume();
      assert.equal(res.statusCode, 200);
      resolve(JSON.parse(Buffer.from(String(res.headers['x-docker-container-path-stat']), 'base64').toString()));
    }).on('error', reject).end();
  });
  const dir = await head('/data/d');
  assert.equal(dir.name, 'd');
  assert.equal(dir.mode, 2 ** 31 + 0o755); // os.ModeDir | 0755
  assert.equal(dir.linkTarget, '');
  assert.match(dir.mtime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  const link = await head('/etc-link');
  assert.equal(link.mode, 2 ** 27 + 0o777); // os.ModeSymlink | 0777
  assert.equal(link.linkTarget, '/etc');
  const file = await head('/data/d/one');
  assert.deepEqual([file.name, file.size, file.mode], ['one', 4, 0o644]);
});

test('a read-only rootfs refuses writes, its volumes take them', async () => {
  await ok(['run', '-d', '--name', 'cp-ro', '--read-only', '-v', 'cpvol:/data', 'busybox', 'sleep', '300']);
  writeFileSync(join(work, 'ro.txt'), 'ro\n');
  const r = await d.docker(['cp', join(work, 'ro.txt'), 'cp-ro:/']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'Error response from daemon: container rootfs is marked read-only\n');
  await ok(['cp', join(work, 'ro.txt'), 'cp-ro:/data/']);
  assert.equal(await ok(['run', '--rm', '-v', 'cpvol:/v', 'busybox', 'cat', '/v/ro.txt']), 'ro\n');
  // Reading from a volume works too.
  await ok(['cp', 'cp-ro:/data/ro.txt', join(work, 'ro-back.txt')]);
  assert.equal(readFileSync(join(work, 'ro-back.txt'), 'utf8'), 'ro\n');
  await ok(['rm', '-f', 'cp-ro']);
});

test('docker export: a tar of the whole root filesystem', async () => {
  await ok(['run', '--name', 'cp-exp', 'busybox', 'sh', '-c', 'echo exported > /exported.txt']);
  const file = join(work, 'export.tar');
  await ok(['export', '-o', file, 'cp-exp']);
  const names = await tarNames(readFileSync(file));
  for (const n of ['bin/', 'bin/busybox', 'etc/passwd', 'exported.txt']) assert.ok(names.includes(n), `${n} in export`);
  assert.ok(!names.some((n) => n.startsWith('/') || n.startsWith('./') || n.startsWith('../')), 'relative names');
  const r = await runBin('docker', ['export', 'cp-exp']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await tarNames(r.stdout), names);
});

test('docker diff: C/A/D lines in Docker\'s order', async () => {
  await ok(['run', '--name', 'cp-diff', 'busybox', 'sh', '-c', 'echo x > /etc/newfile; rm /etc/group; mkdir /tmp/d; touch /tmp/d/f; echo >> /etc/passwd']);
  assert.equal(await ok(['diff', 'cp-diff']), 'C /etc\nD /etc/group\nA /etc/newfile\nC /etc/passwd\nC /tmp\nA /tmp/d\nA /tmp/d/f\n');
  await ok(['create', '--name', 'cp-nodiff', 'busybox', 'true']);
  assert.equal(await ok(['diff', 'cp-nodiff']), '');
  const raw = await d.api('GET', '/containers/cp-diff/changes');
  assert.deepEqual(raw.body[1], { Path: '/etc/group', Kind: 2 });
});

test('berth cp, berth export and berth diff against the same endpoints', async () => {
  const berth = (args: string[]) => execFileP(join(REPO, 'bin/berth'), args, { env: d.env, encoding: 'buffer', maxBuffer: 64 << 20 });
  writeFileSync(join(work, 'b.txt'), 'berth cp\n');
  await berth(['cp', join(work, 'b.txt'), 'cp-run:/tmp/b-renamed.txt']);
  await berth(['cp', join(work, 'b.txt'), 'cp-run:/tmp/']);
  assert.equal(await ok(['exec', 'cp-run', 'cat', '/tmp/b-renamed.txt', '/tmp/b.txt']), 'berth cp\nberth cp\n');
  await berth(['cp', 'cp-run:/tmp/b.txt', join(work, 'b-back.txt')]);
  assert.equal(readFileSync(join(work, 'b-back.txt'), 'utf8'), 'berth cp\n');
  const diff = (await berth(['diff', 'cp-diff'])).stdout.toString();
  assert.equal(diff, (await ok(['diff', 'cp-diff'])));
  const exp = (await berth(['export', 'cp-exp'])).stdout;
  const expNames = await tarNames(exp);
  assert.ok(expNames.includes('exported.txt'), `berth export gave ${exp.length} bytes, ${expNames.length} names`);
});

test('docker-py: put_archive (plain and gzip), get_archive, export, diff', async () => {
  const script = `
import docker, io, sys, tarfile, gzip
c = docker.DockerClient(base_url=sys.argv[1])
ct = c.containers.get('cp-run')
def mk(name, data):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as t:
        info = tarfile.TarInfo(name); info.size = len(data); info.mode = 0o600
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()
print(ct.put_archive('/tmp', mk('py.txt', b'from python\\n')))
print(ct.put_archive('/tmp', gzip.compress(mk('pygz.txt', b'gzipped\\n'))))
for comp in ('bz2', 'xz'):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:' + comp) as t:
        data = comp.encode() + b'\\n'
        info = tarfile.TarInfo('py-' + comp + '.txt'); info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    ct.put_archive('/tmp', buf.getvalue())
print(ct.exec_run(['cat', '/tmp/py-bz2.txt', '/tmp/py-xz.txt']).output.decode().split())
stream, stat = ct.get_archive('/tmp/py.txt')
t = tarfile.open(fileobj=io.BytesIO(b''.join(stream)))
m = t.getmembers()[0]
print(m.name, t.extractfile(m).read().decode().strip(), oct(m.mode))
print(stat['name'], stat['size'], oct(stat['mode']))
stream, stat = ct.get_archive('/tmp')
print(stat['name'], bool(stat['mode'] & (1 << 31)))
print(ct.exec_run(['cat', '/tmp/pygz.txt']).output.decode().strip())
names = tarfile.open(fileobj=io.BytesIO(b''.join(c.containers.get('cp-exp').export()))).getnames()
print('exported.txt' in names, 'bin/busybox' in names)
print(sorted((x['Kind'], x['Path']) for x in c.containers.get('cp-diff').diff())[0])
try:
    ct.get_archive('/missing')
except docker.errors.NotFound as e:
    print('NotFound', e.explanation)
`;
  const { stdout } = await execFileP('python3', ['-c', script, d.host], { timeout: 60_000 });
  assert.deepEqual(stdout.trim().split('\n'), [
    'True',
    'True',
    "['bz2', 'xz']",
    'py.txt from python 0o600',
    'py.txt 12 0o600',
    'tmp True',
    'gzipped',
    'True True',
    "(0, '/etc')",
    // docker-py addresses containers by ID, and dockerd names the container as the URL did.
    `NotFound Could not find the file /missing in container ${(await ok(['inspect', '-f', '{{.Id}}', 'cp-run'])).trim()}`,
  ]);
});

test('dockerode: putArchive and getArchive', async () => {
  const docker = new Docker({ socketPath: d.socket });
  const c = docker.getContainer('cp-run');
  await c.putArchive(await makeTar([{ name: 'node.txt', data: 'from dockerode\n' }]), { path: '/tmp' });
  const stream = await c.getArchive({ path: '/tmp/node.txt' });
  const chunks: Buffer[] = [];
  for await (const ch of stream as AsyncIterable<Buffer>) chunks.push(ch);
  const extract = tar.extract();
  const got: string[] = [];
  extract.end(Buffer.concat(chunks));
  for await (const entry of extract) {
    let text = '';
    for await (const b of entry) text += (b as Buffer).toString();
    got.push(`${entry.header.name}=${text}`);
  }
  assert.deepEqual(got, ['node.txt=from dockerode\n']);
  // infoArchive hands back the HEAD response: the stat is in its header.
  const res = await c.infoArchive({ path: '/tmp/node.txt' }) as unknown as http.IncomingMessage;
  res.resume();
  const stat = JSON.parse(Buffer.from(String(res.headers['x-docker-container-path-stat']), 'base64').toString());
  assert.deepEqual([stat.name, stat.size], ['node.txt', 15]);
});

test('hostile archives on PUT: nothing lands outside the container', async () => {
  const outside = mkdtempSync(join(tmpdir(), 'berth-cp-outside-'));
  try {
    const id = (await ok(['inspect', '-f', '{{.Id}}', 'cp-run'])).trim();
    const put = (path: string, body: Buffer) => rawPut(`/containers/${id}/archive?path=${encodeURIComponent(path)}`, body);

    // 1. `..` climbing out of the destination.
    const climb = await put('/tmp', await makeTar([{ name: `../../../../../../../..${outside}/climbed`, data: 'x' }]));
    assert.equal(climb.status, 400, climb.body);
    assert.match(JSON.parse(climb.body).message, /is outside of "\/tmp"/);

    // 2. An absolute symlink (allowed, as in Docker) and a write through it: it stays in the container.
    const through = await put('/tmp', await makeTar([
      { name: 'hop', type: 'symlink', linkname: outside },
      { name: 'hop/through-link', data: 'inside\n' },
    ]));
    assert.equal(through.status, 200, through.body);
    assert.equal(await ok(['exec', 'cp-run', 'cat', `${outside}/through-link`]), 'inside\n');

    // 3. A relative symlink that climbs out: refused like Docker does.
    const relLink = await put('/tmp', await makeTar([{ name: 'up', type: 'symlink', linkname: '../../../../../../..' }]));
    assert.equal(relLink.status, 400, relLink.body);
    assert.match(JSON.parse(relLink.body).message, /^invalid symlink/);

    // 4. A symlink already in the container, pointing at a host path, used as a parent.
    await ok(['exec', 'cp-run', 'ln', '-s', outside, '/tmp/planted-link']);
    const planted = await put('/tmp', await makeTar([{ name: 'planted-link/via-existing', data: 'inside too\n' }]));
    assert.equal(planted.status, 200, planted.body);
    assert.equal(await ok(['exec', 'cp-run', 'cat', `${outside}/via-existing`]), 'inside too\n');

    // 5. A hardlink to a file outside the destination.
    const hard = await put('/tmp', await makeTar([{ name: 'hl', type: 'link', linkname: '../../../../../../etc/shadow' }]));
    assert.equal(hard.status, 400, hard.body);
    assert.match(JSON.parse(hard.body).message, /^invalid hardlink/);

    // 6. Not a tar at all, and a gzip stream cut short.
    const junk = await put('/tmp', Buffer.from('this is not a tar archive, just text that is long enough to not be one'.repeat(20)));
    assert.ok(junk.status >= 400 && junk.status < 500, `junk: ${junk.status} ${junk.body}`);
    const cut = gzipSync(await makeTar([{ name: 'cut.txt', data: 'y'.repeat(100_000) }])).subarray(0, 200);
    const cutRes = await put('/tmp', cut);
    assert.ok(cutRes.status >= 400 && cutRes.status < 500, `cut: ${cutRes.status} ${cutRes.body}`);

    assert.deepEqual(readdirSync(outside), [], 'nothing written outside the container');
    assert.equal((await ok(['exec', 'cp-run', 'sh', '-c', 'echo alive'])), 'alive\n');
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
});
