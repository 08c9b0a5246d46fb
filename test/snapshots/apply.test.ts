import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { applyLayer, cleanEntryName } from '../../src/snapshots/index.js';
import { isInvalidArgument } from '../../src/util/index.js';
import { lgetxattr, lsetxattr, major, minor } from '../../src/sys/index.js';
import { busyboxRootfs } from '../helpers/fixtures.js';
import { digestOf, makeTar } from './tarkit.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'berth-apply-'));
}
const stream = (b: Buffer) => Readable.from([b.subarray(0, 7), b.subarray(7)]); // split: exercise the sniffing

test('cleanEntryName strips roots and rejects escapes', () => {
  assert.equal(cleanEntryName('./a/b/'), 'a/b');
  assert.equal(cleanEntryName('/etc/passwd'), 'etc/passwd');
  assert.equal(cleanEntryName('a/../b'), 'b');
  assert.equal(cleanEntryName('./'), '');
  assert.equal(cleanEntryName('/'), '');
  assert.throws(() => cleanEntryName('../x'), isInvalidArgument);
  assert.throws(() => cleanEntryName('a/../../x'), isInvalidArgument);
  assert.throws(() => cleanEntryName('..'), isInvalidArgument);
});

test('busybox tar: plain, gzip and zstd give the same tree and diffID', async () => {
  // busyboxTar() would leave its rootfs behind: build the tar here to clean up both.
  const work = tmp();
  const rootfs = busyboxRootfs(join(work, 'rootfs'));
  const tarPath = join(work, 'busybox.tar');
  execFileSync('tar', ['-C', rootfs, '--numeric-owner', '-cf', tarPath, '.']);
  const raw = readFileSync(tarPath);
  const want = digestOf(raw);
  const zst = execFileSync('zstd', ['-c', '-q', tarPath], { maxBuffer: 1 << 30 });
  for (const [label, blob] of [['plain', raw], ['gzip', gzipSync(raw)], ['zstd', zst]] as const) {
    const dir = tmp();
    try {
      const r = await applyLayer(dir, stream(blob));
      assert.equal(r.diffId, want, label);
      assert.equal(r.size, raw.length, label);
      assert.ok(statSync(join(dir, 'bin/busybox')).mode & 0o111, `${label}: busybox executable`);
      assert.equal(readlinkSync(join(dir, 'bin/sh')), 'busybox');
      assert.equal(statSync(join(dir, 'tmp')).mode & 0o7777, 0o1777, `${label}: sticky /tmp kept`);
      assert.match(readFileSync(join(dir, 'etc/passwd'), 'utf8'), /^root:x:0:0/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  rmSync(work, { recursive: true, force: true });
});

test('ownership, setuid, mtimes, devices, fifos, hardlinks and binary xattrs', async () => {
  const dir = tmp();
  try {
    const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x80, 0x20, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00]);
    const blob = await makeTar([
      { name: 'usr/', type: 'directory', mode: 0o750, uid: 7, gid: 8, mtime: new Date('2001-02-03T04:05:06Z') },
      { name: 'usr/bin/su', data: 'su', mode: 0o4755, uid: 0, gid: 0 },
      { name: 'usr/bin/ping', data: 'ping', mode: 0o755, pax: { 'SCHILY.xattr.user.cap': cap, 'SCHILY.xattr.trusted.overlay.redirect': '/etc' } },
      { name: 'home/u/file', data: 'hello', uid: 1000, gid: 1001, mode: 0o640, mtime: new Date('2010-01-01T00:00:00Z') },
      { name: 'home/u/hard', type: 'link', linkname: 'home/u/file' },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660, gid: 6 },
      { name: 'run/fifo', type: 'fifo', mode: 0o620 },
      { name: 'link', type: 'symlink', linkname: '/home/u/file', uid: 5, gid: 5 },
    ]);
    const r = await applyLayer(dir, stream(blob));
    assert.equal(r.diffId, digestOf(blob));
    assert.equal(r.size, blob.length);

    const usr = statSync(join(dir, 'usr'));
    assert.equal(usr.mode & 0o7777, 0o750);
    assert.equal(usr.uid, 7);
    assert.equal(usr.gid, 8);
    assert.equal(usr.mtime.toISOString(), '2001-02-03T04:05:06.000Z', 'dir mtime set after its children');
    assert.equal(statSync(join(dir, 'usr/bin/su')).mode & 0o7777, 0o4755, 'setuid kept');
    assert.deepEqual(lgetxattr(join(dir, 'usr/bin/ping'), 'user.cap'), cap, 'binary xattr byte-exact');
    assert.equal(lgetxattr(join(dir, 'usr/bin/ping'), 'trusted.overlay.redirect'), null, 'overlay xattrs from a layer are ignored');
    const f = statSync(join(dir, 'home/u/file'));
    assert.deepEqual([f.uid, f.gid, f.mode & 0o777], [1000, 1001, 0o640]);
    assert.equal(f.mtime.toISOString(), '2010-01-01T00:00:00.000Z');
    assert.equal(statSync(join(dir, 'home/u/hard')).ino, f.ino, 'hardlink shares the inode');
    const nul = statSync(join(dir, 'dev/null'));
    assert.ok(nul.isCharacterDevice());
    assert.deepEqual([major(nul.rdev), minor(nul.rdev), nul.mode & 0o777], [1, 3, 0o666]);
    const sda = statSync(join(dir, 'dev/sda'));
    assert.ok(sda.isBlockDevice());
    assert.deepEqual([major(sda.rdev), minor(sda.rdev), sda.gid], [8, 0, 6]);
    assert.ok(statSync(join(dir, 'run/fifo')).isFIFO());
    const l = lstatSync(join(dir, 'link'));
    assert.ok(l.isSymbolicLink());
    assert.equal(readlinkSync(join(dir, 'link')), '/home/u/file');
    assert.deepEqual([l.uid, l.gid], [5, 5]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GNU tar --xattrs output: xattrs restored byte-exact', async () => {
  const src = tmp();
  const dir = tmp();
  try {
    writeFileSync(join(src, 'f'), 'x');
    const val = Buffer.from([0x00, 0xc3, 0x28, 0xfe, 0x7f]); // invalid UTF-8 on purpose
    lsetxattr(join(src, 'f'), 'user.bin', val);
    const blob = execFileSync('tar', ['--xattrs', '--xattrs-include=user.*', '--numeric-owner', '-C', src, '-cf', '-', '.']);
    await applyLayer(dir, stream(blob));
    assert.deepEqual(lgetxattr(join(dir, 'f'), 'user.bin'), val);
  } finally {
    rmSync(src, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});

test('OCI whiteouts become overlay whiteouts and opaque dirs', async () => {
  const dir = tmp();
  try {
    const blob = await makeTar([
      { name: 'etc/.wh.motd', data: '' },
      { name: 'var/cache/.wh..wh..opq', data: '' },
      { name: 'var/cache/new', data: 'n' },
      { name: '.wh.gone', data: '' },
    ]);
    await applyLayer(dir, stream(blob));
    const wh = statSync(join(dir, 'etc/motd'));
    assert.ok(wh.isCharacterDevice());
    assert.equal(wh.rdev, 0);
    assert.ok(statSync(join(dir, 'gone')).isCharacterDevice());
    assert.equal(lgetxattr(join(dir, 'var/cache'), 'trusted.overlay.opaque')?.toString(), 'y');
    assert.equal(readFileSync(join(dir, 'var/cache/new'), 'utf8'), 'n');
    assert.deepEqual(readdirSync(join(dir, 'etc')), ['motd'], 'no .wh. file left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Hostile tars: nothing may be written outside the layer dir.
test('hostile: ../ escape is rejected and writes nothing outside', async () => {
  const base = tmp();
  const dir = join(base, 'layer');
  try {
    const blob = await makeTar([{ name: 'ok', data: '1' }, { name: '../escaped', data: 'x' }]);
    await assert.rejects(applyLayer(dir, stream(blob)), (err) => isInvalidArgument(err) && /escapes the layer root/.test((err as Error).message));
    assert.equal(existsSync(join(base, 'escaped')), false);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('hostile: absolute names land inside the layer', async () => {
  const dir = tmp();
  const marker = `berth-test-${process.pid}-${Date.now()}`;
  try {
    const blob = await makeTar([{ name: `/tmp/${marker}`, data: 'x' }]);
    await applyLayer(dir, stream(blob));
    assert.equal(readFileSync(join(dir, 'tmp', marker), 'utf8'), 'x');
    assert.equal(existsSync(join('/tmp', marker)), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hostile: a write through a symlink (absolute or ../) stays inside the layer', async () => {
  const outside = tmp();
  const dir = tmp();
  try {
    writeFileSync(join(outside, 'victim'), 'original');
    const blob = await makeTar([
      { name: 'abs', type: 'symlink', linkname: outside },
      { name: 'abs/pwned', data: 'x' },
      { name: 'rel', type: 'symlink', linkname: '../../../../../../../../' + outside },
      { name: 'rel/pwned2', data: 'y' },
      { name: 'rel/sub/', type: 'directory' },
      { name: 'victim', type: 'symlink', linkname: join(outside, 'victim') },
      { name: 'victim', data: 'overwritten' }, // replaces the link, never writes through it
    ]);
    await applyLayer(dir, stream(blob));
    assert.deepEqual(readdirSync(outside), ['victim']);
    assert.equal(readFileSync(join(outside, 'victim'), 'utf8'), 'original');
    assert.equal(readFileSync(join(dir, outside, 'pwned'), 'utf8'), 'x', 'resolved as the container sees it');
    assert.equal(readFileSync(join(dir, outside, 'pwned2'), 'utf8'), 'y');
    assert.ok(statSync(join(dir, outside, 'sub')).isDirectory());
    assert.ok(lstatSync(join(dir, 'victim')).isFile());
    assert.equal(readFileSync(join(dir, 'victim'), 'utf8'), 'overwritten');
  } finally {
    rmSync(outside, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hostile: hardlinks to outside files are rejected', async () => {
  const outside = tmp();
  try {
    writeFileSync(join(outside, 'secret'), 's');
    const cases = [
      [{ name: 'h', type: 'link' as const, linkname: '../' + 'secret' }],
      [{ name: 'h', type: 'link' as const, linkname: join(outside, 'secret') }],
      [{ name: 'via', type: 'symlink' as const, linkname: outside }, { name: 'h', type: 'link' as const, linkname: 'via/secret' }],
      [{ name: 'd/', type: 'directory' as const }, { name: 'h', type: 'link' as const, linkname: 'd' }],
    ];
    for (const entries of cases) {
      const dir = tmp();
      try {
        await assert.rejects(applyLayer(dir, stream(await makeTar(entries))), isInvalidArgument);
        assert.equal(existsSync(join(dir, 'h')), false);
        assert.equal(statSync(join(outside, 'secret')).nlink, 1, 'no link to the outside file');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
});

test('hostile: rewriting a hardlinked name replaces it and leaves the other name alone', async () => {
  const dir = tmp();
  try {
    await applyLayer(dir, stream(await makeTar([
      { name: 'f', data: 'first' },
      { name: 'h', type: 'link', linkname: 'f' },
      { name: 'h', data: 'second' },
    ])));
    assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'first');
    assert.equal(readFileSync(join(dir, 'h'), 'utf8'), 'second');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('corrupt input: bad gzip, garbage and truncated tars are InvalidArgument', async () => {
  const good = await makeTar([{ name: 'a', data: 'x'.repeat(5000) }]);
  const badGzip = gzipSync(good);
  badGzip[badGzip.length - 12] ^= 0xff;
  const inputs = { badGzip, garbage: Buffer.alloc(1024, 0x41), truncated: good.subarray(0, 1024) };
  for (const [label, blob] of Object.entries(inputs)) {
    const dir = tmp();
    try {
      await assert.rejects(applyLayer(dir, stream(blob)), (err) => {
        assert.ok(isInvalidArgument(err), `${label}: ${(err as Error).message}`);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('an aborted signal stops the extraction', async () => {
  const dir = tmp();
  try {
    const ac = new AbortController();
    const endless = Readable.from((async function* () { // zero blocks forever, as a slow network would send
      for (;;) {
        await new Promise((r) => setImmediate(r));
        yield Buffer.alloc(512 * 64);
      }
    })());
    const p = applyLayer(dir, endless, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 50);
    await assert.rejects(p, /stop/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void mkdirSync;

test('an abort while waiting for the first bytes is not lost', async () => {
  const dir = tmp();
  try {
    const blob = await makeTar([{ name: 'a', data: 'x' }]);
    const slow = Readable.from((async function* () {
      await new Promise((r) => setTimeout(r, 100));
      yield blob;
    })());
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('early stop')), 10);
    await assert.rejects(applyLayer(dir, slow, { signal: ac.signal }), /early stop/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
