// `User` ("name", "uid", "uid:gid", "name:group", …) → numeric ids, read from
// the image's own /etc/passwd and /etc/group. Docker's rules (moby/sys/user
// GetExecUser): numeric ids need no passwd entry; unknown names are an error;
// supplementary groups come from /etc/group only when no group was given.
import { openSync, fstatSync, readSync, closeSync, constants as fsc } from 'node:fs';
import { resolveInRoot, hasCode, invalidArgument } from '../util/index.js';

export interface ResolvedUser { uid: number; gid: number; additionalGids: number[]; home: string }

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

const MAX_ID = 2 ** 31 - 1;
const MAX_FILE = 8 << 20; // an /etc/passwd bigger than this is not a passwd file

/**
 * Read a file of the image, never following a symlink out of the rootfs, and
 * only if it is a regular file (a FIFO or device node would hang or flood us).
 * undefined when it does not exist.
 */
function readImageFile(rootfs: string, path: string): string | undefined {
  const host = resolveInRoot(rootfs, path);
  let fd: number;
  try {
    fd = openSync(host, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch (err) {
    if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR')) return undefined;
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    const buf = Buffer.alloc(Math.min(st.size, MAX_FILE));
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

const isNumeric = (s: string) => /^\d+$/.test(s);

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const f = t.split(':');
    const uid = Number(f[2]), gid = Number(f[3]);
    if (!f[0] || !isNumeric(f[2] ?? '') || !isNumeric(f[3] ?? '')) continue;
    out.push({ name: f[0], uid, gid, home: f[5] ?? '' });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const f = t.split(':');
    if (!f[0] || !isNumeric(f[2] ?? '')) continue;
    out.push({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').map((s) => s.trim()).filter(Boolean) });
  }
  return out;
}

function checkRange(id: number): number {
  if (id < 0 || id > MAX_ID) throw invalidArgument(`uids and gids must be in range 0-${MAX_ID}`);
  return id;
}

/**
 * Resolve a Docker `User` string against the image at `rootfsPath`.
 * `groupAdd` (HostConfig.GroupAdd) adds supplementary groups by name or id.
 */
export function resolveUser(rootfsPath: string, userSpec: string, opts: { groupAdd?: string[] } = {}): ResolvedUser {
  const [userArg = '', groupArg = ''] = splitOnce(userSpec.trim(), ':');
  const passwdText = readImageFile(rootfsPath, '/etc/passwd');
  const groupText = readImageFile(rootfsPath, '/etc/group');
  const users = passwdText === undefined ? [] : parsePasswd(passwdText);
  const groups = groupText === undefined ? [] : parseGroup(groupText);

  const res: ResolvedUser = { uid: 0, gid: 0, additionalGids: [], home: '/' };
  const match = users.find((u) => (userArg === '' ? u.uid === 0 : isNumeric(userArg) ? u.uid === Number(userArg) : u.name === userArg));
  if (match) {
    Object.assign(res, { uid: match.uid, gid: match.gid, home: match.home || '/' });
  } else if (userArg !== '') {
    if (!isNumeric(userArg)) throw invalidArgument(`unable to find user ${userArg}: no matching entries in passwd file`);
    res.uid = checkRange(Number(userArg));
  }

  if (groupArg !== '') {
    const g = groups.find((x) => (isNumeric(groupArg) ? x.gid === Number(groupArg) : x.name === groupArg));
    if (g) res.gid = g.gid;
    else if (isNumeric(groupArg)) res.gid = checkRange(Number(groupArg));
    else throw invalidArgument(`unable to find group ${groupArg}: no matching entries in group file`);
  } else if (match) {
    // Supplementary groups only in the implicit form: the groups listing this user.
    res.additionalGids = groups.filter((g) => g.members.includes(match.name)).map((g) => g.gid);
  }

  for (const extra of opts.groupAdd ?? []) {
    const g = groups.find((x) => x.name === extra) ?? (isNumeric(extra) ? { gid: Number(extra) } : undefined);
    if (!g) throw invalidArgument(`Unable to find group ${extra}: no matching entries in group file`);
    res.additionalGids.push(checkRange(g.gid));
  }
  res.additionalGids = [...new Set(res.additionalGids)];
  return res;
}

function splitOnce(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
}
