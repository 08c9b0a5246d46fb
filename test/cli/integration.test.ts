// berth against a real berthd, side by side with the docker CLI on the same daemon: for the same
// command both must print the same stdout, the same stderr (after the program name) and end with
// the same exit code. Commands that change state run on twin objects ("x-b" through berth, "x-d"
// through docker) and their outputs are compared with the names swapped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busyboxTar } from '../helpers/fixtures.js';
import { startDaemon, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BERTH = join(ROOT, 'bin/berth');
const ready = existsSync(join(ROOT, 'dist/src/daemon/main.js'));
const haveDocker = spawnSync('docker', ['--version']).status === 0;
const haveTmux = spawnSync('tmux', ['-V']).status === 0;
const skip = !ready ? 'berthd is not built' : !haveDocker ? 'no docker CLI to compare with' : false;

let d: TestDaemon;
let dir = '';
let tar = '';

interface Out { status: number | null; stdout: string; stderr: string }

function exec(bin: string, args: string[], input?: string): Out {
  const r = spawnSync(bin, args, { env: d.env, encoding: 'utf8', input: input ?? '', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const berth = (args: string[], input?: string) => exec(BERTH, args, input);
const docker = (args: string[], input?: string) => exec('docker', args, input);

/** The docker CLI's stderr as berth writes it: the program name is the only difference. */
const asBerth = (s: string) => s.replace(/(^|[\s'"])docker(?=[\s:'"])/g, '$1berth');

/** Relative times ("2 seconds ago", "Up Less than a second") tick between two runs; so do column widths. */
const untimed = (s: string) =>
  s.replace(/(Less than a second|About a minute|About an hour|\d+ (second|minute|hour|day|week|month|year)s?)/g, 'T').replace(/ {2,}/g, '  ');

function same(args: string[], o: { norm?: (s: string) => string; input?: string } = {}): Out {
  const n = o.norm ?? ((s: string) => s);
  const b = berth(args, o.input);
  const k = docker(args, o.input);
  const what = args.join(' ');
  assert.equal(n(b.stdout), n(k.stdout), `stdout of ${what}`);
  assert.equal(n(b.stderr), n(asBerth(k.stderr)), `stderr of ${what}`);
  assert.equal(b.status, k.status, `exit code of ${what}`);
  return b;
}

/** Run `args(name)` on twin objects: berth on `${base}-b`, docker on `${base}-d`; outputs agree. */
function twin(base: string, args: (name: string) => string[]): Out {
  const b = berth(args(`${base}-b`));
  const k = docker(args(`${base}-d`));
  const swap = (s: string) => s.replaceAll(`${base}-d`, `${base}-b`).replace(/[0-9a-f]{64}/g, '<id>');
  const what = args(base).join(' ');
  assert.equal(swap(b.stdout), swap(k.stdout), `stdout of ${what}`);
  assert.equal(swap(b.stderr), asBerth(swap(k.stderr)), `stderr of ${what}`);
  assert.equal(b.status, k.status, `exit code of ${what}`);
  return b;
}

function ok(r: Out, what = ''): Out {
  assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  return r;
}

/** Start the same detached container twice, as `${base}-b` and `${base}-d`. */
function twins(base: string, ...cmd: string[]): void {
  ok(berth(['run', '-d', '--network', 'none', '--name', `${base}-b`, 'busybox', ...cmd]), `run ${base}-b`);
  ok(berth(['run', '-d', '--network', 'none', '--name', `${base}-d`, 'busybox', ...cmd]), `run ${base}-d`);
}

const state = (name: string) => berth(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', name]).stdout;

before(async () => {
  if (skip) return;
  // Own address pools: on a shared host the default ones may all be taken by other bridges.
  const o = 100 + Math.floor(Math.random() * 100);
  d = await startDaemon({ config: { bip: `10.${o}.0.1/24`, 'default-address-pools': [{ base: `10.${o}.0.0/16`, size: 24 }] } });
  dir = mkdtempSync(join(tmpdir(), 'berth-cli-it-'));
  tar = busyboxTar(join(dir, 'busybox.tar'));
});

after(async () => {
  if (skip || !d) return;
  spawnSync('tmux', ['kill-session', '-t', TMUX], { stdio: 'ignore' });
  await destroyDaemon(d);
  rmSync(dir, { recursive: true, force: true });
});

test('import: an image from a tarball, its id listed by both CLIs', { skip }, () => {
  const r = ok(berth(['import', '--change', 'CMD ["sh"]', tar, 'busybox:latest']));
  assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(docker(['images', '--no-trunc', '-q', 'busybox']).stdout, r.stdout);
  same(['import', join(dir, 'missing.tar'), 'x:1']);
  same(['import']);
});

test('images: table, -q, --no-trunc, --format, filters', { skip }, () => {
  ok(berth(['import', tar, 'second:v1']));
  same(['images'], { norm: untimed });
  same(['image', 'ls'], { norm: untimed });
  same(['images', '-q']);
  same(['images', '--no-trunc'], { norm: untimed });
  same(['images', '--format', 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}']);
  same(['images', '--format', '{{json .}}'], { norm: untimed });
  same(['images', 'second'], { norm: untimed });
  same(['images', '--filter', 'reference=busybox', '-q']);
});

test('run: foreground output, -d, -i piped, --rm, and the exit codes 0, 3, 125, 126, 127', { skip }, () => {
  same(['run', '--rm', 'busybox', 'echo', 'hello']);
  same(['run', '--network', 'none', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  same(['run', '-i', '--rm', '--network', 'none', 'busybox', 'cat'], { input: 'piped input\nsecond line\n' });
  same(['run', '--rm', '--network', 'none', 'busybox', 'nonexistent-cmd']); // 127
  same(['run', '--rm', '--network', 'none', 'busybox', '/etc']); // 126
  same(['run', '--bogus-flag', 'busybox']); // 125, flag error
  same(['run', '--network', 'nosuchnet', 'busybox', 'true']); // 125, from the daemon
  same(['run']);
  const r = ok(berth(['run', '-d', '--network', 'none', '--name', 'detached', 'busybox', 'sleep', '300']));
  assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
  assert.equal(docker(['ps', '-q', '--no-trunc', '--filter', 'name=detached']).stdout, r.stdout);
  same(['run', '-d', '--name', 'detached', 'busybox', 'true']); // name conflict
  ok(berth(['run', '--rm', '--name', 'gone', '--network', 'none', 'busybox', 'true']));
  assert.equal(berth(['ps', '-aq', '--filter', 'name=gone']).stdout, '');
});

test('ps: -a, -q, --filter, --format, --no-trunc', { skip }, () => {
  assert.equal(berth(['run', '--name', 'exited3', '--network', 'none', 'busybox', 'sh', '-c', 'exit 3']).status, 3);
  same(['ps'], { norm: untimed });
  same(['ps', '-a'], { norm: untimed });
  same(['ps', '-q']);
  same(['ps', '-aq']);
  same(['ps', '-a', '--no-trunc'], { norm: untimed });
  same(['ps', '-a', '--filter', 'status=exited', '--format', '{{.Names}} {{.Status}}'], { norm: untimed });
  same(['ps', '-a', '--filter', 'exited=3', '-q']);
  same(['ps', '--filter', 'name=detached', '--format', 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.State}}\t{{.Ports}}\t{{.Names}}']);
  same(['ps', '-a', '--format', 'json'], { norm: untimed });
  same(['ps', '-a', '--no-trunc', '--format', '{{json .}}'], { norm: untimed });
  same(['container', 'ls', '-a', '--format', '{{.Names}}\t{{.Networks}}\t{{.Mounts}}\t{{.Labels}}']);
  same(['ps', '--filter', 'bogus=1']);
  for (const c of [['ps'], ['images'], ['inspect', 'detached'], ['version'], ['info'], ['events'], ['volume', 'ls'], ['network', 'ls'], ['system', 'df']])
    same([...c, '--format', '{{.Unclosed']);
});

function runAsync(bin: string, args: string[]): Promise<Out> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env: d.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

test('logs: all, --tail, -t, -f ends when the container ends', { skip }, async () => {
  ok(berth(['run', '--name', 'lg', '--network', 'none', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; done; echo err >&2']));
  const all = same(['logs', 'lg']);
  assert.equal(all.stdout, 'line1\nline2\nline3\nline4\nline5\n');
  assert.equal(all.stderr, 'err\n');
  same(['logs', '--tail', '2', 'lg']);
  same(['logs', '-n', '0', 'lg']);
  const ts = same(['logs', '-t', 'lg']);
  assert.match(ts.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line1\n/);
  same(['logs', 'nosuch']);
  ok(berth(['run', '-d', '--name', 'lf', '--network', 'none', 'busybox', 'sh', '-c', 'echo first; sleep 2; echo second']));
  const t0 = Date.now();
  const [b, k] = await Promise.all([runAsync(BERTH, ['logs', '-f', 'lf']), runAsync('docker', ['logs', '-f', 'lf'])]);
  assert.equal(b.stdout, 'first\nsecond\n');
  assert.deepEqual(b, k);
  assert.ok(Date.now() - t0 < 15_000, 'logs -f returned when the container ended');
});

test('exec: output, exit codes, -e, -w, errors', { skip }, () => {
  same(['exec', 'detached', 'echo', 'in-exec']);
  same(['exec', 'detached', 'sh', '-c', 'echo out; echo err >&2; exit 4']);
  same(['exec', '-e', 'FOO=bar', '-w', '/tmp', 'detached', 'sh', '-c', 'echo $FOO; pwd']);
  same(['exec', 'detached', 'nonexistent-cmd']);
  same(['exec', 'exited3', 'true']);
  same(['exec', 'nosuch', 'true']);
});

test('exec -i: piped stdin reaches the process, and nothing else does', { skip }, () => {
  for (let i = 0; i < 3; i++) {
    const r = same(['exec', '-i', 'detached', 'cat'], { input: 'piped\n' });
    assert.equal(r.stdout, 'piped\n');
  }
});

test('inspect: JSON, -f, --type, several names, missing ones', { skip }, () => {
  same(['inspect', 'detached']);
  same(['inspect', 'busybox']);
  same(['inspect', '-f', '{{.Name}} {{.State.Running}} {{.Config.Cmd}}', 'detached', 'exited3']);
  same(['inspect', '-f', '{{json .Config}}', 'detached']);
  same(['container', 'inspect', '--format', '{{.State.ExitCode}}', 'exited3']);
  same(['image', 'inspect', '-f', '{{.Id}} {{.RepoTags}}', 'busybox']);
  same(['inspect', 'nosuch', 'detached']);
  same(['inspect', '--type', 'image', 'detached']);
  same(['inspect', '--type', 'container', 'nosuch']);
  same(['inspect', '-f', '{{.Nope', 'detached']);
});

test('stop, kill, restart, pause, unpause: same output, same resulting state', { skip }, () => {
  twins('life', 'sleep', '300');
  twin('life', (n) => ['pause', n]);
  assert.equal(state('life-b'), state('life-d'));
  assert.equal(state('life-b'), 'paused 0\n');
  same(['ps', '--filter', 'status=paused', '--format', '{{.Names}} {{.State}}']);
  twin('life', (n) => ['pause', n]);
  twin('life', (n) => ['unpause', n]);
  twin('life', (n) => ['unpause', n]);
  twin('life', (n) => ['restart', '-t', '1', n]);
  assert.equal(state('life-b'), 'running 0\n');
  twin('life', (n) => ['stop', '-t', '1', n]);
  assert.equal(state('life-b'), state('life-d'));
  twin('life', (n) => ['kill', n]); // not running
  twin('life', (n) => ['start', n]);
  twin('life', (n) => ['kill', '-s', 'KILL', n]);
  assert.equal(state('life-b'), 'exited 137\n');
  assert.equal(state('life-d'), 'exited 137\n');
  for (const c of ['stop', 'kill', 'restart', 'pause', 'unpause', 'start']) same([c, 'nosuch']);
});

test('rm, rm -f, wait, rename', { skip }, () => {
  twins('w', 'sh', '-c', 'sleep 1; exit 3');
  twin('w', (n) => ['wait', n]);
  assert.equal(berth(['wait', 'w-b']).stdout, '3\n');
  twin('w', (n) => ['rename', n, `${n}2`]);
  assert.equal(berth(['inspect', '-f', '{{.Name}}', 'w-b2']).stdout, '/w-b2\n');
  twin('w', (n) => ['rm', `${n}2`]);
  twins('rmf', 'sleep', '300');
  twin('rmf', (n) => ['rm', n]); // running: refused
  twin('rmf', (n) => ['rm', '-f', n]);
  same(['rm', 'nosuch']);
  same(['rm', '-f', 'nosuch']);
  same(['wait', 'nosuch']);
  same(['rename', 'nosuch', 'x']);
  same(['rename', 'detached', 'exited3']);
});

test('update: limits and restart policy, the same output and errors as the docker CLI', { skip }, () => {
  twins('upd', 'sleep', '300');
  twin('upd', (n) => ['update', '--memory', '64m', '--cpus', '0.5', '--pids-limit', '40', '--restart', 'on-failure:2', n]);
  const hc = (n: string) => berth(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}', n]).stdout;
  assert.equal(hc('upd-b'), '67108864 500000000 40 on-failure:2\n');
  assert.equal(hc('upd-b'), hc('upd-d'));
  twin('upd', (n) => ['update', n]); // no flags: refused by the client
  twin('upd', (n) => ['update', '--memory', '1m', n]);
  same(['update', '--memory', '64m', 'nosuch']);
  twin('upd', (n) => ['rm', '-f', n]);
});

test('top and stats --no-stream', { skip }, () => {
  same(['top', 'detached']);
  same(['top', 'detached', '-o', 'pid,args']);
  same(['top', 'exited3']);
  const s = same(['stats', '--no-stream', '--format', '{{.Name}} {{.Container}} {{.PIDs}}', 'detached']);
  assert.match(s.stdout, /^detached detached \d+\n$/);
  same(['stats', '--no-stream', '--format', '{{.ID}}\t{{.Name}}', 'detached']);
  const b = ok(berth(['stats', '--no-stream']));
  assert.equal(b.stdout.split('\n')[0], docker(['stats', '--no-stream']).stdout.split('\n')[0]);
  assert.match(b.stdout, /\n[0-9a-f]{12} +detached +[\d.]+% +[\d.]+[KMG]?i?B \/ [\d.]+[KMG]?i?B/);
  same(['stats', '--no-stream', 'nosuch']);
});

test('port: published ports of a container', { skip }, () => {
  const hp = 20000 + Math.floor(Math.random() * 20000);
  ok(berth(['run', '-d', '--name', 'pp', '-p', `127.0.0.1:${hp}:80`, '-p', '8081/udp', 'busybox', 'sleep', '300']));
  const r = same(['port', 'pp']);
  assert.match(r.stdout, new RegExp(`^80/tcp -> 127\\.0\\.0\\.1:${hp}\\n`));
  same(['port', 'pp', '80']);
  same(['port', 'pp', '80/tcp']);
  same(['port', 'pp', '9999']);
  same(['port', 'detached']);
  same(['port', 'nosuch']);
});

test('volume create, ls, inspect, rm, prune', { skip }, () => {
  twin('vol', (n) => ['volume', 'create', n]);
  same(['volume', 'create', 'vol-b']); // exists already: same name back
  same(['volume', 'ls']);
  same(['volume', 'ls', '-q']);
  same(['volume', 'ls', '--filter', 'name=vol-', '--format', '{{.Name}}:{{.Driver}}']);
  same(['volume', 'inspect', 'vol-b', 'vol-d']);
  same(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'vol-b']);
  same(['volume', 'inspect', 'nosuch']);
  ok(berth(['run', '--name', 'uses-vol', '-v', 'vol-b:/data', '--network', 'none', 'busybox', 'true']));
  same(['volume', 'rm', 'vol-b']); // in use: refused
  ok(berth(['rm', 'uses-vol']));
  twin('vol', (n) => ['volume', 'rm', n]);
  same(['volume', 'rm', 'nosuch']);
  same(['volume', 'prune', '-af']); // nothing left to prune
  ok(berth(['volume', 'create', 'pv-b']));
  const b = ok(berth(['volume', 'prune', '-af']));
  assert.equal(b.stdout, 'Deleted Volumes:\npv-b\n\nTotal reclaimed space: 0B\n');
  ok(docker(['volume', 'create', 'pv-b']));
  assert.deepEqual(docker(['volume', 'prune', '-af']), b);
});

test('network create, ls, inspect, rm', { skip }, () => {
  // Explicit subnets: the default pools may be taken by other bridges on a shared host.
  const o = 200 + Math.floor(Math.random() * 50);
  const b = ok(berth(['network', 'create', '--subnet', `10.${o}.1.0/24`, 'net-b']));
  const k = ok(docker(['network', 'create', '--subnet', `10.${o}.2.0/24`, 'net-d']));
  assert.match(b.stdout, /^[0-9a-f]{64}\n$/);
  assert.match(k.stdout, /^[0-9a-f]{64}\n$/);
  same(['network', 'create', '--subnet', `10.${o}.3.0/24`, 'net-b']); // exists
  same(['network', 'ls']);
  same(['network', 'ls', '-q']);
  same(['network', 'ls', '--no-trunc']);
  same(['network', 'ls', '--filter', 'name=net-', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
  same(['network', 'inspect', 'net-b']);
  same(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', 'net-b', 'net-d']);
  same(['network', 'inspect', 'nosuch']);
  twin('net', (n) => ['network', 'rm', n]);
  same(['network', 'rm', 'nosuch']);
  same(['network', 'rm', 'net-b', 'none']);
});

test('system df, version, info', { skip }, () => {
  same(['system', 'df']);
  same(['system', 'df', '--format', '{{json .}}']);
  const fromServer = (s: string) => s.slice(s.indexOf('\nServer'));
  const v = berth(['version']);
  ok(v);
  assert.equal(fromServer(v.stdout), fromServer(docker(['version']).stdout));
  same(['version', '--format', '{{.Server.Version}} {{.Server.APIVersion}} {{.Server.Os}}']);
  const i = ok(berth(['info']));
  assert.equal(fromServer(i.stdout), fromServer(docker(['info']).stdout));
  same(['info', '--format', '{{.Containers}} {{.Images}} {{.Driver}} {{.CgroupVersion}}']);
});

test('events: the --since/--until window, default and templated', { skip }, async () => {
  const since = String(Date.now() / 1000);
  ok(berth(['run', '--name', 'ev', '--network', 'none', 'busybox', 'true']));
  ok(berth(['rm', 'ev']));
  await new Promise((r) => setTimeout(r, 1100));
  const until = String(Math.floor(Date.now() / 1000));
  const r = same(['events', '--since', since, '--until', until]);
  assert.match(r.stdout, /container create [0-9a-f]{64} \(image=busybox, name=ev\)\n/);
  assert.match(r.stdout, /container die [0-9a-f]{64} \(execDuration=\d+, exitCode=0, image=busybox, name=ev\)\n/);
  same(['events', '--since', since, '--until', until, '--format', '{{json .}}']);
  same(['events', '--since', since, '--until', until, '--format', '{{.Type}} {{.Status}} {{.Actor.Attributes.name}}']);
  same(['events', '--since', since, '--until', until, '--filter', 'event=destroy', '--format', '{{.Action}} {{.From}}']);
  same(['events', '--since', '0', '--until', '1s', '--filter', 'type=image', '--format', 'json']);
});

test('save and load: the same archive, loaded by either CLI', { skip }, () => {
  const fb = join(dir, 'b.tar');
  const fd = join(dir, 'd.tar');
  same(['save', '-o', fb, 'busybox:latest']);
  ok(docker(['save', '-o', fd, 'busybox:latest']));
  const sum = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
  assert.equal(sum(fb), sum(fd));
  const viaStdout = spawnSync(BERTH, ['save', 'busybox'], { env: d.env, maxBuffer: 1 << 28 });
  assert.equal(viaStdout.status, 0);
  assert.equal(createHash('sha256').update(viaStdout.stdout).digest('hex'), sum(fb));
  same(['save', 'nosuch:1', '-o', join(dir, 'x.tar')]);
  same(['load', '-i', fb]);
  const fromStdin = spawnSync(BERTH, ['load'], { env: d.env, input: readFileSync(fd), encoding: 'utf8' });
  assert.equal(fromStdin.stdout, 'Loaded image: busybox:latest\n');
  same(['load', '-i', join(dir, 'missing.tar')]);
});

test('tag and rmi', { skip }, () => {
  twin('tg', (n) => ['tag', 'busybox', `${n}:v1`]);
  // Tags of one image come out in Go map order (random) from the docker CLI: compare sorted.
  const tags = (r: Out) => r.stdout.split('\n').sort().join('\n');
  const f = ['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', '--filter', 'reference=tg-*'];
  assert.equal(tags(berth(f)), tags(docker(f)));
  twin('tg', (n) => ['rmi', `${n}:v1`]);
  same(['tag', 'nosuch', 'x:1']);
  same(['tag', 'busybox', 'Bad:x']);
  same(['tag', 'busybox', 'x@sha256:abc']);
  same(['rmi', 'nosuch']);
  same(['rmi', 'busybox']); // in use by containers
  twin('tg', (n) => ['tag', 'busybox', `${n}:v2`]);
  twin('tg', (n) => ['rmi', `${n}:v2`, `${n}:v2`]);
});

test('errors: the daemon cannot be reached', { skip }, () => {
  const env = { ...d.env, DOCKER_HOST: `unix://${join(dir, 'nothing.sock')}` };
  const b = spawnSync(BERTH, ['ps'], { env, encoding: 'utf8' });
  assert.equal(b.status, 1);
  assert.match(b.stderr, /^Cannot connect to the berth daemon at unix:\/\/.*nothing\.sock\. Is the berth daemon running\?\n$/);
});

// ---------------------------------------------------------------- a real terminal (tmux)

const TMUX = `berth-it-${process.pid}`;
const tmuxSkip = skip || (!haveTmux && 'no tmux');

function pane(): string {
  return spawnSync('tmux', ['capture-pane', '-p', '-t', TMUX], { encoding: 'utf8' }).stdout;
}
/** Type a line until its answer shows: keys sent while an attach is still connecting may be lost. */
async function typeUntil(line: string, re: RegExp, tries = 3): Promise<void> {
  for (let i = 1; ; i++) {
    keys(line, 'Enter');
    try {
      await waitFor(re, 4000);
      return;
    } catch (err) {
      if (i >= tries) throw err;
    }
  }
}
async function waitFor(re: RegExp, ms = 15_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const p = pane();
    if (re.test(p)) return p;
    if (Date.now() > end) throw new Error(`timed out waiting for ${re} in:\n${p}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const keys = (...k: string[]) => spawnSync('tmux', ['send-keys', '-t', TMUX, ...k]);

test('run -it in a real terminal: prompt, command, ctrl-p ctrl-q detaches, terminal restored', { skip: tmuxSkip }, async () => {
  const before = join(dir, 'stty.before');
  const afterF = join(dir, 'stty.after');
  spawnSync('tmux', ['new-session', '-d', '-s', TMUX, '-x', '100', '-y', '30', 'bash --norc --noprofile']);
  keys(`export DOCKER_HOST=${d.host} PS1='host$ '; stty -g > ${before}; clear`, 'Enter');
  await waitFor(/host\$/);
  keys(`${BERTH} run -it --name tty1 --network none busybox sh`, 'Enter');
  await waitFor(/^\/ # ?$/m);
  keys('echo hi-$((40+2))', 'Enter');
  await waitFor(/^hi-42$/m);
  keys('C-p', 'C-q');
  keys(`stty -g > ${afterF}; echo detached-$?`, 'Enter');
  await waitFor(/^detached-0$/m);
  assert.equal(readFileSync(afterF, 'utf8'), readFileSync(before, 'utf8'));
  assert.equal(berth(['inspect', '-f', '{{.State.Running}}', 'tty1']).stdout, 'true\n');
});

test('attach: reattach to the container started by run -it, exit it', { skip: tmuxSkip }, async () => {
  keys(`clear; ${BERTH} attach tty1`, 'Enter');
  try {
    await typeUntil('echo again-$((1+1))', /^again-2$/m);
    keys('exit 7', 'Enter');
    // Type on only once the host shell is back: earlier keys would go to the container.
    await waitFor(/exit 7\s*\n(.*\n)*host\$/, 10_000);
    keys('echo rc=$?', 'Enter');
    await waitFor(/^rc=7$/m, 5000);
  } finally {
    // Back to the host shell whatever happened: detach if still attached, drop any half line.
    keys('C-p', 'C-q');
    await new Promise((r) => setTimeout(r, 500));
    keys('C-c');
    keys('C-c');
  }
});

test('attach: to a -dit container, run a command, detach, attach again, exit', { skip: tmuxSkip }, async () => {
  ok(berth(['run', '-dit', '--name', 'tty2', '--network', 'none', 'busybox', 'sh']));
  keys(`clear; ${BERTH} attach tty2`, 'Enter');
  await typeUntil('echo again-$((1+1))', /^again-2$/m);
  keys('C-p', 'C-q');
  keys('clear; echo back-$?', 'Enter');
  await waitFor(/^back-0$/m);
  keys(`clear; ${BERTH} attach tty2`, 'Enter');
  await typeUntil('echo third-$((1+2))', /^third-3$/m);
  keys('exit 7', 'Enter');
  await waitFor(/exit 7\s*\n(.*\n)*host\$/, 10_000);
  keys('echo rc=$?', 'Enter');
  await waitFor(/^rc=7$/m, 10_000);
  assert.equal(state('tty2'), 'exited 7\n');
});
