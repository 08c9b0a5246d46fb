// Holding a hijacked attach/exec connection: output to stdout/stderr (raw with a TTY,
// stdcopy-demultiplexed without), stdin to the container, raw terminal mode with the detach
// key sequence (default ctrl-p ctrl-q), resize on SIGWINCH, and the terminal restored on every
// way out.

import type { Duplex } from 'node:stream';
import { demux, type Hijacked } from '../client/index.js';
import type { Cli } from './command.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** "ctrl-p,ctrl-q" → [0x10, 0x11]; letters and ctrl-@, ctrl-[ .. ctrl-_ as the docker CLI takes them. */
export function parseDetachKeys(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const k = part.trim();
    if (k.length === 1) out.push(k.charCodeAt(0));
    else if (/^ctrl-[a-z@\[\\\]^_]$/i.test(k)) {
      const c = k.slice(5);
      const code = /[a-z]/i.test(c) ? c.toLowerCase().charCodeAt(0) - 96 : c.charCodeAt(0) - 64;
      out.push(code);
    } else throw new Error(`Unknown character: '${k}'`);
  }
  return out;
}

/**
 * Filters stdin for the detach sequence. Bytes that start the sequence are held back until it
 * either completes (detach) or breaks (the held bytes are passed on).
 */
export class DetachScanner {
  private held: number[] = [];
  constructor(private readonly keys: number[]) {}

  /** Returns the bytes to forward, and whether the sequence completed. */
  push(chunk: Buffer): { forward: Buffer; detach: boolean } {
    const fwd: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.held.length]) {
        this.held.push(b);
        if (this.held.length === this.keys.length) return { forward: Buffer.from(fwd), detach: true };
        continue;
      }
      fwd.push(...this.held);
      this.held = [];
      if (b === this.keys[0]) this.held.push(b);
      else fwd.push(b);
    }
    return { forward: Buffer.from(fwd), detach: false };
  }
}

export interface TerminalState {
  restore(): void;
}

/** Put stdin in raw mode; restore() (idempotent) is also hooked to process exit. */
export function makeRaw(cli: Cli): TerminalState {
  const stdin = cli.stdin;
  if (!stdin.isTTY || !stdin.setRawMode) return { restore() {} };
  stdin.setRawMode(true);
  let done = false;
  const restore = () => {
    if (done) return;
    done = true;
    try {
      stdin.setRawMode!(false);
    } catch {
      /* the terminal may be gone */
    }
  };
  process.once('exit', restore);
  return { restore };
}

/** Send the terminal size now and on every SIGWINCH; the first send retries as the CLI does. */
export function monitorTtySize(cli: Cli, resize: (h: number, w: number) => Promise<unknown>): () => void {
  const out = cli.stdout;
  if (!out.isTTY) return () => {};
  const send = () => resize(out.rows ?? 24, out.columns ?? 80);
  void (async () => {
    for (let i = 0; i < 10; i++) {
      try {
        await send();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 10 * (i + 1)));
      }
    }
  })();
  const onWinch = () => void send().catch(() => undefined);
  process.on('SIGWINCH', onWinch);
  return () => process.off('SIGWINCH', onWinch);
}

export interface HoldOptions {
  tty: boolean;
  /** Copy our stdin to the connection. */
  stdin: boolean;
  detachKeys?: string;
}

/** Resolves 'detached' when the user typed the detach keys, 'done' when the output ended. */
export function holdHijacked(cli: Cli, conn: Hijacked, opts: HoldOptions): Promise<'done' | 'detached'> {
  const sock: Duplex = conn.socket;
  return new Promise((resolve, reject) => {
    let finished = false;
    const finish = (how: 'done' | 'detached') => {
      if (finished) return;
      finished = true;
      cli.stdin.off('data', onData);
      cli.stdin.off('end', onEnd);
      cli.stdin.pause();
      if (how === 'detached') sock.destroy();
      resolve(how);
    };
    // Output
    if (opts.tty) {
      sock.on('data', (c: Buffer) => cli.stdout.write(c));
      sock.on('end', () => finish('done'));
      sock.on('close', () => finish('done'));
      sock.on('error', (err) => (finished ? undefined : reject(err)));
    } else {
      demux(sock, cli.stdout, cli.stderr).then(
        () => finish('done'),
        (err) => (finished ? undefined : reject(err)),
      );
    }
    // Input
    const scanner = opts.tty && opts.stdin ? new DetachScanner(parseDetachKeys(opts.detachKeys || DEFAULT_DETACH_KEYS)) : undefined;
    const onData = (c: Buffer) => {
      if (!scanner) {
        sock.write(c);
        return;
      }
      const { forward, detach } = scanner.push(c);
      if (forward.length) sock.write(forward);
      if (detach) finish('detached');
    };
    // At stdin EOF half-close: the container sees EOF and we keep reading its output.
    const onEnd = () => {
      if (!finished) sock.end();
    };
    if (opts.stdin) {
      cli.stdin.on('data', onData);
      cli.stdin.on('end', onEnd);
      cli.stdin.resume();
    }
  });
}

const PROXY_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2'];

/** Forward the signals the CLI receives to the container (--sig-proxy); returns the undo. */
export function proxySignals(kill: (signal: string) => Promise<unknown>): () => void {
  const handlers = PROXY_SIGNALS.map((s) => {
    const h = () => void kill(s.slice(3)).catch(() => undefined);
    process.on(s, h);
    return [s, h] as const;
  });
  return () => handlers.forEach(([s, h]) => process.off(s, h));
}
