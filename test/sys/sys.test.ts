import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, statSync, rmSync, symlinkSync, closeSync, readdirSync, read, write } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import * as sys from '../../src/sys/index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'berth-sys-'));

test('mount a tmpfs, see it in /proc/self/mounts, unmount it', () => {
  const dir = tmp();
  try {
    sys.mount('tmpfs', dir, 'tmpfs', sys.MS_NOSUID | sys.MS_NODEV, 'size=1m,mode=0700');
    try {
      const mounts = readFileSync('/proc/self/mounts', 'utf8');
      const line = mounts.split('\n').find((l) => l.split(' ')[1] === dir);
      assert.ok(line, 'tmpfs is listed in /proc/self/mounts');
      assert.match(line!, /^tmpfs \S+ tmpfs \S*nosuid,nodev/);
      writeFileSync(join(dir, 'f'), 'x');
      assert.equal(statSync(dir).mode & 0o777, 0o700);
    } finally {
      sys.umount2(dir, 0);
    }
    assert.deepEqual(readdirSync(dir), [], 'file was on the tmpfs, gone after unmount');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bind mount read-only, remount, lazy unmount with MNT_DETACH', () => {
  const src = tmp();
  const dst = tmp();
  try {
    writeFileSync(join(src, 'hello'), 'world');
    sys.mount(src, dst, null, sys.MS_BIND, null);
    sys.mount(null, dst, null, sys.MS_BIND | sys.MS_REMOUNT | sys.MS_RDONLY, null);
    assert.equal(readFileSync(join(dst, 'hello'), 'utf8'), 'world');
    assert.throws(() => writeFileSync(join(dst, 'x'), 'y'), { code: 'EROFS' });
    sys.umount2(dst, sys.MNT_DETACH);
    assert.deepEqual(readdirSync(dst), []);
  } finally {
    rmSync(src, { recursive: true, force: true });
    rmSync(dst, { recursive: true, force: true });
  }
});

test('errors carry code, errno, syscall and path like Node system errors', () => {
  const dir = tmp();
  try {
    const missing = join(dir, 'nope');
    assert.throws(() => sys.mount('tmpfs', missing, 'tmpfs', 0, null), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'ENOENT');
      assert.equal(err.syscall, 'mount');
      assert.equal(err.path, missing);
      assert.equal(err.errno, -2);
      assert.ok(err instanceof Error);
      return true;
    });
    assert.throws(() => sys.umount2(dir, 0), { code: 'EINVAL', syscall: 'umount2' });
    assert.throws(() => sys.mount(null, 'a\0b', null, 0, null), TypeError);
    assert.throws(() => (sys.mount as (...a: unknown[]) => void)(null, 42, null, 0, null), TypeError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('umount2 of a busy mount reports EBUSY', () => {
  const dir = tmp();
  try {
    sys.mount('tmpfs', dir, 'tmpfs', 0, 'size=1m');
    mkdirSync(join(dir, 'sub'));
    sys.mount('tmpfs', join(dir, 'sub'), 'tmpfs', 0, 'size=1m');
    try {
      assert.throws(() => sys.umount2(dir, 0), { code: 'EBUSY' });
    } finally {
      sys.umount2(join(dir, 'sub'), 0);
      sys.umount2(dir, 0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mknod a 0/0 character device (an overlay whiteout) and a fifo', () => {
  const dir = tmp();
  try {
    const wh = join(dir, 'wh');
    sys.mknod(wh, sys.constants.S_IFCHR | 0o000, sys.makedev(0, 0));
    const st = statSync(wh);
    assert.ok(st.isCharacterDevice());
    assert.equal(st.rdev, 0);
    const null2 = join(dir, 'null');
    sys.mknod(null2, sys.constants.S_IFCHR | 0o666, sys.makedev(1, 3));
    const st2 = statSync(null2);
    assert.equal(sys.major(st2.rdev), 1);
    assert.equal(sys.minor(st2.rdev), 3);
    assert.equal(sys.makedev(1, 3), st2.rdev);
    // A large minor/major uses the high bits of glibc's encoding.
    assert.equal(sys.major(sys.makedev(4095 + 4096, 1048575)), 8191);
    assert.equal(sys.minor(sys.makedev(4095 + 4096, 1048575)), 1048575);
    sys.mknod(join(dir, 'fifo'), sys.constants.S_IFIFO | 0o600, 0);
    assert.ok(statSync(join(dir, 'fifo')).isFIFO());
    assert.throws(() => sys.mknod(wh, sys.constants.S_IFCHR, 0), { code: 'EEXIST', syscall: 'mknod' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('xattrs: set Buffer and string values, get, list, absent → null, symlink itself', () => {
  const dir = tmp();
  try {
    const f = join(dir, 'f');
    writeFileSync(f, '');
    sys.lsetxattr(f, 'user.a', Buffer.from([0, 1, 2, 255]), 0);
    sys.lsetxattr(f, 'trusted.overlay.opaque', 'y', 0);
    assert.deepEqual(sys.lgetxattr(f, 'user.a'), Buffer.from([0, 1, 2, 255]));
    assert.equal(sys.lgetxattr(f, 'trusted.overlay.opaque')?.toString(), 'y');
    assert.equal(sys.lgetxattr(f, 'user.missing'), null);
    assert.deepEqual(sys.llistxattr(f).sort(), ['trusted.overlay.opaque', 'user.a']);
    assert.throws(() => sys.lsetxattr(f, 'user.a', 'z', sys.constants.XATTR_CREATE), { code: 'EEXIST' });
    sys.lsetxattr(f, 'user.empty', Buffer.alloc(0), 0);
    assert.deepEqual(sys.lgetxattr(f, 'user.empty'), Buffer.alloc(0));
    // On a symlink: trusted.* works on the link itself and does not touch the target.
    const l = join(dir, 'l');
    symlinkSync('f', l);
    sys.lsetxattr(l, 'trusted.x', 'link', 0);
    assert.equal(sys.lgetxattr(l, 'trusted.x')?.toString(), 'link');
    assert.equal(sys.lgetxattr(f, 'trusted.x'), null);
    assert.throws(() => sys.lgetxattr(join(dir, 'missing'), 'user.a'), { code: 'ENOENT', syscall: 'lgetxattr' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function seqpacketServer(path: string) {
  // python3 is on every test host; it echoes one packet back prefixed by "echo:".
  const py = `
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
os.chdir(os.path.dirname(sys.argv[1]))
s.bind(os.path.basename(sys.argv[1]))
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
d = c.recv(8192)
c.send(b"echo:" + d)
c.close()
`;
  const child = spawn('python3', ['-c', py, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', () => resolve());
  });
  return child;
}

for (const long of [false, true]) {
  test(`connectSeqpacket to a ${long ? 'path longer than 108 bytes' : 'short path'}`, async () => {
    const dir = tmp();
    const sockDir = long ? join(dir, 'x'.repeat(60), 'y'.repeat(60)) : dir;
    mkdirSync(sockDir, { recursive: true });
    const path = join(sockDir, 'attach');
    if (long) assert.ok(path.length > 108);
    const child = await seqpacketServer(path);
    try {
      const fd = sys.connectSeqpacket(path);
      assert.ok(fd > 2);
      // libuv can't wrap a SEQPACKET fd in net.Socket; fs reads/writes work, one packet per call.
      await new Promise<void>((resolve, reject) => write(fd, Buffer.from('ping'), (err) => (err ? reject(err) : resolve())));
      const buf = Buffer.alloc(8192);
      const n = await new Promise<number>((resolve, reject) => read(fd, buf, 0, buf.length, null, (err, got) => (err ? reject(err) : resolve(got))));
      assert.equal(buf.subarray(0, n).toString(), 'echo:ping');
      closeSync(fd);
    } finally {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('connectSeqpacket to a missing socket throws ENOENT', () => {
  const dir = tmp();
  try {
    assert.throws(() => sys.connectSeqpacket(join(dir, 'nope')), { code: 'ENOENT', syscall: 'connect' });
    const long = join(dir, 'z'.repeat(120), 'nope');
    assert.throws(() => sys.connectSeqpacket(long), { code: 'ENOENT' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('syncfs flushes a filesystem and reports a missing path', () => {
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'f'), 'x');
    sys.syncfs(dir);
    assert.throws(() => sys.syncfs(join(dir, 'missing')), { code: 'ENOENT', syscall: 'open' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mountAsync / umount2Async / syncfsAsync: the same calls off the event loop, the same errors', async () => {
  const dir = tmp();
  try {
    await sys.mountAsync('tmpfs', dir, 'tmpfs', 0, 'size=1m');
    assert.ok(readFileSync('/proc/self/mounts', 'utf8').includes(` ${dir} tmpfs `));
    writeFileSync(join(dir, 'f'), 'x');
    await sys.syncfsAsync(dir);
    await sys.umount2Async(dir, 0);
    assert.ok(!readFileSync('/proc/self/mounts', 'utf8').includes(` ${dir} `));
    await assert.rejects(sys.umount2Async(dir, 0), { code: 'EINVAL', syscall: 'umount2', path: dir });
    await assert.rejects(sys.mountAsync('none', join(dir, 'missing'), 'tmpfs', 0, null), { code: 'ENOENT', syscall: 'mount' });
    await assert.rejects(sys.syncfsAsync(join(dir, 'missing')), { code: 'ENOENT' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('spawnDetached: argv, env, cwd, stderr and socketpairs as fds 3+, own session, default signals; waitPid reaps', async () => {
  const dir = tmp();
  try {
    // The child reports what it sees on fd 3 (a socketpair), writes to stderr, and exits 7.
    const script = 'echo "$1 $FOO $(pwd) $(ps -o sid= -p $$ | tr -d " ") $$" >&3; ' +
      'grep -E "^SigIgn" /proc/$$/status >&3; echo oops >&2; exit 7';
    const p = await sys.spawnDetached('sh', ['sh', '-c', script, 'sh', 'arg1'], ['FOO=bar', 'PATH=/usr/bin:/bin'], dir, 1);
    assert.equal(p.fds.length, 1);
    const readAll = (fd: number) => new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(4096);
      const next = () => read(fd, buf, 0, buf.length, null, (err, n) => {
        if (err || n === 0) { closeSync(fd); resolve(Buffer.concat(chunks).toString()); return; }
        chunks.push(Buffer.from(buf.subarray(0, n)));
        next();
      });
      next();
    });
    const [out, err, st] = await Promise.all([readAll(p.fds[0]!), readAll(p.stderr), sys.waitPid(p.pid)]);
    const [first, sigIgn] = out.trim().split('\n');
    const [arg, foo, cwd, sid, pid] = first!.split(' ');
    assert.deepEqual([arg, foo, cwd], ['arg1', 'bar', dir]);
    assert.equal(sid, pid, 'the child leads its own session');
    // Node ignores SIGPIPE (bit 13-1); the child must not inherit that. (glibc's own
    // real-time signals 32 and 33 are outside what posix_spawn can reset.)
    const ignored = BigInt(`0x${/^SigIgn:\s+([0-9a-f]+)$/.exec(sigIgn!)![1]}`);
    assert.equal(ignored & ((1n << 31n) - 1n), 0n, `no standard signal ignored: ${sigIgn}`);
    assert.equal(err, 'oops\n');
    assert.deepEqual(st, { code: 7, signal: 0 });
    await assert.rejects(sys.spawnDetached('/nonexistent/prog', ['x'], [], null, 0), { code: 'ENOENT', syscall: 'posix_spawn' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
