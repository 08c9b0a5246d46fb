// Choosing the OCI runtime: the configured one, else the first of crun, runc
// that really runs a container here. "Really runs" matters: crun 1.8 is
// installed on hybrid-cgroup hosts but refuses to start anything until
// prepareHost() moved the stray controller off the cgroup2 mount.
import { execFile } from 'node:child_process';
import { accessSync, constants as fsc, existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, isAbsolute } from 'node:path';
import { randomBytes } from 'node:crypto';
import { invalidArgument, unavailable, silentLogger, type Logger } from '../util/index.js';
import type { OciSpec } from './oci.js';

export interface RuntimeInfo { name: string; path: string; reason: string }

export const RUNTIME_CANDIDATES = ['crun', 'runc'] as const;

/** Absolute path of an executable found on PATH, or undefined. */
export function findExecutable(name: string, path = process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, fsc.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

// Static binaries that can be a probe container's whole root filesystem.
const PROBE_BINARIES: { src: string; args: string[] }[] = [
  { src: '/bin/busybox', args: ['/true'] }, // busybox picks its applet from argv[0]
  { src: '/usr/bin/busybox', args: ['/true'] },
  { src: '/usr/bin/tini-static', args: ['/true', '--version'] },
  { src: '/usr/bin/catatonit', args: ['/true', '--version'] },
];

function run(file: string, args: string[], timeoutMs: number): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code === -1 ? err.message : '') });
    });
  });
}

/**
 * Run one trivial container (`<runtime> run`) with the namespaces and a cgroup
 * like a real one. Resolves undefined when it worked, else the runtime's error.
 */
export async function probeRuntime(runtimePath: string, opts: { timeoutMs?: number } = {}): Promise<string | undefined> {
  const bin = PROBE_BINARIES.find((b) => existsSync(b.src));
  if (!bin) return undefined; // nothing static to run: cannot tell, assume it works
  const dir = mkdtempSync(join(tmpdir(), 'berth-probe-'));
  const id = `berth-probe-${randomBytes(4).toString('hex')}`;
  const state = join(dir, 'state');
  try {
    for (const d of ['rootfs/dev', 'rootfs/proc']) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, 'rootfs', 'true'), '');
    const spec: OciSpec = {
      ociVersion: '1.0.2',
      process: { terminal: false, user: { uid: 0, gid: 0 }, args: bin.args, env: ['PATH=/'], cwd: '/' },
      root: { path: 'rootfs', readonly: true },
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755', 'size=64k'] },
        { destination: '/true', type: 'bind', source: bin.src, options: ['bind', 'ro'] },
      ],
      linux: {
        namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }, { type: 'network' }],
        cgroupsPath: `/berth/${id}`,
        resources: { devices: [{ allow: false, access: 'rwm' }], pids: { limit: 16 } },
      },
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
    const res = await run(runtimePath, ['--root', state, 'run', '--bundle', dir, id], opts.timeoutMs ?? 10_000);
    if (res.code === 0) return undefined;
    await run(runtimePath, ['--root', state, 'delete', '--force', id], 5_000);
    return (res.stderr || res.stdout).trim() || `exit status ${res.code}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Pick the runtime. `configured` is "crun", "runc" or a path (daemon.json
 * "default-runtime" / --runtime). Probe results are cached in `cache` (pass
 * the same Map to avoid probing again within a process).
 */
export async function selectRuntime(opts: {
  configured?: string;
  log?: Logger;
  cache?: Map<string, string | undefined>;
  probe?: (path: string) => Promise<string | undefined>;
} = {}): Promise<RuntimeInfo> {
  const log = opts.log ?? silentLogger;
  const probe = opts.probe ?? ((p: string) => probeRuntime(p));
  const cached = async (path: string) => {
    if (opts.cache?.has(path)) return opts.cache.get(path);
    const r = await probe(path);
    opts.cache?.set(path, r);
    return r;
  };
  if (opts.configured) {
    const c = opts.configured;
    const path = findExecutable(c);
    if (!path) throw invalidArgument(`unknown or invalid runtime name: ${c}`);
    const name = isAbsolute(c) ? (c.split('/').pop() ?? c) : c;
    const failure = await cached(path);
    if (failure) log.warn('the configured OCI runtime failed a test container; using it anyway', { runtime: path, error: failure });
    const info = { name, path, reason: 'configured' };
    log.info('OCI runtime selected', { ...info });
    return info;
  }
  const failures: string[] = [];
  for (const name of RUNTIME_CANDIDATES) {
    const path = findExecutable(name);
    if (!path) { failures.push(`${name}: not installed`); continue; }
    const failure = await cached(path);
    if (failure) {
      failures.push(`${name}: ${failure}`);
      log.info('OCI runtime cannot run containers on this host, trying the next', { runtime: path, error: failure });
      continue;
    }
    const reason = failures.length ? `first working runtime (${failures.join('; ')})` : 'first working runtime';
    const info = { name, path, reason };
    log.info('OCI runtime selected', { ...info });
    return info;
  }
  throw unavailable(`no working OCI runtime found: ${failures.join('; ')}`);
}
