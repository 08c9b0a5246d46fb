// `docker run` / `docker create` flags, driven by the real docker CLI: what
// the user sees inside the container, in inspect, and in exit codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
let tmp: string;
before(async () => { d = await startDaemon(); await importBusybox(d); tmp = mkdtempSync(join(tmpdir(), 'runflags-')); });
after(async () => { if (d) await destroyDaemon(d); if (tmp) rmSync(tmp, { recursive: true, force: true }); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function ok(args: string[]): Promise<string> {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const inspect = async (fmt: string, name: string) => (await ok(['inspect', '-f', fmt, name])).trim();
async function until(what: string, fn: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await fn()) return; await sleep(200); }
  assert.fail(`timed out waiting for ${what}`);
}

test('restart policies across a daemon restart: always comes back, stopped unless-stopped stays down, RestartCount', async () => {
  await ok(['run', '-d', '--name', 'alw', '--restart', 'always', 'busybox', 'sleep', '300']);
  await ok(['run', '-d', '--name', 'alw-stopped', '--restart', 'always', 'busybox', 'sleep', '300']);
  await ok(['run', '-d', '--name', 'uls', '--restart', 'unless-stopped', 'busybox', 'sleep', '300']);
  await ok(['run', '-d', '--name', 'uls-run', '--restart', 'unless-stopped', 'busybox', 'sleep', '300']);
  await ok(['run', '-d', '--name', 'nopol', 'busybox', 'sleep', '300']);
  await ok(['stop', '-t', '1', 'uls', 'alw-stopped']);
  // on-failure:2 counts its restarts, then gives up.
  await ok(['run', '-d', '--name', 'onf', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 3']);
  await until('on-failure gives up', async () => (await inspect('{{.State.Status}} {{.RestartCount}}', 'onf')) === 'exited 2');
  // The daemon goes away; meanwhile the processes of alw, uls-run and nopol die.
  const pids = await Promise.all(['alw', 'uls-run', 'nopol'].map((n) => inspect('{{.State.Pid}}', n)));
  await d.stop();
  for (const p of pids) process.kill(Number(p), 'SIGKILL');
  await sleep(500);
  await d.restart();
  await until('always and unless-stopped restarted', async () =>
    (await inspect('{{.State.Status}}', 'alw')) === 'running' && (await inspect('{{.State.Status}}', 'uls-run')) === 'running');
  // dockerd starts `always` containers at boot even after a docker stop.
  await until('stopped always restarted', async () => (await inspect('{{.State.Status}}', 'alw-stopped')) === 'running');
  assert.equal(await inspect('{{.State.Status}}', 'uls'), 'exited');
  assert.match(await inspect('{{.State.Status}} {{.State.ExitCode}}', 'nopol'), /^exited /);
  // A start at boot begins a new history, as in dockerd.
  assert.equal(await inspect('{{.RestartCount}}', 'alw'), '0');
  assert.equal((await ok(['exec', 'alw', 'echo', 'alive'])).trim(), 'alive');
  // A restart by the policy counts.
  process.kill(Number(await inspect('{{.State.Pid}}', 'alw')), 'SIGKILL');
  await until('always restarts after its process dies', async () => (await inspect('{{.State.Status}} {{.RestartCount}}', 'alw')) === 'running 1');
  await d.docker(['rm', '-f', 'alw', 'alw-stopped', 'uls', 'uls-run', 'nopol', 'onf']);
});

test('--link on the default bridge: /etc/hosts, env vars, HostConfig.Links; errors', async () => {
  await ok(['run', '-d', '--name', 'web', '--expose', '80', '-e', 'SECRET=s3', 'busybox', 'sleep', '300']);
  const ip = await inspect('{{.NetworkSettings.Networks.bridge.IPAddress}}', 'web');
  const out = await ok(['run', '--rm', '--name', 'cli', '--link', 'web:db', 'busybox', 'sh', '-c', 'grep -w db /etc/hosts; env | grep ^DB_ | sort; ping -c1 -W5 db >/dev/null && echo ping-ok']);
  const lines = out.trim().split('\n');
  assert.match(lines[0]!, new RegExp(`^${ip.replace(/\./g, '\\.')}\\s+db [0-9a-f]{12} web$`));
  assert.deepEqual(lines.slice(1), [
    'DB_ENV_SECRET=s3', '/cli/db', `DB_PORT=tcp://${ip}:80`, `DB_PORT_80_TCP=tcp://${ip}:80`, `DB_PORT_80_TCP_ADDR=${ip}`,
    'DB_PORT_80_TCP_PORT=80', 'DB_PORT_80_TCP_PROTO=tcp', 'ping-ok',
  ].map((l) => (l === '/cli/db' ? 'DB_NAME=/cli/db' : l)));
  // The container's own env wins over a link variable.
  assert.equal((await ok(['run', '--rm', '--link', 'web:db', '-e', 'DB_NAME=mine', 'busybox', 'sh', '-c', 'echo $DB_NAME'])).trim(), 'mine');
  await ok(['create', '--name', 'lk', '--link', 'web:db', '--link', 'web', 'busybox', 'true']);
  assert.equal(await inspect('{{json .HostConfig.Links}}', 'lk'), '["/web:/lk/db","/web:/lk/web"]');
  const missing = await d.docker(['run', '--rm', '--link', 'nosuch:db', 'busybox', 'true']);
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, /could not get container for nosuch/);
  assert.doesNotMatch(missing.stderr, /Unable to find image/);
  await ok(['create', '--name', 'stopped-web', 'busybox', 'true']);
  const down = await d.docker(['run', '--rm', '--link', 'stopped-web:sw', 'busybox', 'true']);
  assert.notEqual(down.code, 0);
  assert.match(down.stderr, /Cannot link to a non running container: \/stopped-web AS \/[a-z_]+\/sw/);
  await d.docker(['rm', '-f', 'web', 'lk', 'stopped-web']);
});

test('--link on a user network: the alias resolves for the linking container only', async () => {
  await ok(['network', 'create', 'rfnet']);
  await ok(['run', '-d', '--name', 'srv', '--network', 'rfnet', 'busybox', 'sleep', '300']);
  const ip = await inspect('{{.NetworkSettings.Networks.rfnet.IPAddress}}', 'srv');
  const out = await ok(['run', '--rm', '--network', 'rfnet', '--link', 'srv:backend', 'busybox', 'sh', '-c', 'ping -c1 -W2 backend | head -1']);
  assert.match(out, new RegExp(`PING backend \\(${ip.replace(/\./g, '\\.')}\\)`));
  assert.equal((await ok(['run', '--rm', '--network', 'rfnet', '--link', 'srv:backend', 'busybox', 'sh', '-c', 'env | grep -c ^BACKEND_ || true'])).trim(), '0');
  // --ipc none: no /dev/shm at all.
  assert.notEqual((await d.docker(['run', '--rm', '--ipc', 'none', 'busybox', 'ls', '/dev/shm'])).code, 0);
  const cross = await d.docker(['run', '--rm', '--link', 'srv:backend', 'busybox', 'true']);
  assert.match(cross.stderr, /Cannot link to \/srv, as it does not belong to the default network/);
  const other = await d.docker(['run', '--rm', '--network', 'rfnet', 'busybox', 'ping', '-c1', '-W1', 'backend']);
  assert.notEqual(other.code, 0);
  await d.docker(['rm', '-f', 'srv']);
  await d.docker(['network', 'rm', 'rfnet']);
});

test('--volumes-from (rw, :ro, missing), --cidfile, --env-file, --label-file, --entrypoint ""', async () => {
  await ok(['run', '-d', '--name', 'vsrc', '-v', '/data', '-v', `${tmp}:/bb`, 'busybox', 'sh', '-c', 'echo v > /data/x; sleep 300']);
  writeFileSync(join(tmp, 'f'), 'hello\n');
  await until('vsrc wrote', async () => (await d.docker(['exec', 'vsrc', 'cat', '/data/x'])).stdout === 'v\n');
  assert.equal(await ok(['run', '--rm', '--volumes-from', 'vsrc', 'busybox', 'sh', '-c', 'cat /data/x /bb/f; touch /data/y && echo rw']), 'v\nhello\nrw\n');
  const ro = await d.docker(['run', '--rm', '--volumes-from', 'vsrc:ro', 'busybox', 'sh', '-c', 'cat /data/y && touch /data/z']);
  assert.equal(ro.code, 1);
  assert.match(ro.stderr, /Read-only file system/);
  await ok(['create', '--name', 'vf', '--volumes-from', 'vsrc', 'busybox', 'true']);
  assert.equal(await inspect('{{json .HostConfig.VolumesFrom}}', 'vf'), '["vsrc"]');
  const dests = (await inspect('{{range .Mounts}}{{.Destination}} {{end}}', 'vf')).split(' ').sort();
  assert.deepEqual(dests, ['/bb', '/data']);
  // rm -v of the borrower leaves the owner's anonymous volume alone.
  await ok(['rm', '-v', 'vf']);
  assert.equal((await ok(['exec', 'vsrc', 'cat', '/data/x'])).trim(), 'v');
  const missing = await d.docker(['run', '--rm', '--volumes-from', 'nosuch', 'busybox', 'true']);
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, /No such container: nosuch/);
  assert.doesNotMatch(missing.stderr, /Unable to find image/);
  // Client-side flags.
  const cidfile = join(tmp, 'cid');
  writeFileSync(join(tmp, 'envf'), 'A=1\n# comment\nB=two words\n');
  writeFileSync(join(tmp, 'labels'), 'l1=a\nl2=b\n');
  assert.equal(await ok(['run', '--cidfile', cidfile, '--name', 'cf', '--env-file', join(tmp, 'envf'), '--label-file', join(tmp, 'labels'), 'busybox', 'sh', '-c', 'echo $A $B']), '1 two words\n');
  assert.ok(existsSync(cidfile));
  assert.equal(await inspect('{{.Id}} {{json .Config.Labels}}', 'cf'), `${readFileSync(cidfile, 'utf8')} {"l1":"a","l2":"b"}`);
  // --entrypoint "" drops the image's entrypoint.
  await importBusybox(d, 'epimg', ['ENTRYPOINT ["echo", "from-entrypoint"]']);
  assert.equal((await ok(['run', '--rm', 'epimg', 'x'])).trim(), 'from-entrypoint x');
  assert.equal((await ok(['run', '--rm', '--entrypoint', '', 'epimg', 'echo', 'plain'])).trim(), 'plain');
  await d.docker(['rm', '-f', 'vsrc', 'cf']);
});

test('--stop-timeout, --stop-signal, -a stdout/-a stderr, --sig-proxy, duplicate names, --rm -d', async () => {
  await ok(['run', '-d', '--name', 'st', '--stop-timeout', '1', 'busybox', 'sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done']);
  assert.equal(await inspect('{{.Config.StopTimeout}}', 'st'), '1');
  const t0 = Date.now();
  await ok(['stop', 'st']);
  assert.ok(Date.now() - t0 < 6000, 'stop waited for --stop-timeout, not 10s');
  assert.equal(await inspect('{{.State.ExitCode}}', 'st'), '137');
  await ok(['run', '-d', '--name', 'ss', '--stop-signal', 'SIGUSR1', 'busybox', 'sh', '-c', 'trap "echo got-usr1; exit 3" USR1; while true; do sleep 0.1; done']);
  await sleep(300);
  assert.equal(await inspect('{{.Config.StopSignal}}', 'ss'), 'SIGUSR1');
  await ok(['stop', 'ss']);
  assert.equal(await inspect('{{.State.ExitCode}}', 'ss'), '3');
  assert.equal((await ok(['logs', 'ss'])).trim(), 'got-usr1');

  const both = 'echo out; echo err >&2';
  const a1 = await d.docker(['run', '--rm', '-a', 'stdout', 'busybox', 'sh', '-c', both]);
  assert.deepEqual([a1.stdout, a1.stderr], ['out\n', '']);
  const a2 = await d.docker(['run', '--rm', '-a', 'stderr', 'busybox', 'sh', '-c', both]);
  assert.deepEqual([a2.stdout, a2.stderr], ['', 'err\n']);

  // SIGTERM to `docker run` reaches the container (--sig-proxy defaults to true).
  const child = spawn('docker', ['run', '--rm', '--name', 'sp', 'busybox', 'sh', '-c', 'trap "echo got-term; exit 7" TERM; echo ready; while true; do sleep 0.1; done'], { env: d.env });
  let out = '';
  child.stdout.on('data', (c) => { out += c; });
  const code = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  await until('sp ready', async () => out.includes('ready'));
  child.kill('SIGTERM');
  assert.equal(await code, 7);
  assert.match(out, /got-term/);

  const first = (await ok(['run', '-d', '--name', 'dupe', 'busybox', 'sleep', '300'])).trim();
  const dup = await d.docker(['run', '-d', '--name', 'dupe', 'busybox', 'sleep', '300']);
  assert.equal(dup.code, 125);
  assert.match(dup.stderr, new RegExp(`Conflict\\. The container name "/dupe" is already in use by container "${first}"\\. You have to remove \\(or rename\\) that container to be able to reuse that name\\.`));

  await ok(['run', '--rm', '-d', '--name', 'rmd', 'busybox', 'sleep', '1']);
  await until('--rm -d container removed after exit', async () => (await d.docker(['inspect', 'rmd'])).code !== 0);
  await d.docker(['rm', '-f', 'st', 'ss', 'dupe']);
});

test('namespaces: --pid/--ipc container:, --ipc host|private|shareable, --uts host, --cgroupns, --userns host', async () => {
  const { readlinkSync } = await import('node:fs');
  const host = (n: string) => readlinkSync(`/proc/self/ns/${n}`);
  await ok(['run', '-d', '--name', 'donor', '--ipc', 'shareable', '--shm-size', '8m', 'busybox', 'sh', '-c', 'echo shared > /dev/shm/x; exec sleep 300']);
  await ok(['run', '-d', '--name', 'priv', 'busybox', 'sleep', '300']);
  const donorIpc = (await ok(['exec', 'donor', 'readlink', '/proc/self/ns/ipc'])).trim();
  assert.equal((await ok(['run', '--rm', '--ipc', 'container:donor', 'busybox', 'readlink', '/proc/self/ns/ipc'])).trim(), donorIpc);
  // POSIX shm too: the joiner sees the donor's /dev/shm (its size included).
  await until('donor wrote /dev/shm/x', async () => (await d.docker(['exec', 'donor', 'cat', '/dev/shm/x'])).code === 0);
  assert.equal(await ok(['run', '--rm', '--ipc', 'container:donor', 'busybox', 'sh', '-c', "cat /dev/shm/x; df -k /dev/shm | tail -1 | awk '{print $2}'"]), 'shared\n8192\n');
  assert.notEqual((await ok(['run', '--rm', '--ipc', 'private', 'busybox', 'readlink', '/proc/self/ns/ipc'])).trim(), donorIpc);
  assert.equal((await ok(['run', '--rm', '--ipc', 'host', 'busybox', 'readlink', '/proc/self/ns/ipc'])).trim(), host('ipc'));
  const np = await d.docker(['run', '--rm', '--ipc', 'container:priv', 'busybox', 'true']);
  assert.equal(np.code, 125);
  assert.match(np.stderr, /non-shareable IPC \(hint: use IpcMode:shareable for the donor container\)/);
  // --pid container: sees the donor's processes.
  assert.match(await ok(['run', '--rm', '--pid', 'container:donor', 'busybox', 'ps']), /\n\s+1 root\s+sleep 300\n/);
  assert.equal(await inspect('|{{.HostConfig.PidMode}}|{{.HostConfig.IpcMode}}', 'donor'), '||shareable');
  await ok(['create', '--name', 'gone', 'busybox', 'true']);
  const nr = await d.docker(['run', '--rm', '--pid', 'container:gone', 'busybox', 'true']);
  assert.match(nr.stderr, /cannot join PID of a non running container/);
  assert.match(await ok(['run', '--rm', '--pid', 'host', 'busybox', 'ps']), /\n\s+1 root/);
  assert.equal((await ok(['run', '--rm', '--pid', 'host', 'busybox', 'readlink', '/proc/self/ns/pid'])).trim(), host('pid'));
  assert.equal((await ok(['run', '--rm', '--uts', 'host', 'busybox', 'hostname'])).trim(), (await import('node:os')).hostname());
  assert.equal((await ok(['run', '--rm', '--cgroupns', 'host', 'busybox', 'readlink', '/proc/self/ns/cgroup'])).trim(), host('cgroup'));
  assert.notEqual((await ok(['run', '--rm', '--cgroupns', 'private', 'busybox', 'readlink', '/proc/self/ns/cgroup'])).trim(), host('cgroup'));
  assert.equal((await ok(['run', '--rm', '--userns', 'host', 'busybox', 'id', '-u'])).trim(), '0');
  await d.docker(['rm', '-f', 'donor', 'priv', 'gone']);
});

test('devices, groups, users, workdir, init, hostname/domainname, DNS, hosts, sysctl, mac', async () => {
  assert.match(await ok(['run', '--rm', '--device', '/dev/null:/dev/mynull', 'busybox', 'sh', '-c', 'ls -l /dev/mynull; echo x > /dev/mynull && echo wrote']), /^c.* 1,\s+3 .*\/dev\/mynull\nwrote\n$/);
  if (existsSync('/dev/fuse')) assert.match(await ok(['run', '--rm', '--device', '/dev/fuse', 'busybox', 'ls', '-l', '/dev/fuse']), /10,\s+229/);
  assert.equal((await ok(['run', '--rm', '--group-add', '1234', '--group-add', 'nogroup', 'busybox', 'id', '-G'])).trim(), '0 1234 65534');
  const badGroup = await d.docker(['run', '--rm', '--group-add', 'nosuchgroup', 'busybox', 'true']);
  assert.match(badGroup.stderr, /Unable to find group nosuchgroup: no matching entries in group file/);
  assert.equal((await ok(['run', '--rm', '--user', '1000:1000', 'busybox', 'id'])).trim(), 'uid=1000 gid=1000 groups=1000');
  assert.match(await ok(['run', '--rm', '--user', 'nobody', 'busybox', 'id']), /^uid=65534\(nobody\) gid=65534/);
  assert.equal((await ok(['run', '--rm', '-w', '/no/such/dir', 'busybox', 'pwd'])).trim(), '/no/such/dir');
  assert.match(await ok(['run', '--rm', '--init', 'busybox', 'ps', '-o', 'pid,comm']), /\n\s+1 docker-init\n/);
  assert.equal(await ok(['run', '--rm', '-h', 'myhost', '--domainname', 'example.com', 'busybox', 'sh', '-c', 'hostname; cat /etc/hostname; grep -c "myhost.example.com myhost" /etc/hosts; cat /proc/sys/kernel/domainname']), 'myhost\nmyhost\n1\nexample.com\n');
  const gwIp = (await ok(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', 'bridge'])).trim();
  assert.equal((await ok(['run', '--rm', '--add-host', 'h:host-gateway', '--add-host', 'other:10.1.2.3', 'busybox', 'sh', '-c', 'grep -w -e h -e other /etc/hosts'])).trim(), `${gwIp}\th\n10.1.2.3\tother`);
  const rc = await ok(['run', '--rm', '--dns', '127.0.0.1', '--dns-search', 'x.example', '--dns-option', 'ndots:2', 'busybox', 'cat', '/etc/resolv.conf']);
  assert.match(rc, /^nameserver 127\.0\.0\.1$/m);
  assert.match(rc, /^search x\.example$/m);
  assert.match(rc, /^options ndots:2$/m);
  assert.equal((await ok(['run', '--rm', '--sysctl', 'net.ipv4.ip_forward=1', 'busybox', 'cat', '/proc/sys/net/ipv4/ip_forward'])).trim(), '1');
  assert.equal((await ok(['run', '--rm', '--mac-address', '02:42:ac:11:00:99', 'busybox', 'cat', '/sys/class/net/eth0/address'])).trim(), '02:42:ac:11:00:99');
});

test('ulimits (including tiny nofile), resources in the cgroup, blkio throttles, rt refusal, shm, log opts', async () => {
  assert.equal(await ok(['run', '--rm', '--ulimit', 'nofile=1024:2048', 'busybox', 'sh', '-c', 'ulimit -n; ulimit -Hn']), '1024\n2048\n');
  // crun used to fail on these (it applies rlimits to itself before setting the container up).
  assert.equal(await ok(['run', '--rm', '--ulimit', 'nofile=20:20', 'busybox', 'sh', '-c', 'ulimit -n; ulimit -Hn']), '20\n20\n');
  await ok(['run', '-d', '--name', 'nof', '--ulimit', 'nofile=20:30', 'busybox', 'sleep', '300']);
  assert.equal(await ok(['exec', 'nof', 'sh', '-c', 'ulimit -n; ulimit -Hn']), '20\n30\n');
  await d.docker(['rm', '-f', 'nof']);
  assert.equal(await ok(['run', '--rm', '--ulimit', 'nofile=10:12', 'busybox', 'sh', '-c', 'ulimit -n; ulimit -Hn']), '10\n12\n');
  const cg = (f: string) => `cat /sys/fs/cgroup/${f}`;
  assert.equal(await ok(['run', '--rm', '--oom-kill-disable', '-m', '32m', 'busybox', 'sh', '-c', `${cg('memory/memory.oom_control')} | head -1`]), 'oom_kill_disable 1\n');
  assert.equal((await ok(['run', '--rm', '--memory-reservation', '20m', 'busybox', 'sh', '-c', cg('memory/memory.soft_limit_in_bytes')])).trim(), '20971520');
  assert.equal(await ok(['run', '--rm', '--cpu-period', '50000', '--cpu-quota', '25000', 'busybox', 'sh', '-c', `${cg('cpu/cpu.cfs_period_us')}; ${cg('cpu/cpu.cfs_quota_us')}`]), '50000\n25000\n');
  // This kernel's blkio has no weight file: dockerd discards the weight and runs the container.
  assert.equal((await ok(['run', '--rm', '--blkio-weight', '300', 'busybox', 'echo', 'ok'])).trim(), 'ok');
  const disk = ['/dev/vda', '/dev/sda', '/dev/nvme0n1'].find((p) => existsSync(p));
  if (disk && existsSync('/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device')) {
    const t = await ok(['run', '--rm', '--device-read-bps', `${disk}:1mb`, '--device-write-iops', `${disk}:100`, 'busybox', 'sh', '-c',
      `${cg('blkio/blkio.throttle.read_bps_device')}; ${cg('blkio/blkio.throttle.write_iops_device')}`]);
    assert.match(t, /^\d+:\d+ 1048576\n\d+:\d+ 100\n$/);
  }
  const rt = await d.docker(['run', '--rm', '--cpu-rt-runtime', '950000', 'busybox', 'true']);
  assert.equal(rt.code, 125);
  assert.match(rt.stderr, /cpu\.rt_runtime_us|real-time/);
  assert.equal((await ok(['run', '--rm', '--shm-size', '16m', 'busybox', 'sh', '-c', "df -k /dev/shm | tail -1 | awk '{print $2}'"])).trim(), '16384');
  await ok(['run', '-d', '--name', 'logm', '--log-opt', 'max-size=1k', 'busybox', 'true']);
  assert.equal(await inspect('{{json .HostConfig.LogConfig}}', 'logm'), '{"Type":"json-file","Config":{"max-size":"1k"}}');
  await d.docker(['rm', '-f', 'logm']);
});

test('privileged, cap-add ALL, seccomp profile file, tmpfs and mount options, read-only rootfs, --platform, --pull', async () => {
  const priv = await ok(['run', '--rm', '--privileged', 'busybox', 'sh', '-c', 'ls /dev | wc -l; mkdir /tmp/t && mount -t tmpfs none /tmp/t && echo mounted']);
  const [n, m] = priv.trim().split('\n');
  assert.ok(Number(n) > 20, `privileged sees host devices (${n})`);
  assert.equal(m, 'mounted');
  assert.match(await ok(['run', '--rm', '--cap-add', 'ALL', 'busybox', 'sh', '-c', 'mkdir /tmp/t && mount -t tmpfs none /tmp/t && echo mounted']), /mounted/);
  const plain = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'mkdir /tmp/t && mount -t tmpfs none /tmp/t']);
  assert.notEqual(plain.code, 0);
  // A seccomp profile file: the CLI reads it and sends it inline.
  const prof = join(tmp, 'seccomp.json');
  writeFileSync(prof, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }));
  const sc = await d.docker(['run', '--rm', '--security-opt', `seccomp=${prof}`, 'busybox', 'mkdir', '/tmp/nope']);
  assert.equal(sc.code, 1);
  assert.match(sc.stderr, /Operation not permitted/);
  assert.equal(await ok(['run', '--rm', '--tmpfs', '/x:size=1m,mode=1777', 'busybox', 'sh', '-c', "stat -c %a /x; df -k /x | tail -1 | awk '{print $2}'"]), '1777\n1024\n');
  assert.equal((await ok(['run', '--rm', '--mount', 'type=tmpfs,dst=/t,tmpfs-size=2m', 'busybox', 'sh', '-c', "df -k /t | tail -1 | awk '{print $2}'"])).trim(), '2048');
  writeFileSync(join(tmp, 'bf'), 'bound\n');
  assert.equal(await ok(['run', '--rm', '--mount', `type=bind,src=${tmp},dst=/b,bind-propagation=rslave`, 'busybox', 'cat', '/b/bf']), 'bound\n');
  assert.equal(await inspect('{{range .Mounts}}{{.Propagation}}{{end}}', (await ok(['create', '--mount', `type=bind,src=${tmp},dst=/b,bind-propagation=rslave`, 'busybox', 'true'])).trim()), 'rslave');
  const zro = await d.docker(['run', '--rm', '-v', `${tmp}:/ctr:ro,z`, 'busybox', 'sh', '-c', 'cat /ctr/bf; touch /ctr/new']);
  assert.equal(zro.stdout, 'bound\n');
  assert.match(zro.stderr, /Read-only file system/);
  // --read-only: Docker does not make /tmp writable (only --tmpfs does).
  const ro = await d.docker(['run', '--rm', '--read-only', 'busybox', 'touch', '/tmp/x']);
  assert.equal(ro.code, 1);
  assert.match(ro.stderr, /Read-only file system/);
  assert.equal((await ok(['run', '--rm', '--platform', 'linux/amd64', 'busybox', 'echo', 'amd64-ok'])).trim(), 'amd64-ok');
  const never = await d.docker(['run', '--rm', '--pull', 'never', 'nosuch:latest', 'true']);
  assert.equal(never.code, 125);
  assert.match(never.stderr, /No such image: nosuch:latest/);
  assert.doesNotMatch(never.stderr, /Unable to find image/);
  assert.equal((await ok(['run', '--rm', '--pull', 'missing', 'busybox', 'echo', 'local'])).trim(), 'local');
});

test("create refuses what dockerd refuses, with dockerd's words", async () => {
  await ok(['run', '-d', '--name', 'nc-owner', 'busybox', 'sleep', '300']);
  const before = (await d.docker(['ps', '-aq'])).stdout;
  const cases: [string[], RegExp][] = [
    [['--restart', 'always:3'], /invalid restart policy: maximum retry count can only be used with 'on-failure'/],
    [['--stop-signal', 'FOO'], /Invalid signal: FOO/],
    [['--cpuset-cpus', '97'], /Requested CPUs are not available - requested 97, available: 0/],
    [['--ipc', 'bogus'], /invalid IPC mode: bogus/],
    [['--cap-add', 'NOSUCH'], /invalid CapAdd: unknown capability: "CAP_NOSUCH"/],
    [['--runtime', 'foo'], /unknown or invalid runtime name: foo/],
    [['--isolation', 'hyperv'], /invalid isolation 'hyperv' on linux/],
    [['--network', 'host', '--link', 'nc-owner:x'], /conflicting options: host type networking can't be used with links/],
    [['--network', 'container:nc-owner', '-h', 'foo'], /conflicting options: hostname and the network mode/],
    [['--network', 'container:nc-owner', '--dns', '1.1.1.1'], /conflicting options: dns and the network mode/],
    [['--network', 'container:nc-owner', '--add-host', 'a:1.2.3.4'], /conflicting options: custom host-to-IP mapping and the network mode/],
    [['--network', 'container:nc-owner', '-p', '80:80'], /conflicting options: port publishing and the container type network mode/],
    [['--network', 'host', '--mac-address', '02:42:ac:11:00:99'], /conflicting options: mac-address and the network mode/],
    [['--storage-opt', 'size=1G'], /--storage-opt is supported only for overlay over xfs with 'pquota' mount option/],
  ];
  for (const [flags, re] of cases) {
    const r = await d.docker(['create', ...flags, 'busybox', 'true']);
    assert.notEqual(r.code, 0, flags.join(' '));
    assert.match(r.stderr, re);
  }
  assert.equal((await d.docker(['ps', '-aq'])).stdout, before, 'nothing was created');
  assert.equal((await ok(['run', '--rm', '--runtime', 'runc', 'busybox', 'echo', 'ok'])).trim(), 'ok');
  // --gpus: no device driver here; the start fails as on a dockerd without the NVIDIA toolkit.
  const gpu = await d.docker(['run', '--name', 'gpu', '--gpus', 'all', 'busybox', 'true']);
  assert.equal(gpu.code, 125);
  assert.match(gpu.stderr, /could not select device driver "" with capabilities: \[\[gpu\]\]/);
  assert.equal(await inspect('{{.State.Status}} {{.State.ExitCode}}', 'gpu'), 'created 128');
  await d.docker(['rm', 'gpu']);
  await d.docker(['rm', '-f', 'nc-owner']);
});
