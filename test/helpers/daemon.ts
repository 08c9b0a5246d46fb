// Start a real berthd in a temp data root and talk to it over its socket.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, existsSync, rmSync, openSync, writeFileSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import http from 'node:http';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { busyboxTar } from './fixtures.js';

const execFileP = promisify(execFile);
export const REPO = new URL('../../../', import.meta.url).pathname;

export interface TestDaemon {
  dataRoot: string;
  execRoot: string;
  socket: string;
  host: string;
  env: NodeJS.ProcessEnv;
  proc: ChildProcess;
  logFile: string;
  /** The daemon's own default bridge (also the name of its nft table). */
  bridge: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  docker(args: string[], opts?: { input?: string; timeout?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: http.IncomingHttpHeaders }>;
}

export async function startDaemon(opts: { runtime?: string; dataRoot?: string; config?: Record<string, unknown> } = {}): Promise<TestDaemon> {
  const base = mkdtempSync(join(tmpdir(), 'berthd-'));
  const dataRoot = opts.dataRoot ?? join(base, 'data');
  const execRoot = join(base, 'run');
  const socket = join(base, 'berth.sock');
  const logFile = join(base, 'berthd.log');
  // Each test daemon gets its own bridge (and so its own nft table) so daemons never share network state.
  const configFile = join(base, 'daemon.json');
  const bridge = `bt${randomBytes(3).toString('hex')}`;
  writeFileSync(configFile, JSON.stringify({ bridge, ...(opts.config ?? {}) }));
  const args = ['--data-root', dataRoot, '--exec-root', execRoot, '--host', `unix://${socket}`, '--config-file', configFile];
  if (opts.runtime) args.push('--runtime', opts.runtime);
  const d: TestDaemon = {
    dataRoot, execRoot, socket, host: `unix://${socket}`, logFile, bridge,
    env: { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(base, 'docker-config') },
    proc: undefined as unknown as ChildProcess,
    async stop(signal = 'SIGTERM') {
      const p = d.proc;
      if (p.exitCode !== null || p.signalCode !== null) return;
      const done = new Promise((r) => p.once('exit', r));
      p.kill(signal);
      await done;
    },
    async restart() {
      await d.stop();
      await launch();
    },
    async docker(dargs, o = {}) {
      return new Promise((resolve) => {
        const child = execFile('docker', dargs, { env: d.env, timeout: o.timeout ?? 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0;
          resolve({ code, stdout: String(stdout), stderr: String(stderr) });
        });
        if (o.input !== undefined) child.stdin!.end(o.input);
        else child.stdin!.end();
      });
    },
    api(method, path, body) {
      return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        const req = http.request({ socketPath: socket, method, path, headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {} }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            let parsed: any = text;
            try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
            resolve({ status: res.statusCode!, body: parsed, headers: res.headers });
          });
        });
        req.on('error', reject);
        req.end(data);
      });
    },
  };
  const launch = async () => {
    const out = openSync(logFile, 'a');
    d.proc = spawn(join(REPO, 'bin/berthd'), [...args], { stdio: ['ignore', out, out] });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (d.proc.exitCode !== null) throw new Error(`berthd exited with ${d.proc.exitCode}; see ${logFile}`);
      if (existsSync(socket)) {
        try { const r = await d.api('GET', '/_ping'); if (r.status === 200) return; } catch { /* not yet */ }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`berthd did not come up; see ${logFile}`);
  };
  await launch();
  return d;
}

/** Import a busybox image as `name` through the docker CLI. */
let cachedTar: string | undefined;
export async function importBusybox(d: TestDaemon, name = 'busybox:latest', changes: string[] = ['CMD ["sh"]']): Promise<string> {
  cachedTar ??= busyboxTar();
  const args = ['import'];
  for (const c of changes) args.push('--change', c);
  args.push(cachedTar, name);
  const r = await d.docker(args);
  if (r.code !== 0) throw new Error(`docker import failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Remove every container and the daemon's directories. */
export async function destroyDaemon(d: TestDaemon): Promise<void> {
  let bridges: string[] = [];
  try {
    const r = await d.docker(['ps', '-aq']);
    const ids = r.stdout.split('\n').filter(Boolean);
    if (ids.length) await d.docker(['rm', '-f', ...ids]);
    const nets = await d.docker(['network', 'ls', '-q', '--no-trunc', '--filter', 'driver=bridge']);
    bridges = nets.stdout.split('\n').filter(Boolean).map((id) => `br-${id.slice(0, 12)}`);
  } catch { /* daemon may be down */ }
  await d.stop();
  // A daemon that was killed (crash tests) cannot list its networks: their bridges are in its database.
  bridges.push(...bridgesInDb(d.dataRoot));
  await execFileP('sh', ['-c', `grep ' ${d.dataRoot}' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l`]).catch(() => undefined);
  // berthd leaves its bridges and nft table behind on exit (as dockerd leaves docker0); a test
  // daemon's must go, or their subnets exhaust the address pools of every later daemon on the host.
  try {
    const { bridge } = JSON.parse(readFileSync(join(d.dataRoot, '..', 'daemon.json'), 'utf8')) as { bridge?: string };
    if (bridge) {
      for (const b of new Set([bridge, ...bridges])) await execFileP('ip', ['link', 'del', b]).catch(() => undefined);
      await execFileP('nft', ['delete', 'table', 'ip', bridge.replace(/[^A-Za-z0-9_-]/g, '_')]).catch(() => undefined);
    }
  } catch { /* no config written */ }
  // berthd keeps its bridge and firewall table across restarts, as dockerd keeps docker0; a test daemon's go with it.
  await execFileP('sh', ['-c', `ip link del ${d.bridge} 2>/dev/null; nft delete table ip ${d.bridge} 2>/dev/null; true`]).catch(() => undefined);
  rmSync(join(d.dataRoot, '..'), { recursive: true, force: true });
}

/** The Linux bridges of the user networks a (stopped) daemon recorded in its database. */
function bridgesInDb(dataRoot: string): string[] {
  const file = join(dataRoot, 'berth.db');
  if (!existsSync(file)) return [];
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare("SELECT bridge FROM network_networks WHERE builtin = 0 AND driver = 'bridge'").all() as { bridge: string }[])
        .map((r) => r.bridge).filter(Boolean);
    } finally {
      db.close();
    }
  } catch {
    return [];
  }
}
