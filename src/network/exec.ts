// Running the host tools the network stack drives (ip, nft, unshare,
// nsenter) as one-off processes. Commands are batched (ip -batch, nft -f), so
// a change costs one process, never one per rule; the frequent host-side ones
// go to long-lived sessions instead (session.ts).
import { spawn } from 'node:child_process';
import { internal } from '../util/index.js';

export interface RunOpts {
  input?: string;
  /** Resolve with the result instead of throwing on a non-zero exit. */
  allowFail?: boolean;
  /** How to name the command in an error (default: the command line). */
  label?: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: RunOpts = {}): Promise<RunResult> {
  const t0 = performance.now();
  const p = run0(cmd, args, opts);
  // BERTH_NET_TRACE=1 prints what each spawn cost (bench/network.mjs, debugging).
  if (process.env.BERTH_NET_TRACE) {
    const what = opts.label ?? [cmd, ...args.slice(0, 2)].join(' ');
    void p.then(
      () => process.stderr.write(`[net] ${what} ${(performance.now() - t0).toFixed(1)}ms\n`),
      () => undefined,
    );
  }
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
        reject(internal(`${opts.label ?? `${cmd} ${args.join(' ')}`}: ${what}: ${res.stderr.trim()}`));
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

/** One tool invocation with its stdin. */
export interface Step {
  argv: string[];
  input?: string;
}

export async function runStep(step: Step): Promise<void> {
  await run(step.argv[0]!, step.argv.slice(1), { input: step.input });
}
