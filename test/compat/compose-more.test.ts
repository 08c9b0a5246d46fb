// docker-compose 1.29 (Debian's) against berthd, beyond the basic up/down:
// named volumes and binds, env_file, entrypoint/command, two networks with
// aliases and a static address, build from a subdirectory, recreate detection,
// scale, the lifecycle commands, healthy dependencies, restart policies, port
// ranges, one-off runs and exec with and without a pty. Each test builds its
// own project in a temp dir and takes it down again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
const dirs: string[] = [];
const projects: Array<{ name: string; dir: string }> = [];

before(async () => {
  d = await startDaemon();
  await importBusybox(d);
});

after(async () => {
  if (d) {
    for (const p of projects) await compose(p, ['down', '-v', '-t', '1']).catch(() => undefined);
    await destroyDaemon(d);
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

type Project = { name: string; dir: string };
type Result = { code: number; stdout: string; stderr: string };

/** A project directory holding `files` (path → content). */
function project(name: string, files: Record<string, string>): Project {
  const dir = mkdtempSync(join(tmpdir(), 'berth-compose-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const p = { name, dir };
  projects.push(p);
  return p;
}

function compose(p: Project, args: string[], timeout = 120_000): Promise<Result> {
  return run('docker-compose', ['-p', p.name, ...args], p.dir, timeout);
}

function run(cmd: string, args: string[], cwd: string, timeout = 120_000): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { cwd, env: d.env, timeout }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin!.end();
  });
}

async function ok(p: Project, args: string[]): Promise<Result> {
  const r = await compose(p, args);
  assert.equal(r.code, 0, `docker-compose ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  return r;
}

/** `exec -T svc sh -c script`, asserting success; returns stdout. */
async function sh(p: Project, svc: string, script: string, extra: string[] = []): Promise<string> {
  return (await ok(p, ['exec', '-T', ...extra, svc, 'sh', '-c', script])).stdout;
}

function freePorts(n: number): Promise<number> {
  // n consecutive free ports (for a range mapping); retried a few times if one is taken.
  const tryAt = (base: number) => Promise.all(Array.from({ length: n }, (_, i) => new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(base + i, '127.0.0.1', () => s.close(() => resolve(true)));
  })));
  return (async () => {
    for (let k = 0; k < 20; k++) {
      const base = 20000 + Math.floor(Math.random() * 30000);
      if ((await tryAt(base)).every(Boolean)) return base;
    }
    throw new Error('no free port range');
  })();
}

const inspect = async (fmt: string, name: string): Promise<string> => {
  const r = await d.docker(['inspect', '-f', fmt, name]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
};

// Services stop at once on SIGTERM (a shell as PID 1 ignores it otherwise and compose waits 10 s).
const LOOP = `trap "exit 0" TERM; while true; do sleep 0.2; done`;

test('named volume, relative bind, env_file, entrypoint, two networks with aliases and a static IP, build in a subdir; data survives down and goes with down -v', async () => {
  const p = project('cmvol', {
    'data/host.txt': 'from-the-host\n',
    'app.env': 'FROM_FILE=file-value\nSHARED=from-file\n',
    'app/docker/Dockerfile': 'FROM busybox\nARG GREETING=unset\nRUN echo $GREETING > /greeting\nCOPY ctx.txt /ctx.txt\nCMD ["sh", "-c", "cat /greeting /ctx.txt; trap \'exit 0\' TERM; while true; do sleep 0.2; done"]\n',
    'app/ctx.txt': 'context-file\n',
    'docker-compose.yml': `version: "3.7"
services:
  db:
    image: busybox
    command: sh -c 'echo boot >> /data/boots; ${LOOP}'
    volumes:
      - dbdata:/data
      - ./data:/hostdata:ro
    networks:
      back:
        aliases: [database]
        ipv4_address: 172.29.7.10
  app:
    build:
      context: ./app
      dockerfile: docker/Dockerfile
      args:
        GREETING: hello-arg
    env_file: app.env
    environment:
      - SHARED=from-environment
      - INLINE=1
    depends_on: [db]
    networks: [front, back]
  tool:
    image: busybox
    entrypoint: ["sh", "-c"]
    command: ["echo tool says $$WORD; ${LOOP.replace(/"/g, '\\"')}"]
    environment:
      WORD: hi
    networks: [front]
volumes:
  dbdata:
networks:
  front:
  back:
    ipam:
      config:
        - subnet: 172.29.0.0/16
`,
  });
  const up = await ok(p, ['up', '-d']);
  assert.match(up.stderr, /Creating volume "cmvol_dbdata" with default driver/);
  assert.match(up.stderr, /Creating network "cmvol_back" with the default driver/);
  assert.match(up.stdout + up.stderr, /Successfully tagged cmvol_app:latest/);

  // The build used the subdir Dockerfile, its build arg and the context root.
  const logs = await ok(p, ['logs', '--no-color', 'app', 'tool']);
  assert.match(logs.stdout, /app_1\s+\| hello-arg/);
  assert.match(logs.stdout, /app_1\s+\| context-file/);
  assert.match(logs.stdout, /tool_1\s+\| tool says hi/);

  // environment wins over env_file; both reach the process.
  const env = await sh(p, 'app', 'echo $FROM_FILE $SHARED $INLINE');
  assert.equal(env, 'file-value from-environment 1\n');

  // The bind is the project's ./data, read-only.
  assert.equal(await sh(p, 'db', 'cat /hostdata/host.txt'), 'from-the-host\n');
  const ro = await compose(p, ['exec', '-T', 'db', 'sh', '-c', 'echo x > /hostdata/new']);
  assert.notEqual(ro.code, 0, 'a :ro bind is read-only');

  // db has its static address on back; app (on both networks) reaches it by service name and alias,
  // and reaches tool on front; tool (front only) cannot resolve db.
  assert.equal(await inspect('{{(index .NetworkSettings.Networks "cmvol_back").IPAddress}}', 'cmvol_db_1'), '172.29.7.10');
  assert.match(await sh(p, 'app', 'nslookup db'), /Address: 172\.29\.7\.10/);
  assert.match(await sh(p, 'app', 'nslookup database'), /Address: 172\.29\.7\.10/);
  assert.match(await sh(p, 'app', 'ping -c1 -W2 tool'), /1 packets received/);
  assert.match(await sh(p, 'app', 'ping -c1 -W2 database'), /1 packets received/);
  const nets = await inspect('{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', 'cmvol_app_1');
  assert.deepEqual(nets.split(' ').sort(), ['cmvol_back', 'cmvol_front']);
  assert.equal(await inspect('{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}', 'cmvol_tool_1'), 'cmvol_front');

  // The named volume keeps its data across down/up; down -v removes it.
  await sh(p, 'db', 'echo kept > /data/marker');
  const down = await ok(p, ['down', '-t', '1']);
  assert.doesNotMatch(down.stderr, /Removing volume/);
  assert.equal((await d.docker(['volume', 'ls', '-q'])).stdout, 'cmvol_dbdata\n');
  await ok(p, ['up', '-d']);
  assert.equal(await sh(p, 'db', 'cat /data/marker /data/boots'), 'kept\nboot\nboot\n');
  const downV = await ok(p, ['down', '-v', '-t', '1', '--rmi', 'local']);
  assert.match(downV.stderr, /Removing volume cmvol_dbdata/);
  assert.match(downV.stderr, /Removing image cmvol_app/);
  assert.equal((await d.docker(['volume', 'ls', '-q'])).stdout, '');
  assert.equal((await d.docker(['images', '-q', 'cmvol_app'])).stdout, '');
  assert.equal((await d.docker(['ps', '-aq'])).stdout, '');
});

test('links: the linked service resolves by its name and by the link alias, on every network the service joins', async () => {
  const p = project('cmlinks', {
    'docker-compose.yml': `version: "3"
services:
  db:
    image: busybox
    command: sh -c '${LOOP}'
  web:
    image: busybox
    command: sh -c '${LOOP}'
    links:
      - db
      - db:dbalias
  other:
    image: busybox
    command: sh -c '${LOOP}'
    links:
      - db:viaother
    networks: [default, side]
  sidecar:
    image: busybox
    command: sh -c '${LOOP}'
    networks: [side]
networks:
  side:
`,
  });
  await ok(p, ['up', '-d']);
  assert.match(await sh(p, 'web', 'ping -c1 -W2 db'), /1 packets received/);
  const dbIp = await inspect('{{(index .NetworkSettings.Networks "cmlinks_default").IPAddress}}', 'cmlinks_db_1');
  assert.match(await sh(p, 'web', 'nslookup dbalias'), new RegExp(`Address: ${dbIp.replace(/\./g, '\\.')}`));
  assert.match(await sh(p, 'web', 'ping -c1 -W2 dbalias'), /1 packets received/);
  assert.match(await sh(p, 'other', 'ping -c1 -W2 viaother'), /1 packets received/);
  // compose passes links as the endpoint's Links (HostConfig.Links for the network it creates on).
  const links = JSON.parse(await inspect('{{json (index .NetworkSettings.Networks "cmlinks_default").Links}}', 'cmlinks_web_1')) as string[];
  assert.ok(links.includes('cmlinks_db_1:dbalias'), JSON.stringify(links));
  // other joined both networks; links on the default bridge are refused, as dockerd does.
  assert.equal(await inspect('{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', 'cmlinks_other_1'), 'cmlinks_default cmlinks_side');
  const api = await d.api('POST', '/networks/bridge/connect', { Container: 'cmlinks_sidecar_1', EndpointConfig: { Links: ['cmlinks_db_1:x'] } });
  assert.equal(api.status, 400);
  assert.equal(api.body.message, 'links are only supported for user-defined networks');
  await ok(p, ['down', '-t', '1']);
});

test('up twice: unchanged services are up-to-date, a changed one is recreated, --force-recreate recreates', async () => {
  const yml = (word: string) => `version: "3"
services:
  a:
    image: busybox
    command: sh -c 'echo a says $$WORD; ${LOOP}'
    environment:
      WORD: ${word}
  b:
    image: busybox
    command: sh -c '${LOOP}'
`;
  const p = project('cmre', { 'docker-compose.yml': yml('one') });
  await ok(p, ['up', '-d']);
  const idA = await inspect('{{.Id}}', 'cmre_a_1');
  const idB = await inspect('{{.Id}}', 'cmre_b_1');

  const again = await ok(p, ['up', '-d']);
  assert.match(again.stderr, /cmre_a_1 is up-to-date/);
  assert.match(again.stderr, /cmre_b_1 is up-to-date/);
  assert.equal(await inspect('{{.Id}}', 'cmre_a_1'), idA);

  writeFileSync(join(p.dir, 'docker-compose.yml'), yml('two'));
  const changed = await ok(p, ['up', '-d']);
  assert.match(changed.stderr, /Recreating cmre_a_1\s+\.\.\. done/);
  assert.match(changed.stderr, /cmre_b_1 is up-to-date/);
  assert.notEqual(await inspect('{{.Id}}', 'cmre_a_1'), idA);
  assert.equal(await inspect('{{.Id}}', 'cmre_b_1'), idB);
  assert.match((await ok(p, ['logs', '--no-color', 'a'])).stdout, /a_1\s+\| a says two/);
  assert.equal((await d.docker(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean).sort().join(' '), 'cmre_a_1 cmre_b_1');

  const forced = await ok(p, ['up', '-d', '--force-recreate', '-t', '1', 'b']);
  assert.match(forced.stderr, /Recreating cmre_b_1\s+\.\.\. done/);
  assert.notEqual(await inspect('{{.Id}}', 'cmre_b_1'), idB);
  await ok(p, ['down', '-t', '1']);
});

test('scale 2: both replicas named and resolvable; stop/start/restart/pause/unpause/kill/rm, ps, top, logs -f --tail', async () => {
  const p = project('cmscale', {
    'docker-compose.yml': `version: "2.4"
services:
  web:
    image: busybox
    command: sh -c 'echo first; echo second; echo third; ${LOOP}'
    scale: 2
  probe:
    image: busybox
    command: sh -c '${LOOP}'
`,
  });
  await ok(p, ['up', '-d']);
  const names = async () => (await d.docker(['ps', '-a', '--format', '{{.Names}} {{.State}}'])).stdout.split('\n').filter(Boolean).sort();
  assert.deepEqual(await names(), ['cmscale_probe_1 running', 'cmscale_web_1 running', 'cmscale_web_2 running']);
  // The service name answers with both replicas; each replica also by its container name.
  const ns = await sh(p, 'probe', 'nslookup web');
  assert.equal(ns.match(/Address: 172\./g)?.length, 2, ns);
  assert.match(await sh(p, 'probe', 'ping -c1 -W2 cmscale_web_2'), /1 packets received/);

  const up3 = await ok(p, ['up', '-d', '--scale', 'web=3']);
  assert.match(up3.stderr, /Creating cmscale_web_3\s+\.\.\. done/);
  await ok(p, ['up', '-d', '--scale', 'web=2']);
  assert.deepEqual(await names(), ['cmscale_probe_1 running', 'cmscale_web_1 running', 'cmscale_web_2 running']);

  const ps = await ok(p, ['ps']);
  assert.match(ps.stdout, /^cmscale_web_2\s+sh -c echo first;.*\s+Up\s*$/m);

  const top = await ok(p, ['top', 'probe']);
  assert.match(top.stdout, /^cmscale_probe_1$/m);
  assert.match(top.stdout, /UID\s+PID\s+PPID/);
  assert.match(top.stdout, /sleep 0\.2/);

  // logs -f --tail=1 prints only the last line of each replica, then follows until interrupted.
  const follow = await compose(p, ['logs', '-f', '--tail=1', '--no-color', 'web'], 3000);
  assert.match(follow.stdout, /web_1\s+\| third/);
  assert.match(follow.stdout, /web_2\s+\| third/);
  assert.doesNotMatch(follow.stdout, /first|second/);

  await ok(p, ['pause', 'probe']);
  assert.equal(await inspect('{{.State.Status}}', 'cmscale_probe_1'), 'paused');
  assert.match((await ok(p, ['ps', 'probe'])).stdout, /Paused/);
  await ok(p, ['unpause', 'probe']);
  assert.equal(await inspect('{{.State.Status}}', 'cmscale_probe_1'), 'running');

  await ok(p, ['stop', '-t', '1', 'web']);
  assert.deepEqual(await names(), ['cmscale_probe_1 running', 'cmscale_web_1 exited', 'cmscale_web_2 exited']);
  assert.equal(await inspect('{{.State.ExitCode}}', 'cmscale_web_1'), '0', 'the TERM trap ran');
  await ok(p, ['start', 'web']);
  assert.deepEqual(await names(), ['cmscale_probe_1 running', 'cmscale_web_1 running', 'cmscale_web_2 running']);
  const started = await inspect('{{.State.StartedAt}}', 'cmscale_probe_1');
  await ok(p, ['restart', '-t', '1', 'probe']);
  assert.notEqual(await inspect('{{.State.StartedAt}}', 'cmscale_probe_1'), started);
  assert.equal(await inspect('{{.State.Status}}', 'cmscale_probe_1'), 'running');

  await ok(p, ['kill', 'probe']);
  assert.equal(await inspect('{{.State.ExitCode}}', 'cmscale_probe_1'), '137');
  await ok(p, ['kill', '-s', 'SIGTERM', 'web']);
  assert.equal(await inspect('{{.State.ExitCode}}', 'cmscale_web_2'), '0');
  const rm = await ok(p, ['rm', '-f']);
  assert.match(rm.stderr, /Removing cmscale_web_1\s+\.\.\. done/);
  assert.deepEqual(await names(), []);
  await ok(p, ['down']);
});

test('healthy dependency, restart: always, port ranges, expose, port, config', async () => {
  const base = await freePorts(2);
  const p = project('cmhealth', {
    'docker-compose.yml': `version: "2.4"
services:
  ready:
    image: busybox
    command: sh -c 'sleep 1; touch /ok; ${LOOP}'
    healthcheck:
      test: ["CMD-SHELL", "test -f /ok"]
      interval: 300ms
      retries: 30
  app:
    image: busybox
    command: sh -c 'mkdir -p /w; echo page > /w/index.html; httpd -p 7000 -h /w; httpd -p 7001 -h /w; ${LOOP}'
    ports:
      - "127.0.0.1:${base}-${base + 1}:7000-7001"
    expose:
      - "9100"
    depends_on:
      ready:
        condition: service_healthy
  crash:
    image: busybox
    command: sh -c 'echo crash-run; exit 1'
    restart: always
`,
  });
  const cfg = await ok(p, ['config']);
  assert.match(cfg.stdout, /condition: service_healthy/);
  assert.match(cfg.stdout, new RegExp(`- 127\\.0\\.0\\.1:${base + 1}:7001/tcp`));

  await ok(p, ['up', '-d']);
  // app was created only once ready reported healthy.
  assert.equal(await inspect('{{.State.Health.Status}}', 'cmhealth_ready_1'), 'healthy');
  const readyAt = Date.parse(await inspect('{{.State.StartedAt}}', 'cmhealth_ready_1'));
  const appAt = Date.parse(await inspect('{{.State.StartedAt}}', 'cmhealth_app_1'));
  assert.ok(appAt - readyAt >= 900, `app started ${appAt - readyAt} ms after ready`);

  assert.equal((await ok(p, ['port', 'app', '7001'])).stdout.trim(), `127.0.0.1:${base + 1}`);
  const ps = await ok(p, ['ps', 'app']);
  assert.match(ps.stdout, new RegExp(`127\\.0\\.0\\.1:${base}->7000/tcp, 127\\.0\\.0\\.1:${base + 1}->7001/tcp`));
  assert.equal(await inspect('{{json .Config.ExposedPorts}}', 'cmhealth_app_1'), '{"7000/tcp":{},"7001/tcp":{},"9100/tcp":{}}');
  for (const port of [base, base + 1]) {
    const r = await run('sh', ['-c', `busybox wget -qO- http://127.0.0.1:${port}/`], p.dir, 10_000);
    assert.equal(r.stdout, 'page\n', `port ${port}: ${r.stderr}`);
  }

  // restart: always keeps bringing the crashing service back.
  const deadline = Date.now() + 15_000;
  let count = 0;
  while (Date.now() < deadline && count < 2) {
    count = Number(await inspect('{{.RestartCount}}', 'cmhealth_crash_1'));
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(count >= 2, `RestartCount ${count}`);
  assert.ok((await ok(p, ['logs', '--no-color', 'crash'])).stdout.split('crash-run').length > 2);
  await ok(p, ['down', '-t', '1']);
  assert.equal((await d.docker(['ps', '-aq'])).stdout, '');
});

test('run: exit codes, -e, --rm, -w, --no-deps; exec -T with -u/-w/-e; exec with a pty', async () => {
  const p = project('cmrun', {
    'docker-compose.yml': `version: "3"
services:
  svc:
    image: busybox
    command: sh -c '${LOOP}'
    environment:
      FROMFILE: from-env
  dep:
    image: busybox
    command: sh -c '${LOOP}'
    depends_on: [svc]
`,
  });
  const r = await compose(p, ['run', '--rm', '-e', 'X=1', 'dep', 'sh', '-c', 'echo x=$X; nslookup svc >/dev/null && echo svc-up; exit 7']);
  assert.equal(r.code, 7, r.stderr);
  assert.match(r.stdout, /x=1/);
  assert.match(r.stdout, /svc-up/, 'run starts the service\'s dependencies');
  const ok0 = await compose(p, ['run', '--rm', '--no-deps', '-w', '/tmp', 'svc', 'sh', '-c', 'pwd; echo $FROMFILE']);
  assert.equal(ok0.code, 0, ok0.stderr);
  assert.equal(ok0.stdout.replace(/\r/g, ''), '/tmp\nfrom-env\n');
  // --rm left no one-off container behind.
  assert.equal((await d.docker(['ps', '-a', '--filter', 'label=com.docker.compose.oneoff=True', '-q'])).stdout, '');

  const ex = await sh(p, 'svc', 'id -u; pwd; echo $E', ['-u', 'nobody', '-w', '/tmp', '-e', 'E=exec-env']);
  assert.equal(ex, '65534\n/tmp\nexec-env\n');
  const code = await compose(p, ['exec', '-T', 'svc', 'sh', '-c', 'exit 5']);
  assert.equal(code.code, 5);

  // Without -T compose asks for a terminal: give it one through script(1).
  const tty = await run('script', ['-qec', `docker-compose -p ${p.name} exec svc sh -c 'tty; echo in-a-pty; exit 3'`, '/dev/null'], p.dir, 30_000);
  assert.equal(tty.code, 3, tty.stderr);
  assert.match(tty.stdout, /\/dev\/pts\/\d+\r?\n/);
  assert.match(tty.stdout, /in-a-pty\r\n/);
  await ok(p, ['down', '-t', '1']);
});

test('service options, secrets, a bind-backed named volume, volumes_from, network_mode service:/host, anonymous volume kept on recreate', async () => {
  const p = project('cmopts', {
    'secrets/pw.txt': 's3cret\n',
    'hostdir/seed.txt': 'seeded\n',
  });
  writeFileSync(join(p.dir, 'docker-compose.yml'), `version: "3.8"
services:
  main:
    image: busybox
    command: sh -c '${LOOP}'
    user: "33:33"
    working_dir: /tmp
    hostname: myhost
    domainname: example.org
    extra_hosts: ["gw.local:10.9.8.7"]
    cap_drop: [CHOWN]
    read_only: true
    tmpfs: [/run/scratch]
    init: true
    stop_grace_period: 3s
    ulimits:
      nofile: {soft: 1024, hard: 2048}
    shm_size: 32m
    mem_limit: 64m
    pids_limit: 50
    volumes:
      - /anon
      - hostbacked:/hb
    secrets: [pw]
    environment: [REV=1]
  sidecar:
    image: busybox
    network_mode: "service:main"
    command: sh -c '${LOOP}'
  reader:
    image: busybox
    volumes_from: ["main:ro"]
    command: sh -c '${LOOP}'
  hostnet:
    image: busybox
    network_mode: host
    command: sh -c '${LOOP}'
volumes:
  hostbacked:
    driver_opts: {type: none, o: bind, device: "${p.dir}/hostdir"}
secrets:
  pw:
    file: ./secrets/pw.txt
`);
  await ok(p, ['up', '-d']);
  const got = await sh(p, 'main', [
    'id -u', 'pwd', 'hostname', 'hostname -d', 'grep gw.local /etc/hosts', 'touch /x 2>/dev/null || echo ro-root',
    'touch /run/scratch/ok && echo tmpfs-ok', 'ulimit -n', 'ulimit -Hn', 'df -k /dev/shm | tail -1 | awk "{print \\$2}"',
    'cat /run/secrets/pw', 'cat /hb/seed.txt', 'cat /proc/1/comm', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes',
    'cat /sys/fs/cgroup/pids/pids.max',
  ].join('; '));
  assert.deepEqual(got.split('\n').filter(Boolean), [
    '33', '/tmp', 'myhost', 'example.org', '10.9.8.7\tgw.local', 'ro-root', 'tmpfs-ok', '1024', '2048', '32768',
    's3cret', 'seeded', 'docker-init', '67108864', '50',
  ]);
  assert.equal(await inspect('{{.Config.StopTimeout}}', 'cmopts_main_1'), '3');

  // network_mode service:main shares main's network stack, its names and its DNS.
  assert.equal(await sh(p, 'sidecar', 'hostname'), 'myhost\n');
  assert.match(await sh(p, 'sidecar', 'nslookup reader'), /Name:\s+reader\nAddress: 172\./);
  const mainIp = await inspect('{{(index .NetworkSettings.Networks "cmopts_default").IPAddress}}', 'cmopts_main_1');
  assert.match(await sh(p, 'sidecar', 'ip -4 addr show eth0'), new RegExp(`inet ${mainIp.replace(/\./g, '\\.')}/`));
  // host mode sees the host's interfaces (more than lo and one eth).
  assert.ok(Number((await sh(p, 'hostnet', 'ip -o link | wc -l')).trim()) > 2);

  // volumes_from main:ro: the same volumes at the same places, read-only.
  await sh(p, 'main', 'echo from-main > /anon/f', ['-u', '0']);
  assert.equal(await sh(p, 'reader', 'cat /anon/f /hb/seed.txt'), 'from-main\nseeded\n');
  assert.equal(await sh(p, 'reader', 'touch /anon/g 2>/dev/null || echo read-only'), 'read-only\n');
  const mounts = JSON.parse(await inspect('{{json .Mounts}}', 'cmopts_reader_1')) as Array<{ Destination: string; RW: boolean }>;
  assert.deepEqual(mounts.map((m) => [m.Destination, m.RW]).sort(), [['/anon', false], ['/hb', false], ['/run/secrets/pw', false]]);
  // The docker CLI's --volumes-from, and its errors.
  const cli = await d.docker(['run', '--rm', '--volumes-from', 'cmopts_main_1', 'busybox', 'cat', '/anon/f']);
  assert.equal(cli.stdout, 'from-main\n', cli.stderr);
  const bad = await d.docker(['run', '--rm', '--volumes-from', 'cmopts_main_1:xx', 'busybox', 'true']);
  assert.match(bad.stderr, /invalid mode for volumes-from: xx/);

  // Recreating main (its environment changed) carries its anonymous volume over.
  const yml = join(p.dir, 'docker-compose.yml');
  writeFileSync(yml, readFileSync(yml, 'utf8').replace('REV=1', 'REV=2'));
  const re = await ok(p, ['up', '-d', '-t', '1']);
  assert.match(re.stderr, /Recreating cmopts_main_1/);
  assert.equal(await sh(p, 'main', 'cat /anon/f; echo $REV'), 'from-main\n2\n');
  const down = await ok(p, ['down', '-v', '-t', '1']);
  assert.match(down.stderr, /Removing volume cmopts_hostbacked/);
  // Removing a bind-backed volume unmounts it and leaves the host directory alone.
  assert.equal(readFileSync(join(p.dir, 'hostdir/seed.txt'), 'utf8'), 'seeded\n');
  assert.doesNotMatch((await d.docker(['volume', 'ls', '-q'])).stdout, /cmopts_hostbacked/);
  // (The anonymous volume compose carried over is now mounted by name, so like dockerd's `rm -v`
  // berth leaves it; compose's down -v removes only the file's named volumes.)
  await d.docker(['volume', 'prune', '-f']);
  assert.equal((await d.docker(['ps', '-aq'])).stdout, '');
});

test('external network and volume, --remove-orphans, and a foreground up stopped with Ctrl-C', async () => {
  const p = project('cmext', {
    'docker-compose.yml': `version: "3.5"
services:
  a:
    image: busybox
    command: sh -c 'echo a-is-up; ${LOOP}'
    networks: [ext]
    volumes: [extvol:/e]
  orphan:
    image: busybox
    command: sh -c '${LOOP}'
    networks: [ext]
networks:
  ext:
    external: true
    name: cm-shared-net
volumes:
  extvol:
    external: true
    name: cm-shared-vol
`,
  });
  const missing = await compose(p, ['up', '-d']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /Network cm-shared-net declared as external, but could not be found/);
  assert.equal((await d.docker(['network', 'create', 'cm-shared-net'])).code, 0);
  assert.equal((await d.docker(['volume', 'create', 'cm-shared-vol'])).code, 0);
  await ok(p, ['up', '-d']);
  assert.equal(await sh(p, 'a', 'ls -d /e'), '/e\n');

  // A service gone from the file leaves an orphan; --remove-orphans removes it.
  const yml = join(p.dir, 'docker-compose.yml');
  writeFileSync(yml, readFileSync(yml, 'utf8').replace(/  orphan:\n.*\n.*\n.*\n/, ''));
  const orphans = await ok(p, ['up', '-d', '--remove-orphans']);
  assert.match(orphans.stderr, /Removing orphan container "cmext_orphan_1"/);
  assert.match(orphans.stderr, /cmext_a_1 is up-to-date/);
  await ok(p, ['down', '-t', '1']);
  assert.match((await d.docker(['network', 'ls', '--format', '{{.Name}}'])).stdout, /^cm-shared-net$/m, 'external network stays');

  // Foreground up: logs stream until SIGINT, then compose stops the containers gracefully.
  const child = execFile('docker-compose', ['-p', p.name, 'up', '--no-color'], { cwd: p.dir, env: d.env });
  let outText = '';
  child.stdout!.on('data', (c) => (outText += c));
  child.stderr!.on('data', (c) => (outText += c));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const deadline = Date.now() + 60_000;
  while (!/a_1\s+\| a-is-up/.test(outText) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.match(outText, /a_1\s+\| a-is-up/);
  child.kill('SIGINT');
  await exited;
  assert.match(outText, /Gracefully stopping\.\.\./);
  assert.match(outText, /Stopping cmext_a_1\s+\.\.\. done/);
  assert.equal(await inspect('{{.State.Status}} {{.State.ExitCode}}', 'cmext_a_1'), 'exited 0');
  await ok(p, ['down', '-t', '1']);
  assert.equal((await d.docker(['network', 'rm', 'cm-shared-net'])).code, 0);
  assert.equal((await d.docker(['volume', 'rm', 'cm-shared-vol'])).code, 0);
});
