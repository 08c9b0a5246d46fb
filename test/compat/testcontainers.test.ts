// testcontainers for Node (a real client library, pinned in package.json) against berthd.
//
// There is no Docker Hub here, so testcontainers' reaper (the testcontainers/ryuk image, a Go
// binary) cannot be pulled: TESTCONTAINERS_RYUK_DISABLED=true turns it off and every test
// stops what it starts. DockerComposeEnvironment is not covered: testcontainers 11 drives the
// `docker compose` v2 plugin, which is not installed (only docker-compose v1 is).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';

// testcontainers reads its settings from the environment when it first talks to the daemon.
process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';

let d: TestDaemon;
let tc: typeof import('testcontainers');
const IMAGE = 'busybox:latest';
const tmp = mkdtempSync(join(tmpdir(), 'berth-tc-'));

// A web server that says `ready` once httpd is about to listen.
const HTTPD = 'mkdir -p /www && echo hello-from-berth > /www/index.html && echo ready && exec httpd -f -p 8080 -h /www';

before(async () => {
  d = await startDaemon();
  await importBusybox(d, IMAGE);
  process.env.DOCKER_HOST = d.host;
  tc = await import('testcontainers');
});
after(async () => {
  if (d) await destroyDaemon(d);
  rmSync(tmp, { recursive: true, force: true });
});

/** An uncompressed tar of `files` (path -> content). */
async function tarOf(files: Record<string, string>): Promise<Readable> {
  const pack = tarStream.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mode: 0o644 }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array));
  return Readable.from([Buffer.concat(chunks)]);
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text() };
}

test('GenericContainer: log wait, mapped port, host, fetch, stop removes the container', async () => {
  const c = await new tc.GenericContainer(IMAGE)
    .withCommand(['sh', '-c', HTTPD])
    .withExposedPorts(8080)
    .withWaitStrategy(tc.Wait.forLogMessage('ready'))
    .start();
  try {
    // For a unix DOCKER_HOST testcontainers uses localhost, or (inside a container, /.dockerenv)
    // the gateway of the daemon's `bridge` network, which is an address of this host too.
    const bridge = await d.api('GET', '/networks/bridge');
    const gateway = bridge.body.IPAM.Config[0].Gateway;
    assert.equal(c.getHost(), existsSync('/.dockerenv') ? gateway : 'localhost');
    const port = c.getMappedPort(8080);
    assert.ok(port > 0 && port < 65536);
    // httpd may need a moment after `ready`.
    let r = { status: 0, body: '' };
    for (let i = 0; i < 50; i++) {
      try { r = await get(`http://127.0.0.1:${port}/`); break; } catch { await new Promise((res) => setTimeout(res, 100)); }
    }
    assert.equal(r.status, 200);
    assert.equal(r.body, 'hello-from-berth\n');
    assert.equal((await get(`http://${c.getHost()}:${port}/`)).body, 'hello-from-berth\n');
    assert.match(c.getName(), /^\//);
  } finally {
    await c.stop();
  }
  const gone = await d.api('GET', `/containers/${c.getId()}/json`);
  assert.equal(gone.status, 404);
});

test('default wait strategy (listening ports, checked inside and from the host)', async () => {
  const c = await new tc.GenericContainer(IMAGE)
    .withCommand(['sh', '-c', `sleep 1; ${HTTPD}`])
    .withExposedPorts(8080)
    .withStartupTimeout(30_000)
    .start();
  try {
    // The strategy only returns once the port answers, so no retry here.
    const r = await get(`http://127.0.0.1:${c.getMappedPort(8080)}/`);
    assert.equal(r.body, 'hello-from-berth\n');
  } finally {
    await c.stop();
  }
});

test('Wait.forHttp and Wait.forHealthCheck', async () => {
  const web = await new tc.GenericContainer(IMAGE)
    .withCommand(['sh', '-c', `sleep 1; ${HTTPD}`])
    .withExposedPorts(8080)
    .withWaitStrategy(tc.Wait.forHttp('/index.html', 8080).forStatusCode(200).forResponsePredicate((b) => b.includes('hello')))
    .withStartupTimeout(30_000)
    .start();
  await web.stop();

  const healthy = await new tc.GenericContainer(IMAGE)
    .withCommand(['sh', '-c', 'sleep 1; touch /tmp/healthy; exec sleep 300'])
    .withHealthCheck({ test: ['CMD-SHELL', 'test -f /tmp/healthy'], interval: 300, timeout: 2000, retries: 20 })
    .withWaitStrategy(tc.Wait.forHealthCheck())
    .withStartupTimeout(30_000)
    .start();
  try {
    const info = await d.api('GET', `/containers/${healthy.getId()}/json`);
    assert.equal(info.body.State.Health.Status, 'healthy');
  } finally {
    await healthy.stop();
  }

  // A container that never gets healthy fails start() with testcontainers' own message, and
  // testcontainers stops and removes it.
  const count = async () => (await d.api('GET', '/containers/json?all=1')).body.length as number;
  const before = await count();
  await assert.rejects(
    new tc.GenericContainer(IMAGE)
      .withCommand(['sleep', '300'])
      .withHealthCheck({ test: ['CMD', 'false'], interval: 200, timeout: 1000, retries: 1 })
      .withWaitStrategy(tc.Wait.forHealthCheck())
      .withStartupTimeout(15_000)
      .start(),
    /Health check failed: unhealthy/,
  );
  assert.equal(await count(), before);
});

test('environment, labels, bind mounts, copied content and files, exec, logs', async () => {
  const hostDir = mkdtempSync(join(tmp, 'bind-'));
  writeFileSync(join(hostDir, 'from-host.txt'), 'bound\n');
  const hostFile = join(tmp, 'copy-me.txt');
  writeFileSync(hostFile, 'copied file\n');
  const c = await new tc.GenericContainer(IMAGE)
    .withCommand(['sh', '-c', 'echo out-line; echo err-line >&2; echo "env=$GREETING"; exec sleep 300'])
    .withEnvironment({ GREETING: 'hi there' })
    .withLabels({ 'com.example.team': 'berth' })
    // The daemon's socket bound in, as testcontainers does for its reaper (ryuk).
    .withBindMounts([{ source: hostDir, target: '/data' }, { source: hostDir, target: '/ro', mode: 'ro' }, { source: d.socket, target: '/var/run/docker.sock' }])
    .withCopyContentToContainer([{ content: 'some content\n', target: '/etc/app/content.txt' }])
    .withCopyFilesToContainer([{ source: hostFile, target: '/opt/copied.txt', mode: 0o640 }])
    .withWaitStrategy(tc.Wait.forLogMessage(/env=hi there/))
    .start();
  try {
    const info = await d.api('GET', `/containers/${c.getId()}/json`);
    assert.equal(info.body.Config.Labels['com.example.team'], 'berth');
    assert.deepEqual(c.getLabels()['com.example.team'], 'berth');
    assert.ok(info.body.Config.Env.includes('GREETING=hi there'));

    let r = await c.exec(['cat', '/data/from-host.txt', '/etc/app/content.txt', '/opt/copied.txt']);
    assert.equal(r.exitCode, 0);
    assert.equal(r.output, 'bound\nsome content\ncopied file\n');
    r = await c.exec(['stat', '-c', '%a', '/opt/copied.txt']);
    assert.equal(r.stdout.trim(), '640');
    // Writes through the rw bind show on the host; the ro bind refuses them.
    r = await c.exec(['sh', '-c', 'echo written > /data/new.txt']);
    assert.equal(r.exitCode, 0);
    assert.equal(readFileSync(join(hostDir, 'new.txt'), 'utf8'), 'written\n');
    r = await c.exec(['sh', '-c', 'echo no > /ro/x']);
    assert.notEqual(r.exitCode, 0);
    assert.equal((await c.exec(['test', '-S', '/var/run/docker.sock'])).exitCode, 0);
    // exec separates stdout and stderr, and takes env, working dir and user.
    r = await c.exec(['sh', '-c', 'echo "$FOO $(pwd) $(id -u)"; echo oops >&2; exit 3'], { env: { FOO: 'bar' }, workingDir: '/tmp', user: 'nobody' });
    assert.equal(r.exitCode, 3);
    assert.equal(r.stdout, 'bar /tmp 65534\n');
    assert.equal(r.stderr, 'oops\n');

    // Copy in after start, and back out.
    await c.copyContentToContainer([{ content: 'late\n', target: '/tmp/late.txt' }]);
    assert.equal((await c.exec(['cat', '/tmp/late.txt'])).output, 'late\n');
    const archive = await c.copyArchiveFromContainer('/tmp/late.txt');
    const chunks: Buffer[] = [];
    for await (const chunk of archive) chunks.push(Buffer.from(chunk as Uint8Array));
    const tarBytes = Buffer.concat(chunks);
    assert.ok(tarBytes.includes(Buffer.from('late\n')));

    // logs() is a live stream of both outputs.
    const logs = await c.logs();
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`logs so far: ${seen.join('')}`)), 10_000);
      logs.on('data', (b: Buffer | string) => {
        seen.push(b.toString());
        const all = seen.join('');
        if (all.includes('out-line') && all.includes('err-line')) { clearTimeout(t); resolve(); }
      });
    });
    logs.destroy();
    // testcontainers asks for tail=-1; dockerd reads any negative or non-integer tail as "all".
    for (const tail of ['-1', 'abc', 'all']) {
      const all = await d.api('GET', `/containers/${c.getId()}/logs?stdout=1&stderr=1&tail=${tail}`);
      assert.equal(all.status, 200, tail);
      assert.match(String(all.body), /out-line[\s\S]*env=hi there/, tail);
    }
    const last = await d.api('GET', `/containers/${c.getId()}/logs?stdout=1&tail=1`);
    assert.doesNotMatch(String(last.body), /out-line/);
  } finally {
    await c.stop();
  }
});

test('restart keeps the container and its mapped port works again', async () => {
  const c = await new tc.GenericContainer(IMAGE)
    .withCommand(['sh', '-c', HTTPD])
    .withExposedPorts(8080)
    .withWaitStrategy(tc.Wait.forListeningPorts())
    .withStartupTimeout(30_000)
    .start();
  try {
    const before = await d.api('GET', `/containers/${c.getId()}/json`);
    await c.restart();
    const after = await d.api('GET', `/containers/${c.getId()}/json`);
    assert.equal(after.body.State.Running, true);
    assert.notEqual(after.body.State.StartedAt, before.body.State.StartedAt);
    let body = '';
    for (let i = 0; i < 50 && !body; i++) {
      try { body = (await get(`http://127.0.0.1:${c.getMappedPort(8080)}/`)).body; } catch { await new Promise((res) => setTimeout(res, 100)); }
    }
    assert.equal(body, 'hello-from-berth\n');
  } finally {
    await c.stop();
  }
});

test('Network with aliases: two containers reach each other by alias', async () => {
  const network = await new tc.Network().start();
  const web = await new tc.GenericContainer(IMAGE)
    .withCommand(['sh', '-c', HTTPD])
    .withNetwork(network)
    .withNetworkAliases('web')
    .withWaitStrategy(tc.Wait.forLogMessage('ready'))
    .start();
  const client = await new tc.GenericContainer(IMAGE)
    .withCommand(['sleep', '300'])
    .withNetwork(network)
    .withNetworkAliases('client')
    .withWaitStrategy(tc.Wait.forSuccessfulCommand('test -d /proc/1'))
    .start();
  try {
    assert.ok(web.getIpAddress(network.getName()));
    let r = { exitCode: 1, output: '' };
    for (let i = 0; i < 30 && r.exitCode !== 0; i++) {
      r = await client.exec(['wget', '-qO-', 'http://web:8080/']);
      if (r.exitCode !== 0) await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal(r.output, 'hello-from-berth\n');
    r = await web.exec(['ping', '-c', '1', '-W', '2', 'client']);
    assert.equal(r.exitCode, 0, r.output);
    // With aliases testcontainers creates on the default bridge, then connects: both show.
    assert.deepEqual(web.getNetworkNames().sort(), ['bridge', network.getName()].sort());
    // Without aliases the network is the container's network mode.
    const plain = await new tc.GenericContainer(IMAGE).withCommand(['wget', '-qO-', 'http://web:8080/']).withNetwork(network)
      .withWaitStrategy(tc.Wait.forOneShotStartup()).withAutoRemove(false).start();
    const stopped = await plain.stop({ remove: false });
    const out = await d.api('GET', `/containers/${stopped.getId()}/logs?stdout=1&stderr=1`);
    await d.api('DELETE', `/containers/${stopped.getId()}`);
    assert.match(String(out.body), /hello-from-berth/);
  } finally {
    await client.stop();
    await web.stop();
    await network.stop();
  }
  const gone = await d.api('GET', `/networks/${network.getId()}`);
  assert.equal(gone.status, 404);
});

test('reuse: off by default, on with withReuse()', async () => {
  const make = () => new tc.GenericContainer(IMAGE).withCommand(['sleep', '301']);
  const a = await make().start();
  const b = await make().start();
  try {
    assert.notEqual(a.getId(), b.getId());
  } finally {
    await a.stop();
    await b.stop();
  }
  const r1 = await make().withReuse().start();
  const r2 = await make().withReuse().start();
  try {
    assert.equal(r1.getId(), r2.getId());
  } finally {
    await r1.stop();
  }
});

test('more options: name, entrypoint, user, workdir, tmpfs, extra hosts, resources, directories and archives, log consumer, commit', async () => {
  const dir = mkdtempSync(join(tmp, 'dir-'));
  writeFileSync(join(dir, 'a.txt'), 'A\n');
  const name = `tc-opts-${process.pid}`;
  const consumed: string[] = [];
  const c = await new tc.GenericContainer(IMAGE)
    .withName(name)
    .withEntrypoint(['sh', '-c'])
    .withCommand(['echo consumer-line; exec sleep 300'])
    .withUser('33:33')
    .withWorkingDir('/tmp')
    .withTmpFs({ '/scratch': 'rw,size=1m' })
    .withExtraHosts([{ host: 'db.example', ipAddress: '10.1.2.3' }])
    .withResourcesQuota({ memory: 0.25, cpu: 0.5 })
    .withCopyDirectoriesToContainer([{ source: dir, target: '/srv/dir' }])
    .withCopyArchivesToContainer([{ tar: await tarOf({ 'arch/b.txt': 'B\n' }), target: '/var' }])
    .withLogConsumer((stream) => stream.on('data', (l: string | Buffer) => consumed.push(l.toString())))
    .withWaitStrategy(tc.Wait.forAll([tc.Wait.forLogMessage('consumer-line'), tc.Wait.forSuccessfulCommand('test -d /srv/dir')]))
    .start();
  try {
    assert.equal(c.getName(), `/${name}`);
    const r = await c.exec(['sh', '-c', 'id -u; pwd; grep db.example /etc/hosts; grep -c " /scratch tmpfs" /proc/mounts; cat /srv/dir/a.txt /var/arch/b.txt']);
    assert.equal(r.exitCode, 0, r.output);
    const [uid, cwd, hosts, tmpfs, a, b] = r.stdout.trim().split('\n');
    assert.equal(uid, '33');
    assert.equal(cwd, '/tmp');
    assert.match(hosts!, /^10\.1\.2\.3\s+db\.example$/);
    assert.equal(tmpfs, '1');
    assert.equal(a, 'A');
    assert.equal(b, 'B');
    const info = await d.api('GET', `/containers/${c.getId()}/json`);
    assert.equal(info.body.HostConfig.Memory, 268435456);
    assert.equal(info.body.HostConfig.NanoCpus, 500000000);
    assert.ok(consumed.join('').includes('consumer-line'));

    // commit() makes an image of the container with testcontainers' change commands.
    await c.exec(['sh', '-c', 'echo committed > /tmp/state']);
    const image = await c.commit({ repo: 'berth-tc-commit', tag: 'v1', deleteOnExit: false, changes: ['ENV COMMITTED=yes'] });
    const img = await d.api('GET', `/images/${image}/json`);
    assert.equal(img.status, 200);
    assert.ok(img.body.Config.Env.includes('COMMITTED=yes'));
    const again = await new tc.GenericContainer('berth-tc-commit:v1').withCommand(['cat', '/tmp/state']).withWaitStrategy(tc.Wait.forOneShotStartup()).start();
    await again.stop();
  } finally {
    await c.stop();
  }
});

test('GenericContainer.fromDockerfile builds through the build API', async () => {
  const ctx = mkdtempSync(join(tmp, 'ctx-'));
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox:latest\nARG GREETING=none\nRUN echo "$GREETING" > /greeting\nCOPY hello.txt /hello.txt\nCMD ["sleep", "300"]\n');
  writeFileSync(join(ctx, 'hello.txt'), 'from the context\n');
  writeFileSync(join(ctx, 'ignored.txt'), 'no\n');
  writeFileSync(join(ctx, '.dockerignore'), 'ignored.txt\n');
  const built = await tc.GenericContainer.fromDockerfile(ctx)
    .withBuildArgs({ GREETING: 'built-arg' })
    .withCache(false)
    .build('berth-tc-built:latest', { deleteOnExit: false });
  const c = await built.start();
  try {
    const r = await c.exec(['sh', '-c', 'cat /greeting /hello.txt; test -e /ignored.txt && echo leaked || true']);
    assert.equal(r.output, 'built-arg\nfrom the context\n');
  } finally {
    await c.stop();
  }
});

test('host config: privileged, capabilities, ulimits, shm size, json-file logs, network mode none; stop without remove', async () => {
  const c = await new tc.GenericContainer(IMAGE)
    .withCommand(['sleep', '300'])
    .withPrivilegedMode()
    .withAddedCapabilities('NET_ADMIN')
    .withDroppedCapabilities('CHOWN')
    .withUlimits({ nofile: { soft: 1024, hard: 2048 } })
    .withSharedMemorySize(32 * 1024 * 1024)
    .withDefaultLogDriver()
    .withNetworkMode('none')
    .start();
  try {
    const info = (await d.api('GET', `/containers/${c.getId()}/json`)).body;
    assert.equal(info.HostConfig.Privileged, true);
    assert.deepEqual(info.HostConfig.CapAdd, ['NET_ADMIN']);
    assert.equal(info.HostConfig.ShmSize, 32 * 1024 * 1024);
    assert.equal(info.HostConfig.LogConfig.Type, 'json-file');
    assert.equal(info.HostConfig.NetworkMode, 'none');
    assert.deepEqual(c.getNetworkNames(), ['none']);
    const r = await c.exec(['sh', '-c', 'ulimit -n; ulimit -Hn; ls /sys/class/net; df -k /dev/shm | tail -1']);
    const [soft, hard, links, shm] = r.stdout.trim().split('\n');
    assert.equal(soft, '1024');
    assert.equal(hard, '2048');
    assert.equal(links, 'lo');
    assert.match(shm!, /\s32768\s/);
  } finally {
    // Stopped but kept: its files can still be read, as from a Docker container.
    const stopped = await c.stop({ remove: false });
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of await stopped.copyArchiveFromContainer('/etc/passwd')) chunks.push(Buffer.from(chunk as Uint8Array));
      assert.ok(Buffer.concat(chunks).includes(Buffer.from('root:x:0:0')));
      assert.equal((await d.api('GET', `/containers/${c.getId()}/json`)).body.State.Status, 'exited');
    } finally {
      await d.api('DELETE', `/containers/${c.getId()}?force=1`);
    }
  }
});

// testcontainers 11 drives Compose through the `docker compose` v2 CLI plugin. Where it is
// installed this runs; here only docker-compose v1 exists, so it is skipped.
const composePlugin = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0;
test('DockerComposeEnvironment (needs the docker compose v2 plugin)', { skip: composePlugin ? false : 'the docker compose v2 plugin is not installed' }, async () => {
  const dir = mkdtempSync(join(tmp, 'compose-'));
  writeFileSync(join(dir, 'compose.yaml'), `services:\n  web:\n    image: ${IMAGE}\n    command: ["sh", "-c", "${HTTPD}"]\n    ports: ["8080"]\n`);
  const env = await new tc.DockerComposeEnvironment(dir, 'compose.yaml').withWaitStrategy('web-1', tc.Wait.forLogMessage('ready')).up();
  try {
    const web = env.getContainer('web-1');
    const r = await web.exec(['cat', '/www/index.html']);
    assert.equal(r.output, 'hello-from-berth\n');
  } finally {
    await env.down();
  }
});
