// docker build (the classic builder), docker commit and docker-py's images.build against berthd.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startDaemon, importBusybox, destroyDaemon, REPO, type TestDaemon } from '../helpers/daemon.js';

const execFileP = promisify(execFile);
let d: TestDaemon;

before(async () => {
  d = await startDaemon();
  await importBusybox(d);
});
after(async () => { if (d) await destroyDaemon(d); });

function context(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-build-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const steps = (out: string) => out.split('\n').filter((l) => l.startsWith('Step ')).map((l) => l.replace(/^Step \d+\/\d+ : /, ''));

test('docker build: ARG/ENV, WORKDIR, COPY with .dockerignore, RUN, CMD; docker run shows the result', async () => {
  const dir = context({
    Dockerfile: [
      'ARG BASE=busybox',
      'FROM ${BASE}',
      'ARG WHO=world',
      'ENV GREETING="hello ${WHO}" \\',
      '    PLAIN=$WHO',
      'WORKDIR /app',
      'COPY . ./',
      'RUN echo "built for $WHO" > built.txt && echo step-output && ls',
      'CMD ["sh", "-c", "echo $GREETING; cat built.txt sub/data.txt; ls; pwd"]',
    ].join('\n'),
    'sub/data.txt': 'from the context\n',
    'secret.txt': 'must not be sent\n',
    '.dockerignore': 'secret.txt\n',
  });
  const b = await d.docker(['build', '-t', 'built:one', '--build-arg', 'WHO=berth', dir], { timeout: 180_000 });
  assert.equal(b.code, 0, b.stderr + b.stdout);
  assert.deepEqual(steps(b.stdout), [
    'ARG BASE=busybox', 'FROM ${BASE}', 'ARG WHO=world', 'ENV GREETING="hello ${WHO}"     PLAIN=$WHO', 'WORKDIR /app', 'COPY . ./',
    'RUN echo "built for $WHO" > built.txt && echo step-output && ls', 'CMD ["sh", "-c", "echo $GREETING; cat built.txt sub/data.txt; ls; pwd"]',
  ]);
  assert.match(b.stdout, / ---> Running in [0-9a-f]{12}\nstep-output\nDockerfile\nbuilt.txt\nsub\n ---> Removed intermediate container [0-9a-f]{12}\n ---> [0-9a-f]{12}\n/);
  const id = /Successfully built ([0-9a-f]{12})\n/.exec(b.stdout)?.[1];
  assert.ok(id, b.stdout);
  assert.match(b.stdout, /Successfully tagged built:one\n$/);
  const r = await d.docker(['run', '--rm', 'built:one']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello berth\nbuilt for berth\nfrom the context\nDockerfile\nbuilt.txt\nsub\n/app\n');
  const env = await d.docker(['image', 'inspect', '-f', '{{json .Config.Env}} {{.Config.WorkingDir}} {{.Id}}', 'built:one']);
  assert.match(env.stdout, /"GREETING=hello berth","PLAIN=berth"\] \/app sha256:/);
  assert.ok(env.stdout.includes(`sha256:${id}`));
  // Step images are the build cache: hidden from `docker images` (as Docker's), shown with -a; no leftover containers.
  const imgs = await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.deepEqual(imgs.stdout.trim().split('\n').sort(), ['built:one', 'busybox:latest']);
  const all = await d.docker(['images', '-a', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.equal(all.stdout.trim().split('\n').filter((l) => l === '<none>:<none>').length, 5);
  assert.equal((await d.docker(['ps', '-aq'])).stdout, '');
});

test('build cache: an unchanged step is reused, a changed file rebuilds from its COPY on, --no-cache runs all; builder prune', async () => {
  const dir = context({
    Dockerfile: 'FROM busybox\nARG V=1\nRUN echo ran-first-run\nCOPY data.txt /data.txt\nRUN echo ran-after-copy; cat /data.txt\nCMD ["cat", "/data.txt"]\n',
    'data.txt': 'version one\n',
  });
  const first = await d.docker(['build', '-t', 'cached', dir], { timeout: 180_000 });
  assert.equal(first.code, 0, first.stderr + first.stdout);
  assert.doesNotMatch(first.stdout, /Using cache/);
  const again = await d.docker(['build', '-t', 'cached', dir], { timeout: 180_000 });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.match(/ ---> Using cache\n/g)?.length, 5);
  assert.doesNotMatch(again.stdout, /\nran-first-run\n|\nran-after-copy\n|Running in/);
  const id = (s: string) => /Successfully built ([0-9a-f]{12})/.exec(s)?.[1];
  assert.equal(id(again.stdout), id(first.stdout));
  // A different build arg value misses from the ARG's dependants on; a changed file from its COPY on.
  const arg = await d.docker(['build', '--build-arg', 'V=2', dir], { timeout: 180_000 });
  assert.match(arg.stdout, /\nran-first-run\n/);
  writeFileSync(join(dir, 'data.txt'), 'version two\n');
  const changed = await d.docker(['build', '-t', 'cached', dir], { timeout: 180_000 });
  assert.equal(changed.code, 0, changed.stderr);
  assert.equal(changed.stdout.match(/ ---> Using cache\n/g)?.length, 2);
  assert.doesNotMatch(changed.stdout, /\nran-first-run\n/);
  assert.match(changed.stdout, /\nran-after-copy\nversion two\n/);
  assert.equal((await d.docker(['run', '--rm', 'cached'])).stdout, 'version two\n');
  const none = await d.docker(['build', '--no-cache', '-t', 'cached', dir], { timeout: 180_000 });
  assert.doesNotMatch(none.stdout, /Using cache/);
  assert.match(none.stdout, /\nran-first-run\n/);
  const prune = await d.docker(['builder', 'prune', '-f']);
  assert.equal(prune.code, 0, prune.stderr);
  assert.match(prune.stdout, /Total reclaimed space/);
  const after = await d.docker(['build', '-t', 'cached', dir], { timeout: 180_000 });
  assert.doesNotMatch(after.stdout, /Using cache/);
  assert.equal((await d.docker(['run', '--rm', 'cached'])).stdout, 'version two\n');
});

test('rmi of a built image deletes its untagged step images, but not those another build or tag still uses', async () => {
  const dir = context({ Dockerfile: 'FROM busybox\nRUN echo one > /one\nENV STEP=two\nRUN echo three > /three\n' });
  const ids = async () => (await d.docker(['images', '-a', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean).sort();
  const before = await ids();
  const b = await d.docker(['build', '-t', 'steps:1', dir], { timeout: 180_000 });
  assert.equal(b.code, 0, b.stderr + b.stdout);
  const built = await ids();
  assert.equal(built.length, before.length + 3, 'three steps, three images');
  // A second image built on the first two steps keeps them alive.
  writeFileSync(join(dir, 'Dockerfile.other'), 'FROM busybox\nRUN echo one > /one\nENV STEP=two\nRUN echo other > /other\n');
  const o = await d.docker(['build', '-f', join(dir, 'Dockerfile.other'), '-t', 'steps:other', dir], { timeout: 180_000 });
  assert.equal(o.code, 0, o.stderr + o.stdout);
  const rm1 = await d.docker(['rmi', 'steps:1']);
  assert.equal(rm1.code, 0, rm1.stderr);
  assert.equal(rm1.stdout.match(/^Deleted: /gm)?.length, 1, rm1.stdout);
  const rm2 = await d.docker(['rmi', 'steps:other']);
  assert.equal(rm2.code, 0, rm2.stderr);
  assert.equal(rm2.stdout.match(/^Deleted: /gm)?.length, 3, rm2.stdout);
  assert.deepEqual(await ids(), before, 'no step image is left behind');
  assert.equal((await d.docker(['run', '--rm', 'busybox', 'true'])).code, 0);
});

test('multi-stage build with COPY --from and a scratch final stage', async () => {
  const dir = context({
    Dockerfile: [
      'FROM busybox AS builder',
      'RUN mkdir -p /out && echo "made in stage one" > /out/artifact.txt && cp /bin/busybox /out/busybox',
      'FROM scratch',
      'COPY --from=builder /out/ /',
      'ENTRYPOINT ["/busybox"]',
      'CMD ["cat", "/artifact.txt"]',
    ].join('\n'),
  });
  const b = await d.docker(['build', '-q', '-t', 'multi', dir], { timeout: 180_000 });
  assert.equal(b.code, 0, b.stderr + b.stdout);
  assert.match(b.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const r = await d.docker(['run', '--rm', 'multi']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'made in stage one\n');
  const layers = await d.docker(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', 'multi']);
  assert.equal(layers.stdout.trim(), '1');
});

test('ONBUILD triggers, --target, SHELL, ADD of a local tar, COPY globs with --chown/--chmod, config instructions', async () => {
  const dir = context({
    Dockerfile: [
      'FROM busybox AS base',
      'ONBUILD RUN echo triggered > /trig',
      'FROM base AS second',
      'RUN echo second > /second',
      'FROM base',
      'SHELL ["/bin/sh", "-ec"]',
      'RUN echo "app:x:1234:1234::/:/bin/sh" >> /etc/passwd && echo "app:x:1234:" >> /etc/group',
      'ADD bundle.tar /opt/',
      'COPY --chown=app:app --chmod=600 *.conf /etc/confs/',
      'HEALTHCHECK --interval=5s --retries=2 CMD true',
      'EXPOSE 8080/udp 9000',
      'USER app',
      'STOPSIGNAL SIGINT',
      'WORKDIR /made/by/workdir',
      'CMD ls -n /etc/confs/*.conf | while read m l u g rest; do echo $m $u $g ${rest##*/}; done; cat /opt/a/f.txt /trig; id -u; echo "$0"',
    ].join('\n'),
    'one.conf': '1\n', 'two.conf': '2\n', 'tree/a/f.txt': 'in tar\n',
  });
  await execFileP('tar', ['-cf', join(dir, 'bundle.tar'), '-C', join(dir, 'tree'), 'a']);
  const t = await d.docker(['build', '--target', 'second', '-t', 'second', dir], { timeout: 180_000 });
  assert.equal(t.code, 0, t.stderr + t.stdout);
  assert.match(t.stdout, /Step 3\/4 : FROM base AS second\n ---> [0-9a-f]{12}\n# Executing 1 build trigger\n/);
  assert.equal((await d.docker(['run', '--rm', 'second', 'cat', '/trig', '/second'])).stdout, 'triggered\nsecond\n');
  const b = await d.docker(['build', '--label', 'extra=yes', '-t', 'full', dir], { timeout: 180_000 });
  assert.equal(b.code, 0, b.stderr + b.stdout);
  const r = await d.docker(['run', '--rm', 'full']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.replace(/ +/g, ' '), '-rw------- 1234 1234 one.conf\n-rw------- 1234 1234 two.conf\nin tar\ntriggered\n1234\n/bin/sh\n');
  const cfg = JSON.parse((await d.docker(['image', 'inspect', '-f', '{{json .Config}}', 'full'])).stdout);
  assert.deepEqual(cfg.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Retries: 2 });
  assert.deepEqual(Object.keys(cfg.ExposedPorts).sort(), ['8080/udp', '9000/tcp']);
  assert.equal(cfg.User, 'app');
  assert.equal(cfg.StopSignal, 'SIGINT');
  assert.deepEqual(cfg.Shell, ['/bin/sh', '-ec']);
  assert.equal(cfg.Labels.extra, 'yes');
  assert.deepEqual(cfg.Cmd.slice(0, 2), ['/bin/sh', '-ec']);
  // WORKDIR made its directory in the image (not only when a container starts there).
  const wd = await d.docker(['run', '--rm', '-w', '/', '-u', '0', 'full', 'sh', '-c', 'ls -ld /made/by/workdir | cut -c1-10']);
  assert.equal(wd.stdout, 'drwxr-xr-x\n');
});

test('a failing RUN gives Docker\'s message and the command\'s exit code; parse errors are 400s', async () => {
  const dir = context({ Dockerfile: 'FROM busybox\nRUN echo before-failing && exit 3\nRUN echo never\n' });
  const b = await d.docker(['build', dir], { timeout: 120_000 });
  assert.equal(b.code, 3);
  assert.match(b.stdout, /before-failing\n/);
  assert.doesNotMatch(b.stdout, /never\n/);
  assert.match(b.stderr, /The command '\/bin\/sh -c echo before-failing && exit 3' returned a non-zero code: 3/);
  // As Docker without --force-rm, the failed step's container is kept for inspection.
  const ps = await d.docker(['ps', '-aq']);
  for (const id of ps.stdout.trim().split('\n').filter(Boolean)) await d.docker(['rm', '-f', id]);

  const bad = context({ Dockerfile: 'FROM busybox\nFROBNICATE now\n' });
  const p = await d.docker(['build', bad]);
  assert.equal(p.code, 1);
  assert.match(p.stderr, /Error response from daemon: dockerfile parse error on line 2: unknown instruction: FROBNICATE/);
  const missing = context({ Dockerfile: 'FROM busybox\nCOPY nothere.txt /\n' });
  const m = await d.docker(['build', missing], { timeout: 60_000 });
  assert.equal(m.code, 1);
  assert.match(m.stderr, /COPY failed: file not found in build context or excluded by \.dockerignore: stat nothere\.txt: file does not exist/);
});

test('RUN containers get --network, --add-host and resource limits', async () => {
  const dir = context({ Dockerfile: 'FROM busybox\nRUN grep myhost /etc/hosts; ls /sys/class/net; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max\n' });
  const b = await d.docker(['build', '--network', 'none', '--add-host', 'myhost:10.9.8.7', '--memory', '64m', dir], { timeout: 120_000 });
  assert.equal(b.code, 0, b.stderr + b.stdout);
  assert.match(b.stdout, /10\.9\.8\.7\s+myhost\nlo\n67108864\n/);
});

test('a client that goes away cancels the build: the running step is killed and removed', async () => {
  const dir = context({ Dockerfile: 'FROM busybox\nRUN echo started-long-step && sleep 60\n' });
  const child = spawn('docker', ['build', dir], { env: d.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no step output: ${out}`)), 60_000);
    child.stdout.on('data', (c) => { out += c; if (out.includes('started-long-step')) { clearTimeout(t); resolve(); } });
  });
  const t0 = Date.now();
  child.kill('SIGKILL');
  for (;;) {
    const ps = await d.docker(['ps', '-aq']);
    if (ps.stdout === '') break;
    assert.ok(Date.now() - t0 < 15_000, `build container still there: ${ps.stdout}`);
    await new Promise((r) => setTimeout(r, 200));
  }
});

test('a hostile context tar is refused with a 400 and writes nothing outside', async () => {
  const tar = (await import('tar-stream')).default;
  const pack = tar.pack();
  pack.entry({ name: 'Dockerfile' }, 'FROM busybox\n');
  pack.entry({ name: '../../escaped-by-build' }, 'x');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  const body = Buffer.concat(chunks);
  const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, method: 'POST', path: '/v1.50/build?t=hostile', headers: { 'Content-Type': 'application/x-tar', 'Content-Length': body.length } }, (r) => {
      let text = '';
      r.on('data', (c) => { text += c; });
      r.on('end', () => resolve({ status: r.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
  assert.equal(res.status, 400);
  assert.match(JSON.parse(res.text).message, /escapes/);
  assert.equal(existsSync(join(d.dataRoot, 'escaped-by-build')), false);
  assert.equal(existsSync(join(d.dataRoot, '..', 'escaped-by-build')), false);
  assert.equal((await d.docker(['images', '-q', 'hostile'])).stdout, '');
});

test('docker commit: a changed file and --change CMD are in the new image', async () => {
  const run = await d.docker(['run', '--name', 'tocommit', 'busybox', 'sh', '-c', 'echo changed > /etc/motd; rm /bin/vi']);
  assert.equal(run.code, 0, run.stderr);
  const c = await d.docker(['commit', '-m', 'my change', '-a', 'tester', '--change', 'CMD ["cat", "/etc/motd"]', 'tocommit', 'committed:v1']);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const r = await d.docker(['run', '--rm', 'committed:v1']);
  assert.equal(r.stdout, 'changed\n');
  const vi = await d.docker(['run', '--rm', 'committed:v1', 'sh', '-c', 'test -e /bin/vi && echo present || echo gone']);
  assert.equal(vi.stdout, 'gone\n');
  const h = await d.docker(['history', '--no-trunc', '--format', '{{.Comment}}|{{.CreatedBy}}', 'committed:v1']);
  assert.equal(h.stdout.split('\n')[0], 'my change|sh -c echo changed > /etc/motd; rm /bin/vi');
  const a = await d.docker(['image', 'inspect', '-f', '{{.Author}} {{.Comment}}', 'committed:v1']);
  assert.equal(a.stdout.trim(), 'tester my change');
  await d.docker(['rm', 'tocommit']);
  // A running container is paused while its changes are read, and runs on afterwards.
  const live = await d.docker(['run', '-d', '--name', 'livecommit', 'busybox', 'sh', '-c', 'echo live > /live; while true; do sleep 0.1; done']);
  assert.equal(live.code, 0, live.stderr);
  for (let i = 0; i < 50 && (await d.docker(['exec', 'livecommit', 'cat', '/live'])).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  const lc = await d.docker(['commit', 'livecommit', 'committed:live']);
  assert.equal(lc.code, 0, lc.stderr);
  assert.equal((await d.docker(['inspect', '-f', '{{.State.Status}}', 'livecommit'])).stdout.trim(), 'running');
  assert.equal((await d.docker(['run', '--rm', 'committed:live', 'cat', '/live'])).stdout, 'live\n');
  await d.docker(['rm', '-f', 'livecommit']);
  const missing = await d.docker(['commit', 'no-such-ctr-q', 'x:y']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No such container: no-such-ctr-q/);
});

test('docker-py: images.build returns the image and its log', async () => {
  const dir = context({ Dockerfile: 'FROM busybox\nLABEL made.by=docker-py\nRUN echo py-build-step\nCMD ["echo", "py-image-ok"]\n' });
  const script = `
import docker, sys
c = docker.DockerClient(base_url=sys.argv[1])
img, logs = c.images.build(path=sys.argv[2], tag='pybuilt:latest', rm=True)
print(img.tags, img.labels['made.by'])
print(any('py-build-step' in l.get('stream', '') for l in logs))
print(c.containers.run('pybuilt:latest', remove=True).decode().strip())
try:
    c.images.build(path=sys.argv[3])
except docker.errors.BuildError as e:
    print('BuildError', e.msg)
`;
  const bad = context({ Dockerfile: 'FROM busybox\nRUN exit 7\n' });
  const { stdout } = await execFileP('python3', ['-c', script, d.host, dir, bad], { timeout: 180_000 });
  assert.equal(stdout, "['pybuilt:latest'] docker-py\nTrue\npy-image-ok\nBuildError The command '/bin/sh -c exit 7' returned a non-zero code: 7\n");
});

test('docker-compose 1.29: a service with build: is built and runs', async () => {
  const dir = context({
    'docker-compose.yml': 'version: "3"\nservices:\n  app:\n    build:\n      context: ./app\n      args:\n        MSG: from-compose\n    image: composebuilt:latest\n',
    'app/Dockerfile': 'FROM busybox\nARG MSG\nRUN echo "$MSG" > /msg\nCMD ["cat", "/msg"]\n',
  });
  const run = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile('docker-compose', ['-p', 'berthbuild', ...args], { cwd: dir, env: d.env, timeout: 180_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin!.end();
  });
  const b = await run(['build']);
  assert.equal(b.code, 0, b.stderr + b.stdout);
  assert.match(b.stdout + b.stderr, /Successfully tagged composebuilt:latest/);
  const r = await run(['run', '--rm', 'app']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'from-compose');
  await run(['down']);
});

test('berth build and berth commit', async () => {
  const berth = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(join(REPO, 'bin/berth'), args, { env: d.env, timeout: 180_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin!.end();
  });
  const dir = context({ Dockerfile: 'FROM busybox\nCOPY hi.txt /hi.txt\nCMD ["cat", "/hi.txt"]\n', 'hi.txt': 'hi from berth build\n' });
  const b = await berth(['build', '-t', 'berthbuilt', dir]);
  assert.equal(b.code, 0, b.stderr + b.stdout);
  assert.match(b.stdout, /Step 2\/3 : COPY hi.txt \/hi.txt\n ---> [0-9a-f]{12}\n/);
  assert.match(b.stdout, /Successfully tagged berthbuilt:latest\n/);
  assert.equal((await berth(['run', '--rm', 'berthbuilt'])).stdout, 'hi from berth build\n');
  assert.equal((await berth(['run', '--name', 'bc1', 'berthbuilt', 'sh', '-c', 'echo more >> /hi.txt'])).code, 0);
  const c = await berth(['commit', '--change', 'ENV ADDED=yes', 'bc1', 'berthcommitted:v2']);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const r = await berth(['run', '--rm', 'berthcommitted:v2', 'sh', '-c', 'cat /hi.txt; echo $ADDED']);
  assert.equal(r.stdout, 'hi from berth build\nmore\nyes\n');
  await berth(['rm', 'bc1']);
});
