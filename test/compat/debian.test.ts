// A real distribution image (Debian bookworm minbase from debootstrap) through the docker CLI: thousands
// of files, hardlinks, setuid/setgid binaries, a file capability (ping), many users and groups, bash and
// dpkg — what busybox test images never exercise. Skips (with the reason) where the image cannot be built.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, writeFileSync, readFileSync, mkdirSync, copyFileSync, linkSync, statSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import * as tar from 'tar-stream';
import { startDaemon, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';
import { debianTar } from '../helpers/debian.js';

const execFileP = promisify(execFile);
const fixture = debianTar();
const skip = fixture.skip ?? false;
const TAR = fixture.tar!;
const IMG = 'debian:bookworm';

let d: TestDaemon;
let work: string;
/** What the host's view of the tar says the image must contain. */
const want = { suid: new Map<string, string>(), links: [] as [string, string][], caps: [] as string[], passwd: '', group: '' };

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'berth-debian-'));
  await readTarListing(TAR);
  d = await startDaemon();
  const r = await d.docker(['import', '--change', 'CMD ["bash"]', TAR, IMG], { timeout: 120_000 });
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  if (d) await destroyDaemon(d);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** One pass over the tar: setuid/setgid files (mode, uid:gid), hardlink pairs, files with xattrs, passwd/group. */
async function readTarListing(file: string): Promise<void> {
  const ex = tar.extract();
  const done = new Promise<void>((resolve, reject) => { ex.on('finish', resolve); ex.on('error', reject); });
  ex.on('entry', (h, stream, next) => {
    const name = h.name.replace(/^\.\//, '/');
    const chunks: Buffer[] = [];
    if (h.type === 'file' && (h.mode! & 0o6000)) want.suid.set(name, `${(h.mode! & 0o7777).toString(8)} ${h.uid}:${h.gid}`);
    if (h.type === 'link') want.links.push([name, '/' + h.linkname!.replace(/^\.?\//, '')]);
    if (Object.keys(h.pax ?? {}).some((k) => k === 'SCHILY.xattr.security.capability')) want.caps.push(name);
    stream.on('data', (c) => { if (name === '/etc/passwd' || name === '/etc/group') chunks.push(c as Buffer); });
    stream.on('end', () => {
      if (name === '/etc/passwd') want.passwd = Buffer.concat(chunks).toString();
      if (name === '/etc/group') want.group = Buffer.concat(chunks).toString();
      next();
    });
    stream.resume();
  });
  createReadStream(file).pipe(ex);
  await done;
}

async function ok(args: string[], timeout = 60_000): Promise<string> {
  const r = await d.docker(args, { timeout });
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const bash = (script: string, opts: string[] = [], image = IMG) => ok(['run', '--rm', ...opts, image, 'bash', '-c', script]);
const sh = (cmd: string) => execFileP('sh', ['-c', cmd], { env: d.env, maxBuffer: 64 << 20, timeout: 120_000 });

test('bash, dpkg and the image\'s many users and groups', { skip }, async () => {
  const out = (await bash('echo "$BASH_VERSION"; id; getent passwd | wc -l; getent group | wc -l; dpkg -l | grep -c "^ii"; stat -c "%a %U:%G" /etc/shadow')).split('\n');
  assert.match(out[0], /^5\.2\./);
  assert.equal(out[1], 'uid=0(root) gid=0(root) groups=0(root)');
  assert.equal(Number(out[2]), want.passwd.trim().split('\n').length);
  assert.ok(Number(out[2]) >= 15, `passwd has ${out[2]} entries`);
  assert.equal(Number(out[3]), want.group.trim().split('\n').length);
  assert.ok(Number(out[4]) > 80, `dpkg lists ${out[4]} packages`);
  assert.equal(out[5], '640 root:shadow');
});

test('setuid/setgid bits, owners and hardlinks are as in the tar', { skip }, async () => {
  assert.ok(want.suid.has('/usr/bin/passwd') && want.suid.has('/usr/bin/su'), 'fixture has setuid passwd and su');
  const found = await bash('find / -xdev -type f \\( -perm -4000 -o -perm -2000 \\) -printf "%p %m %U:%G\\n"');
  const got = new Map(found.trim().split('\n').map((l) => { const [p, ...rest] = l.split(' '); return [p, rest.join(' ')] as [string, string]; }));
  assert.deepEqual(got, want.suid);
  assert.match(await bash('ls -l /usr/bin/passwd'), /^-rwsr-xr-x 1 root root /);
  assert.ok(want.links.length > 0, 'fixture has hardlinks');
  const paths = want.links.flat();
  const inodes = (await bash(`stat -c "%i %h" ${paths.join(' ')}`)).trim().split('\n');
  for (let i = 0; i < want.links.length; i++) {
    assert.equal(inodes[2 * i], inodes[2 * i + 1], `${want.links[i][0]} is a hardlink of ${want.links[i][1]}`);
    assert.ok(Number(inodes[2 * i].split(' ')[1]) >= 2);
  }
});

test('file capabilities (security.capability) survive import and act in the container', { skip }, async () => {
  assert.ok(want.caps.includes('/usr/bin/ping'), `xattrs in the tar on: ${want.caps.join(', ')}`);
  // What the host reads from the tar itself...
  const x = join(work, 'x');
  mkdirSync(x);
  await execFileP('tar', ['--xattrs', '--xattrs-include=*', '-C', x, '-xf', TAR, './usr/bin/ping']);
  const hostCap = (await execFileP('getcap', [join(x, 'usr/bin/ping')])).stdout.split(' ').pop()!.trim();
  assert.equal(hostCap, 'cap_net_raw=ep');
  // ...is what `docker cp` brings back out of a container.
  await ok(['create', '--name', 'capsrc', IMG]);
  await ok(['cp', 'capsrc:/usr/bin/ping', join(work, 'ping')]);
  await ok(['rm', 'capsrc']);
  assert.equal((await execFileP('getcap', [join(work, 'ping')])).stdout.split(' ').pop()!.trim(), hostCap);
  // Inside, the cap is what lets nobody ping; without NET_RAW in the bounding set the kernel refuses the
  // exec of a file whose effective caps it cannot grant — only so if the xattr is really there.
  assert.match(await bash('ping -c1 -W2 127.0.0.1', ['-u', 'nobody']), /1 received/);
  const r = await d.docker(['run', '--rm', '-u', 'nobody', '--cap-drop', 'NET_RAW', IMG, 'ping', '-c1', '127.0.0.1']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Operation not permitted/i);
});

test('a volume over image content is filled with setuid bits, capabilities and hardlinks intact', { skip }, async () => {
  // Docker copies the image's files into a new volume keeping xattrs and hardlinks; so must berthd.
  const script = 'ls -l /usr/bin/passwd | cut -c1-10; stat -c "%U:%G %a" /usr/bin/chage; getcap /usr/bin/ping; stat -c %i /usr/bin/perl /usr/bin/perl5.36.0 | uniq | wc -l';
  const want = '-rwsr-xr-x\nroot:shadow 2755\n/usr/bin/ping cap_net_raw=ep\n1\n';
  assert.equal(await bash(script, ['-v', '/usr/bin']), want, 'anonymous volume');
  assert.equal(await bash(script, ['-v', 'debbin:/usr/bin']), want, 'named volume');
  // The named volume keeps what it was filled with: a second container sees the same.
  assert.equal(await bash(script, ['-v', 'debbin:/usr/bin']), want, 'named volume, reused');
  await ok(['volume', 'rm', 'debbin']);
});

test('-u by name, by number and name:group resolve from the image\'s passwd and group', { skip }, async () => {
  const cases: [string, string][] = [
    ['nobody', 'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)'],
    ['65534:65534', 'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)'],
    ['www-data', 'uid=33(www-data) gid=33(www-data) groups=33(www-data)'],
    ['33', 'uid=33(www-data) gid=33(www-data) groups=33(www-data)'],
    ['www-data:staff', 'uid=33(www-data) gid=50(staff) groups=50(staff)'],
  ];
  for (const [u, id] of cases) assert.equal((await ok(['run', '--rm', '-u', u, IMG, 'id'])).trim(), id, `-u ${u}`);
  // HOME as under dockerd (runc): the passwd home, else / for a uid the image does not know; an explicit one wins.
  assert.equal(await bash('echo "$HOME"', ['-u', 'www-data']), '/var/www\n');
  assert.equal(await bash('echo "$HOME"', ['-u', '1234']), '/\n');
  assert.equal(await bash('echo "$HOME"', ['-u', '1234', '-e', 'HOME=/srv']), '/srv\n');
  await ok(['run', '-d', '--name', 'homes', IMG, 'sleep', '60']);
  assert.equal(await ok(['exec', '-u', '1234', 'homes', 'bash', '-c', 'echo "$HOME"']), '/\n');
  assert.equal(await ok(['exec', '-u', 'nobody', 'homes', 'bash', '-c', 'echo "$HOME"']), '/nonexistent\n');
  await ok(['rm', '-f', 'homes']);
  const bad = await d.docker(['run', '--rm', '-u', 'nosuchuser', IMG, 'id']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /unable to find user nosuchuser: no matching entries in passwd file/);
});

test('docker load of a docker-archive that skopeo made from the tar', { skip }, async () => {
  // An OCI layout around the tar (one uncompressed layer), turned into a docker-archive by skopeo.
  const oci = join(work, 'oci');
  const blobs = join(oci, 'blobs/sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer) => { const h = createHash('sha256').update(data).digest('hex'); writeFileSync(join(blobs, h), data); return { digest: `sha256:${h}`, size: data.length }; };
  const h = createHash('sha256');
  for await (const c of createReadStream(TAR)) h.update(c as Buffer);
  const layer = h.digest('hex');
  try { linkSync(TAR, join(blobs, layer)); } catch { copyFileSync(TAR, join(blobs, layer)); }
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2025-01-01T00:00:00Z', config: { Cmd: ['bash'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${layer}`] } })));
  const manifest = put(Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layer}`, size: statSync(TAR).size }],
  })));
  writeFileSync(join(oci, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'bookworm' } }] }));
  writeFileSync(join(oci, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const archive = join(work, 'skopeo.tar');
  await execFileP('skopeo', ['copy', '-q', `oci:${oci}:bookworm`, `docker-archive:${archive}:debian:skopeo`], { timeout: 120_000 });
  rmSync(oci, { recursive: true, force: true });
  assert.match(await ok(['load', '-i', archive], 120_000), /Loaded image: debian:skopeo/);
  rmSync(archive);
  // Same content as the imported image: same diff id, so the layer is shared, not unpacked twice.
  assert.equal((await ok(['inspect', '-f', '{{json .RootFS.Layers}}', 'debian:skopeo'])).trim(), (await ok(['inspect', '-f', '{{json .RootFS.Layers}}', IMG])).trim());
  const out = await bash('ls -l /usr/bin/su | cut -c1-10; stat -c %i /usr/bin/perl /usr/bin/perl5.36.0 | uniq | wc -l; id -un www-data', [], 'debian:skopeo');
  assert.equal(out, '-rwsr-xr-x\n1\nwww-data\n');
  await ok(['rmi', 'debian:skopeo']);
});

const DOCKERFILE = `FROM ${IMG}
RUN dpkg -l | grep -c '^ii' > /pkgcount && useradd -m -s /bin/bash app && mkdir /data && echo hi > /data/f && chown -R app:app /data
# Thousands of whiteouts in one layer, and hardlinks to files of an earlier layer.
RUN rm -rf /usr/share/doc /usr/share/man /usr/share/locale && ln /usr/bin/passwd /usr/local/bin/passwd-link && ln /data/f /data/h
# A file capability and hardlinks from the build context (the CLI's context tar carries both).
COPY ping /usr/local/bin/ping2
COPY linked /opt/linked/
USER app
WORKDIR /home/app
RUN id -un > who && echo "$HOME" >> who && touch mine
CMD ["bash"]
`;
const CHECK_BUILT = 'id; pwd; cat /pkgcount who; ls /usr/share/doc 2>&1; test -e /usr/share/doc/bash/copyright || echo doc-gone; ' +
  'stat -c "%i %h %A %U" /usr/bin/passwd /usr/local/bin/passwd-link /data/f /data/h; ls -l mine | cut -d" " -f3; ' +
  'getcap /usr/local/bin/ping2; stat -c %i /opt/linked/a /opt/linked/b | uniq | wc -l';

function checkBuilt(out: string): void {
  const l = out.split('\n');
  assert.equal(l[0], 'uid=1000(app) gid=1000(app) groups=1000(app)');
  assert.equal(l[1], '/home/app');
  assert.ok(Number(l[2]) > 80, `pkgcount ${l[2]}`);
  assert.deepEqual(l.slice(3, 5), ['app', '/home/app']);
  assert.match(l[5], /No such file or directory/);
  assert.equal(l[6], 'doc-gone');
  const [pw, pwl, f, h] = l.slice(7, 11).map((s) => s.split(' '));
  assert.equal(pw[0], pwl[0], 'passwd and its hardlink share an inode');
  assert.deepEqual(pw.slice(1), ['2', '-rwsr-xr-x', 'root']);
  assert.equal(f[0], h[0], '/data/f and /data/h share an inode');
  assert.deepEqual(h.slice(1), ['2', '-rw-r--r--', 'app']);
  assert.equal(l[11], 'app');
  assert.equal(l[12], '/usr/local/bin/ping2 cap_net_raw=ep');
  assert.equal(l[13], '1', 'COPY keeps hardlinks within a source');
}

test('docker build FROM the Debian image: dpkg, useradd, chown, mass deletion, hardlinks across layers, USER, WORKDIR', { skip }, async () => {
  const ctx = join(work, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE);
  await execFileP('tar', ['--xattrs', '--xattrs-include=*', '-C', ctx, '--strip-components=3', '-xf', TAR, './usr/bin/ping']);
  assert.match((await execFileP('getcap', [join(ctx, 'ping')])).stdout, /cap_net_raw=ep/);
  mkdirSync(join(ctx, 'linked'));
  writeFileSync(join(ctx, 'linked/a'), 'same\n');
  linkSync(join(ctx, 'linked/a'), join(ctx, 'linked/b'));
  const b = await d.docker(['build', '-q', '-t', 'deb-app', ctx], { timeout: 120_000 });
  assert.equal(b.code, 0, b.stderr);
  checkBuilt(await bash(CHECK_BUILT, [], 'deb-app'));
  const base = await d.docker(['run', '--rm', '-u', 'app', IMG, 'true']);
  assert.match(base.stderr, /unable to find user app/, 'the base image is untouched by the build');
});

test('docker save | docker load round trip of the built image', { skip }, async () => {
  const saved = join(work, 'app.tar');
  await ok(['save', '-o', saved, 'deb-app'], 120_000);
  await ok(['rmi', 'deb-app']);
  // Through a pipe as users do it; the layers are unpacked again from the archive.
  const { stdout } = await sh(`docker load < ${saved}`);
  assert.match(stdout, /Loaded image: deb-app:latest/);
  rmSync(saved);
  checkBuilt(await bash(CHECK_BUILT, [], 'deb-app'));
});

test('diff, commit and cp of a changed Debian container', { skip }, async () => {
  await ok(['run', '-d', '--name', 'deb1', IMG, 'sleep', '300']);
  await ok(['exec', 'deb1', 'bash', '-c', 'rm -rf /usr/share/doc/apt && echo new > /root/new.txt && ln /root/new.txt /root/new2.txt && useradd -m bob && chmod u+s /root/new.txt']);
  const diff = (await ok(['diff', 'deb1'])).trim().split('\n');
  for (const line of ['D /usr/share/doc/apt', 'A /root/new.txt', 'A /root/new2.txt', 'A /home/bob', 'C /etc/passwd', 'C /usr/share/doc'])
    assert.ok(diff.includes(line), `diff has ${line}: ${diff.join(', ')}`);
  assert.ok(!diff.some((l) => l.startsWith('D /usr/share/doc/apt/')), 'a deleted directory is one D line');
  await ok(['commit', '-c', 'CMD ["bash"]', 'deb1', 'deb-committed']);
  const out = await bash('getent passwd bob | cut -d: -f1,6; stat -c "%i %A" /root/new.txt /root/new2.txt; ls /usr/share/doc/apt 2>&1 | grep -c "No such"', [], 'deb-committed');
  const l = out.trim().split('\n');
  assert.equal(l[0], 'bob:/home/bob');
  assert.equal(l[1], l[2], 'hardlink survives commit');
  assert.match(l[1], / -rwSr--r--$/);
  assert.equal(l[3], '1');
  await ok(['cp', 'deb1:/etc/passwd', join(work, 'passwd')]);
  assert.match(readFileSync(join(work, 'passwd'), 'utf8'), /^bob:x:1000:1000::\/home\/bob:\/bin\/sh$/m);
  await ok(['cp', 'deb1:/usr/bin/passwd', join(work, 'passwd-bin')]);
  assert.equal(statSync(join(work, 'passwd-bin')).mode & 0o7777, 0o4755);
  await ok(['rm', '-f', 'deb1']);
});

test('docker exec -it runs an interactive bash in a pty (under script)', { skip }, async () => {
  await ok(['run', '-d', '--name', 'deb2', IMG, 'sleep', '300']);
  await ok(['exec', 'deb2', 'useradd', '-m', 'carol']);
  // stdin stays open until the shell exits: at EOF script(1) would type its EOF char into the pty.
  const child = spawn('script', ['-qec', 'docker exec -it -u carol -w /home/carol deb2 bash', '/dev/null'], { env: d.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => { out += c; });
  const code = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const kill = setTimeout(() => child.kill(), 30_000);
  await new Promise((r) => setTimeout(r, 1000));
  child.stdin.write('echo "who=$(id -un) tty=$(tty) pwd=$PWD sh=$0"; exit 7\n');
  assert.equal(await code, 7, out);
  clearTimeout(kill);
  child.stdin.end();
  assert.match(out, /who=carol tty=\/dev\/pts\/\d+ pwd=\/home\/carol sh=bash/);
  await ok(['rm', '-f', 'deb2']);
});
