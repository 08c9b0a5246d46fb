import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, readFileSync, readlinkSync, lstatSync, existsSync, rmSync, chownSync, chmodSync, readdirSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { openDb, type DB, errorKind } from '../../src/util/index.js';
import { VolumeStore, ANONYMOUS_LABEL } from '../../src/volumes/index.js';

interface Ctx { dir: string; db: DB; store: VolumeStore; events: string[] }

function setup(): Ctx {
  const dir = mkdtempSync(join(tmpdir(), 'berth-volumes-'));
  const db = openDb(join(dir, 'berth.db'));
  const events: string[] = [];
  const store = new VolumeStore({ db, root: join(dir, 'volumes'), events: (type, action, id) => events.push(`${type} ${action} ${id}`) });
  return { dir, db, store, events };
}

const mounted = (p: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === p);

async function rejects(p: Promise<unknown>, kind: string, message: string) {
  await assert.rejects(p, (err: Error) => {
    assert.equal(errorKind(err), kind);
    assert.equal(err.message, message);
    return true;
  });
}

describe('VolumeStore', () => {
  let c: Ctx;
  beforeEach(() => { c = setup(); });
  afterEach(() => {
    for (const v of c.store.list().Volumes) if (mounted(v.Mountpoint)) execFileSync('umount', [v.Mountpoint]);
    c.db.close();
    rmSync(c.dir, { recursive: true, force: true });
  });

  test('create returns the Volume JSON and makes <root>/<name>/_data', async () => {
    const v = await c.store.create({ Name: 'data', Labels: { a: 'b' }, DriverOpts: {} });
    assert.deepEqual(Object.keys(v).sort(), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
    assert.equal(v.Name, 'data');
    assert.equal(v.Driver, 'local');
    assert.equal(v.Scope, 'local');
    assert.equal(v.Mountpoint, join(c.dir, 'volumes', 'data', '_data'));
    assert.ok(statSync(v.Mountpoint).isDirectory());
    assert.match(v.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
    assert.ok(Math.abs(Date.parse(v.CreatedAt) - Date.now()) < 5000);
    assert.deepEqual(v.Labels, { a: 'b' });
    assert.deepEqual(v.Options, {});
    assert.deepEqual(c.store.get('data'), v);
    assert.deepEqual(c.events, ['volume create data']);
  });

  test('labels and options stay null when not given, as Docker reports them', async () => {
    const v = await c.store.create({ Name: 'plain' });
    assert.equal(v.Labels, null);
    assert.equal(v.Options, null);
    assert.equal(JSON.parse(JSON.stringify(v)).Labels, null);
  });

  test('creating an existing name returns the existing volume unchanged', async () => {
    const a = await c.store.create({ Name: 'same', Labels: { x: '1' } });
    const b = await c.store.create({ Name: 'same', Labels: { x: '2' } });
    assert.deepEqual(b, a);
    assert.equal(c.events.length, 1);
  });

  test('no name makes an anonymous volume with a 64-hex name', async () => {
    const v = await c.store.create({});
    assert.match(v.Name, /^[0-9a-f]{64}$/);
    assert.deepEqual(v.Labels, { [ANONYMOUS_LABEL]: '' });
  });

  test('names and drivers are validated with Docker messages', async () => {
    await rejects(c.store.create({ Name: 'a' }), 'InvalidArgument', 'create a: volume name is too short, names should be at least two alphanumeric characters');
    await rejects(c.store.create({ Name: '../etc' }), 'InvalidArgument',
      'create ../etc: "../etc" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path');
    await rejects(c.store.create({ Name: 'a/b' }), 'InvalidArgument',
      'create a/b: "a/b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path');
    await rejects(c.store.create({ Name: 'ok', Driver: 'nfsplug' }), 'NotFound', 'create ok: error looking up volume plugin nfsplug: plugin "nfsplug" not found');
    await rejects(c.store.create({ Name: 'ok', DriverOpts: { foo: 'bar' } }), 'InvalidArgument', 'create ok: invalid option: "foo"');
    await rejects(c.store.create({ Name: 'ok', DriverOpts: { type: 'tmpfs' } }), 'InvalidArgument', 'create ok: missing required option: "device"');
    assert.deepEqual(c.store.list().Volumes, []);
    assert.deepEqual(readdirSync(join(c.dir, 'volumes')), []);
  });

  test('get of a missing volume is NotFound', () => {
    assert.throws(() => c.store.get('nope'), (err: Error) => errorKind(err) === 'NotFound' && err.message === 'get nope: no such volume');
  });

  test('list filters: name, label, dangling, driver', async () => {
    await c.store.create({ Name: 'web-data', Labels: { app: 'web', tier: 'front' } });
    await c.store.create({ Name: 'db-data', Labels: { app: 'db' } });
    await c.store.create({ Name: 'cache' });
    c.store.acquire('db-data', 'c1');
    const names = (f: Record<string, string[]>) => c.store.list(f).Volumes.map((v) => v.Name);
    assert.deepEqual(names({}), ['cache', 'db-data', 'web-data']);
    assert.deepEqual(names({ name: ['data'] }), ['db-data', 'web-data']);
    assert.deepEqual(names({ name: ['^db'] }), ['db-data']);
    assert.deepEqual(names({ label: ['app'] }), ['db-data', 'web-data']);
    assert.deepEqual(names({ label: ['app=web'] }), ['web-data']);
    assert.deepEqual(names({ label: ['app', 'tier=front'] }), ['web-data']);
    assert.deepEqual(names({ dangling: ['true'] }), ['cache', 'web-data']);
    assert.deepEqual(names({ dangling: ['0'] }), ['db-data']);
    assert.deepEqual(names({ driver: ['local'] }), ['cache', 'db-data', 'web-data']);
    assert.deepEqual(names({ driver: ['other'] }), []);
    assert.throws(() => c.store.list({ color: ['red'] }), (err: Error) => errorKind(err) === 'InvalidArgument' && err.message === "invalid filter 'color'");
    assert.throws(() => c.store.list({ dangling: ['maybe'] }), (err: Error) => err.message === "invalid filter 'dangling=[maybe]'");
  });

  test('remove refuses a volume in use, then removes row and directory', async () => {
    const v = await c.store.create({ Name: 'busy' });
    writeFileSync(join(v.Mountpoint, 'f'), 'x');
    c.store.acquire('busy', 'aaa');
    c.store.acquire('busy', 'bbb');
    c.store.acquire('busy', 'aaa'); // idempotent
    assert.deepEqual(c.store.users('busy'), ['aaa', 'bbb']);
    await rejects(c.store.remove('busy'), 'Conflict', 'remove busy: volume is in use - [aaa, bbb]');
    await rejects(c.store.remove('busy', { force: true }), 'Conflict', 'remove busy: volume is in use - [aaa, bbb]');
    c.store.release('busy', 'aaa');
    c.store.release('busy', 'bbb');
    await c.store.remove('busy');
    assert.equal(existsSync(join(c.dir, 'volumes', 'busy')), false);
    assert.equal(c.store.exists('busy'), false);
    assert.deepEqual(c.events, ['volume create busy', 'volume destroy busy']);
    await rejects(c.store.remove('busy'), 'NotFound', 'get busy: no such volume');
    await c.store.remove('busy', { force: true }); // force: a missing volume is fine
  });

  test('acquire of a missing volume is NotFound', () => {
    assert.throws(() => c.store.acquire('ghost', 'c1'), (err: Error) => errorKind(err) === 'NotFound');
  });

  test('prune removes unused anonymous volumes, or all unused ones with all=true', async () => {
    const anon = await c.store.create({});
    writeFileSync(join(anon.Mountpoint, 'blob'), Buffer.alloc(5000));
    const anonUsed = await c.store.create({});
    c.store.acquire(anonUsed.Name, 'ctr');
    await c.store.create({ Name: 'named', Labels: { keep: 'no' } });
    await c.store.create({ Name: 'keepme', Labels: { keep: 'yes' } });
    await c.store.create({ Name: 'tmpvol', DriverOpts: { type: 'tmpfs', device: 'tmpfs' } });

    const r1 = await c.store.prune();
    assert.deepEqual(r1, { VolumesDeleted: [anon.Name], SpaceReclaimed: 5000 });
    assert.ok(c.events.includes('volume prune '));

    const r2 = await c.store.prune({ all: ['true'], 'label!': ['keep=yes'] });
    assert.deepEqual(r2.VolumesDeleted, ['named']);
    // In use, labelled keep=yes, or with mount options: still there.
    assert.deepEqual(c.store.list().Volumes.map((v) => v.Name).sort(), [anonUsed.Name, 'keepme', 'tmpvol'].sort());
    await assert.rejects(c.store.prune({ all: ['sure'] }), (err: Error) => errorKind(err) === 'InvalidArgument');
    await assert.rejects(c.store.prune({ dangling: ['true'] }), (err: Error) => err.message === "invalid filter 'dangling'");
  });

  test('usage and df report bytes and reference counts', async () => {
    const v = await c.store.create({ Name: 'sized' });
    mkdirSync(join(v.Mountpoint, 'd'));
    writeFileSync(join(v.Mountpoint, 'd', 'a'), Buffer.alloc(1000));
    writeFileSync(join(v.Mountpoint, 'b'), Buffer.alloc(24));
    assert.equal(await c.store.usage('sized'), 1024);
    c.store.acquire('sized', 'c1');
    const [d] = await c.store.df();
    assert.deepEqual(d!.UsageData, { Size: 1024, RefCount: 1 });
    assert.equal(c.store.list().Volumes[0]!.UsageData, undefined);
  });

  test('a new VolumeStore on the same db sees volumes, labels and references', async () => {
    await c.store.create({ Name: 'persist', Labels: { k: 'v' } });
    c.store.acquire('persist', 'ctr1');
    const again = new VolumeStore({ db: c.db, root: join(c.dir, 'volumes') });
    assert.deepEqual(again.get('persist'), c.store.get('persist'));
    assert.deepEqual(again.users('persist'), ['ctr1']);
    await rejects(again.remove('persist'), 'Conflict', 'remove persist: volume is in use - [ctr1]');
    // And after reopening the database file itself.
    c.db.close();
    c.db = openDb(join(c.dir, 'berth.db'));
    const reopened = new VolumeStore({ db: c.db, root: join(c.dir, 'volumes') });
    assert.deepEqual(reopened.get('persist').Labels, { k: 'v' });
    assert.deepEqual(reopened.users('persist'), ['ctr1']);
    c.store = reopened;
  });

  test('ensure creates on demand, references and reports fresh until populated', async () => {
    const e1 = await c.store.ensure('', { anonymous: true, containerId: 'c1' });
    assert.match(e1.name, /^[0-9a-f]{64}$/);
    assert.equal(e1.fresh, true);
    assert.deepEqual(c.store.get(e1.name).Labels, { [ANONYMOUS_LABEL]: '' });
    assert.deepEqual(c.store.users(e1.name), ['c1']);
    const e2 = await c.store.ensure('named', { anonymous: false, containerId: 'c2' });
    assert.equal(e2.mountpoint, c.store.get('named').Mountpoint);
    assert.equal(c.store.get('named').Labels, null);
    const src = mkdtempSync(join(c.dir, 'src-'));
    writeFileSync(join(src, 'x'), 'x');
    await c.store.populate('named', src);
    assert.equal((await c.store.ensure('named', { containerId: 'c3' })).fresh, false);
    assert.deepEqual(c.store.users('named'), ['c2', 'c3']);
  });

  test('populate copies an image directory once, keeping owners, modes and symlinks', async () => {
    const rootfs = mkdtempSync(join(c.dir, 'rootfs-'));
    const src = join(rootfs, 'var', 'lib', 'app');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'conf'), 'hello');
    chownSync(join(src, 'conf'), 33, 50);
    chmodSync(join(src, 'conf'), 0o640);
    writeFileSync(join(src, 'sub', 'run'), '#!/bin/sh\n');
    chmodSync(join(src, 'sub', 'run'), 0o4755);
    symlinkSync('/etc/shadow', join(src, 'shadow-link'));   // absolute link: must stay a link
    symlinkSync('../../..', join(src, 'escape'));          // dir link out of the tree: never walked
    chownSync(src, 33, 33);
    chmodSync(src, 0o750);

    const v = await c.store.create({ Name: 'appdata' });
    await c.store.populate('appdata', src);
    const d = v.Mountpoint;
    assert.equal(readFileSync(join(d, 'conf'), 'utf8'), 'hello');
    const st = lstatSync(join(d, 'conf'));
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [33, 50, 0o640]);
    assert.equal(lstatSync(join(d, 'sub', 'run')).mode & 0o7777, 0o4755);
    assert.ok(lstatSync(join(d, 'shadow-link')).isSymbolicLink());
    assert.equal(readlinkSync(join(d, 'shadow-link')), '/etc/shadow');
    assert.ok(lstatSync(join(d, 'escape')).isSymbolicLink());
    const root = lstatSync(d);
    assert.deepEqual([root.uid, root.gid, root.mode & 0o7777], [33, 33, 0o750]);
    assert.deepEqual(readdirSync(join(c.dir, 'volumes', 'appdata')), ['_data']); // no staging left
    assert.equal(c.store.isPopulated('appdata'), true);

    // Only once: emptying the volume and populating again copies nothing.
    rmSync(join(d, 'conf'));
    await c.store.populate('appdata', src);
    assert.equal(existsSync(join(d, 'conf')), false);
  });

  test('populate leaves a non-empty volume alone, and a missing source changes nothing', async () => {
    const v = await c.store.create({ Name: 'full' });
    writeFileSync(join(v.Mountpoint, 'mine'), 'keep');
    const src = mkdtempSync(join(c.dir, 'src-'));
    writeFileSync(join(src, 'theirs'), 'x');
    await c.store.populate('full', src);
    assert.deepEqual(readdirSync(v.Mountpoint), ['mine']);
    assert.equal(c.store.isPopulated('full'), true);

    await c.store.create({ Name: 'empty' });
    await c.store.populate('empty', join(c.dir, 'does-not-exist'));
    assert.equal(c.store.isPopulated('empty'), false);
    const file = join(src, 'theirs');
    await c.store.populate('empty', file); // not a directory
    assert.equal(c.store.isPopulated('empty'), false);
  });

  test('a tmpfs volume is mounted at first use and unmounted with its last user', async () => {
    const v = await c.store.create({ Name: 'ram', DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m,mode=0750' } });
    assert.equal(mounted(v.Mountpoint), false);
    await c.store.ensure('ram', { containerId: 'c1' });
    assert.equal(mounted(v.Mountpoint), true);
    assert.equal(statSync(v.Mountpoint).mode & 0o7777, 0o750);
    await c.store.ensure('ram', { containerId: 'c2' });
    c.store.release('ram', 'c1');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(mounted(v.Mountpoint), true);
    c.store.release('ram', 'c2');
    for (let i = 0; i < 50 && mounted(v.Mountpoint); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(mounted(v.Mountpoint), false);
    await c.store.remove('ram');
  });

  test('a bind volume (type=none, o=bind) shows the host directory', async () => {
    const host = mkdtempSync(join(c.dir, 'host-'));
    writeFileSync(join(host, 'from-host'), 'hi');
    const v = await c.store.create({ Name: 'bound', DriverOpts: { type: 'none', device: host, o: 'bind' } });
    assert.deepEqual(readdirSync(v.Mountpoint), []);
    const e = await c.store.ensure('bound', { containerId: 'c1' });
    assert.equal(readFileSync(join(e.mountpoint, 'from-host'), 'utf8'), 'hi');
    c.store.release('bound', 'c1');
    for (let i = 0; i < 50 && mounted(v.Mountpoint); i++) await new Promise((r) => setTimeout(r, 20));
    await c.store.remove('bound');
    assert.equal(readFileSync(join(host, 'from-host'), 'utf8'), 'hi'); // removing the volume never touches the host dir
  });

  test('reconcile sweeps directories without a row and restores missing _data', async () => {
    const v = await c.store.create({ Name: 'real' });
    rmSync(v.Mountpoint, { recursive: true });
    mkdirSync(join(c.dir, 'volumes', 'half-created', '_data'), { recursive: true });
    mkdirSync(join(c.dir, 'volumes', 'real', '_populate-abc'));
    await c.store.create({ Name: 'used' });
    c.store.acquire('used', 'gone');
    c.store.acquire('used', 'alive');
    await c.store.reconcile({ containerExists: (id) => id === 'alive' });
    assert.ok(statSync(v.Mountpoint).isDirectory());
    assert.equal(existsSync(join(c.dir, 'volumes', 'half-created')), false);
    assert.equal(existsSync(join(c.dir, 'volumes', 'real', '_populate-abc')), false);
    assert.deepEqual(c.store.users('used'), ['alive']);
  });
});
