// Several OCI runtimes side by side, as dockerd offers them (`docker run
// --runtime NAME`, daemon.json `runtimes` and `default-runtime`).
//
// A RuntimeTable is the set of names a container may ask for: crun and runc
// when they really run a container here, `io.containerd.runc.v2` (Docker's
// name for runc through its shim), and the runtimes daemon.json configures.
// RuntimeDispatcher keeps one ConmonDriver per runtime, each with its own
// --root (<execRoot>/runtimes/<name>), and sends every call for a container to
// the driver that created it. Which one that was is read from the
// container's state.json, which ConmonDriver.create writes before conmon runs
// `<runtime> create`: after a crash or a restart of berthd, with another
// default or another daemon.json, a container keeps its runtime and root.
// State written by an older berthd has no root in it: it used
// <execRoot>/runtime-state, and is served from there until the container is
// deleted from the runtime (its next start uses the new layout).
import { readFile } from 'node:fs/promises';
import { join, basename } from 'node:path';
import { invalidArgument, unavailable, hasCode, silentLogger, type Logger } from '../util/index.js';
import { findExecutable, probeRuntime } from './select.js';
import { ConmonDriver, type CreateOptions, type ExecOptions, type ExecHandle, type ExitStatus, type RuntimeStatus } from './conmon.js';
import type { AttachStreams } from './attach.js';
import type { CgroupStats } from './cgroups.js';

/** daemon.json `runtimes` entry, as dockerd reads it. */
export interface RuntimeConfig { path?: string; runtimeArgs?: string[]; runtimeType?: string; options?: Record<string, unknown> }

export interface RuntimeEntry {
  /** The name it is known by (an alias keeps its own name here). */
  name: string;
  /** Absolute path of the binary; the configured text when it cannot be found (create then fails). */
  path: string;
  /** As configured (dockerd lists this in `info`). */
  configuredPath: string;
  args: string[];
  /** The name whose state root it uses: an alias shares its target's. */
  rootName: string;
}

/** dockerd's stock runtime name; daemon.json may not redefine it. */
export const STOCK_RUNTIME = 'runc';
/** Docker's name for runc behind containerd's v2 shim: here it is runc. */
export const RUNC_SHIM_ALIAS = 'io.containerd.runc.v2';
/** Names become directory names under the exec root. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/;

export class RuntimeTable {
  constructor(readonly entries: ReadonlyMap<string, RuntimeEntry>, readonly defaultName: string) {}

  /**
   * The runtime a container gets: the one it names, else the default.
   * Unknown names are dockerd's 400 at create.
   */
  resolve(name?: string): RuntimeEntry {
    const n = name || this.defaultName;
    const e = this.entries.get(n);
    if (!e) throw invalidArgument(`unknown or invalid runtime name: ${n}`);
    return e;
  }

  /** `GET /info` Runtimes: name → { path, runtimeArgs? }. */
  info(): Record<string, { path: string; runtimeArgs?: string[] }> {
    const out: Record<string, { path: string; runtimeArgs?: string[] }> = {};
    for (const name of [...this.entries.keys()].sort()) {
      const e = this.entries.get(name)!;
      out[name] = { path: e.path, ...(e.args.length ? { runtimeArgs: [...e.args] } : {}) };
    }
    return out;
  }
}

/**
 * Build the table. `defaultRuntime` is daemon.json `default-runtime` or
 * `--runtime` (a name, or a path as berthd has always taken); without one the
 * default is the first of crun, runc that works (berth's choice; dockerd's is
 * runc). crun and runc are probed with a real container, in parallel; one
 * that fails is left out (unless it was asked for as the default, as before).
 * Configuration errors carry dockerd's words and stop the daemon.
 */
export async function loadRuntimes(opts: {
  configured?: Record<string, RuntimeConfig>;
  defaultRuntime?: string;
  log?: Logger;
  probe?: (path: string) => Promise<string | undefined>;
} = {}): Promise<RuntimeTable> {
  const log = opts.log ?? silentLogger;
  const probe = opts.probe ?? ((p: string) => probeRuntime(p));
  const configured = opts.configured ?? {};
  if (typeof configured !== 'object' || Array.isArray(configured)) throw invalidArgument('runtimes: must be an object of name → { "path": ..., "runtimeArgs": [...] }');
  if (Object.hasOwn(configured, STOCK_RUNTIME)) throw invalidArgument(`runtime name '${STOCK_RUNTIME}' is reserved`);

  const entries = new Map<string, RuntimeEntry>();
  const builtins: { name: string; path?: string; failure?: string }[] = [];
  await Promise.all(['crun', 'runc'].map(async (name, i) => {
    const path = findExecutable(name);
    builtins[i] = { name, path, failure: path ? await probe(path) : 'not installed' };
  }));
  const def = opts.defaultRuntime;
  for (const b of builtins) {
    if (b.failure) {
      log.info('OCI runtime cannot run containers on this host', { runtime: b.name, error: b.failure });
      // Asked for by name: used anyway, as berthd always did (the user may know better than the probe).
      if (!(b.path && def === b.name)) continue;
      log.warn('the configured OCI runtime failed a test container; using it anyway', { runtime: b.path, error: b.failure });
    }
    entries.set(b.name, { name: b.name, path: b.path!, configuredPath: b.name, args: [], rootName: b.name });
  }
  const runc = entries.get(STOCK_RUNTIME);
  if (runc) entries.set(RUNC_SHIM_ALIAS, { ...runc, name: RUNC_SHIM_ALIAS });

  for (const [name, rc] of Object.entries(configured)) {
    if (!NAME_RE.test(name)) throw invalidArgument(`runtime ${name}: invalid name, only [a-zA-Z0-9][a-zA-Z0-9_.+-] are allowed`);
    if (!rc || typeof rc !== 'object') throw invalidArgument(`runtime ${name}: must be an object with a "path"`);
    if (!rc.path && !rc.runtimeType) throw invalidArgument(`runtime ${name}: either a runtimeType or a path must be configured`);
    if (rc.path && rc.runtimeType) throw invalidArgument(`runtime ${name}: cannot configure both path and runtimeType for the same runtime`);
    if (rc.runtimeType) throw invalidArgument(`runtime ${name}: runtimeType (containerd shims) is not supported by berthd; configure a "path"`);
    if (typeof rc.path !== 'string') throw invalidArgument(`runtime ${name}: path must be a string`);
    if (rc.options && Object.keys(rc.options).length) throw invalidArgument(`runtime ${name}: options cannot be used with a path runtime`);
    const args = rc.runtimeArgs ?? [];
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw invalidArgument(`runtime ${name}: runtimeArgs must be a list of strings`);
    const path = findExecutable(rc.path);
    if (!path) log.warn('configured OCI runtime not found; containers asking for it will fail', { runtime: name, path: rc.path });
    // A configured name replaces a built-in one (crun, io.containerd.runc.v2), as in dockerd.
    entries.set(name, { name, path: path ?? rc.path, configuredPath: rc.path, args: [...args], rootName: name });
  }

  let defaultName: string;
  if (def && def.includes('/')) {
    // `--runtime /path/to/x`: known by its file name from then on.
    const path = findExecutable(def);
    if (!path) throw invalidArgument(`unknown or invalid runtime name: ${def}`);
    defaultName = basename(path);
    if (!NAME_RE.test(defaultName)) throw invalidArgument(`unknown or invalid runtime name: ${def}`);
    const failure = await probe(path);
    if (failure) log.warn('the configured OCI runtime failed a test container; using it anyway', { runtime: path, error: failure });
    entries.set(defaultName, { name: defaultName, path, configuredPath: def, args: [], rootName: defaultName });
  } else if (def) {
    if (!entries.has(def)) throw invalidArgument(`specified default runtime '${def}' does not exist`);
    defaultName = def;
  } else {
    const first = builtins.find((b) => !b.failure);
    if (!first) {
      const why = builtins.map((b) => `${b.name}: ${b.failure}`).join('; ');
      throw unavailable(`no working OCI runtime found: ${why}`);
    }
    defaultName = first.name;
  }
  const table = new RuntimeTable(entries, defaultName);
  log.info('OCI runtimes', { available: [...entries.keys()].sort().join(','), default: defaultName });
  return table;
}

/** What the container service calls; the same methods as ConmonDriver, per container. */
export class RuntimeDispatcher {
  private readonly drivers = new Map<string, ConmonDriver>();
  /** Container id → its driver, once known (dropped by cleanup). */
  private readonly byId = new Map<string, ConmonDriver>();
  private readonly log: Logger;

  constructor(readonly table: RuntimeTable, private readonly o: { execRoot: string; log?: Logger; conmonPath?: string; timeoutMs?: number }) {
    this.log = o.log ?? silentLogger;
  }

  /** The state root of a runtime name. */
  rootOf(entry: RuntimeEntry): string {
    return join(this.o.execRoot, 'runtimes', entry.rootName);
  }

  /** HostConfig.Runtime as inspect shows it: the name asked for, else the default. Throws Docker's 400 for unknown names. */
  resolveRuntime(name?: string): string {
    return this.table.resolve(name || undefined).name;
  }

  private driver(rt: { name: string; path: string; args?: string[] }, root: string): ConmonDriver {
    const key = JSON.stringify([root, rt.path, rt.args ?? []]);
    let d = this.drivers.get(key);
    if (!d) {
      d = new ConmonDriver({ runtime: { name: rt.name, path: rt.path, ...(rt.args?.length ? { args: rt.args } : {}) }, runtimeRoot: root, execRoot: this.o.execRoot, log: this.log, conmonPath: this.o.conmonPath, timeoutMs: this.o.timeoutMs });
      this.drivers.set(key, d);
    }
    return d;
  }

  private defaultDriver(): ConmonDriver {
    const e = this.table.resolve();
    return this.driver(e, this.rootOf(e));
  }

  /** The driver that created `id`, from its state.json; the default one for a container no runtime knows. */
  async driverFor(id: string): Promise<ConmonDriver> {
    const known = this.byId.get(id);
    if (known) return known;
    let st: { runtime?: { name: string; path: string; args?: string[] }; runtimeRoot?: string };
    try {
      // The id is checked by ConmonDriver before it becomes a path.
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(id)) return this.defaultDriver();
      st = JSON.parse(await readFile(join(this.o.execRoot, id, 'state.json'), 'utf8'));
    } catch (err) {
      if (hasCode(err, 'ENOENT') || err instanceof SyntaxError) return this.defaultDriver();
      throw err;
    }
    if (!st.runtime?.path) return this.defaultDriver();
    const d = this.driver(st.runtime, st.runtimeRoot ?? join(this.o.execRoot, 'runtime-state'));
    this.byId.set(id, d);
    return d;
  }

  /** The runtime of a container (for `docker update`, which calls the runtime's own `update`). */
  async runtimeOf(id: string): Promise<{ name: string; path: string; args: string[]; root: string }> {
    const d = await this.driverFor(id);
    return { name: d.runtime.name, path: d.runtime.path, args: d.runtime.args ?? [], root: d.runtimeRoot };
  }

  async create(id: string, o: CreateOptions & { runtime?: string }): Promise<{ pid: number }> {
    const e = this.table.resolve(o.runtime || undefined);
    // A configured runtime whose binary is missing: dockerd's words (exec.LookPath's).
    if (!findExecutable(e.path)) {
      const why = e.configuredPath.includes('/') ? `stat ${e.configuredPath}: no such file or directory` : 'executable file not found in $PATH';
      throw invalidArgument(`error while looking up the specified runtime path: exec: "${e.configuredPath}": ${why}`);
    }
    const d = this.driver(e, this.rootOf(e));
    this.byId.set(id, d);
    return d.create(id, o);
  }

  async start(id: string): Promise<void> { return (await this.driverFor(id)).start(id); }
  async kill(id: string, signal: number | string, opts?: { all?: boolean }): Promise<void> { return (await this.driverFor(id)).kill(id, signal, opts); }
  async pause(id: string): Promise<void> { return (await this.driverFor(id)).pause(id); }
  async resume(id: string): Promise<void> { return (await this.driverFor(id)).resume(id); }
  async delete(id: string, opts?: { force?: boolean }): Promise<void> { return (await this.driverFor(id)).delete(id, opts); }
  async state(id: string): Promise<{ status: RuntimeStatus; pid: number }> { return (await this.driverFor(id)).state(id); }
  async exitStatus(id: string): Promise<ExitStatus | undefined> { return (await this.driverFor(id)).exitStatus(id); }
  async waitExit(id: string, opts?: { signal?: AbortSignal }): Promise<ExitStatus> { return (await this.driverFor(id)).waitExit(id, opts); }
  async attach(id: string): Promise<AttachStreams> { return (await this.driverFor(id)).attach(id); }
  async resize(id: string, size: { height: number; width: number }): Promise<void> { return (await this.driverFor(id)).resize(id, size); }
  async reopenLog(id: string): Promise<void> { return (await this.driverFor(id)).reopenLog(id); }
  async exec(id: string, o: ExecOptions): Promise<ExecHandle> { return (await this.driverFor(id)).exec(id, o); }
  async stats(id: string): Promise<CgroupStats> { return (await this.driverFor(id)).stats(id); }
  async top(id: string): Promise<number[]> { return (await this.driverFor(id)).top(id); }
  async list(): Promise<string[]> { return this.defaultDriver().list(); }

  async cleanup(id: string): Promise<void> {
    const d = await this.driverFor(id);
    this.byId.delete(id);
    return d.cleanup(id);
  }
}
