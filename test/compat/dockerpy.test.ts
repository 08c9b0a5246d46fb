// docker-py (Debian's python3-docker, run by /usr/bin/python3 as docker-compose
// does) against berthd: the high-level client's containers, exec, archive,
// stats, images (save/load/build/tag), volumes, networks with IPAM and aliases,
// events, df/info/version and the prune calls' return shapes. Each test is one
// Python program that prints JSON; the assertions are on what it saw.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
before(async () => {
  d = await startDaemon();
  await importBusybox(d);
});
after(async () => { if (d) await destroyDaemon(d); });

const PRELUDE = `
import docker, sys, io, json, tarfile, time, threading
c = docker.DockerClient(base_url=sys.argv[1])
api = c.api
out = {}
`;

/** Runs a docker-py program; it fills the dict `out`, which comes back parsed. */
function py(body: string, timeout = 90_000): Promise<any> {
  const script = `${PRELUDE}\n${body}\nprint(json.dumps(out, default=repr))\n`;
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', ['-c', script, d.host], { timeout, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`python failed: ${err.message}\n${stderr}`));
      resolve(JSON.parse(String(stdout).trim().split('\n').pop()!));
    });
  });
}

test('containers.run with ports, volumes, environment and network; logs stream; exec variants; archive; stats/top/diff/export; list filters', async () => {
  const r = await py(`
c.volumes.create('pyvol', labels={'suite': 'py'})
c.networks.create('pynet', driver='bridge')
ct = c.containers.run('busybox', ['sh', '-c', 'trap "exit 0" TERM; echo started; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done'],
    detach=True, name='pyweb', ports={'80/tcp': ('127.0.0.1', None)}, volumes={'pyvol': {'bind': '/vol', 'mode': 'rw'}},
    environment={'E1': 'v1'}, network='pynet', labels={'suite': 'py'})
ct.reload()
out['status'] = ct.status
out['ports'] = ct.ports
out['net'] = list(ct.attrs['NetworkSettings']['Networks'])
out['mount'] = [(m['Type'], m['Name'], m['Destination']) for m in ct.attrs['Mounts']]
lines = []
for line in ct.logs(stream=True, follow=True):
    lines.append(line.decode())
    if len(''.join(lines).splitlines()) >= 3: break
out['logs'] = ''.join(lines).splitlines()[:3]
r = ct.exec_run(['sh', '-c', 'echo $E1 $E2; pwd; id -u'], workdir='/tmp', user='nobody', environment={'E2': 'v2'})
out['exec'] = [r.exit_code, r.output.decode()]
out['volwrite'] = ct.exec_run(['sh', '-c', 'echo data > /vol/f']).exit_code
r = ct.exec_run(['sh', '-c', 'echo o; echo e >&2; exit 3'], demux=True)
out['demux'] = [r.exit_code, r.output[0].decode(), r.output[1].decode()]
out['stream'] = [[a.decode() if a else None, b.decode() if b else None] for a, b in ct.exec_run(['sh', '-c', 'echo o; sleep 0.2; echo e >&2'], stream=True, demux=True).output]
out['tty'] = ct.exec_run('tty', tty=True).output.decode()
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w') as t:
    data = b'archived\\n'
    ti = tarfile.TarInfo('dir/f.txt'); ti.size = len(data); ti.mode = 0o640
    t.addfile(ti, io.BytesIO(data))
out['put'] = ct.put_archive('/root', buf.getvalue())
bits, stat = ct.get_archive('/root/dir')
with tarfile.open(fileobj=io.BytesIO(b''.join(bits))) as t:
    out['get'] = [stat['name'], sorted(t.getnames()), t.extractfile('dir/f.txt').read().decode(), oct(t.getmember('dir/f.txt').mode)]
try:
    ct.get_archive('/nope')
except docker.errors.NotFound as e:
    out['get404'] = e.status_code
s = ct.stats(stream=False)
out['stats'] = [s['name'], s['memory_stats']['usage'] > 0, 'system_cpu_usage' in s['cpu_stats'], s['pids_stats']['current'] >= 1]
top = ct.top()
out['top'] = [top['Titles'][:3], any('tick' in ' '.join(p) for p in top['Processes'])]
out['diff'] = sorted((x['Path'], x['Kind']) for x in ct.diff() if x['Path'].startswith('/root'))
exported = b''.join(ct.export())
with tarfile.open(fileobj=io.BytesIO(exported)) as t:
    names = t.getnames()
out['export'] = ['bin/busybox' in names or './bin/busybox' in names, any(n.endswith('root/dir/f.txt') for n in names)]
out['list'] = [x.name for x in c.containers.list(filters={'label': 'suite=py', 'status': 'running'})]
out['ancestor'] = [x.name for x in c.containers.list(filters={'ancestor': 'busybox'})]
out['inspect'] = api.inspect_container('pyweb')['Config']['Env']
ct.stop(timeout=2)
out['wait'] = ct.wait()
out['exited'] = [x.name for x in c.containers.list(all=True, filters={'status': 'exited', 'label': 'suite=py'})]
out['volfile'] = c.containers.run('busybox', ['cat', '/v/f'], volumes=['pyvol:/v:ro'], remove=True).decode()
ct.remove()
c.networks.get('pynet').remove()
c.volumes.get('pyvol').remove()
`);
  assert.equal(r.status, 'running');
  assert.equal(r.ports['80/tcp'][0].HostIp, '127.0.0.1');
  assert.match(r.ports['80/tcp'][0].HostPort, /^\d+$/);
  assert.deepEqual(r.net, ['pynet']);
  assert.deepEqual(r.mount, [['volume', 'pyvol', '/vol']]);
  assert.deepEqual(r.logs, ['started', 'tick 0', 'tick 1']);
  assert.deepEqual(r.exec, [0, 'v1 v2\n/tmp\n65534\n']);
  assert.equal(r.volwrite, 0);
  assert.deepEqual(r.demux, [3, 'o\n', 'e\n']);
  assert.deepEqual(r.stream, [['o\n', null], [null, 'e\n']]);
  assert.match(r.tty, /^\/dev\/pts\/\d+\r\n$/);
  assert.equal(r.put, true);
  assert.deepEqual(r.get, ['dir', ['dir', 'dir/f.txt'], 'archived\n', '0o640']);
  assert.equal(r.get404, 404);
  assert.deepEqual(r.stats, ['/pyweb', true, true, true]);
  assert.deepEqual(r.top, [['UID', 'PID', 'PPID'], true]);
  assert.deepEqual(r.diff, [['/root', 0], ['/root/dir', 1], ['/root/dir/f.txt', 1]]);
  assert.deepEqual(r.export, [true, true]);
  assert.deepEqual(r.list, ['pyweb']);
  assert.deepEqual(r.ancestor, ['pyweb']);
  assert.ok(r.inspect.includes('E1=v1'));
  assert.deepEqual(r.wait, { StatusCode: 0, Error: null });
  assert.deepEqual(r.exited, ['pyweb']);
  assert.equal(r.volfile, 'data\n', 'the named volume outlives the container');
});

test('exec socket with stdin, attach_socket, ContainerError, NotFound, lifecycle calls', async () => {
  const r = await py(`
try:
    c.containers.run('busybox', ['sh', '-c', 'echo oops >&2; exit 3'], remove=True)
except docker.errors.ContainerError as e:
    out['error'] = [e.exit_status, e.stderr.decode()]
for f in (lambda: c.containers.get('nope'), lambda: c.images.get('nope:1'), lambda: c.volumes.get('nope'), lambda: c.networks.get('nope')):
    try:
        f()
    except docker.errors.NotFound as e:
        out.setdefault('notfound', []).append([type(e).__name__, e.explanation])
ct = c.containers.run('busybox', ['sh', '-c', 'trap "exit 0" TERM; while true; do echo tick; sleep 0.2; done'], detach=True, name='pylife')
e = api.exec_create(ct.id, ['sh', '-c', 'read x; echo got $x; exit 4'], stdin=True)
s = api.exec_start(e['Id'], socket=True)
s._sock.sendall(b'hello\\n')
s._sock.settimeout(5)
data = b''
while True:
    chunk = s._sock.recv(4096)
    if not chunk: break
    data += chunk
out['execsock'] = [data[:8].hex(), data[8:].decode()]
time.sleep(0.2)
out['execcode'] = api.exec_inspect(e['Id'])['ExitCode']
a = ct.attach_socket(params={'stdout': 1, 'stream': 1})
a._sock.settimeout(5)
frame = a._sock.recv(13)
out['attach'] = [frame[0], frame[8:].decode()]
a.close()
ct.pause(); ct.reload(); out['paused'] = ct.status
ct.unpause(); ct.reload(); out['unpaused'] = ct.status
ct.rename('pylife2'); ct.reload(); out['renamed'] = ct.name
out['update'] = ct.update(mem_limit='64m', memswap_limit='128m')
ct.reload(); out['memory'] = ct.attrs['HostConfig']['Memory']
ct.restart(timeout=1); ct.reload(); out['restarted'] = ct.status
# SIGTERM before the shell has set its trap would be ignored (it is pid 1): wait for a tick of the new run.
n0 = ct.logs().count(b'tick')
while ct.logs().count(b'tick') == n0: time.sleep(0.05)
ct.kill(signal='SIGTERM'); out['killterm'] = ct.wait(timeout=10)['StatusCode']
ct.start(); ct.kill(); out['kill'] = ct.wait(timeout=10)['StatusCode']
out['logs'] = ct.logs(tail=1).decode()
out['commit'] = ct.commit('pycommit', 'v1', changes=['ENV Z=1']).tags
out['committed'] = c.containers.run('pycommit:v1', ['sh', '-c', 'echo $Z'], remove=True).decode()
ct.remove(force=True)
c.images.remove('pycommit:v1')
# The attach stream ends once the exit is recorded: removing right after never meets a running container.
out['attachgen'] = []
for i in range(3):
    x = c.containers.run('busybox', ['sh', '-c', 'sleep 0.2; echo att-%d' % i], detach=True)
    out['attachgen'].append(b''.join(x.attach(stream=True, logs=True)).decode())
    x.remove()
`);
  assert.deepEqual(r.error, [3, 'oops\n']);
  assert.deepEqual(r.notfound, [
    ['NotFound', 'No such container: nope'],
    ['ImageNotFound', 'No such image: nope:1'],
    ['NotFound', 'get nope: no such volume'],
    ['NotFound', 'network nope not found'],
  ]);
  assert.deepEqual(r.execsock, ['010000000000000a', 'got hello\n']);
  assert.equal(r.execcode, 4);
  assert.deepEqual(r.attach, [1, 'tick\n']);
  assert.equal(r.paused, 'paused');
  assert.equal(r.unpaused, 'running');
  assert.equal(r.renamed, 'pylife2');
  assert.deepEqual(r.update, { Warnings: [] });
  assert.equal(r.memory, 64 * 1024 * 1024);
  assert.equal(r.restarted, 'running');
  assert.equal(r.killterm, 0);
  assert.equal(r.kill, 137);
  assert.equal(r.logs, 'tick\n');
  assert.deepEqual(r.commit, ['pycommit:v1']);
  assert.equal(r.committed, '1\n');
  assert.deepEqual(r.attachgen, ['att-0\n', 'att-1\n', 'att-2\n']);
});

test('images: list/get/tag/remove, save into load, build from a fileobj and a context, history', async () => {
  const r = await py(`
img = c.images.get('busybox')
out['tags'] = img.tags
out['tag'] = img.tag('pybox', 'v1')
out['list'] = sorted(t for i in c.images.list() for t in i.tags)
out['byname'] = [i.tags for i in c.images.list(name='pybox')]
# named=True would pick tags[0], busybox:latest (RepoTags sort lexically, as dockerd's do).
data = b''.join(c.images.get('pybox:v1').save(named='pybox:v1'))
c.images.remove('pybox:v1')
out['afterremove'] = sorted(t for i in c.images.list() for t in i.tags)
loaded = c.images.load(data)
out['loaded'] = [i.tags for i in loaded]
df = io.BytesIO(b'FROM busybox\\nARG V=dflt\\nRUN echo built-$V > /b\\nLABEL stage=py\\nCMD ["cat", "/b"]\\n')
built, logs = c.images.build(fileobj=df, tag='pybuilt:1', rm=True, buildargs={'V': 'arg'})
out['built'] = [built.tags, built.labels, any('Successfully built' in l.get('stream', '') for l in logs)]
out['runbuilt'] = c.containers.run('pybuilt:1', remove=True).decode()
ctx = io.BytesIO()
with tarfile.open(fileobj=ctx, mode='w') as t:
    for name, text in (('Dockerfile', b'FROM busybox\\nCOPY a.txt /a.txt\\n'), ('a.txt', b'ctx-a\\n')):
        ti = tarfile.TarInfo(name); ti.size = len(text); t.addfile(ti, io.BytesIO(text))
ctx.seek(0)
built2, _ = c.images.build(fileobj=ctx, custom_context=True, tag='pyctx')
out['ctx'] = c.containers.run('pyctx', ['cat', '/a.txt'], remove=True).decode()
try:
    c.images.build(fileobj=io.BytesIO(b'FROM busybox\\nRUN exit 5\\n'))
except docker.errors.BuildError as e:
    out['buildfail'] = str(e)
out['history'] = sorted(c.images.get('pybuilt:1').history()[0].keys())
c.images.remove('pybuilt:1')
c.images.remove('pyctx')
c.images.remove('pybox:v1')
out['untagged'] = sorted(t for i in c.images.list() for t in i.tags)
`);
  assert.deepEqual(r.tags, ['busybox:latest']);
  assert.equal(r.tag, true);
  assert.deepEqual(r.list, ['busybox:latest', 'pybox:v1']);
  assert.deepEqual(r.byname, [['busybox:latest', 'pybox:v1']], 'a name filter lists the image with all its tags');
  assert.deepEqual(r.afterremove, ['busybox:latest']);
  assert.deepEqual(r.loaded, [['busybox:latest', 'pybox:v1']]);
  assert.deepEqual(r.built, [['pybuilt:1'], { stage: 'py' }, true]);
  assert.equal(r.runbuilt, 'built-arg\n');
  assert.equal(r.ctx, 'ctx-a\n');
  assert.equal(r.buildfail, "The command '/bin/sh -c exit 5' returned a non-zero code: 5");
  assert.deepEqual(r.history, ['Comment', 'Created', 'CreatedBy', 'Id', 'Size', 'Tags']);
  assert.deepEqual(r.untagged, ['busybox:latest'], 'removing one of two tags only untags');
});

test('volumes, networks with IPAM and aliases, events while working, df/info/version, prune return shapes', async () => {
  const r = await py(`
v = c.volumes.create('pv1', labels={'k': 'v'})
out['vol'] = [v.name, v.attrs['Driver'], v.attrs['Labels'], v.attrs['Mountpoint'].endswith('/pv1/_data')]
out['vols'] = [x.name for x in c.volumes.list(filters={'label': 'k=v'})]
ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet='10.231.0.0/24', gateway='10.231.0.1')])
n = c.networks.create('pnet', driver='bridge', ipam=ipam, labels={'k': 'v'})
n.reload()
out['ipam'] = n.attrs['IPAM']['Config']
srv = c.containers.run('busybox', ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'], detach=True, name='psrv')
n.connect(srv, aliases=['svc-alias'], ipv4_address='10.231.0.50')
cli = c.containers.run('busybox', ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'], detach=True, name='pcli', network='pnet')
srv.reload()
out['ep'] = [srv.attrs['NetworkSettings']['Networks']['pnet']['IPAddress'], 'svc-alias' in srv.attrs['NetworkSettings']['Networks']['pnet']['Aliases']]
out['resolve'] = cli.exec_run('nslookup svc-alias').output.decode()
n.reload()
out['netcontainers'] = sorted(x.name for x in n.containers)
n.disconnect(srv)
srv.reload()
out['afterdisc'] = sorted(srv.attrs['NetworkSettings']['Networks'])
# docker-py 5 sends the deprecated container-wide Config.MacAddress; it is the endpoint's MAC.
out['mac'] = c.containers.run('busybox', 'cat /sys/class/net/eth0/address', mac_address='02:42:0a:e7:00:63', network='pnet', remove=True).decode()
events = []
since = int(time.time()) - 1
def work():
    time.sleep(0.3)
    c.containers.run('busybox', 'true', name='evct', remove=True)
th = threading.Thread(target=work); th.start()
for ev in c.events(decode=True, filters={'type': 'container', 'container': 'evct'}, since=since, until=int(time.time()) + 15):
    events.append(ev['Action'])
    if ev['Action'] == 'destroy': break
th.join()
out['events'] = events
df = c.df()
out['df'] = [sorted(df), any(i['Containers'] >= 0 for i in df['Images']), any(x['Name'] == 'pv1' for x in df['Volumes'])]
info = c.info()
# (the failed RUN of the images test left its container behind, as dockerd's builder does without forcerm)
out['info'] = [info['Containers'] == len(c.containers.list(all=True)), info['ContainersRunning'], info['Driver'], info['NCPU'] > 0]
ver = c.version()
out['version'] = [ver['ApiVersion'], ver['Os'], ver['Arch'], [x['Name'] for x in ver['Components']]]
for x in (srv, cli):
    x.stop(timeout=1)
out['cprune'] = c.containers.prune()
out['nprune'] = c.networks.prune()
c.volumes.create('pv2')
out['vprune'] = c.volumes.prune()
out['vpruneall'] = c.volumes.prune(filters={'all': 'true'})
c.images.get('busybox').tag('dangler', 'x')
out['iprune'] = c.images.prune(filters={'dangling': True})
out['left'] = [sorted(x.name for x in c.containers.list(all=True)), sorted(x.name for x in c.networks.list()), sorted(x.name for x in c.volumes.list())]
`);
  assert.deepEqual(r.vol, ['pv1', 'local', { k: 'v' }, true]);
  assert.deepEqual(r.vols, ['pv1']);
  assert.deepEqual(r.ipam, [{ Subnet: '10.231.0.0/24', Gateway: '10.231.0.1' }]);
  assert.deepEqual(r.ep, ['10.231.0.50', true]);
  assert.match(r.resolve, /Name:\s+svc-alias\nAddress: 10\.231\.0\.50\n/);
  assert.deepEqual(r.netcontainers, ['pcli', 'psrv']);
  assert.deepEqual(r.afterdisc, ['bridge']);
  assert.equal(r.mac, '02:42:0a:e7:00:63\n');
  assert.deepEqual(r.events, ['create', 'start', 'die', 'destroy']);
  assert.deepEqual(r.df[0], ['BuildCache', 'Containers', 'Images', 'LayersSize', 'Volumes']);
  assert.deepEqual(r.df.slice(1), [true, true]);
  assert.deepEqual(r.info, [true, 2, 'overlay2', true]);
  assert.equal(r.version[0], '1.50');
  assert.equal(r.version[1], 'linux');
  assert.ok(r.version[3].includes('Engine'));
  assert.ok(r.cprune.ContainersDeleted.length >= 2, JSON.stringify(r.cprune));
  assert.equal(typeof r.cprune.SpaceReclaimed, 'number');
  assert.deepEqual(r.nprune, { NetworksDeleted: ['pnet'] });
  // API >= 1.42: prune takes only anonymous volumes unless all=true.
  assert.deepEqual(r.vprune.VolumesDeleted ?? [], []);
  assert.equal(typeof r.vprune.SpaceReclaimed, 'number');
  assert.deepEqual(r.vpruneall.VolumesDeleted.sort(), ['pv1', 'pv2']);
  assert.ok(Array.isArray(r.iprune.ImagesDeleted) || r.iprune.ImagesDeleted === null, JSON.stringify(r.iprune));
  assert.equal(typeof r.iprune.SpaceReclaimed, 'number');
  assert.deepEqual(r.left, [[], ['bridge', 'host', 'none'], []]);
});
