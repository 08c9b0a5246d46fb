import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync, symlinkSync, mkdtempSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { resolveUser } from '../../src/runtime/index.js';
import { isInvalidArgument } from '../../src/util/index.js';
import { busyboxRootfs } from '../helpers/fixtures.js';

test('resolveUser follows Docker\'s rules', () => {
  const root = busyboxRootfs();
  try {
    assert.deepEqual(resolveUser(root, ''), { uid: 0, gid: 0, additionalGids: [], home: '/root' });
    assert.deepEqual(resolveUser(root, 'www'), { uid: 33, gid: 33, additionalGids: [50], home: '/var/www' });
    assert.deepEqual(resolveUser(root, '33'), { uid: 33, gid: 33, additionalGids: [50], home: '/var/www' });
    // An explicit group: no supplementary groups.
    assert.deepEqual(resolveUser(root, 'www:staff'), { uid: 33, gid: 50, additionalGids: [], home: '/var/www' });
    assert.deepEqual(resolveUser(root, '1000:1000'), { uid: 1000, gid: 1000, additionalGids: [], home: '/' });
    assert.deepEqual(resolveUser(root, '4242'), { uid: 4242, gid: 0, additionalGids: [], home: '/' });
    assert.deepEqual(resolveUser(root, 'nobody', { groupAdd: ['staff', '777'] }).additionalGids, [50, 777]);
    assert.throws(() => resolveUser(root, 'nosuch'), (e) => isInvalidArgument(e) && (e as Error).message === 'unable to find user nosuch: no matching entries in passwd file');
    assert.throws(() => resolveUser(root, 'www:nogrp'), /unable to find group nogrp: no matching entries in group file/);
    assert.throws(() => resolveUser(root, 'root', { groupAdd: ['nogrp'] }), /Unable to find group nogrp/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('resolveUser never reads outside the rootfs, and copes with no passwd file', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-user-'));
  const outside = mkdtempSync(join(tmpdir(), 'berth-outside-'));
  try {
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(outside, 'passwd'), 'evil:x:666:666::/:/bin/sh\n');
    // An absolute symlink means the rootfs's own /<outside>/passwd, which does not exist.
    symlinkSync(join(outside, 'passwd'), join(root, 'etc/passwd'));
    assert.throws(() => resolveUser(root, 'evil'), /unable to find user evil/);
    rmSync(join(root, 'etc/passwd'));
    symlinkSync('../../../../../../../..' + join(outside, 'passwd'), join(root, 'etc/passwd'));
    assert.throws(() => resolveUser(root, 'evil'), /unable to find user evil/);
    assert.deepEqual(resolveUser(root, '5:6'), { uid: 5, gid: 6, additionalGids: [], home: '/' });
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});
