// Other real clients against berthd: docker-py (Debian's python3-docker) and dockerode (npm).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';

const execFileP = promisify(execFile);
let d: TestDaemon;

before(async () => {
  d = await startDaemon();
  await importBusybox(d);
});
after(async () => { if (d) await destroyDaemon(d); });

test('docker-py: run, logs, exec, inspect, remove', async () => {
  const script = `
import docker, sys
c = docker.DockerClient(base_url=sys.argv[1])
assert c.ping()
out = c.containers.run('busybox', ['sh', '-c', 'echo py-out'], remove=True)
print(out.decode().strip())
ct = c.containers.run('busybox', ['sleep', '30'], detach=True, name='pyctr', labels={'team': 'py'})
print(ct.status if ct.status else '')
code, o = ct.exec_run(['sh', '-c', 'echo exec-ok'])
print(code, o.decode().strip())
ct.reload()
print(ct.attrs['State']['Status'], ct.labels['team'])
print(len(c.containers.list(filters={'label': 'team=py'})))
ct.stop(timeout=1)
print(ct.wait()['StatusCode'])
ct.remove()
print(sorted(t for i in c.images.list() for t in i.tags))
`;
  const { stdout } = await execFileP('python3', ['-c', script, d.host], { timeout: 60_000 });
  const lines = stdout.trim().split('\n');
  assert.equal(lines[0], 'py-out');
  assert.equal(lines[2], '0 exec-ok');
  assert.equal(lines[3], 'running py');
  assert.equal(lines[4], '1');
  assert.equal(lines[5], '137');
  assert.match(lines[6]!, /'busybox:latest'/);
});

test('dockerode: create, attach, start, wait, logs without a version prefix', async () => {
  const docker = new Docker({ socketPath: d.socket });
  const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'echo node-out; echo node-err >&2'], Tty: false });
  const stream = await c.attach({ stream: true, stdout: true, stderr: true, hijack: true });
  const out: string[] = [];
  const err: string[] = [];
  docker.modem.demuxStream(stream, { write: (b: Buffer) => out.push(b.toString()) } as any, { write: (b: Buffer) => err.push(b.toString()) } as any);
  const ended = new Promise((r) => stream.on('end', r));
  await c.start();
  const w = await c.wait();
  await ended;
  assert.equal(w.StatusCode, 0);
  assert.equal(out.join(''), 'node-out\n');
  assert.equal(err.join(''), 'node-err\n');
  const logs = await c.logs({ stdout: true, stderr: true });
  assert.match(logs.toString(), /node-out/);
  const info = await c.inspect();
  assert.equal(info.State.Status, 'exited');
  await c.remove();
  await assert.rejects(c.inspect(), (e: any) => e.statusCode === 404);
});
