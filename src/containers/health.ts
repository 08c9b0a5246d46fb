// Container healthchecks, as dockerd runs them (moby daemon/health.go):
// while a container runs, a monitor execs the check inside it every
// Interval (StartInterval while still starting within StartPeriod), keeps the
// last five results and a failing streak in State.Health, and reports status
// changes as `health_status: <status>` container events. The monitor is live
// state; State.Health is part of the persisted record.
import {
  type EventSink, type Logger, invalidArgument, newId, goDurationString,
} from '../util/index.js';
import type { ContainerRecord, HealthState, HealthcheckResult } from './types.js';
import type { RuntimeDriver, SpecBuilder } from './deps.js';

export type { HealthState, HealthStatus, HealthcheckResult } from './types.js';

/** The Healthcheck field of a container config (durations in nanoseconds). */
export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

// Docker's defaults; a zero in the config means "use the default".
const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_START_PERIOD_MS = 0;
const DEFAULT_START_INTERVAL_MS = 5_000;
const DEFAULT_RETRIES = 3;
const MAX_LOG_ENTRIES = 5;
const MAX_OUTPUT = 4096;
/** Starting the exec has its own limit, apart from the check's timeout (moby does the same). */
const EXEC_START_TIMEOUT_MS = 30_000;
const MIN_DURATION_NS = 1e6;

const ms = (ns: number | undefined, dflt: number) => (ns ? ns / 1e6 : dflt);

/** The create body's checks on Healthcheck (moby validateHealthCheck). */
export function validateHealthcheck(h: unknown): void {
  if (h === undefined || h === null) return;
  if (typeof h !== 'object' || Array.isArray(h)) throw invalidArgument('invalid Healthcheck');
  const hc = h as Record<string, unknown>;
  if (hc.Test !== undefined && hc.Test !== null && (!Array.isArray(hc.Test) || !hc.Test.every((t) => typeof t === 'string'))) {
    throw invalidArgument('invalid Healthcheck.Test: must be an array of strings');
  }
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries']) {
    const v = hc[k];
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isInteger(v))) throw invalidArgument(`invalid Healthcheck.${k}: ${String(v)}`);
  }
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval']) {
    const v = hc[k] as number | undefined;
    if (v && v < MIN_DURATION_NS) throw invalidArgument(`${k} in Healthcheck cannot be less than ${goDurationString(MIN_DURATION_NS)}`);
  }
  if (typeof hc.Retries === 'number' && hc.Retries < 0) throw invalidArgument('Retries in Healthcheck cannot be negative');
}

/** The create body's Healthcheck over the image's, field by field, as Docker merges them. */
export function mergeHealthcheck(user: HealthConfig | null | undefined, image: HealthConfig | null | undefined): HealthConfig | undefined {
  if (!user) return image ? { ...image } : undefined;
  // Docker decodes into Go fields tagged omitempty: a null or zero duration (docker-py sends
  // "Timeout": null) is not shown by inspect at all.
  user = Object.fromEntries(Object.entries(user).filter(([k, v]) => v !== null && !(k !== 'Test' && v === 0))) as HealthConfig;
  if (!image) return { ...user };
  const out: HealthConfig = { ...user };
  if (!out.Test || out.Test.length === 0) out.Test = image.Test;
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
    if (!out[k] && image[k]) out[k] = image[k];
  }
  return out;
}

/** The command a check runs, or undefined for none (no Test, NONE, or an unknown kind). */
export function probeCommand(rec: ContainerRecord): string[] | undefined {
  const test = (rec.Config.Healthcheck as HealthConfig | undefined)?.Test;
  if (!test || test.length === 0) return undefined;
  if (test[0] === 'CMD') return test.slice(1);
  if (test[0] === 'CMD-SHELL') {
    const shell: string[] = Array.isArray(rec.Config.Shell) && rec.Config.Shell.length ? rec.Config.Shell : ['/bin/sh', '-c'];
    return [...shell, ...test.slice(1)];
  }
  return undefined;
}

/** The `health` ps filter's value for a container: its status, or "none". */
export function healthFilterValue(rec: ContainerRecord): string {
  return rec.State.Health?.Status ?? 'none';
}

export const HEALTH_FILTER_VALUES = ['starting', 'healthy', 'unhealthy', 'none'];

/** What `docker ps` appends to "Up 5 seconds": " (healthy)", " (health: starting)". */
export function healthSuffix(rec: ContainerRecord): string {
  const h = rec.State.Health;
  if (!h) return '';
  return h.Status === 'starting' ? ' (health: starting)' : ` (${h.Status})`;
}

/** State.Health for inspect: a copy, absent for containers without a check. */
export function healthView(rec: ContainerRecord): { Health?: HealthState } {
  const h = rec.State.Health;
  return h ? { Health: { Status: h.Status, FailingStreak: h.FailingStreak, Log: [...h.Log] } } : {};
}

/** Keeps the first 4096 bytes of a check's output; "..." marks a cut. */
class LimitedBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private truncated = false;
  write(chunk: Buffer): void {
    const keep = Math.min(MAX_OUTPUT - this.size, chunk.length);
    if (keep > 0) { this.chunks.push(chunk.subarray(0, keep)); this.size += keep; }
    if (keep < chunk.length) this.truncated = true;
  }
  toString(): string {
    const s = Buffer.concat(this.chunks).toString('utf8');
    return this.truncated ? `${s}...` : s;
  }
}

export interface HealthDeps {
  store: { find(ref: string): ContainerRecord | undefined; save(rec: ContainerRecord): void };
  runtime: Pick<RuntimeDriver, 'exec'>;
  spec: Pick<SpecBuilder, 'resolveUser'>;
  /** The container's rootfs mountpoint on the host (to resolve its User). */
  rootfs(id: string): string;
  events: EventSink;
  log: Logger;
}

interface Monitor {
  stopped: boolean;
  timer?: NodeJS.Timeout;
  /** Kills the probe in flight. */
  abort: AbortController;
}

export class HealthMonitor {
  private monitors = new Map<string, Monitor>();

  constructor(private readonly d: HealthDeps) {}

  /** A container (re)started or was found running: health starts over (moby initHealthMonitor). */
  start(rec: ContainerRecord): void {
    if (!probeCommand(rec)) return;
    this.stop(rec.Id);
    rec.State.Health = { Status: 'starting', FailingStreak: 0, Log: rec.State.Health?.Log ?? [] };
    this.d.store.save(rec);
    this.resume(rec);
  }

  /** Probe while the container runs, keeping its status (unpause; moby updateHealthMonitor). */
  resume(rec: ContainerRecord): void {
    if (!rec.State.Health || !probeCommand(rec)) return;
    if (rec.State.Status !== 'running') { this.stop(rec.Id); return; }
    if (this.monitors.has(rec.Id)) return;
    const m: Monitor = { stopped: false, abort: new AbortController() };
    this.monitors.set(rec.Id, m);
    this.schedule(rec.Id, m);
  }

  /** Exit, pause, removal: no more probes; one in flight is killed and its result dropped. */
  stop(id: string): void {
    const m = this.monitors.get(id);
    if (!m) return;
    this.monitors.delete(id);
    m.stopped = true;
    if (m.timer) clearTimeout(m.timer);
    m.abort.abort();
  }

  /** Daemon shutdown: drop every monitor (containers keep running; reconcile restarts them). */
  stopAll(): void {
    for (const id of [...this.monitors.keys()]) this.stop(id);
  }

  private schedule(id: string, m: Monitor): void {
    if (m.stopped) return;
    const rec = this.d.store.find(id);
    if (!rec) { this.stop(id); return; }
    m.timer = setTimeout(() => { void this.runOnce(id, m); }, this.nextInterval(rec));
    // A pending check must not keep the daemon alive.
    m.timer.unref();
  }

  /**
   * Time until the next check: StartInterval while the container is still
   * starting within its start period, else Interval (dockerd 25–28).
   */
  private nextInterval(rec: ContainerRecord): number {
    const hc = (rec.Config.Healthcheck ?? {}) as HealthConfig;
    const interval = ms(hc.Interval, DEFAULT_INTERVAL_MS);
    const startPeriod = ms(hc.StartPeriod, DEFAULT_START_PERIOD_MS);
    if (Date.now() - Date.parse(rec.State.StartedAt) >= startPeriod) return interval;
    return rec.State.Health?.Status === 'starting' ? ms(hc.StartInterval, DEFAULT_START_INTERVAL_MS) : interval;
  }

  private async runOnce(id: string, m: Monitor): Promise<void> {
    const rec = this.d.store.find(id);
    if (m.stopped || !rec) return;
    const start = new Date();
    let result: Omit<HealthcheckResult, 'Start'>;
    try {
      result = await this.probe(rec, m.abort.signal);
    } catch (err) {
      this.d.log.warn('health check failed to run', { id: id.slice(0, 12), err });
      result = { ExitCode: -1, Output: (err as Error).message, End: new Date().toISOString() };
    }
    if (m.stopped) return;
    // Docker's field order: Start, End, ExitCode, Output.
    this.record(id, { Start: start.toISOString(), End: result.End, ExitCode: result.ExitCode, Output: result.Output }, start);
    this.schedule(id, m);
  }

  /** One run of the check as an exec in the container; output and exit code. */
  private async probe(rec: ContainerRecord, signal: AbortSignal): Promise<Omit<HealthcheckResult, 'Start'>> {
    const cmd = probeCommand(rec)!;
    if (cmd.length === 0) throw new Error('no health check command specified');
    const hc = rec.Config.Healthcheck as HealthConfig;
    const cfg = rec.Config;
    const user = this.d.spec.resolveUser(this.d.rootfs(rec.Id), cfg.User || '');
    const proc = {
      terminal: false,
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      args: cmd,
      env: cfg.Env ?? [],
      cwd: cfg.WorkingDir || '/',
      noNewPrivileges: false,
      privileged: false,
    };
    const execId = newId();
    const what = `${cmd[0]} ${cmd.slice(1).join(' ')}`;
    const attrs = { image: rec.Image, name: rec.Name };
    this.d.events('container', `exec_create: ${what}`, rec.Id, { ...attrs, execID: execId });
    const handle = await this.d.runtime.exec(rec.Id, { process: proc, tty: false, openStdin: false, detach: false });
    const out = new LimitedBuffer();
    const streams = await handle.attach();
    const outputDone = new Promise<void>((resolve) => streams.onEnd(resolve));
    streams.onData((_stream, chunk) => out.write(chunk));
    const kill = () => { if (handle.pid > 0) { try { process.kill(handle.pid, 'SIGKILL'); } catch { /* already gone */ } } };
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => kill();
    try {
      let startTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        handle.start(),
        new Promise<never>((_, reject) => {
          startTimer = setTimeout(() => reject(new Error(`timed out starting health check for container ${rec.Id}`)), EXEC_START_TIMEOUT_MS);
        }),
      ]).finally(() => clearTimeout(startTimer));
      this.d.events('container', `exec_start: ${what}`, rec.Id, { ...attrs, execID: execId });
      // The timeout runs from the moment the process runs, as in Docker.
      const timeoutMs = ms(hc.Timeout, DEFAULT_TIMEOUT_MS);
      timer = setTimeout(() => { timedOut = true; kill(); }, timeoutMs);
      if (signal.aborted) kill(); else signal.addEventListener('abort', onAbort, { once: true });
      const code = await handle.wait();
      // Output can trail the exit a little; don't wait on a grandchild that keeps the pipe open.
      await Promise.race([outputDone, new Promise((r) => setTimeout(r, 2000).unref())]);
      this.d.events('container', 'exec_die', rec.Id, { ...attrs, execID: execId, exitCode: String(code) });
      const text = out.toString();
      if (timedOut) {
        const limit = goDurationString(timeoutMs * 1e6);
        return { ExitCode: -1, Output: text ? `Health check exceeded timeout (${limit}): ${text}` : `Health check exceeded timeout (${limit})`, End: new Date().toISOString() };
      }
      return { ExitCode: code, Output: text, End: new Date().toISOString() };
    } finally {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      streams.close();
    }
  }

  /** Fold one result into State.Health (moby handleProbeResult). */
  private record(id: string, result: HealthcheckResult, start: Date): void {
    const rec = this.d.store.find(id);
    const h = rec?.State.Health;
    if (!rec || !h) return;
    const hc = (rec.Config.Healthcheck ?? {}) as HealthConfig;
    const retries = hc.Retries && hc.Retries > 0 ? hc.Retries : DEFAULT_RETRIES;
    const old = h.Status;
    h.Log = [...h.Log, result].slice(-MAX_LOG_ENTRIES);
    if (result.ExitCode === 0) {
      h.FailingStreak = 0;
      h.Status = 'healthy';
    } else {
      // Failures inside the start period don't count until a check has passed.
      const inStartPeriod = h.Status === 'starting' && start.getTime() - Date.parse(rec.State.StartedAt) < ms(hc.StartPeriod, DEFAULT_START_PERIOD_MS);
      if (!inStartPeriod) {
        h.FailingStreak++;
        if (h.FailingStreak >= retries) h.Status = 'unhealthy';
      }
    }
    this.d.store.save(rec);
    if (h.Status !== old) this.d.events('container', `health_status: ${h.Status}`, id, { image: rec.Image, name: rec.Name });
  }
}
