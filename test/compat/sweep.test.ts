// A compatibility sweep: everyday calls from the docker CLI, docker-py and
// dockerode where berthd used to answer differently from dockerd.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';

const execFileP = promisify(execFile);
let d: TestDaemon;
before(async () => { d = await startDaemon(); await importBusybox(d); });
after(async () => { if (d) await destroyDaemon(d); });

const py = async (script: string) => (await execFileP('python3', ['-c', script, d.host], { timeout: 60_000 })).stdout.trim().split('\n');

test('docker update: resources reach the running container, restart policy is kept', async () => {
  await d.docker(['run', '-d', '--name', 'upd', 'busybox', 'sleep', '300']);
  const r = await d.docker(['update', '--memory', '64m', '--cpus', '0.5', '--pids-limit', '50', '--restart', 'on-failure:3', 'upd']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'upd');
  const hc = await d.docker(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'upd']);
  assert.equal(hc.stdout.trim(), '67108864 500000000 50 on-failure:3');
  // The limits are live in the container's cgroups (v1 or v2 paths).
  const cg = await d.docker(['exec', 'upd', 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max']);
  assert.equal(cg.stdout, '67108864\n50\n');
  // A container without a pids limit can be updated too (the runtime is told "unlimited" its own way).
  await d.docker(['run', '-d', '--name', 'upd-free', 'busybox', 'sleep', '300']);
  const free = await d.docker(['update', '--memory', '32m', 'upd-free']);
  assert.equal(free.code, 0, free.stderr);
  assert.equal((await d.docker(['exec', 'upd-free', 'sh', '-c', 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max'])).stdout, 'max\n');
  assert.equal((await d.docker(['update', '--pids-limit', '-1', 'upd'])).code, 0);
  assert.equal((await d.docker(['exec', 'upd', 'sh', '-c', 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max'])).stdout, 'max\n');
  await d.docker(['rm', '-f', 'upd-free']);
  const small = await d.docker(['update', '--memory', '1m', 'upd']);
  assert.notEqual(small.code, 0);
  assert.match(small.stderr, /Minimum memory limit allowed is 6MB/);
  const missing = await d.docker(['update', '--restart', 'always', 'no-such-ctr']);
  assert.match(missing.stderr, /No such container: no-such-ctr/);
  await d.docker(['run', '-d', '--rm', '--name', 'upd-rm', 'busybox', 'sleep', '300']);
  const ar = await d.docker(['update', '--restart', 'always', 'upd-rm']);
  assert.match(ar.stderr, /Restart policy cannot be updated because AutoRemove is enabled for the container/);
  // A stopped container takes the update and starts with it.
  await d.docker(['rm', '-f', 'upd-rm', 'upd']);
  await d.docker(['create', '--name', 'upd2', 'busybox', 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max']);
  assert.equal((await d.docker(['update', '-m', '32m', 'upd2'])).code, 0);
  const out = await d.docker(['start', '-a', 'upd2']);
  assert.equal(out.stdout.trim(), '33554432');
  await d.docker(['rm', '-f', 'upd2']);
});

test('docker-py and dockerode: container.update', async () => {
  const lines = await py(`
import docker, sys
c = docker.DockerClient(base_url=sys.argv[1])
ct = c.containers.run('busybox', 'sleep 300', detach=True, name='pyupd')
print(ct.update(mem_limit='48m', cpu_shares=512, restart_policy={'Name': 'unless-stopped'}))
ct.reload()
hc = ct.attrs['HostConfig']
print(hc['Memory'], hc['CpuShares'], hc['RestartPolicy']['Name'])
ct.remove(force=True)
`);
  assert.equal(lines[0], "{'Warnings': []}");
  assert.equal(lines[1], '50331648 512 unless-stopped');
  const docker = new Docker({ socketPath: d.socket });
  const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '300'] });
  await c.start();
  assert.deepEqual(await c.update({ Memory: 40 * 1024 * 1024, MemorySwap: -1 }), { Warnings: [] });
  assert.equal((await c.inspect()).HostConfig.MemorySwap, -1);
  await c.remove({ force: true });
  // An event tells watchers the container changed. (--until 0s is whole seconds, as in Docker: let this one pass.)
  await new Promise((r) => setTimeout(r, 1100));
  const ev = await d.docker(['events', '--since', '2m', '--until', '0s', '--filter', 'event=update', '--format', '{{.Actor.Attributes.name}}']);
  assert.match(ev.stdout, /pyupd/);
});

test('sizes: ps --size, inspect --size, system df -v', async () => {
  await d.docker(['run', '-d', '--name', 'sized', 'busybox', 'sh', '-c', 'head -c 300000 /dev/zero > /blob; sleep 300']);
  let ps = '';
  for (let i = 0; i < 50 && !/^300kB /.test(ps); i++) {
    ps = (await d.docker(['ps', '--size', '--filter', 'name=sized', '--format', '{{.Size}}'])).stdout;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(ps, /^300kB \(virtual 2\.\d+MB\)\n$/);
  const insp = await d.docker(['inspect', '--size', '-f', '{{.SizeRw}} {{.SizeRootFs}}', 'sized']);
  const [rw, rootfs] = insp.stdout.trim().split(' ').map(Number);
  assert.equal(rw, 300000);
  assert.ok(rootfs! > 2_000_000 + 300000, insp.stdout);
  const df = await d.docker(['system', 'df', '-v', '--format', '{{json .}}']);
  assert.equal(df.code, 0, df.stderr);
  const parsed = JSON.parse(df.stdout);
  const mine = parsed.Containers.find((c: { Names: string }) => c.Names === 'sized');
  assert.equal(mine.Size, '300kB');
  // SharedSize is computed (not N/A): an image on top of busybox shares its layer.
  assert.equal((await d.docker(['commit', 'sized', 'sized-img'])).code, 0);
  const df2 = JSON.parse((await d.docker(['system', 'df', '-v', '--format', '{{json .}}'])).stdout);
  const bb = df2.Images.find((i: { Repository: string }) => i.Repository === 'busybox');
  const derived = df2.Images.find((i: { Repository: string }) => i.Repository === 'sized-img');
  assert.equal(bb.SharedSize, bb.Size);
  assert.equal(bb.UniqueSize, '0B');
  assert.match(derived.UniqueSize, /^30\d(\.\d+)?kB$/); // the layer's tar, a little over the file
  await d.docker(['rm', '-f', 'sized']);
  await d.docker(['rmi', 'sized-img']);
});

test('stats: networks counters for a bridged container (NET I/O)', async () => {
  await d.docker(['run', '-d', '--name', 'netst', 'busybox', 'sleep', '300']);
  const s = await d.docker(['stats', '--no-stream', '--format', '{{.Name}} {{.NetIO}}', 'netst']);
  assert.match(s.stdout, /^netst \d+(\.\d+)?k?B \/ \d+(\.\d+)?k?B\n$/);
  const lines = await py(`
import docker, sys
c = docker.DockerClient(base_url=sys.argv[1])
s = c.containers.get('netst').stats(stream=False)
print(sorted(s['networks'].keys()))
print(sorted(s['networks']['eth0'].keys()))
`);
  assert.equal(lines[0], "['eth0']");
  assert.equal(lines[1], "['rx_bytes', 'rx_dropped', 'rx_errors', 'rx_packets', 'tx_bytes', 'tx_dropped', 'tx_errors', 'tx_packets']");
  await d.docker(['rm', '-f', 'netst']);
});


test('attach with logs=1 replays the log; without stream=1 it then ends (docker-py attach)', async () => {
  await d.docker(['run', '-d', '--name', 'att', 'busybox', 'sh', '-c', 'echo hello; echo err >&2; sleep 300']);
  await d.docker(['logs', 'att']); // output is in the log by now
  for (let i = 0; i < 50 && !(await d.docker(['logs', 'att'])).stderr.includes('err'); i++) await new Promise((r) => setTimeout(r, 100));
  const lines = await py(`
import docker, sys
c = docker.DockerClient(base_url=sys.argv[1])
ct = c.containers.get('att')
print(repr(ct.attach(logs=True, stream=False)))
print(repr(c.api.attach(ct.id, stream=False, logs=True, stdout=True, stderr=False)))
`);
  assert.deepEqual(lines, ["b'hello\\nerr\\n'", "b'hello\\n'"]);
  await d.docker(['rm', '-f', 'att']);
});

test('kill racing an exit is a 409, never a 500', async () => {
  const docker = new Docker({ socketPath: d.socket });
  for (let i = 0; i < 5; i++) {
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['true'] });
    await c.start();
    await new Promise((r) => setTimeout(r, 30 * i));
    try { await c.kill(); } catch (err: any) {
      assert.equal(err.statusCode, 409, err.message);
      assert.match(err.json.message, /is not running/);
    }
    await c.remove({ force: true });
  }
});

test('docker-py healthcheck with None fields; dockerode HostPort "0" is an ephemeral port', async () => {
  const lines = await py(`
import docker, sys, json
c = docker.DockerClient(base_url=sys.argv[1])
ct = c.containers.create('busybox', 'sleep 300', healthcheck={'test': ['CMD', 'true'], 'interval': 1000000000})
print(json.dumps(ct.attrs['Config']['Healthcheck'], sort_keys=True))
ct.remove(force=True)
`);
  assert.equal(lines[0], '{"Interval": 1000000000, "Test": ["CMD", "true"]}');
  const docker = new Docker({ socketPath: d.socket });
  const c = await docker.createContainer({
    Image: 'busybox', Cmd: ['sleep', '300'], ExposedPorts: { '80/tcp': {} },
    HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '0' }] } },
  });
  await c.start();
  const info = await c.inspect();
  const b = info.NetworkSettings.Ports['80/tcp'][0];
  assert.equal(b.HostIp, '127.0.0.1');
  assert.ok(Number(b.HostPort) > 0, JSON.stringify(b));
  assert.equal(info.HostConfig.PortBindings['80/tcp'][0].HostPort, '0');
  await c.remove({ force: true });
});

test('ps -n / -l list the newest containers whatever their state', async () => {
  await d.docker(['run', '-d', '--name', 'older', 'busybox', 'sleep', '300']);
  await d.docker(['run', '--name', 'newest', 'busybox', 'true']);
  const l = await d.docker(['ps', '-l', '--format', '{{.Names}} {{.State}}']);
  assert.equal(l.stdout, 'newest exited\n');
  const n = await d.docker(['ps', '-n', '2', '--format', '{{.Names}}']);
  assert.equal(n.stdout, 'newest\nolder\n');
  // Without a limit only running ones, as before.
  assert.equal((await d.docker(['ps', '--filter', 'name=newest', '-q'])).stdout, '');
  await d.docker(['rm', '-f', 'older', 'newest']);
});

test('docker-py create_host_config: RestartPolicy has both fields, MemorySwap defaults to twice Memory', async () => {
  const lines = await py(`
import docker, sys, json
api = docker.APIClient(base_url=sys.argv[1])
hc = api.create_host_config(restart_policy={'Name': 'always'}, mem_limit='32m', port_bindings={80: ('127.0.0.1', None)})
ct = api.create_container('busybox', 'sleep 300', ports=[80], host_config=hc)
i = api.inspect_container(ct['Id'])['HostConfig']
print(json.dumps(i['RestartPolicy'], sort_keys=True))
print(i['Memory'], i['MemorySwap'])
api.remove_container(ct['Id'], force=True)
`);
  assert.equal(lines[0], '{"MaximumRetryCount": 0, "Name": "always"}');
  assert.equal(lines[1], '33554432 67108864');
});

test('swarm and plugin endpoints answer as an inactive dockerd', async () => {
  for (const args of [['node', 'ls'], ['service', 'ls'], ['secret', 'ls'], ['config', 'ls']]) {
    const r = await d.docker(args);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /This node is not a swarm manager\. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again\./, args.join(' '));
  }
  const pl = await d.docker(['plugin', 'ls', '--format', '{{.Name}}']);
  assert.equal(pl.code, 0, pl.stderr);
  assert.equal(pl.stdout, '');
  const lines = await py(`
import docker, sys
c = docker.DockerClient(base_url=sys.argv[1])
print(c.plugins.list())
try:
    c.services.list()
except docker.errors.APIError as e:
    print(e.status_code)
`);
  assert.deepEqual(lines, ['[]', '503']);
});

test('ps --filter publish= / expose= match ports, with ranges and protocols', async () => {
  await d.docker(['run', '-d', '--name', 'pubf', '-p', '80', 'busybox', 'sleep', '300']);
  await d.docker(['run', '-d', '--name', 'expf', '--expose', '8080', 'busybox', 'sleep', '300']);
  await d.docker(['run', '-d', '--name', 'plain', 'busybox', 'sleep', '300']);
  const names = async (f: string) => (await d.docker(['ps', '--filter', f, '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean).sort();
  assert.deepEqual(await names('publish=80'), ['pubf']);
  assert.deepEqual(await names('publish=8080'), []);
  assert.deepEqual(await names('expose=8080'), ['expf']);
  assert.deepEqual(await names('expose=8000-8090/tcp'), ['expf']);
  assert.deepEqual(await names('expose=8080/udp'), []);
  assert.deepEqual(await names('expose=80'), ['pubf']);
  const bad = await d.docker(['ps', '--filter', 'publish=abc']);
  assert.match(bad.stderr, /invalid filter 'publish=abc'/);
  await d.docker(['rm', '-f', 'pubf', 'expf', 'plain']);
});

test('container events carry the container labels, so events --filter label= works (also for destroy)', async () => {
  await d.docker(['run', '-d', '--name', 'evl', '-l', 'team=a', '-l', 'com.docker.compose.project=p', 'busybox', 'sleep', '300']);
  await d.docker(['exec', 'evl', 'true']);
  await d.docker(['rm', '-f', 'evl']);
  await new Promise((r) => setTimeout(r, 1100));
  const ev = await d.docker(['events', '--since', '1m', '--until', '0s', '--filter', 'label=team=a', '--format', '{{.Action}} {{index .Actor.Attributes "com.docker.compose.project"}} {{.Actor.Attributes.name}}']);
  const lines = ev.stdout.trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(' ')[0]), ['create', 'start', 'exec_create:', 'exec_start:', 'exec_die', 'kill', 'die', 'destroy']);
  for (const l of lines) assert.match(l, / p evl$/);
});

test('--mount volume-opt and volume-label create the volume with them (a tmpfs local volume)', async () => {
  const r = await d.docker(['run', '--rm', '--mount', 'type=volume,src=optvol,dst=/x,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=3m,volume-label=k=v',
    'busybox', 'sh', '-c', 'df -k /x | tail -1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^tmpfs\s+3072\s/);
  const insp = await d.docker(['volume', 'inspect', '-f', '{{json .Options}} {{json .Labels}}', 'optvol']);
  assert.equal(insp.stdout.trim(), '{"device":"tmpfs","o":"size=3m","type":"tmpfs"} {"k":"v"}');
  assert.equal((await d.docker(['volume', 'rm', 'optvol'])).code, 0);
});

test('logs of a container with --log-driver none: Docker\'s "does not support reading"', async () => {
  await d.docker(['run', '--name', 'nolog', '--log-driver', 'none', 'busybox', 'echo', 'hi']);
  const r = await d.docker(['logs', 'nolog']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /Error response from daemon: configured logging driver does not support reading/);
  const st = await d.api('GET', '/containers/nolog/logs?stdout=1');
  assert.equal(st.status, 501);
  await d.docker(['rm', 'nolog']);
});

test('a container waiting to be restarted is "restarting" (ps lists it); stop cancels the restart', async () => {
  await d.docker(['run', '-d', '--name', 'rst', '--restart', 'always', 'busybox', 'sh', '-c', 'sleep 0.3; exit 3']);
  const seen = new Set<string>();
  for (let i = 0; i < 40 && !seen.has('restarting'); i++) {
    const st = (await d.docker(['ps', '--filter', 'name=rst', '--format', '{{.State}} {{.Status}}'])).stdout.trim();
    if (st) seen.add(st.split(' ')[0]!);
    if (st.startsWith('restarting')) assert.match(st, /^restarting Restarting \(3\) /);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(seen.has('restarting'), [...seen].join(','));
  assert.equal((await d.docker(['stop', '-t', '1', 'rst'])).code, 0);
  await new Promise((r) => setTimeout(r, 1500));
  const after = await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.Restarting}}', 'rst']);
  assert.equal(after.stdout.trim(), 'exited false');
  const rm = await d.docker(['rm', 'rst']);
  assert.equal(rm.code, 0, rm.stderr);
});
