// The conmon driver: containers run under conmon (containers/conmon), which
// holds their stdio, writes the log (k8s-file) and the exit code, and
// double-forks away from us, so a container outlives berthd. Everything about
// a container is derivable from files, so a new driver (after berthd was
// killed -9) can query, attach to, kill and wait for containers an earlier
// one created:
//
//   <execRoot>/runtimes/<name>/      --root of the runtime <name> (see runtimes.ts)
//   <execRoot>/runtime-state/        --root before runtimes had their own (containers of an older berthd)
//   <execRoot>/<id>/state.json       what create() was told (bundle, log, tty, cgroup)
//   <execRoot>/<id>/pidfile          container pid (written by the runtime)
//   <execRoot>/<id>/conmon.pid       conmon's pid
//   <execRoot>/<id>/exits/<id>       exit code, written by conmon when the container exits
//   <execRoot>/<id>/exit, oom        conmon's persist dir: exit code again; `oom` if OOM-killed
//   <execRoot>/<id>/exec/<execId>/   one exec session: process.json, attach, ctl, exits/
//   <bundleDir>/attach, ctl, winsz   conmon's attach socket and control FIFOs (--full-attach)
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, stat, open, readdir, unlink } from 'node:fs/promises';
import { constants as fsc, watch, type FSWatcher } from 'node:fs';
import { join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { constants as osc } from 'node:os';
import { Socket as NetSocket, type Socket } from 'node:net';
import {
  replaceFile, hasCode, silentLogger, invalidArgument, notFound, conflict, internal, BerthError, type Logger,
} from '../util/index.js';
import { openAttach, type AttachStreams } from './attach.js';
import { spawnDetached, waitPid } from '../sys/index.js';
import { precompiledSeccomp, SECCOMP_BPF_ANNOTATION } from './seccomp-bpf.js';
import { detectCgroups, readCgroupStats, cgroupPids, cgroupOomKilled, removeCgroup, removeCgroupDirs, type CgroupLayout, type CgroupStats } from './cgroups.js';
import type { OciSpec, OciProcess } from './oci.js';

export interface ExitStatus { exitCode: number; oomKilled: boolean; finishedAt: Date }

/** conmon's first process, as spawnConmon started it. */
interface ConmonChild { pid: number; exited: Promise<number>; release(): void }
export type RuntimeStatus = 'created' | 'running' | 'paused' | 'stopped' | 'unknown';

export interface CreateOptions {
  bundleDir: string;
  spec: OciSpec;
  /** k8s-file log conmon writes the container's output to. */
  logPath: string;
  tty: boolean;
  openStdin: boolean;
  stdinOnce: boolean;
  logSizeMax?: number;
}

export interface ExecOptions {
  process: OciProcess;
  tty: boolean;
  openStdin: boolean;
  /** No attach: the process starts at once and its output goes nowhere. */
  detach?: boolean;
  execId?: string;
}

export interface ExecHandle {
  readonly execId: string;
  /** The process's pid on the host; 0 until start() resolved. */
  readonly pid: number;
  /** Connect to the process's stdio. Call before start() or the first output is lost. */
  attach(): Promise<AttachStreams>;
  /** Let the process run (it waits for this, so attach() sees all output); `pid` is set when it resolves. */
  start(): Promise<void>;
  resize(size: { height: number; width: number }): Promise<void>;
  /** Its exit code (starts the process first if start() was not called). */
  wait(): Promise<number>;
}

interface ContainerState {
  id: string;
  bundleDir: string;
  logPath: string;
  tty: boolean;
  openStdin: boolean;
  stdinOnce: boolean;
  cgroupsPath?: string;
  /** The runtime that created it, recorded before conmon runs `<runtime> create`: every later call uses the same one. */
  runtime: { name: string; path: string; args?: string[] };
  /** Its --root; absent in state written by an older berthd, which used <execRoot>/runtime-state. */
  runtimeRoot?: string;
  created: string;
  /** The nofile limit asked for when config.json holds a lifted one (see liftLowNofile). */
  nofile?: { soft: number; hard: number };
}

interface SyncMessage { data: number; message?: string }

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const RESERVED = new Set(['runtime-state', 'runtimes']);

/** 127 for "command not found", 126 for "cannot execute", as Docker reports failed starts. */
export function exitCodeForStartError(message: string): number | undefined {
  if (/executable file not found|no such file or directory|not found in \$PATH/i.test(message)) return 127;
  if (/permission denied|is a directory|exec format error|not executable/i.test(message)) return 126;
  return undefined;
}

/** The runtime's error text without its logrus framing (runc: `time=… level=error msg="…"`). */
export function runtimeErrorText(raw: string): string {
  const msgs: string[] = [];
  for (const line of raw.split('\n')) {
    const m = /level=(?:error|fatal) msg="((?:[^"\\]|\\.)*)"/.exec(line);
    if (m) msgs.push(m[1]!.replace(/\\(.)/g, '$1'));
  }
  if (msgs.length) return msgs[msgs.length - 1]!;
  return raw.trim().split('\n').filter((l) => l.trim()).pop()?.replace(/^(crun|runc): /, '').trim() ?? '';
}

/** Reads newline-separated JSON messages from one of conmon's sync pipes. */
class SyncReader {
  private buf = '';
  private queue: SyncMessage[] = [];
  private waiters: { resolve: (m: SyncMessage) => void; reject: (e: Error) => void }[] = [];
  private closedErr?: Error;

  constructor(readonly sock: Socket, private readonly describe: () => string) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i).trim();
        this.buf = this.buf.slice(i + 1);
        if (!line) continue;
        let msg: SyncMessage;
        try {
          msg = JSON.parse(line) as SyncMessage;
        } catch {
          msg = { data: -1, message: `unparsable message from conmon: ${line}` };
        }
        const w = this.waiters.shift();
        if (w) w.resolve(msg); else this.queue.push(msg);
      }
    });
    const close = () => {
      this.closedErr ??= new Error(`conmon closed its sync pipe without an answer${this.describe()}`);
      for (const w of this.waiters.splice(0)) w.reject(this.closedErr);
    };
    sock.on('end', close);
    sock.on('close', close);
    sock.on('error', close);
  }

  next(timeoutMs: number): Promise<SyncMessage> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closedErr) return Promise.reject(this.closedErr);
    return new Promise((resolve, reject) => {
      const timer = timeoutMs > 0 ? setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for conmon`));
      }, timeoutMs) : undefined;
      const w = {
        resolve: (m: SyncMessage) => { clearTimeout(timer); resolve(m); },
        reject: (e: Error) => { clearTimeout(timer); reject(e); },
      };
      this.waiters.push(w);
    });
  }

  close(): void { this.sock.destroy(); }
}

export interface ConmonDriverOptions {
  /** `args` go before every subcommand (daemon.json `runtimeArgs`). */
  runtime: { name: string; path: string; args?: string[] };
  /** The runtime's --root (default <execRoot>/runtime-state). */
  runtimeRoot?: string;
  conmonPath?: string;
  /** Where state lives (/run/berth). */
  execRoot: string;
  log?: Logger;
  /** conmon's own --log-level (to syslog/journal). */
  conmonLogLevel?: 'error' | 'warn' | 'info' | 'debug';
  /** How long create/exec may take before we give up on conmon. */
  timeoutMs?: number;
}

export class ConmonDriver {
  readonly runtime: { name: string; path: string; args?: string[] };
  private readonly conmonPath: string;
  private readonly execRoot: string;
  readonly runtimeRoot: string;
  private readonly runtimeArgs: string[];
  /** crun's binary: its seccomp annotation applies. */
  private readonly isCrun: boolean;
  /** crun with its own flags only: the in-process shortcuts (exec.fifo, status file) know where its state is. */
  private readonly crunShortcuts: boolean;
  private readonly log: Logger;
  private readonly conmonLogLevel: string;
  private readonly timeoutMs: number;
  private layout?: CgroupLayout;

  constructor(opts: ConmonDriverOptions) {
    this.runtime = opts.runtime;
    this.conmonPath = opts.conmonPath ?? 'conmon';
    this.execRoot = opts.execRoot;
    this.runtimeRoot = opts.runtimeRoot ?? join(opts.execRoot, 'runtime-state');
    this.runtimeArgs = opts.runtime.args ?? [];
    this.isCrun = basename(opts.runtime.path) === 'crun';
    this.crunShortcuts = this.isCrun && this.runtimeArgs.length === 0;
    this.log = opts.log ?? silentLogger;
    this.conmonLogLevel = opts.conmonLogLevel ?? 'error';
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  private dir(id: string): string {
    if (!ID_RE.test(id) || RESERVED.has(id)) throw invalidArgument(`invalid container id: ${id}`);
    return join(this.execRoot, id);
  }

  private cgroups(): CgroupLayout {
    this.layout ??= detectCgroups();
    return this.layout;
  }

  private async readState(id: string): Promise<ContainerState> {
    try {
      return JSON.parse(await readFile(join(this.dir(id), 'state.json'), 'utf8')) as ContainerState;
    } catch (err) {
      if (hasCode(err, 'ENOENT')) throw notFound(`No such container: ${id}`);
      throw err;
    }
  }

  /** Ids of the containers this exec root knows (for reconciling after a restart). */
  async list(): Promise<string[]> {
    let names: string[];
    try { names = await readdir(this.execRoot); } catch (err) { if (hasCode(err, 'ENOENT')) return []; throw err; }
    const out: string[] = [];
    for (const n of names) {
      if (!ID_RE.test(n) || RESERVED.has(n)) continue;
      try { await stat(join(this.execRoot, n, 'state.json')); out.push(n); } catch { /* not ours */ }
    }
    return out;
  }

  // ---- conmon ----

  private commonArgs(o: { cid: string; cuuid: string; bundle: string; dir: string; logArg: string }): string[] {
    return [
      '--api-version', '1',
      '-c', o.cid, '-u', o.cuuid, '-r', this.runtime.path, '-b', o.bundle,
      '-p', join(o.dir, 'pidfile'), '-n', o.cid,
      '--exit-dir', join(o.dir, 'exits'), '--persist-dir', o.dir,
      '--full-attach', '--socket-dir-path', o.dir,
      '-l', o.logArg, '--log-level', this.conmonLogLevel,
      '--conmon-pidfile', join(o.dir, 'conmon.pid'),
      ...this.runtimeArgs.flatMap((a) => ['--runtime-arg', a]),
      '--runtime-arg', `--root=${this.runtimeRoot}`,
    ];
  }

  /**
   * Start conmon with `pipes` extra socketpairs as fds 3, 4, … and their
   * numbers in the environment. posix_spawn (src/sys), not child_process:
   * Node forks the whole daemon for each spawn, which cost 8–30 ms of the event
   * loop per container here. `child.exited` resolves when conmon's first
   * process exits (it forks the monitor and leaves).
   */
  private async spawnConmon(args: string[], cwd: string, pipes: string[]): Promise<{ child: ConmonChild; fds: Socket[]; stderr: () => string }> {
    const env = [`PATH=${process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'}`, ...pipes.map((name, i) => `${name}=${3 + i}`)];
    const p = await spawnDetached(this.conmonPath, [this.conmonPath, ...args], env, cwd, pipes.length);
    const err = new NetSocket({ fd: p.stderr, readable: true, writable: false });
    let stderr = '';
    err.setEncoding('utf8');
    err.on('data', (d: string) => { if (stderr.length < 65536) stderr += d; });
    err.on('error', () => undefined);
    const fds = p.fds.map((fd) => {
      const s = new NetSocket({ fd, readable: true, writable: true });
      s.on('error', () => undefined);
      return s;
    });
    const exited = waitPid(p.pid).then(({ code, signal }) => (code >= 0 ? code : 128 + signal));
    this.log.debug('conmon', { args: args.join(' ') });
    return { child: { pid: p.pid, exited, release: () => err.destroy() }, fds, stderr: () => stderr.trim() };
  }

  /** Create the container (not started): conmon runs `<runtime> create` and stays to watch it. */
  async create(id: string, o: CreateOptions): Promise<{ pid: number }> {
    const dir = this.dir(id);
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(dir, 'exits'), { recursive: true });
    await mkdir(this.runtimeRoot, { recursive: true });
    const spec: OciSpec = { ...o.spec, process: o.spec.process ? { ...o.spec.process, terminal: o.tty } : o.spec.process };
    // crun would compile the seccomp section again for every create and exec.
    const bpf = this.isCrun && spec.linux?.seccomp ? precompiledSeccomp(spec.linux.seccomp) : undefined;
    if (bpf) spec.annotations = { ...spec.annotations, [SECCOMP_BPF_ANNOTATION]: bpf };
    const lowNofile = liftLowNofile(spec);
    // Regenerated on every start, and the runtime keeps its own copy: no fsync.
    await replaceFile(join(o.bundleDir, 'config.json'), JSON.stringify(spec));
    const state: ContainerState = {
      id, bundleDir: o.bundleDir, logPath: o.logPath, tty: o.tty, openStdin: o.openStdin, stdinOnce: o.stdinOnce,
      cgroupsPath: spec.linux?.cgroupsPath, runtime: this.runtime, runtimeRoot: this.runtimeRoot, created: new Date().toISOString(),
      ...(lowNofile ? { nofile: lowNofile } : {}),
    };
    // The exec root is a tmpfs (/run): nothing to fsync.
    await replaceFile(join(dir, 'state.json'), JSON.stringify(state));

    const args = this.commonArgs({ cid: id, cuuid: id, bundle: o.bundleDir, dir, logArg: `k8s-file:${o.logPath}` });
    if (o.logSizeMax && o.logSizeMax > 0) args.push('--log-size-max', String(o.logSizeMax));
    if (o.tty) args.push('-t');
    if (o.openStdin) args.push('-i');
    if (o.openStdin && !o.stdinOnce) args.push('--leave-stdin-open');

    const { child, fds, stderr } = await this.spawnConmon(args, dir, ['_OCI_SYNCPIPE']);
    const sync = new SyncReader(fds[0]!, () => (stderr() ? `: ${stderr()}` : ''));
    try {
      const [msg, code] = await Promise.all([
        sync.next(this.timeoutMs),
        child.exited.then((c) => {
          if (c !== 0) throw internal(`conmon failed (exit status ${c})${stderr() ? `: ${stderr()}` : ''}`);
          return c;
        }),
      ]);
      void code;
      if (msg.data < 0) {
        const text = runtimeErrorText(msg.message ?? '') || 'unknown error';
        throw new BerthError('Internal', `OCI runtime create failed: ${text}`);
      }
      // The container's init waits for start: give it the nofile limit asked for, which it keeps across exec.
      if (lowNofile) await prlimitNofile(msg.data, lowNofile);
      return { pid: msg.data };
    } catch (err) {
      // Leave nothing behind that a retry with the same id would trip over.
      await this.runtimeCli(['delete', '--force', id]).catch(() => undefined);
      throw err;
    } finally {
      sync.close();
      child.release();
    }
  }

  // ---- the runtime CLI ----

  private runtimeCli(args: string[], timeoutMs = 30_000): Promise<string> {
    const t0 = process.hrtime.bigint();
    return new Promise((resolve, reject) => {
      execFile(this.runtime.path, [...this.runtimeArgs, '--root', this.runtimeRoot, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        this.log.debug('runtime', { args: args[0], ms: Number(process.hrtime.bigint() - t0) / 1e6 });
        if (!err) return resolve(String(stdout));
        const text = runtimeErrorText(String(stderr)) || err.message;
        reject(Object.assign(new Error(text), { runtimeMessage: text }));
      });
    });
  }

  private mapError(id: string, verb: string, err: unknown): Error {
    const text = (err as { runtimeMessage?: string }).runtimeMessage ?? (err as Error).message;
    if (/does not exist|not found|no such file/i.test(text) && !/executable/i.test(text)) return notFound(`No such container: ${id}`, err);
    if (/not running|is not paused|is paused|already (stopped|running)|cannot (start|kill|pause|resume)|container stopped/i.test(text)) {
      return conflict(`Container ${id} ${verb} failed: ${text}`, err);
    }
    return new BerthError('Internal', `OCI runtime ${verb} failed: ${text}`, { cause: err });
  }

  async start(id: string): Promise<void> {
    this.dir(id);
    if (this.crunShortcuts && await this.startViaFifo(id)) return;
    try { await this.runtimeCli(['start', id]); } catch (err) { throw this.mapError(id, 'start', err); }
  }

  /**
   * What `crun start` does, without spawning crun (each crun process costs
   * ≈ 15 ms here, almost all of it start-up): after `create`, crun's init
   * waits to read one byte from `exec.fifo` in the state directory. Opening it
   * for writing (non-blocking: ENXIO when no init waits), unlinking it (crun
   * reports "running" once the fifo is gone) and writing the byte lets the
   * process run. false when there is no waiting init: the CLI then reports why.
   */
  private async startViaFifo(id: string): Promise<boolean> {
    const fifo = join(this.runtimeRoot, id, 'exec.fifo');
    let fh;
    try {
      fh = await open(fifo, fsc.O_WRONLY | fsc.O_NONBLOCK);
    } catch {
      return false;
    }
    try {
      await unlink(fifo);
      await fh.write(Buffer.from('0'));
    } finally {
      await fh.close();
    }
    return true;
  }

  /**
   * What `crun delete` does for a container whose process has ended (remove
   * its cgroups and its state directory), without spawning crun. Anything
   * unusual (the process still there, a cgroup still busy, a state we cannot
   * read) → false, and the runtime's own delete does the job.
   */
  private async deleteStopped(id: string): Promise<boolean> {
    const stateDir = join(this.runtimeRoot, id);
    let status: { pid?: number; 'process-start-time'?: number; 'cgroup-path'?: string };
    try {
      status = JSON.parse(await readFile(join(stateDir, 'status'), 'utf8')) as typeof status;
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) return false;
      // No status: crun does not know the container, unless the directory is half-made.
      return !(await exists(stateDir));
    }
    if (!status.pid || await processStartTime(status.pid) === status['process-start-time']) return false;
    if (status['cgroup-path'] && !removeCgroupDirs(this.cgroups(), status['cgroup-path'])) return false;
    await rm(stateDir, { recursive: true, force: true });
    return true;
  }

  /** Send a signal (number or name: 9, "KILL", "SIGKILL") to the container's init, or to all its processes. */
  async kill(id: string, signal: number | string, opts: { all?: boolean } = {}): Promise<void> {
    this.dir(id);
    const num = toSignalNumber(signal);
    if (!opts.all && this.crunShortcuts && await this.killInit(id, num)) return;
    const args = ['kill', ...(opts.all ? ['--all'] : []), id, String(num)];
    try { await this.runtimeCli(args); } catch (err) { throw this.mapError(id, 'kill', err); }
  }

  /**
   * What `crun kill` does without --all: signal the container's init, the pid
   * in crun's status file, once we know that pid is still the same process
   * (its start time matches). Saves a crun process (≈ 15 ms) on every stop.
   * false when in doubt; the CLI then acts or says why not.
   */
  private async killInit(id: string, signal: number): Promise<boolean> {
    let status: { pid?: number; 'process-start-time'?: number };
    try {
      status = JSON.parse(await readFile(join(this.runtimeRoot, id, 'status'), 'utf8')) as typeof status;
    } catch {
      return false;
    }
    const pid = status.pid;
    if (!pid || await processStartTime(pid) !== status['process-start-time']) return false;
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  async pause(id: string): Promise<void> {
    this.dir(id);
    try { await this.runtimeCli(['pause', id]); } catch (err) { throw this.mapError(id, 'pause', err); }
  }

  async resume(id: string): Promise<void> {
    this.dir(id);
    try { await this.runtimeCli(['resume', id]); } catch (err) { throw this.mapError(id, 'resume', err); }
  }

  /** Remove the container from the runtime (force: kill it first). Deleting one that is gone is fine. */
  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    this.dir(id);
    if (this.crunShortcuts && await this.deleteStopped(id).catch(() => false)) return;
    try {
      await this.runtimeCli(['delete', ...(opts.force ? ['--force'] : []), id]);
    } catch (err) {
      const e = this.mapError(id, 'delete', err);
      if ((e as BerthError).kind === 'NotFound') return;
      throw e;
    }
  }

  async state(id: string): Promise<{ status: RuntimeStatus; pid: number }> {
    this.dir(id);
    try {
      const st = JSON.parse(await this.runtimeCli(['state', id])) as { status?: string; pid?: number };
      const status = (['created', 'running', 'paused', 'stopped'].includes(st.status ?? '') ? st.status : 'unknown') as RuntimeStatus;
      // runc reports "running" for a pid it can no longer see only briefly; trust the exit file over it.
      if (status === 'running' && (await this.exitStatus(id))) return { status: 'stopped', pid: 0 };
      return { status, pid: status === 'stopped' ? 0 : (st.pid ?? 0) };
    } catch (err) {
      const e = this.mapError(id, 'state', err);
      if ((e as BerthError).kind !== 'NotFound') throw e;
      return { status: (await this.exitStatus(id)) ? 'stopped' : 'unknown', pid: 0 };
    }
  }

  /** How the container ended, from conmon's files; undefined while it runs (or never ran). */
  async exitStatus(id: string): Promise<ExitStatus | undefined> {
    const dir = this.dir(id);
    let text: string, mtime: Date;
    try {
      const file = join(dir, 'exits', id);
      [text, mtime] = await Promise.all([readFile(file, 'utf8'), stat(file).then((s) => s.mtime)]);
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return undefined;
      throw err;
    }
    const exitCode = Number.parseInt(text.trim(), 10);
    let oomKilled = await exists(join(dir, 'oom'));
    if (!oomKilled && exitCode === 137) {
      // conmon may miss the event (v1 eventfd registration races a fast OOM);
      // the memory cgroup still counts it until the runtime deletes it.
      const st = await this.readState(id).catch(() => undefined);
      if (st?.cgroupsPath) oomKilled = await cgroupOomKilled(this.cgroups(), st.cgroupsPath).catch(() => false);
    }
    return { exitCode: Number.isFinite(exitCode) ? exitCode : 255, oomKilled, finishedAt: mtime };
  }

  /**
   * Resolves when the container has exited: watches the exit directory, polls
   * slowly as a fallback, and notices a conmon that died without writing one
   * (exit code 255). Works for containers created by an earlier berthd.
   */
  waitExit(id: string, opts: { signal?: AbortSignal } = {}): Promise<ExitStatus> {
    const dir = this.dir(id);
    return new Promise((resolve, reject) => {
      let watcher: FSWatcher | undefined;
      let done = false;
      let checking = false;
      let recheck = false;
      let conmonGoneSince = 0;
      const finish = (err: unknown, st?: ExitStatus) => {
        if (done) return;
        done = true;
        watcher?.close();
        clearInterval(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err); else resolve(st!);
      };
      const check = async () => {
        if (done) return;
        // An event during a check must not be lost: run once more afterwards.
        if (checking) { recheck = true; return; }
        checking = true;
        recheck = false;
        try {
          const st = await this.exitStatus(id);
          if (st) return finish(undefined, st);
          const alive = await this.conmonAlive(id);
          if (alive === false) {
            // Give conmon's last write a moment before declaring it lost.
            if (!conmonGoneSince) conmonGoneSince = Date.now();
            else if (Date.now() - conmonGoneSince > 1500) {
              const again = await this.exitStatus(id);
              if (again) return finish(undefined, again);
              this.log.warn('conmon is gone and left no exit code', { id });
              return finish(undefined, { exitCode: 255, oomKilled: false, finishedAt: new Date() });
            }
          }
        } catch (err) {
          if (!hasCode(err, 'ENOENT')) return finish(err);
          return finish(notFound(`No such container: ${id}`));
        } finally {
          checking = false;
          if (recheck && !done) void check();
        }
      };
      const onAbort = () => finish(opts.signal!.reason ?? new Error('aborted'));
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort);
      try {
        watcher = watch(join(dir, 'exits'), () => void check());
        watcher.on('error', () => undefined);
      } catch (err) {
        if (hasCode(err, 'ENOENT')) return finish(notFound(`No such container: ${id}`));
        return finish(err);
      }
      const timer = setInterval(() => void check(), 500);
      void check();
    });
  }

  /** true/false when conmon's pid file says; undefined when there is none yet. */
  private async conmonAlive(id: string): Promise<boolean | undefined> {
    let pid: number;
    try { pid = Number.parseInt(await readFile(join(this.dir(id), 'conmon.pid'), 'utf8'), 10); } catch { return undefined; }
    if (!(pid > 0)) return undefined;
    try {
      process.kill(pid, 0);
    } catch (err) {
      return hasCode(err, 'EPERM');
    }
    // A zombie still answers kill(0); it is gone for our purposes.
    try {
      const st = await readFile(`/proc/${pid}/stat`, 'utf8');
      return !/^\d+ \(.*\) Z/.test(st);
    } catch {
      return false;
    }
  }

  // ---- stdio ----

  async attach(id: string): Promise<AttachStreams> {
    const st = await this.readState(id);
    try {
      return openAttach(join(st.bundleDir, 'attach'), { stdin: st.openStdin });
    } catch (err) {
      if (hasCode(err, 'ENOENT') || hasCode(err, 'ECONNREFUSED')) throw conflict(`container ${id} is not running`, err);
      throw err;
    }
  }

  async resize(id: string, size: { height: number; width: number }): Promise<void> {
    const st = await this.readState(id);
    await writeCtl(join(st.bundleDir, 'ctl'), size);
  }

  /** Ask conmon to reopen the log file (after the caller rotated it). */
  async reopenLog(id: string): Promise<void> {
    const st = await this.readState(id);
    await writeCtl(join(st.bundleDir, 'ctl'), { height: 0, width: 0 }, 2);
  }

  // ---- exec ----

  async exec(id: string, o: ExecOptions): Promise<ExecHandle> {
    const dir = this.dir(id);
    await this.readState(id);
    const execId = o.execId ?? randomBytes(16).toString('hex');
    if (!ID_RE.test(execId)) throw invalidArgument(`invalid exec id: ${execId}`);
    const edir = join(dir, 'exec', execId);
    await rm(edir, { recursive: true, force: true });
    await mkdir(join(edir, 'exits'), { recursive: true });
    const specFile = join(edir, 'process.json');
    await replaceFile(specFile, JSON.stringify(await this.execProcess(id, o)));

    const args = this.commonArgs({ cid: id, cuuid: execId, bundle: edir, dir: edir, logArg: 'none' });
    if (o.tty) args.push('-t');
    if (o.openStdin && !o.detach) args.push('-i');
    args.push('-e');
    if (!o.detach) args.push('--exec-attach');
    args.push('--exec-process-spec', specFile);

    const pipes = o.detach ? ['_OCI_SYNCPIPE'] : ['_OCI_SYNCPIPE', '_OCI_STARTPIPE', '_OCI_ATTACHPIPE'];
    const { child, fds, stderr } = await this.spawnConmon(args, edir, pipes);
    const describe = () => (stderr() ? `: ${stderr()}` : '');
    const sync = new SyncReader(fds[0]!, describe);
    const startPipe = fds[1];
    const attachPipe = fds[2] ? new SyncReader(fds[2], describe) : undefined;
    const exitedFirst = child.exited;
    const cleanupPipes = () => {
      sync.close();
      attachPipe?.close();
      startPipe?.destroy();
      child.release();
    };

    try {
      if (startPipe && attachPipe) {
        // conmon waits for a first message before it forks (Podman moves it
        // into a cgroup then), then sets up the attach socket and says so on
        // the attach pipe; its child then waits for a second start message
        // before running `<runtime> exec`. The messages must not coalesce in
        // our stream socketpair, hence write → wait for the attach message → write.
        startPipe.write('0\n');
        const ready = await attachPipe.next(this.timeoutMs);
        if (ready.data < 0) throw internal(`conmon exec setup failed: ${ready.message ?? ''}`);
      }
    } catch (err) {
      cleanupPipes();
      throw err;
    }

    let pid = 0;
    let started: Promise<number> | undefined;
    let exitCode: Promise<number> | undefined;
    const start = (): Promise<number> => {
      started ??= (async () => {
        startPipe?.write('0\n');
        const [msg] = await Promise.all([sync.next(this.timeoutMs), exitedFirst]);
        if (msg.data < 0 || msg.message) {
          const text = runtimeErrorText(msg.message ?? '') || 'unknown error';
          cleanupPipes();
          // runc already says "exec failed: …", crun does not.
          const full = /^exec failed: /.test(text) ? text : `exec failed: ${text}`;
          throw Object.assign(new BerthError('Internal', `OCI runtime exec failed: ${full}`), { exitCode: exitCodeForStartError(text) ?? 126 });
        }
        pid = msg.data;
        return pid;
      })();
      return started;
    };
    const wait = (): Promise<number> => {
      exitCode ??= (async () => {
        try {
          await start();
        } catch (err) {
          const code = (err as { exitCode?: number }).exitCode;
          if (code !== undefined) return code;
          throw err;
        }
        let code: number;
        try {
          code = (await sync.next(0)).data;
        } catch {
          // The pipe went away (conmon killed?): fall back to its exit file.
          const text = await readFile(join(edir, 'exits', execId), 'utf8').catch(() => '255');
          code = Number.parseInt(text, 10);
        }
        cleanupPipes();
        await rm(edir, { recursive: true, force: true }).catch(() => undefined);
        return Number.isFinite(code) ? code : 255;
      })();
      return exitCode;
    };
    if (o.detach) void start().catch(() => undefined);

    return {
      execId,
      get pid() { return pid; },
      attach: async () => {
        if (o.detach) throw conflict('cannot attach to a detached exec');
        return openAttach(join(edir, 'attach'), { stdin: o.openStdin });
      },
      start: async () => { await start(); },
      resize: (size) => writeCtl(join(edir, 'ctl'), size),
      wait,
    };
  }

  /**
   * The exec's process.json: what the caller gave, completed from the
   * container's own process (capabilities, no-new-privileges, apparmor,
   * rlimits) so an exec gets no more and no less than the container.
   * `privileged: true` (Docker's exec option) grants the container's whole
   * bounding set.
   */
  private async execProcess(id: string, o: ExecOptions): Promise<OciProcess> {
    const st = await this.readState(id);
    let base: OciProcess | undefined;
    try {
      base = (JSON.parse(await readFile(join(st.bundleDir, 'config.json'), 'utf8')) as OciSpec).process;
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) throw err;
    }
    const { privileged, ...given } = o.process as OciProcess & { privileged?: boolean };
    const p: OciProcess = { ...given, terminal: o.tty, cwd: given.cwd || base?.cwd || '/' };
    if (!given.capabilities && base?.capabilities) {
      const bounding = base.capabilities.bounding ?? [];
      p.capabilities = privileged ? { bounding, effective: bounding, permitted: bounding } : structuredClone(base.capabilities);
    }
    if (given.noNewPrivileges === undefined && base?.noNewPrivileges) p.noNewPrivileges = true;
    if (!given.apparmorProfile && base?.apparmorProfile) p.apparmorProfile = base.apparmorProfile;
    if (!given.rlimits && base?.rlimits) {
      // `crun exec` copes with a small nofile limit (only create needs the lift): the exec gets the container's.
      const want = st.nofile;
      // Below ~14 it fails to set up the exec's stdio, so an exec never gets less than 20.
      const n = want && { soft: Math.max(want.soft, 20), hard: Math.max(want.hard, 20) };
      p.rlimits = n ? base.rlimits.map((r) => (r.type === 'RLIMIT_NOFILE' ? { ...r, ...n } : r)) : base.rlimits;
    }
    if (!given.env && base?.env) p.env = base.env;
    if (!p.consoleSize || !o.tty) delete p.consoleSize;
    return p;
  }

  // ---- cgroups ----

  async stats(id: string): Promise<CgroupStats> {
    const st = await this.readState(id);
    if (!st.cgroupsPath) throw conflict(`container ${id} has no cgroup`);
    return readCgroupStats(this.cgroups(), st.cgroupsPath);
  }

  /** Host pids of the container's processes (cgroup.procs). */
  async top(id: string): Promise<number[]> {
    const st = await this.readState(id);
    return st.cgroupsPath ? cgroupPids(this.cgroups(), st.cgroupsPath) : [];
  }

  /** Forget the container: state files and any cgroup the runtime left. Call after delete(). */
  async cleanup(id: string): Promise<void> {
    const dir = this.dir(id);
    const st = await this.readState(id).catch(() => undefined);
    if (st?.cgroupsPath) removeCgroup(this.cgroups(), st.cgroupsPath);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Signal name or number → number ("KILL", "SIGKILL", "9", 9). */
export function toSignalNumber(signal: number | string): number {
  if (typeof signal === 'number' || /^\d+$/.test(signal)) {
    const n = Number(signal);
    if (!(n > 0 && n < 65)) throw invalidArgument(`Invalid signal: ${signal}`);
    return n;
  }
  const name = signal.toUpperCase().startsWith('SIG') ? signal.toUpperCase() : `SIG${signal.toUpperCase()}`;
  const n = (osc.signals as Record<string, number>)[name];
  if (!n) throw invalidArgument(`Invalid signal: ${signal}`);
  return n;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), undefined when there is no such process. */
async function processStartTime(pid: number): Promise<number | undefined> {
  let text: string;
  try { text = await readFile(`/proc/${pid}/stat`, 'utf8'); } catch { return undefined; }
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(fields[19]);
}

async function exists(p: string): Promise<boolean> {
  try { await stat(p); return true; } catch { return false; }
}

/** conmon's control FIFO: "1 <height> <width>\n" resizes the terminal, "2 0 0\n" reopens the log. */
async function writeCtl(path: string, size: { height: number; width: number }, type = 1): Promise<void> {
  const h = Math.max(0, Math.floor(size.height)), w = Math.max(0, Math.floor(size.width));
  let fh;
  try {
    // Non-blocking: with conmon gone there is no reader and open would hang.
    fh = await open(path, fsc.O_WRONLY | fsc.O_NONBLOCK);
  } catch (err) {
    if (hasCode(err, 'ENXIO') || hasCode(err, 'ENOENT')) throw conflict('container is not running');
    throw err;
  }
  try { await fh.write(`${type} ${h} ${w}\n`); } finally { await fh.close(); }
}

/**
 * crun sets the container's rlimits on itself before it sets the container up,
 * and then needs a few dozen descriptors of its own (cgroup and /proc files):
 * `--ulimit nofile=20` made create fail with EMFILE (or, worse, with an empty
 * cpuset). A nofile limit below this floor is applied after create instead,
 * with prlimit on the waiting init, before the user's program runs.
 */
const NOFILE_FLOOR = 256;
function liftLowNofile(spec: OciSpec): { soft: number; hard: number } | undefined {
  const r = spec.process?.rlimits?.find((x) => x.type === 'RLIMIT_NOFILE');
  if (!r || r.soft >= NOFILE_FLOOR) return undefined;
  const want = { soft: r.soft, hard: r.hard };
  spec.process!.rlimits = spec.process!.rlimits!.map((x) => (x === r ? { ...x, soft: NOFILE_FLOOR, hard: Math.max(x.hard, NOFILE_FLOOR) } : x));
  return want;
}

function prlimitNofile(pid: number, l: { soft: number; hard: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('prlimit', ['--pid', String(pid), `--nofile=${l.soft}:${l.hard}`], { timeout: 10_000 }, (err, _out, stderr) => {
      if (err) reject(new BerthError('Internal', `setting the nofile limit failed: ${String(stderr).trim() || err.message}`)); else resolve();
    });
  });
}
