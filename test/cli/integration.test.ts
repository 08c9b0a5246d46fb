// berth against a real berthd (skipped until bin/berthd runs here): import busybox, run
// containers, and compare what berth and the docker CLI print for the same daemon; `-it`
// through a real terminal (tmux): prompt, command, ctrl-p ctrl-q, terminal restored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busyboxTar } from '../helpers/fixtures.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BERTH = join(ROOT, 'bin/berth');
const BERTHD = join(ROOT, 'bin/berthd');
const ready = existsSync(BERTHD) && existsSync(join(ROOT, 'dist/src/daemon/main.js'));
const skip = ready ? false : 'bin/berthd is not built yet';
const haveDocker = spawnSync('docker', ['--version']).status === 0;
const haveTmux = spawnSync('tmux', ['-V']).status === 0;

let daemon: ChildProcess | undefined;
let dir = '';
let host = '';

function berth(args: string[], input?: string) {
  return spawnSync(BERTH, args, { env: { ...process.env, DOCKER_HOST: host }, encoding: 'utf8', input, timeout: 60_000 });
}
function docker(args: string[]) {
  return spawnSync('docker', args, { env: { ...process.env, DOCKER_HOST: host }, encoding: 'utf8', timeout: 60_000 });
}

before(async () => {
  if (!ready) return;
  dir = mkdtempSync(join(tmpdir(), 'berth-cli-it-'));
  host = `unix://${join(dir, 'berth.sock')}`;
  daemon = spawn(BERTHD, ['--data-root', join(dir, 'data'), '--exec-root', join(dir, 'run'), '--host', host], { stdio: ['ignore', 'ignore', 'pipe'] });
  for (let i = 0; i < 100 && !existsSync(join(dir, 'berth.sock')); i++) await new Promise((r) => setTimeout(r, 100));
  const tar = busyboxTar(join(dir, 'busybox.tar'));
  const r = berth(['import', tar, 'busybox:latest']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
});

after(async () => {
  if (!ready) return;
  const ids = berth(['ps', '-aq']).stdout.split('\n').filter(Boolean);
  if (ids.length) berth(['rm', '-f', ...ids]);
  daemon?.kill('SIGTERM');
  await new Promise((r) => (daemon?.exitCode !== null ? r(undefined) : daemon?.once('exit', r)));
  spawnSync('tmux', ['kill-session', '-t', 'berth-it'], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
});

test('images: berth and docker print the same table', { skip }, () => {
  const b = berth(['images']);
  assert.match(b.stdout, /^REPOSITORY   TAG       IMAGE ID       CREATED +SIZE\nbusybox      latest    [0-9a-f]{12}   /);
  // Relative times may tick between two runs: compare the header and the columns that cannot.
  if (haveDocker) {
    assert.equal(b.stdout.split('\n')[0], docker(['images']).stdout.split('\n')[0]);
    const f = ['images', '--format', 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}'];
    assert.equal(berth(f).stdout, docker(f).stdout);
  }
});

test('run: output, exit codes, piped stdin, logs', { skip }, () => {
  let r = berth(['run', '--rm', '--network', 'none', 'busybox', 'echo', 'hello']);
  assert.equal(r.stdout, 'hello\n');
  assert.equal(r.status, 0);
  r = berth(['run', '--name', 'ex3', '--network', 'none', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  assert.equal(r.status, 3);
  r = berth(['run', '-i', '--rm', '--network', 'none', 'busybox', 'cat'], 'piped input\n');
  assert.equal(r.stdout, 'piped input\n');
  assert.equal(berth(['logs', 'ex3']).stdout, 'out\n');
  assert.equal(berth(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'ex3']).stdout, 'exited 3\n');
  assert.equal(berth(['wait', 'ex3']).stdout, '3\n');
});

test('errors: same message and exit code as the docker CLI', { skip: skip || (!haveDocker && 'no docker CLI') }, () => {
  for (const args of [['run', '--network', 'none', 'busybox', 'nonexist'], ['rm', 'nosuch'], ['stop', 'nosuch'], ['inspect', 'nosuch'], ['logs', 'nosuch']]) {
    const b = berth(args);
    const d = docker(args);
    assert.equal(b.status, d.status, args.join(' '));
    // (The docker CLI also complains when it cannot decode /info; that is the daemon's to fix.)
    const dErr = d.stderr.replace(/^Error reading remote info: .*\n/m, '').replace(/docker/g, 'berth');
    assert.equal(b.stderr, dErr, args.join(' '));
  }
});

test('ps and inspect: the same as the docker CLI for the same containers', { skip: skip || (!haveDocker && 'no docker CLI') }, () => {
  const d = berth(['run', '-d', '--network', 'none', '--name', 'sleeper', 'busybox', 'sleep', '60']);
  assert.match(d.stdout, /^[0-9a-f]{64}\n$/);
  assert.equal(berth(['ps', '-a']).stdout.split('\n')[0], docker(['ps', '-a']).stdout.split('\n')[0]);
  const f = ['ps', '-a', '--format', 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.State}}\t{{.Ports}}\t{{.Names}}'];
  assert.equal(berth(f).stdout, docker(f).stdout);
  assert.equal(berth(['ps', '-a', '--no-trunc', '--format', '{{json .}}']).stdout.replace(/"RunningFor":"[^"]*"/g, ''), docker(['ps', '-a', '--no-trunc', '--format', '{{json .}}']).stdout.replace(/"RunningFor":"[^"]*"/g, ''));
  assert.equal(berth(['inspect', 'sleeper']).stdout, docker(['inspect', 'sleeper']).stdout);
  assert.equal(berth(['exec', 'sleeper', 'echo', 'in-exec']).stdout, 'in-exec\n');
  assert.equal(berth(['top', 'sleeper']).stdout, docker(['top', 'sleeper']).stdout);
  assert.equal(berth(['rm', '-f', 'sleeper']).stdout, 'sleeper\n');
});

async function pane(): Promise<string> {
  return spawnSync('tmux', ['capture-pane', '-p', '-t', 'berth-it'], { encoding: 'utf8' }).stdout;
}
async function waitFor(re: RegExp, ms = 15_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const p = await pane();
    if (re.test(p)) return p;
    if (Date.now() > end) throw new Error(`timed out waiting for ${re} in:\n${p}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const keys = (...k: string[]) => spawnSync('tmux', ['send-keys', '-t', 'berth-it', ...k]);

test('run -it in a real terminal: prompt, command, ctrl-p ctrl-q detaches, terminal restored', { skip: skip || (!haveTmux && 'no tmux') }, async () => {
  const before = join(dir, 'stty.before');
  const afterF = join(dir, 'stty.after');
  spawnSync('tmux', ['new-session', '-d', '-s', 'berth-it', '-x', '100', '-y', '30', 'bash --norc --noprofile']);
  keys(`export DOCKER_HOST=${host} PS1='host$ '; stty -g > ${before}; clear`, 'Enter');
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

test('attach: reattach to the -it container and exit it', { skip: skip || (!haveTmux && 'no tmux'), todo: 'berthd does not yet deliver stdin on a second attach (docker attach shows the same)' }, async () => {
  keys('clear', 'Enter');
  keys(`${BERTH} attach tty1`, 'Enter');
  await new Promise((r) => setTimeout(r, 1500));
  keys('echo again-$((1+1))', 'Enter');
  await waitFor(/^again-2$/m, 5000);
  keys('exit 7', 'Enter');
  keys('echo rc=$?', 'Enter');
  await waitFor(/^rc=7$/m, 5000);
});
