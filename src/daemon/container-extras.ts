// Small daemon-side backends the container routes need beyond the runtime
// driver: live resource updates (`docker update`), container disk usage
// (`docker ps --size`, `inspect --size`, `system df`) and per-interface
// network counters for `docker stats`.
import { execFile } from 'node:child_process';
import { lstat, readdir, readFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { hasCode } from '../util/index.js';
import type { LiveResources } from '../containers/index.js';

/**
 * Apply new limits to a running container through the OCI runtime's
 * `update --resources FILE` (both crun and runc take an OCI LinuxResources
 * document there, so flag spellings do not matter).
 */
export function runtimeUpdater(
  runtimeOf: (id: string) => Promise<{ path: string; root: string; args: string[] }>, tmpDir: string, pidOf?: (id: string) => number,
) {
  return async (id: string, r: LiveResources): Promise<void> => {
    const { path: runtimePath, root: runtimeRoot, args: runtimeArgs } = await runtimeOf(id);
    const crun = /crun$/.test(runtimePath);
    // crun 1.8 cannot lift a pids limit (0 leaves it, -1 is refused): berthd writes "max" itself after.
    const liftPids = crun && r.pidsLimit !== undefined && r.pidsLimit <= 0;
    const doc: Record<string, any> = {};
    if (r.memory !== undefined || r.memoryReservation !== undefined) {
      doc.memory = { limit: r.memory, swap: r.memorySwap, reservation: r.memoryReservation };
    }
    const cpu = { shares: r.cpuShares, quota: r.cpuQuota, period: r.cpuPeriod, cpus: r.cpusetCpus, mems: r.cpusetMems };
    if (Object.values(cpu).some((v) => v !== undefined)) doc.cpu = cpu;
    // runc takes -1 for "unlimited" (its 0 means "leave as is").
    if (r.pidsLimit !== undefined && !liftPids) doc.pids = { limit: r.pidsLimit > 0 ? r.pidsLimit : -1 };
    if (r.blkioWeight !== undefined) doc.blockIO = { weight: r.blkioWeight };
    const file = join(tmpDir, `update-${id.slice(0, 12)}-${randomBytes(4).toString('hex')}.json`);
    await writeFile(file, JSON.stringify(doc));
    try {
      await new Promise<void>((resolve, reject) => {
        execFile(runtimePath, [...runtimeArgs, '--root', runtimeRoot, 'update', '--resources', file, id], { timeout: 30_000 }, (err, _out, stderr) => {
          if (!err) return resolve();
          // The runtime's own last line is the useful part.
          const line = String(stderr).trim().split('\n').pop() ?? '';
          const msg = /msg="([^"]+)"/.exec(line)?.[1] ?? line.replace(/^.*?error[=:]\s*/i, '') ?? err.message;
          reject(new Error(msg || err.message));
        });
      });
    } finally {
      await rm(file, { force: true });
    }
    const pid = liftPids ? pidOf?.(id) : undefined;
    if (pid) await unlimitPids(pid);
  };
}

/** Sets pids.max to "max" in the pids cgroup (v1 or v2) of process `pid`. */
async function unlimitPids(pid: number): Promise<void> {
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n');
  const v1 = lines.map((l) => l.split(':')).find((f) => f.length >= 3 && f[1]!.split(',').includes('pids'));
  const v2 = lines.map((l) => l.split(':')).find((f) => f.length >= 3 && f[0] === '0' && f[1] === '');
  const rel = v1 ? `pids${v1.slice(2).join(':')}` : v2 ? v2.slice(2).join(':').replace(/^\//, '') : undefined;
  if (rel === undefined || rel.split('/').includes('..')) return;
  try {
    await writeFile(join('/sys/fs/cgroup', rel, 'pids.max'), 'max');
  } catch (err) {
    if (!hasCode(err, 'ENOENT')) throw err;
  }
}

/**
 * Bytes used by the files under `dir` (regular files and symlinks, each inode
 * once), without following symlinks or crossing into mounts it contains.
 * This is what Docker reports as SizeRw for a container's upper layer.
 */
export async function dirSize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let entries;
    try { entries = await readdir(d, { withFileTypes: true }); } catch (err) {
      if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR')) return;
      throw err;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) { await walk(p); continue; }
      let st;
      try { st = await lstat(p); } catch { continue; }
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
      // Whiteouts are 0:0 character devices and count for nothing.
      if (st.isFile() || st.isSymbolicLink()) total += st.size;
    }
  };
  await walk(dir);
  return total;
}

/**
 * `networks` of a stats sample: the counters of every interface but lo in
 * the container's network namespace, read through its init process.
 */
export async function netStats(pid: number): Promise<Record<string, Record<string, number>> | undefined> {
  if (!pid) return undefined;
  let text: string;
  try { text = await readFile(`/proc/${pid}/net/dev`, 'utf8'); } catch { return undefined; }
  const out: Record<string, Record<string, number>> = {};
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    out[m[1]!] = {
      rx_bytes: f[0]!, rx_packets: f[1]!, rx_errors: f[2]!, rx_dropped: f[3]!,
      tx_bytes: f[8]!, tx_packets: f[9]!, tx_errors: f[10]!, tx_dropped: f[11]!,
    };
  }
  return Object.keys(out).length ? out : undefined;
}
