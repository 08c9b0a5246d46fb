// Long-lived `nft -i` and `ip -force -batch -` processes fed over a pipe.
// Starting either tool costs milliseconds to tens of milliseconds (library,
// cache and netlink setup; much more on a loaded host) while a command sent
// to a running one costs about one; containers publish ports and attach veths
// at every start.
//
// Protocol: the commands are written, then a marker command that is bound to
// fail with a message naming a unique token. Both tools report errors on
// stderr, in order, and go on reading; so whatever stderr text comes before
// the marker's message belongs to the commands sent, and none means success.
import { spawn, type ChildProcess } from 'node:child_process';
import { internal, type Logger } from '../util/index.js';

const TIMEOUT_MS = 15_000;

export interface SessionTool {
  argv: string[];
  /** Turn a script into what is written to the tool (e.g. one line: one nft transaction). */
  encode(script: string): string;
  /** A command that fails, naming `token`. */
  marker(token: string): string;
  /** Where the marker's message starts and ends in stderr, once complete. */
  find(stderr: string, token: string): { start: number; end: number } | undefined;
}

export const nftTool: SessionTool = {
  argv: ['nft', '-i'],
  // One line is one nft transaction: all of the script or nothing.
  encode: (script) => script.split('\n').map((l) => l.trim()).filter(Boolean).join('; ') + '\n',
  marker: (token) => `list table ip ${token}\n`,
  find(stderr, token) {
    // "Error: No such file or directory\nlist table ip <token>\n      ^^^^\n"
    const at = stderr.indexOf(`\nlist table ip ${token}\n`);
    if (at < 0) return undefined;
    const lineEnd = at + `\nlist table ip ${token}`.length; // the '\n' closing the echoed command
    const caretEnd = stderr.indexOf('\n', lineEnd + 1);
    if (caretEnd < 0) return undefined;
    const start = stderr.lastIndexOf('Error:', at);
    return { start: start < 0 ? at : start, end: caretEnd + 1 };
  },
};

export const ipTool: SessionTool = {
  argv: ['ip', '-force', '-batch', '-'],
  encode: (script) => script.split('\n').map((l) => l.trim()).filter(Boolean).join('\n') + '\n',
  marker: (token) => `link show dev ${token}\n`,
  find(stderr, token) {
    // 'Device "<token>" does not exist.\nCommand failed -:N\n'
    const at = stderr.indexOf(`Device "${token}" does not exist.\n`);
    if (at < 0) return undefined;
    const m = /^Command failed [^\n]*\n/m.exec(stderr.slice(at));
    if (!m) return undefined;
    return { start: at, end: at + m.index + m[0].length };
  },
};

export class ToolSession {
  private child?: ChildProcess;
  private stderr = '';
  private seq = 0;
  private waiter?: { token: string; resolve: (errors: string) => void; reject: (err: Error) => void };
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly tool: SessionTool, private readonly log: Logger) {}

  /** Run a script (newline-separated commands); throws with the tool's error text if any command failed. */
  run(script: string): Promise<void> {
    const next = this.chain.then(() => this.runNow(script));
    this.chain = next.catch(() => undefined);
    return next;
  }

  close(): void {
    const child = this.child;
    this.child = undefined;
    child?.stdin?.end();
    child?.kill();
  }

  private async runNow(script: string): Promise<void> {
    const child = this.ensure();
    // ≤ 15 characters: the ip marker names a device.
    const token = `bm${process.pid.toString(36)}x${(++this.seq).toString(36)}`.slice(0, 15);
    const done = new Promise<string>((resolve, reject) => {
      this.waiter = { token, resolve, reject };
    });
    const timer = setTimeout(() => this.fail(internal(`${this.tool.argv[0]} did not answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    child.stdin!.write(this.tool.encode(script) + this.tool.marker(token));
    let errors: string;
    try {
      errors = await done;
    } finally {
      clearTimeout(timer);
    }
    if (errors.trim()) throw internal(`${this.tool.argv[0]}: ${errors.trim()}`);
  }

  private ensure(): ChildProcess {
    if (this.child) return this.child;
    const child = spawn(this.tool.argv[0]!, this.tool.argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    this.stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      this.stderr += d;
      this.check();
    });
    child.stdin!.on('error', () => undefined); // reported through 'exit'
    child.on('error', (err) => this.fail(internal(`${this.tool.argv[0]}: ${err.message}`, err)));
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.fail(internal(`${this.tool.argv.join(' ')} exited (${signal ?? code}): ${this.stderr.trim()}`));
    });
    // The session must not keep the daemon (or a test) alive by itself.
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
    this.child = child;
    this.log.debug('tool session started', { argv: this.tool.argv, pid: child.pid });
    return child;
  }

  private check(): void {
    const w = this.waiter;
    if (!w) return;
    const hit = this.tool.find(this.stderr, w.token);
    if (!hit) return;
    const errors = this.stderr.slice(0, hit.start);
    this.stderr = this.stderr.slice(hit.end);
    this.waiter = undefined;
    w.resolve(errors);
  }

  private fail(err: Error): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
    if (this.child) this.close();
  }
}
