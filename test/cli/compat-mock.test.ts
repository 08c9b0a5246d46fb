// berth and the docker CLI side by side against the same scripted daemon: the create bodies
// they send, the tables they print, their error messages and exit codes must match (with
// "docker" read as "berth"). Skipped when the docker CLI is not installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startMockDaemon, sendJSON, upgrade, type MockDaemon } from './mock-daemon.js';
import { cannedContainers, cannedImages } from './fixtures.js';
import { encodeFrame } from '../../src/client/index.js';

const BERTH = fileURLToPath(new URL('../../../bin/berth', import.meta.url));
const haveDocker = spawnSync('docker', ['--version']).status === 0;
const skip = haveDocker ? false : 'the docker CLI is not installed';

let d: MockDaemon;
// One fixed "now" for the canned objects so both CLIs print the same relative times.
const created = Math.floor(Date.now() / 1000);

before(async () => {
  d = await startMockDaemon();
  let started = false;
  d.route('GET', /^\/containers\/json$/, (_r, res) => sendJSON(res, 200, cannedContainers(created)));
  d.route('GET', /^\/images\/json$/, (_r, res) => sendJSON(res, 200, cannedImages(created)));
  d.route('GET', /^\/containers\/[^/]+\/json$/, (r, res) => sendJSON(res, 404, { message: `No such container: ${r.path.split('/')[2]}` }));
  // Routes added later are tried first.
  d.route('GET', /^\/containers\/web\/json$/, (_r, res) => sendJSON(res, 200, { Id: 'abc', Name: '/web', State: { Status: 'running', Running: true }, Config: { Tty: false, Labels: { a: '<b>' } } }));
  d.route('POST', /^\/containers\/[^/]+\/(stop|kill|restart)$/, (r, res) => sendJSON(res, 404, { message: `No such container: ${r.path.split('/')[2]}` }));
  d.route('POST', /^\/containers\/create$/, (r, res) => {
    started = false;
    if (JSON.parse(r.body).Image === 'missing') return sendJSON(res, 404, { message: 'No such image: missing:latest' });
    sendJSON(res, 201, { Id: 'f'.repeat(64), Warnings: [] });
  });
  d.route('POST', /^\/images\/create$/, (_r, res) => sendJSON(res, 404, { message: 'pull access denied for missing, repository does not exist or may require authentication' }));
  d.route('POST', /^\/containers\/f+\/attach$/, async (_r, _res, raw) => {
    const sock = upgrade(raw, 'application/vnd.docker.multiplexed-stream');
    while (!started) await new Promise((r) => setTimeout(r, 5));
    sock.write(encodeFrame(1, 'out\n'));
    sock.write(encodeFrame(2, 'err\n'));
    sock.end();
  });
  d.route('POST', /^\/containers\/f+\/wait$/, async (_r, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    while (!started) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    res.end('{"StatusCode":3,"Error":null}\n');
  });
  d.route('POST', /^\/containers\/f+\/start$/, (_r, res) => {
    started = true;
    res.writeHead(204);
    res.end();
  });
});
after(async () => d?.close());

interface Result {
  code: number | null;
  out: string;
  err: string;
  create?: unknown;
}

async function exec(bin: string, args: string[], host = d.host): Promise<Result> {
  d.requests.length = 0;
  const p = spawn(bin, args, { env: { ...process.env, DOCKER_HOST: host, HOME: '/nonexistent-home' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (c) => (out += c));
  p.stderr.on('data', (c) => (err += c));
  const code = await new Promise<number | null>((r) => p.on('close', r));
  const c = d.requests.find((q) => q.path === '/containers/create');
  const body = c ? JSON.parse(c.body) : undefined;
  // The docker CLI builds Env and Binds through Go maps: their order varies from run to run.
  if (body?.Env) body.Env.sort();
  if (body?.HostConfig?.Binds) body.HostConfig.Binds.sort();
  return { code, out, err, create: c ? { query: c.query.toString(), body } : undefined };
}

async function same(args: string[], opts: { host?: string; anyOrder?: boolean } = {}): Promise<Result> {
  const docker = await exec('docker', args, opts.host);
  const berth = await exec(BERTH, args, opts.host);
  const norm = (s: string) => s.replace(/docker/g, 'berth').replace(/Docker/g, 'berth');
  // The docker CLI walks a Go map for the rows of one image, so their order varies run to run.
  const order = (s: string) => (opts.anyOrder ? s.split('\n').sort().join('\n') : s);
  assert.equal(order(berth.out), order(docker.out), `stdout of ${args.join(' ')}`);
  assert.equal(berth.err, norm(docker.err), `stderr of ${args.join(' ')}`);
  assert.equal(berth.code, docker.code, `exit code of ${args.join(' ')}`);
  assert.deepEqual(berth.create, docker.create, `create request of ${args.join(' ')}`);
  return berth;
}

test('create: the same request body for the common run flags', { skip }, async () => {
  await same(['create', 'busybox']);
  await same(['create', '-it', '--name', 'web', '-e', 'A=1', '-e', 'B', '-v', '/tmp:/data:ro', '-v', 'vol1:/v', '-v', '/anon',
    '--mount', 'type=bind,source=/tmp,target=/m,readonly', '--mount', 'type=volume,source=v2,target=/v2,volume-opt=o=1',
    '--mount', 'type=tmpfs,target=/t,tmpfs-size=1m', '--tmpfs', '/run:rw,size=64m', '-w', '/w', '-u', '1000:1000', '-h', 'h.example.com',
    '--entrypoint', '/bin/sh', '-l', 'k=v', '--label', 'k2', '-p', '8080:80', '-p', '127.0.0.1:9000-9001:9000-9001/udp', '-p', '53', '-P',
    '--network', 'net1', '--network-alias', 'al', '--ip', '10.0.0.5', '--dns', '8.8.8.8', '--add-host', 'h:1.2.3.4', '--restart', 'on-failure:3',
    '--init', '--privileged', '--cap-add', 'NET_ADMIN', '--cap-drop', 'cap_chown', '--security-opt', 'no-new-privileges', '--read-only',
    '-m', '512m', '--memory-swap', '1g', '--cpus', '1.5', '--cpu-shares', '512', '--cpuset-cpus', '0-1', '--pids-limit', '100',
    '--ulimit', 'nofile=1024:2048', '--shm-size', '64m', '--sysctl', 'net.ipv4.ip_forward=1', '--stop-signal', 'SIGUSR1', '--stop-timeout', '5',
    '--log-driver', 'json-file', '--log-opt', 'max-size=10m', '--health-cmd', 'true', '--health-interval', '5s', '--health-retries', '3',
    '--health-timeout', '2s', '--health-start-period', '1s', '--expose', '7000-7001', '--platform', 'linux/amd64', 'busybox', 'sh', '-c', 'echo hi']);
  await same(['create', '--rm', '-a', 'stdout', '-i', '--entrypoint', '', '--no-healthcheck', '--network', 'a', '--network', 'b', 'busybox']);
});

test('usage errors: same messages and exit 125 / 1', { skip }, async () => {
  await same(['create', '--rm', '--restart', 'always', 'busybox']);
  await same(['create', '--foo', 'busybox']);
  await same(['create']);
  await same(['create', '-p', 'abc', 'busybox']);
  await same(['create', '-m', 'abc', 'busybox']);
  await same(['create', '--health-interval', '5', 'busybox']);
  await same(['create', '--mount', 'type=volume', 'busybox']);
  await same(['rm']);
  await same(['stop', '-t', 'x', 'a']);
});

test('ps and images: the same tables, quiet and template output', { skip }, async () => {
  await same(['ps']);
  await same(['ps', '-a', '--no-trunc']);
  await same(['ps', '-q']);
  await same(['ps', '-s']);
  await same(['ps', '--format', 'table {{.ID}}\\t{{.Label "b"}}\\t{{.Size}}']);
  await same(['ps', '--format', '{{.Names}} {{.Labels}} {{.Mounts}} {{.Networks}} {{.LocalVolumes}} {{.Platform}}']);
  await same(['images'], { anyOrder: true });
  await same(['images', '--digests'], { anyOrder: true });
  await same(['images', '-q'], { anyOrder: true });
  await same(['images', '--no-trunc'], { anyOrder: true });
});

test('inspect and daemon errors: same output, same exit codes', { skip }, async () => {
  await same(['container', 'inspect', 'web']);
  await same(['container', 'inspect', '-f', '{{.State.Status}} {{json .Config.Labels}}', 'web']);
  await same(['container', 'inspect', 'nope']);
  await same(['stop', 'a', 'b']);
  await same(['kill', 'a']);
});

test('run: attach before start, stdout/stderr demultiplexed, the container exit code', { skip }, async () => {
  const r = await same(['run', 'busybox', 'sh']);
  assert.equal(r.out, 'out\n');
  assert.equal(r.err, 'err\n');
  assert.equal(r.code, 3);
  const paths = (await exec(BERTH, ['run', 'busybox'])).code;
  assert.equal(paths, 3);
});

test('run: a missing image is pulled, a failed pull ends with 125', { skip }, async () => {
  const r = await same(['run', 'missing']);
  assert.equal(r.code, 125);
  assert.match(r.err, /^Unable to find image 'missing:latest' locally\nberth: Error response from daemon: pull access denied/);
});

test('no daemon: the Cannot connect message and exit 1', { skip }, async () => {
  const r = await exec(BERTH, ['ps'], 'unix:///nonexistent/berth.sock');
  assert.equal(r.code, 1);
  assert.equal(r.err, 'Cannot connect to the berth daemon at unix:///nonexistent/berth.sock. Is the berth daemon running?\n');
  const def = spawnSync(BERTH, ['ps'], { env: { ...process.env, DOCKER_HOST: '', BERTH_HOST: '' }, encoding: 'utf8' });
  if (def.status === 1 && def.stderr.includes('/run/berth/berth.sock')) assert.match(def.stderr, /sudo berthd/);
});
