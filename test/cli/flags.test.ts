// Unit tests: pflag-like parsing and run/create flags → the exact create body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags, FlagError, flagUsages } from '../../src/cli/flags.js';
import { RUN_FLAGS, parseRunOptions } from '../../src/cli/opts/run.js';
import { parsePortSpecs } from '../../src/cli/opts/ports.js';
import { parseMount } from '../../src/cli/opts/mounts.js';
import { parseDockerignore, isIgnored } from '../../src/cli/opts/dockerignore.js';
import { DetachScanner, parseDetachKeys } from '../../src/cli/streams.js';
import { parseRef, familiarWithTag, fullName } from '../../src/cli/reference.js';
import { serverKey } from '../../src/cli/commands/login.js';
import { startErrorStatus } from '../../src/cli/commands/run.js';

const runOpts = (argv: string[]) => {
  const p = parseFlags(RUN_FLAGS, argv, { interspersed: false });
  return parseRunOptions(p.flags, p.changed, p.args, { env: { HOME: '/root' }, isRun: true });
};

test('flags: bundles, =values, attached values, --, stop at first argument', () => {
  const p = parseFlags(RUN_FLAGS, ['-dit', '-p80:80', '-e=A=1', '--name=web', '--rm=false', 'img', '-x', '--', 'y'], { interspersed: false });
  assert.equal(p.flags.detach, true);
  assert.equal(p.flags.interactive, true);
  assert.equal(p.flags.tty, true);
  assert.deepEqual(p.flags.publish, ['80:80']);
  assert.deepEqual(p.flags.env, ['A=1']);
  assert.equal(p.flags.name, 'web');
  assert.equal(p.flags.rm, false);
  assert.deepEqual(p.args, ['img', '-x', '--', 'y']);
  assert.throws(() => parseFlags(RUN_FLAGS, ['--nope']), (e: Error) => e instanceof FlagError && e.message === 'unknown flag: --nope');
  assert.throws(() => parseFlags(RUN_FLAGS, ['-e']), /flag needs an argument: 'e' in -e/);
  assert.throws(() => parseFlags([{ name: 'time', short: 't', kind: 'int', desc: '' }], ['-t', 'x']), /invalid argument "x" for "-t, --time" flag: strconv.ParseInt/);
  assert.match(flagUsages(RUN_FLAGS), /^ {6}--add-host list +Add a custom host-to-IP mapping/);
});

test('run flags: Config, HostConfig and NetworkingConfig as the docker CLI sends them', () => {
  const o = runOpts(['-it', '--rm', '-e', 'A=1', '-e', 'HOME', '-v', '/data', '-v', '/tmp:/x:ro', '-p', '127.0.0.1:8080:80', '--cap-add', 'net_admin',
    '-m', '512m', '--cpus', '1.5', '--network', 'n1', '--ip', '10.0.0.5', '--restart', 'no', '--init', '--stop-timeout', '5', 'busybox', 'sh']);
  const b = o.body as Record<string, any>;
  assert.equal(b.Image, 'busybox');
  assert.deepEqual(b.Cmd, ['sh']);
  assert.deepEqual(b.Env, ['A=1', 'HOME=/root']);
  assert.equal(b.Tty && b.OpenStdin && b.StdinOnce && b.AttachStdin, true);
  assert.deepEqual(b.Volumes, { '/data': {} });
  assert.deepEqual(b.ExposedPorts, { '80/tcp': {} });
  assert.equal(b.StopTimeout, 5);
  assert.deepEqual(b.HostConfig.Binds, ['/tmp:/x:ro']);
  assert.deepEqual(b.HostConfig.PortBindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] });
  assert.deepEqual(b.HostConfig.CapAdd, ['CAP_NET_ADMIN']);
  assert.equal(b.HostConfig.Memory, 536870912);
  assert.equal(b.HostConfig.NanoCpus, 1500000000);
  assert.equal(b.HostConfig.AutoRemove, true);
  assert.equal(b.HostConfig.Init, true);
  assert.equal(b.HostConfig.NetworkMode, 'n1');
  assert.deepEqual(b.NetworkingConfig.EndpointsConfig.n1.IPAMConfig, { IPv4Address: '10.0.0.5' });
  const d = runOpts(['-d', 'busybox']).body as Record<string, any>;
  assert.equal(d.AttachStdout, false);
  assert.equal(d.HostConfig.NetworkMode, 'default');
  assert.throws(() => runOpts(['--rm', '--restart', 'always', 'x']), /cannot specify both --restart and --rm/);
});

test('ports: ranges, IPv6, protocols', () => {
  const r = parsePortSpecs(['8000-8001:80-81/udp', '[::1]:53:53', '9000-9010:90', '7']);
  assert.deepEqual(r.bindings['81/udp'], [{ HostIp: '', HostPort: '8001' }]);
  assert.deepEqual(r.bindings['53/tcp'], [{ HostIp: '::1', HostPort: '53' }]);
  assert.deepEqual(r.bindings['90/tcp'], [{ HostIp: '', HostPort: '9000-9010' }]);
  assert.deepEqual(r.bindings['7/tcp'], [{ HostIp: '', HostPort: '' }]);
  assert.throws(() => parsePortSpecs(['1-3:4-5']), /invalid ranges/);
  assert.throws(() => parsePortSpecs(['abc']), /invalid containerPort: abc/);
});

test('mounts: --mount CSV into API mounts', () => {
  assert.deepEqual(parseMount('type=bind,source=/a,target=/b,readonly'), { Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true });
  assert.deepEqual(parseMount('type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1777'), { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1777 } });
  assert.throws(() => parseMount('type=volume'), /target is required/);
  assert.throws(() => parseMount('type=tmpfs,target=/x,volume-nocopy'), /cannot mix 'volume-\*' options/);
});

test('.dockerignore: globs, **, parent directories, exceptions', () => {
  const p = parseDockerignore('# c\nnode_modules\n*.log\n**/tmp\n!keep.log\n/build/\n');
  assert.equal(isIgnored('node_modules/x/y.js', p), true);
  assert.equal(isIgnored('a.log', p), true);
  assert.equal(isIgnored('keep.log', p), false);
  assert.equal(isIgnored('src/a.log', p), false);
  assert.equal(isIgnored('a/b/tmp/c', p), true);
  assert.equal(isIgnored('build/out', p), true);
  assert.equal(isIgnored('src/main.ts', p), false);
});

test('detach keys: ctrl-p ctrl-q detaches, a broken sequence is passed on', () => {
  assert.deepEqual(parseDetachKeys('ctrl-p,ctrl-q'), [16, 17]);
  const s = new DetachScanner([16, 17]);
  assert.deepEqual(s.push(Buffer.from([97, 16])), { forward: Buffer.from([97]), detach: false });
  assert.deepEqual(s.push(Buffer.from([98])), { forward: Buffer.from([16, 98]), detach: false });
  assert.equal(s.push(Buffer.from([16, 17])).detach, true);
});

test('references, login keys and start error statuses', () => {
  assert.equal(fullName(parseRef('busybox')), 'docker.io/library/busybox');
  assert.equal(fullName(parseRef('localhost:5000/a/b:1')), 'localhost:5000/a/b');
  assert.equal(familiarWithTag('busybox'), 'busybox:latest');
  assert.equal(familiarWithTag('docker.io/library/alpine:3'), 'alpine:3');
  assert.equal(serverKey(undefined), 'https://index.docker.io/v1/');
  assert.equal(serverKey('docker.io'), 'https://index.docker.io/v1/');
  assert.equal(serverKey('https://localhost:5000/'), 'localhost:5000');
  assert.equal(startErrorStatus('exec: "x": executable file not found in $PATH'), 127);
  assert.equal(startErrorStatus('exec: "/etc": permission denied'), 126);
  assert.equal(startErrorStatus('other'), 125);
});
