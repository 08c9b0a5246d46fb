// One-off tool runs (`unshare --net=… ip -batch -`, `nsenter …`) started by a
// long-lived /bin/sh instead of by berthd. Node spawns by forking the whole
// daemon: 8-30 ms of its event loop per process here, more under load, and
// every container start needs one of these inside its new netns; dash forks
// in well under a millisecond and the daemon only writes a line to a pipe.
//
// Each job is a background subshell: `err=$(ARGV 2>&1 >/dev/null <<'DELIM' …)`
// then one line `TOKEN RC STDERR` on stdout (a short write: atomic, so
// concurrent jobs do not interleave). Jobs run concurrently, as separate
// spawns would. Should the shell be missing or die, jobs fall back to a
// direct spawn (exec.ts) so nothing depends on it.
import { spawn, type ChildProcess } from 'node:child_process';
import { internal, type Logger } from '../util/index.js';
import { runStep, type Step } from './exec.js';

/** dash keeps a little memory per finished background job: start a fresh shell now and then. */
const JOBS_PER_SHELL = 500;
const TIMEOUT_MS = 30_000;

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  label: string;
  timer: NodeJS.Timeout;
  shell: ChildProcess;
}

export class ShellSpawner {
  private child?: ChildProcess;
  private jobs = 0;
  private seq = 0;
  private readonly waiters = new Map<string, Waiter>();

  constructor(
    private readonly log: Logger,
    private readonly opts: { jobsPerShell?: number } = {},
  ) {}

  /** Run one tool invocation; throws as exec.ts's run does on a non-zero exit. */
  run(step: Step): Promise<void> {
    const token = `j${process.pid.toString(36)}x${(++this.seq).toString(36)}`;
    const delim = `BERTH_EOF_${token}`;
    const input = step.input ?? '';
    // The here-document must not end early: anything that could is run directly.
    if (input.split('\n').includes(delim) || step.argv.some((a) => a.includes('\0'))) return runStep(step);
    let child: ChildProcess;
    try {
      child = this.ensure();
    } catch (err) {
      this.log.debug('spawner shell unavailable, spawning directly', { err });
      return runStep(step);
    }
    const label = step.argv.join(' ');
    const body = input.endsWith('\n') || input === '' ? input : `${input}\n`;
    const script =
      `( err=$(${step.argv.map(quote).join(' ')} 2>&1 >/dev/null <<'${delim}'\n${body}${delim}\n); ` +
      // tr and cut are processes: only paid for when there is an error to report.
      `rc=$?; if [ -z "$err" ]; then echo ${token} $rc; ` +
      `else printf '%s %s %s\\n' ${token} "$rc" "$(printf '%s' "$err" | tr '\\n' ' ' | cut -c1-1500)"; fi ) &\n`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(token);
        reject(internal(`${label}: no answer within ${TIMEOUT_MS} ms`));
      }, TIMEOUT_MS);
      this.waiters.set(token, { resolve, reject, label, timer, shell: child });
      child.stdin!.write(script);
      if (++this.jobs >= (this.opts.jobsPerShell ?? JOBS_PER_SHELL)) this.retire();
    });
  }

  close(): void {
    this.retire();
  }

  /** Stop feeding the current shell; it exits once its jobs are done, and the next job starts a new one. */
  private retire(): void {
    const child = this.child;
    this.child = undefined;
    this.jobs = 0;
    child?.stdin?.end();
  }

  private ensure(): ChildProcess {
    if (this.child) return this.child;
    const child = spawn('/bin/sh', [], { stdio: ['pipe', 'pipe', 'ignore'] });
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.settle(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    child.stdin!.on('error', () => undefined); // reported through 'exit'
    // A retired shell exits at once while its jobs run on (they hold its
    // stdout): its jobs are failed only once stdout closes, when all are over.
    const gone = (why: string): void => {
      for (const [token, w] of this.waiters) {
        if (w.shell !== child) continue;
        this.waiters.delete(token);
        clearTimeout(w.timer);
        w.reject(internal(`${w.label}: helper shell ${why}`));
      }
    };
    let exit = '';
    child.on('error', (err) => {
      exit = `failed: ${err.message}`;
      if (this.child === child) this.child = undefined;
    });
    child.on('exit', (code, signal) => {
      exit ||= `exited (${signal ?? code})`;
      if (this.child === child) this.child = undefined;
    });
    child.on('close', () => gone(exit || 'closed'));
    // The helper must not keep the daemon (or a test) alive by itself.
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    this.child = child;
    this.log.debug('spawner shell started', { pid: child.pid });
    return child;
  }

  private settle(line: string): void {
    const m = /^(\S+) (\d+) ?(.*)$/.exec(line);
    if (!m) return;
    const w = this.waiters.get(m[1]!);
    if (!w) return;
    this.waiters.delete(m[1]!);
    clearTimeout(w.timer);
    if (m[2] === '0') w.resolve();
    else w.reject(internal(`${w.label}: exit ${m[2]}: ${m[3]!.trim()}`));
  }
}
