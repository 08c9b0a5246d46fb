// The pieces of the archive code that need no daemon: the change list of an
// overlay upper dir, Go's file modes, and container path resolution across mounts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changes, goFileMode, View } from '../../src/containers/index.js';
import { lsetxattr, makedev, mknod, S_IFCHR } from '../../src/sys/index.js';

const whiteout = (p: string) => mknod(p, S_IFCHR, makedev(0, 0));

test('changes: whiteouts, opaque dirs, additions, modifications and runtime mount points, in walk order', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-changes-'));
  try {
    const lower1 = join(root, 'l1');
    const lower2 = join(root, 'l2');
    const upper = join(root, 'upper');
    for (const d of ['etc', 'opt/app', 'var/gone', 'srv']) mkdirSync(join(lower1, d), { recursive: true });
    writeFileSync(join(lower1, 'etc/passwd'), 'root\n');
    writeFileSync(join(lower1, 'opt/app/old'), 'old\n');
    writeFileSync(join(lower1, 'srv/f'), 'f\n');
    // The top layer deleted /srv: recreating /srv in the container is an addition, not a change.
    mkdirSync(lower2, { recursive: true });
    whiteout(join(lower2, 'srv'));

    for (const d of ['etc', 'opt/app', 'srv', 'tmp/new', 'var']) mkdirSync(join(upper, d), { recursive: true });
    writeFileSync(join(upper, 'etc/passwd'), 'root\nme\n');
    for (const f of ['hosts', 'hostname', 'resolv.conf']) writeFileSync(join(upper, 'etc', f), ''); // runtime mount points
    lsetxattr(join(upper, 'opt/app'), 'trusted.overlay.opaque', 'y'); // rm -rf /opt/app; mkdir /opt/app
    writeFileSync(join(upper, 'opt/app/new'), 'new\n');
    writeFileSync(join(upper, 'srv/x'), 'x\n');
    whiteout(join(upper, 'var/gone'));
    // Directories copied up only because of their children keep the lower dir's metadata here.
    for (const d of ['opt', 'var']) {
      const s = lstatSync(join(lower1, d));
      utimesSync(join(upper, d), s.atime, s.mtime);
    }

    assert.deepEqual(changes(upper, [lower1, lower2]).map((c) => `${'CAD'[c.Kind]} ${c.Path}`), [
      // /etc holds the runtime's mount points: only what the container did shows, as with dockerd's init layer.
      'C /etc/passwd',
      'C /opt',
      'D /opt/app',
      'A /opt/app/new',
      'A /srv',
      'A /srv/x',
      'A /tmp',
      'A /tmp/new',
      'C /var',
      'D /var/gone',
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('goFileMode: Go os.FileMode bits as Docker clients decode them', () => {
  assert.equal(goFileMode(0o040755), 2 ** 31 + 0o755);
  assert.equal(goFileMode(0o120777), 2 ** 27 + 0o777);
  assert.equal(goFileMode(0o100644), 0o644);
  assert.equal(goFileMode(0o104755), 2 ** 23 + 0o755); // setuid
  assert.equal(goFileMode(0o041777), 2 ** 31 + 2 ** 20 + 0o777); // sticky dir
  assert.equal(goFileMode(0o020666), 2 ** 26 + 2 ** 21 + 0o666); // char device
});

test('View: symlinks resolve inside the rootfs, mounts take over their subtree', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-view-'));
  try {
    const rootfs = join(root, 'rootfs');
    const vol = join(root, 'vol');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    mkdirSync(join(rootfs, 'data'), { recursive: true });
    mkdirSync(join(vol, 'sub'), { recursive: true });
    symlinkSync('/etc', join(rootfs, 'etclink'));
    symlinkSync('../../../../../../../../..', join(rootfs, 'up'));
    symlinkSync('/', join(vol, 'toroot')); // a link inside the volume back to the container root
    const view = new View({ rootfs, mounts: [{ destination: '/data', source: vol, rw: true }] });
    assert.equal(view.host(view.resolve('/etclink/passwd', true)), join(rootfs, 'etc/passwd'));
    assert.equal(view.host(view.resolve('/up/etc', true)), join(rootfs, 'etc'));
    assert.equal(view.host(view.resolve('/data/sub/x', true)), join(vol, 'sub/x'));
    assert.equal(view.host(view.resolve('/data/toroot/etc', true)), join(rootfs, 'etc'));
    assert.equal(view.host(view.resolve('/data/..', true)), rootfs);
    assert.deepEqual(view.resolve('/etclink', false), ['etclink']);
    assert.equal(view.owner(view.resolve('/data/sub', true)).mount?.rw, true);
    assert.equal(view.owner(view.resolve('/etc', true)).mount, undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('View.pinDir: a directory swapped for a symlink after resolution is refused, not followed', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-pin-'));
  try {
    const rootfs = join(root, 'rootfs');
    const outside = join(root, 'outside');
    mkdirSync(join(rootfs, 'a/b'), { recursive: true });
    mkdirSync(join(outside, 'b'), { recursive: true });
    const view = new View({ rootfs, mounts: [] });
    const parts = view.resolve('/a/b', true);
    closeSync(view.pinDir(parts)); // fine while it is what it was
    // What a running container could do between our resolve and our open:
    rmSync(join(rootfs, 'a'), { recursive: true });
    symlinkSync(outside, join(rootfs, 'a'));
    assert.throws(() => view.pinDir(parts), /path escapes the container/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
