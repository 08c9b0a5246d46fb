// Running the few host tools the network stack drives (ip, nft, unshare,
// nsenter). Each call is one process; callers batch their commands so a
// container costs a handful of spawns, never one per rule.
import { spawn } from 'node:child_process';
import { internal } from '../util/index.js';

export interface RunOpts {
  input?: string;
  /** Resolve with the result instead of throwing on a non-zero exit. */
  allowFail?: boolean;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: RunOpts = {}): Promise<RunResult> {
  const t0 = performance.now();
  const p = run0(cmd, args, opts);
  if (process.env.BERTH_NET_TRACE) void p.finally(() => process.stderr.write(`[net] ${cmd} ${args.slice(0, 3).join(" ")} ${(performance.now() - t0).toFixed(1)}ms\n`)).catch(() => undefined);
  return p;
}

function run0(cmd: string, args: string[], opts: RunOpts): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(internal(`${cmd}: ${e.message}`, e)));
    child.on('close', (code, signal) => {
      const res = { code: code ?? 128, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (res.code !== 0 && !opts.allowFail) {
        const what = signal ? `killed by ${signal}` : `exit ${res.code}`;
        reject(internal(`${cmd} ${args.join(' ')}: ${what}: ${res.stderr.trim()}`));
        return;
      }
      resolve(res);
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined); // the tool may exit before reading everything; 'close' reports it
      child.stdin!.end(opts.input);
    }
  });
}
