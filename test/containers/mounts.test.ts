// How -v, --mount, --tmpfs and image VOLUMEs become mount points, and Docker's human status strings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBind, parseApiMount, collectMounts, humanDuration, signalNumber } from '../../src/containers/index.js';

test('-v forms: bind, named volume, anonymous volume, options', () => {
  assert.deepEqual(
    { ...parseBind('/host/dir:/data:ro') },
    { Type: 'bind', Source: '/host/dir', Destination: '/data', Mode: 'ro', RW: false, Propagation: 'rprivate', Options: [] },
  );
  const v = parseBind('cache:/var/cache');
  assert.equal(v.Type, 'volume');
  assert.equal(v.Name, 'cache');
  assert.equal(v.Anonymous, false);
  const a = parseBind('/scratch');
  assert.equal(a.Type, 'volume');
  assert.equal(a.Anonymous, true);
  assert.throws(() => parseBind('rel:dst'), /invalid volume specification: 'rel:dst'/);
  assert.throws(() => parseBind('/a:/b:bogus'), /invalid mode: bogus/);
  assert.throws(() => parseBind('bad$name:/x'), /includes invalid characters for a local volume name/);
});

test('--mount: bind needs an absolute existing-style source; tmpfs takes no source', () => {
  const m = parseApiMount({ Type: 'bind', Source: '/srv', Target: '/srv', ReadOnly: true });
  assert.equal(m.RW, false);
  assert.throws(() => parseApiMount({ Type: 'bind', Source: 'rel', Target: '/x' }), /mount path must be absolute/);
  assert.throws(() => parseApiMount({ Type: 'tmpfs', Source: 'x', Target: '/t' }), /field Source must be empty/);
  assert.throws(() => parseApiMount({ Type: 'nfs', Target: '/t' }), /mount type unknown: nfs/);
  const t = parseApiMount({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1048576, Mode: 0o700 } });
  assert.deepEqual(t.Options, ['size=1048576', 'mode=700']);
});

test('image VOLUMEs become anonymous volumes unless mounted; duplicates are refused', () => {
  const list = collectMounts({}, { Binds: ['/h:/data'], Tmpfs: { '/run': 'size=1m' } }, { '/data': {}, '/logs': {} });
  assert.deepEqual(list.map((m) => `${m.Type}:${m.Destination}`), ['bind:/data', 'tmpfs:/run', 'volume:/logs']);
  assert.throws(() => collectMounts({}, { Binds: ['/a:/x', '/b:/x'] }, undefined), /Duplicate mount point: \/x/);
});

test('human durations match Docker (go-units HumanDuration)', () => {
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(42_000), '42 seconds');
  assert.equal(humanDuration(61_000), 'About a minute');
  assert.equal(humanDuration(5 * 60_000), '5 minutes');
  assert.equal(humanDuration(60 * 60_000), 'About an hour');
  assert.equal(humanDuration(3 * 3600_000), '3 hours');
  assert.equal(humanDuration(3 * 24 * 3600_000), '3 days');
});

test('signals by name, short name and number', () => {
  assert.equal(signalNumber('SIGTERM'), 15);
  assert.equal(signalNumber('kill'), 9);
  assert.equal(signalNumber('HUP'), 1);
  assert.equal(signalNumber('10'), 10);
  assert.throws(() => signalNumber('NOPE'), /Invalid signal: NOPE/);
  assert.throws(() => signalNumber('0'), /Invalid signal/);
});
