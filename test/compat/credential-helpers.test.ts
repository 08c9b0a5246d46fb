// Credential helpers (config.json `credsStore` / `credHelpers`): `berth login`
// stores through docker-credential-<name>, pulls and pushes read through it,
// `berth logout` erases. Checked against the docker CLI v28 using the same
// config (each reads what the other stored), with a small helper script that
// logs what it is sent, and with Debian's real docker-credential-pass when
// installed (golang-docker-credential-helpers + pass).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, importBusybox, destroyDaemon, REPO, type TestDaemon } from '../helpers/daemon.js';
import { busyboxTar } from '../helpers/fixtures.js';
import { OciLayout, skopeoPush, startRegistry, type RunningRegistry } from '../distribution/helpers.js';

let d: TestDaemon;
let reg: RunningRegistry;
let layout: OciLayout;
let tmp: string;
let bin: string;
const cleanups: (() => Promise<void> | void)[] = [];

// A helper speaking the docker-credential-helpers protocol, keeping secrets in
// files next to it and logging every call as "<action> <stdin>".
const FAKE_HELPER = `#!/bin/sh
PATH=/usr/bin:/bin
dir=$(dirname "$0")/fake-store
mkdir -p "$dir"
input=$(cat)
printf '%s %s\\n' "$1" "$input" >> "$dir/../calls.log"
file() { printf '%s' "$1" | base64 -w0 | tr '/+' '_-'; }
case "$1" in
  store) printf '%s' "$input" > "$dir/$(file "$(printf '%s' "$input" | jq -r .ServerURL)").json" ;;
  get) f="$dir/$(file "$input").json"
       if [ -f "$f" ]; then cat "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) f="$dir/$(file "$input").json"
       if [ -f "$f" ]; then rm "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  list) cat "$dir"/*.json 2>/dev/null | jq -s 'map({(.ServerURL): .Username}) | add // {}' ;;
  *) echo "unknown action $1"; exit 1 ;;
esac
`;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'berth-creds-'));
  cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
  bin = join(tmp, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'docker-credential-fake'), FAKE_HELPER);
  chmodSync(join(bin, 'docker-credential-fake'), 0o755);
  reg = await startRegistry({ htpasswd: [{ user: 'alice', password: 's3cret' }] });
  cleanups.push(() => reg.stop());
  layout = new OciLayout();
  cleanups.push(() => layout.remove());
  layout.tag('1.0', layout.image([readFileSync(busyboxTar())], { cmd: ['sh'] }));
  skopeoPush(layout, '1.0', `${reg.host}/private/app:v1`, { creds: 'alice:s3cret' });
  d = await startDaemon({ config: { 'default-address-pools': [{ base: '10.218.0.0/16', size: 24 }] } });
  cleanups.push(() => stopDaemon(d));
  await importBusybox(d);
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

type Run = (args: string[], input?: string) => Promise<{ code: number; stdout: string; stderr: string }>;

/** berth and docker with their own config dir (holding `cfg`) and the helpers on PATH. */
function clients(name: string, cfg: Record<string, unknown>, extraEnv: NodeJS.ProcessEnv = {}): { berth: Run; docker: Run; configFile: string } {
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  const env = { ...d.env, ...extraEnv, DOCKER_CONFIG: dir, PATH: extraEnv.PATH ?? `${bin}:${process.env.PATH}` };
  const run = (prog: string): Run => (args, input) => new Promise((resolve) => {
    const child = execFile(prog, args, { env, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    child.stdin!.end(input ?? '');
  });
  return { berth: run(join(REPO, 'bin/berth')), docker: run('docker'), configFile: join(dir, 'config.json') };
}

const calls = () => (existsSync(join(bin, 'calls.log')) ? readFileSync(join(bin, 'calls.log'), 'utf8').trim().split('\n') : []);

test('credsStore: berth login stores through the helper, pull uses it, logout erases; the docker CLI agrees', async () => {
  const { berth, docker, configFile } = clients('store', { credsStore: 'fake' });
  const ref = `${reg.host}/private/app:v1`;
  const login = await berth(['login', reg.host, '-u', 'alice', '--password-stdin'], 's3cret\n');
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stdout, /^Login Succeeded$/m);
  assert.doesNotMatch(login.stderr, /stored unencrypted/);
  assert.ok(calls().includes(`store {"ServerURL":"${reg.host}","Username":"alice","Secret":"s3cret"}`), calls().join('\n'));
  // No secret in the file: an empty entry, as the docker CLI leaves.
  assert.deepEqual(JSON.parse(readFileSync(configFile, 'utf8')), { credsStore: 'fake', auths: { [reg.host]: {} } });

  const pull = await berth(['pull', ref]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.ok(calls().includes(`get ${reg.host}`));
  // The docker CLI finds the credentials berth stored (and pushes with them).
  const pushRef = `${reg.host}/private/pushed:1`;
  assert.equal((await docker(['tag', 'busybox', pushRef])).code, 0);
  const push = await docker(['push', pushRef]);
  assert.equal(push.code, 0, push.stderr);

  const out = await berth(['logout', reg.host]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, `Removing login credentials for ${reg.host}\n`);
  assert.equal(calls().at(-1), `erase ${reg.host}`);
  assert.deepEqual(JSON.parse(readFileSync(configFile, 'utf8')).auths, {});
  assert.equal((await berth(['rmi', ref])).code, 0);
  const denied = await berth(['pull', ref]);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /pull access denied/);

  // And the other way round: docker login stores, berth pulls with it, berth logout erases it.
  const dlogin = await docker(['login', reg.host, '-u', 'alice', '--password-stdin'], 's3cret\n');
  assert.equal(dlogin.code, 0, dlogin.stderr);
  const bpull = await berth(['pull', ref]);
  assert.equal(bpull.code, 0, bpull.stderr);
  assert.equal((await berth(['logout', reg.host])).code, 0);
  const dpull = await docker(['pull', `${reg.host}/private/pushed:1`]);
  assert.equal(dpull.code, 1);
  assert.match(dpull.stderr, /pull access denied|no basic auth credentials|authentication required/);
});

test('credHelpers win over credsStore for their registry; a missing helper fails as in the docker CLI', async () => {
  const { berth } = clients('helpers', { credsStore: 'nosuch', credHelpers: { [reg.host]: 'fake' } });
  const login = await berth(['login', reg.host, '-u', 'alice', '--password-stdin'], 's3cret\n');
  assert.equal(login.code, 0, login.stderr);
  assert.equal(calls().at(-1), `store {"ServerURL":"${reg.host}","Username":"alice","Secret":"s3cret"}`);
  const pull = await berth(['pull', `${reg.host}/private/app:v1`]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.equal((await berth(['logout', reg.host])).code, 0);

  // Another registry goes to credsStore, which is not installed: berth's words are the docker CLI's.
  const other = '127.0.0.1:1';
  const c2 = clients('missing-b', { credsStore: 'nosuch' });
  const c3 = clients('missing-d', { credsStore: 'nosuch' });
  const b = await c2.berth(['login', reg.host, '-u', 'alice', '--password-stdin'], 's3cret\n');
  const dk = await c3.docker(['login', reg.host, '-u', 'alice', '--password-stdin'], 's3cret\n');
  assert.equal(b.code, 1);
  assert.equal(dk.code, 1);
  const errLine = (s: string) => s.split('\n').find((l) => l.startsWith('Error saving credentials'));
  assert.equal(errLine(b.stderr), 'Error saving credentials: error storing credentials - err: exec: "docker-credential-nosuch": executable file not found in $PATH, out: ``');
  assert.equal(errLine(b.stderr), errLine(dk.stderr));
  const pull2 = await c2.berth(['pull', `${other}/x:1`]);
  assert.equal(pull2.code, 1);
  assert.match(pull2.stderr, /error getting credentials - err: exec: "docker-credential-nosuch": executable file not found in \$PATH/);
});

test('no credsStore: an installed docker-credential-secretservice is the default store, as the docker CLI detects it', async () => {
  // A PATH holding only node, docker and the helper (no `pass`, which would make "pass" the default).
  const only = join(tmp, 'only-bin');
  mkdirSync(only);
  writeFileSync(join(only, 'docker-credential-secretservice'), FAKE_HELPER);
  chmodSync(join(only, 'docker-credential-secretservice'), 0o755);
  symlinkSync(process.execPath, join(only, 'node'));
  symlinkSync(execFileSync('sh', ['-c', 'command -v docker']).toString().trim(), join(only, 'docker'));
  const b = clients('default-b', {}, { PATH: only });
  const dk = clients('default-d', {}, { PATH: only });
  const login = await b.berth(['login', reg.host, '-u', 'alice', '--password-stdin'], 's3cret\n');
  assert.equal(login.code, 0, `berth: ${login.stdout}${login.stderr}`);
  assert.doesNotMatch(login.stderr, /stored unencrypted/);
  const dlogin = await dk.docker(['login', reg.host, '-u', 'alice', '--password-stdin'], 's3cret\n');
  assert.equal(dlogin.code, 0, `docker: ${dlogin.stdout}${dlogin.stderr}`);
  // Both wrote the same file: the detected store recorded, no secret.
  const berthCfg = JSON.parse(readFileSync(b.configFile, 'utf8'));
  assert.deepEqual(berthCfg, { auths: { [reg.host]: {} }, credsStore: 'secretservice' });
  assert.deepEqual(JSON.parse(readFileSync(dk.configFile, 'utf8')), berthCfg);
  const log = readFileSync(join(only, 'calls.log'), 'utf8');
  assert.equal(log.split('\n').filter((l) => l === `store {"ServerURL":"${reg.host}","Username":"alice","Secret":"s3cret"}`).length, 2, log);
  assert.equal((await b.berth(['logout', reg.host])).code, 0);
});

const passInstalled = existsSync('/usr/bin/docker-credential-pass') && existsSync('/usr/bin/pass');
test('the real docker-credential-pass (Debian golang-docker-credential-helpers) holds berth login credentials', { skip: passInstalled ? false : 'docker-credential-pass or pass not installed' }, async () => {
  // A throwaway gpg key and password store in a HOME of the test's own.
  const home = join(tmp, 'pass-home');
  const gnupg = join(home, '.gnupg');
  mkdirSync(gnupg, { recursive: true, mode: 0o700 });
  const env = { ...process.env, HOME: home, GNUPGHOME: gnupg };
  cleanups.push(() => { try { execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env, stdio: 'ignore' }); } catch { /* no agent */ } });
  execFileSync('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'berth test <test@berth.invalid>', 'default', 'default', 'never'], { env, stdio: 'ignore' });
  const fpr = /^fpr:+([0-9A-F]+):/m.exec(execFileSync('gpg', ['--list-keys', '--with-colons'], { env, stdio: ['ignore', 'pipe', 'ignore'] }).toString())![1]!;
  execFileSync('pass', ['init', fpr], { env, stdio: 'ignore' });
  const list = () => JSON.parse(execFileSync('docker-credential-pass', ['list'], { env }).toString() || '{}');

  const { berth, docker } = clients('pass', { credsStore: 'pass' }, { HOME: home, GNUPGHOME: gnupg });
  const login = await berth(['login', reg.host, '-u', 'alice', '--password-stdin'], 's3cret\n');
  assert.equal(login.code, 0, login.stderr);
  assert.deepEqual(list(), { [reg.host]: 'alice' });
  const ref = `${reg.host}/private/app:v1`;
  await berth(['rmi', ref]);
  const pull = await berth(['pull', ref]);
  assert.equal(pull.code, 0, pull.stderr);
  const dpull = await docker(['pull', ref]);
  assert.equal(dpull.code, 0, dpull.stderr);
  assert.equal((await berth(['logout', reg.host])).code, 0);
  assert.deepEqual(list(), {});
  // Nothing stored: pass answers with empty fields, and berth pulls anonymously (denied here).
  await berth(['rmi', ref]);
  const denied = await berth(['pull', ref]);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /pull access denied/);
});

/** Stops a test daemon and removes its data, and the bridge and nft table it leaves behind (ours). */
async function stopDaemon(t: TestDaemon): Promise<void> {
  const bridge = JSON.parse(readFileSync(join(t.dataRoot, '..', 'daemon.json'), 'utf8')).bridge as string;
  await destroyDaemon(t);
  for (const cmd of [['ip', 'link', 'del', bridge], ['nft', 'delete', 'table', 'ip', bridge]]) {
    try { execFileSync(cmd[0]!, cmd.slice(1), { stdio: 'ignore' }); } catch { /* already gone */ }
  }
}
