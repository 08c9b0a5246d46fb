// The classic builder (POST /build): each Dockerfile step runs on the image
// the previous step made. RUN runs a real container (ContainerService: crun or
// runc on an overlay root) and commits its upper dir as a layer; COPY/ADD write
// into a created container's mounted root and commit it; the other
// instructions change only the config (a config-only image, empty_layer).
// Output is Docker's classic JSON message stream.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { invalidArgument, notFound, shortId, resolveInRoot, hasCode, type Logger } from '../util/index.js';
import { applyLayer } from '../snapshots/index.js';
import type { ContainerConfig, HealthConfig, ImageRecord, ImageStore } from '../images/index.js';
import { parseReference, familiarString, withDefaultTag } from '../reference/index.js';
import type { ContainerService } from '../containers/index.js';
import { resolveUser } from '../runtime/index.js';
import { parseDockerfile, parseError, parseInstruction, nameValues, type Dockerfile, type Instruction } from './parser.js';
import { expandWord, expandWords, type Env } from './lex.js';
import { commitImage } from './commit.js';
import { copyInto, matchSources } from './copy.js';
import { cacheKey, contentDigest, type BuildCache } from './cache.js';

export interface BuildMessage {
  stream?: string;
  status?: string;
  aux?: unknown;
  error?: string;
  errorDetail?: { code?: number; message: string };
}

export interface BuildDeps {
  images: ImageStore;
  containers: ContainerService;
  /** Mounts a created container's root (the same overlay the runtime gets). */
  rootfs: {
    mount(o: { lowerDirs: string[]; upperDir: string; workDir: string; target: string }): Promise<void>;
    unmount(target: string): Promise<void>;
    isMounted(target: string): boolean;
  };
  /** Where build contexts are unpacked. */
  tmpDir: string;
  log: Logger;
  /** Step images to reuse; without it every step runs and only the result is kept. */
  cache?: BuildCache;
  /** Fetches a FROM image that is not here; without it a missing image is an error. */
  pull?: (ref: string, onProgress: (m: BuildMessage) => void) => Promise<void>;
}

export interface BuildOptions {
  dockerfile?: string;
  tags?: string[];
  buildArgs?: Record<string, string | null>;
  labels?: Record<string, string>;
  quiet?: boolean;
  noCache?: boolean;
  /** Remove intermediate containers after a successful step (default true). */
  rm?: boolean;
  /** Remove intermediate containers even when the step failed. */
  forceRm?: boolean;
  target?: string;
  networkMode?: string;
  /** Resources and hosts for RUN containers (Memory, CpuShares, ShmSize, ExtraHosts, Ulimits, …, as in a HostConfig). */
  hostConfig?: Record<string, unknown>;
}

/** A failed RUN: Docker's message, and the command's status as the error code. */
export class StepError extends Error {
  constructor(message: string, readonly code: number) { super(message); }
}

interface Stage {
  name?: string;
  image: ImageRecord;
  config: ContainerConfig;
  /** ARGs declared in this stage (undefined: declared without a value). */
  args: Map<string, string | undefined>;
  cmdSet: boolean;
  author?: string;
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** Go-style durations for HEALTHCHECK flags, in nanoseconds. */
export function parseDuration(s: string, flag: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) { total += Number(m[1]) * units[m[2]!]!; at = re.lastIndex; }
  if (at !== s.length || s === '') throw invalidArgument(`time: invalid duration "${s}" for --${flag}`);
  return Math.round(total);
}

/** A prepared build: the context is unpacked and the Dockerfile parsed (so errors are plain HTTP errors). */
export class Build {
  private readonly images: ImageStore;
  private readonly containers: ContainerService;
  private readonly intermediate = new Set<string>();
  private readonly stages: Stage[] = [];
  private globalArgs = new Map<string, string | undefined>();
  private readonly usedArgs = new Set<string>();
  private out: (m: BuildMessage) => void = () => undefined;
  private signal?: AbortSignal;
  private step = 0;
  private total = 0;

  private constructor(private readonly d: BuildDeps, readonly contextDir: string, readonly file: Dockerfile, readonly opts: BuildOptions, private readonly plan: Instruction[]) {
    this.images = d.images;
    this.containers = d.containers;
  }

  /** Unpacks the context tar (maybe compressed) and parses the Dockerfile. */
  static async prepare(d: BuildDeps, context: Readable, opts: BuildOptions): Promise<Build> {
    for (const t of opts.tags ?? []) {
      const r = parseReference(t);
      if (r.digest) throw invalidArgument(`invalid reference format: ${t}`);
    }
    mkdirSync(d.tmpDir, { recursive: true });
    const dir = mkdtempSync(join(d.tmpDir, 'ctx-'));
    try {
      // The same safe extraction as image layers: nothing leaves `dir`.
      await applyLayer(dir, context);
      const name = opts.dockerfile || 'Dockerfile';
      let text: string | undefined;
      for (const candidate of name === 'Dockerfile' ? ['Dockerfile', 'dockerfile'] : [name]) {
        try {
          const p = resolveInRoot(dir, candidate);
          if (statSync(p).isFile()) { text = readFileSync(p, 'utf8'); break; }
        } catch (err) { if (!hasCode(err, 'ENOENT') && !hasCode(err, 'ENOTDIR')) throw err; }
      }
      if (text === undefined) throw invalidArgument(`Cannot locate specified Dockerfile: ${name}`);
      const file = parseDockerfile(text);
      const plan = Build.plan(file, opts);
      return new Build(d, dir, file, opts, plan);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** The instructions to run: up to the target stage, with the `labels` option as a last LABEL. */
  private static plan(file: Dockerfile, opts: BuildOptions): Instruction[] {
    const all = file.instructions;
    if (all.length === 0) throw invalidArgument(`the Dockerfile (${opts.dockerfile || 'Dockerfile'}) cannot be empty`);
    const firstFrom = all.findIndex((i) => i.cmd === 'FROM');
    for (const i of firstFrom < 0 ? all : all.slice(0, firstFrom)) {
      if (i.cmd !== 'ARG') throw parseError(i.line, `no build stage in current context`);
    }
    for (const i of all) validate(i, file.escape);
    let end = all.length;
    if (opts.target) {
      const target = opts.target.toLowerCase();
      const idx = all.findIndex((i) => i.cmd === 'FROM' && stageName(i) === target);
      if (idx < 0) throw invalidArgument(`failed to reach build target ${opts.target} in Dockerfile`);
      const next = all.findIndex((i, n) => n > idx && i.cmd === 'FROM');
      if (next >= 0) end = next;
    }
    const plan = all.slice(0, end);
    const labels = Object.entries(opts.labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
    if (labels.length) {
      const text = 'LABEL ' + labels.map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' ');
      plan.push(parseInstruction(text, plan[plan.length - 1]!.line));
    }
    return plan;
  }

  cleanup(): void {
    rmSync(this.contextDir, { recursive: true, force: true });
  }

  /** Runs every step; returns the final image id. Messages go to `out` (Docker's JSON stream). */
  async run(out: (m: BuildMessage) => void, signal?: AbortSignal): Promise<string> {
    this.out = this.opts.quiet ? () => undefined : out;
    this.signal = signal;
    this.total = this.plan.length;
    let final: ImageRecord | undefined;
    try {
      for (const ins of this.plan) {
        if (signal?.aborted) throw new Error('build cancelled');
        this.step++;
        this.say(`Step ${this.step}/${this.total} : ${ins.original}\n`);
        await this.dispatch(ins);
      }
      const last = this.stages[this.stages.length - 1];
      if (!last) throw invalidArgument('no build stage in current context');
      final = last.image;
      const unused = Object.keys(this.opts.buildArgs ?? {}).filter((k) => !this.usedArgs.has(k) && !PREDEFINED_ARGS.has(k)).sort();
      if (unused.length) this.say(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
      out({ aux: { ID: final.id } });
      this.say(`Successfully built ${shortId(final.id)}\n`);
      for (const t of this.opts.tags ?? []) {
        this.images.tag(final.id, t);
        this.say(`Successfully tagged ${familiarString(withDefaultTag(parseReference(t)))}\n`);
      }
      if (this.opts.quiet) out({ stream: `${final.id}\n` });
      return final.id;
    } finally {
      await this.dropIntermediates(final?.id);
    }
  }

  private say(text: string): void { this.out({ stream: text }); }

  /** Intermediate images are not kept (there is no build cache yet), except the result and those a kept container uses. */
  private async dropIntermediates(keep: string | undefined): Promise<void> {
    // With a cache the step images are the cache (untagged ones that have children are hidden from `docker images`, as Docker does).
    if (this.d.cache) return;
    for (const id of [...this.intermediate].reverse()) {
      if (id === keep) continue;
      if (this.images.tryGet(id)?.repoTags.length) continue;
      await this.images.remove(id, { force: true, isInUse: (x) => this.containers.imageInUse(x) }).catch(() => undefined);
    }
  }

  private get stage(): Stage {
    const s = this.stages[this.stages.length - 1];
    if (!s) throw invalidArgument('no build stage in current context');
    return s;
  }

  /** The variables an instruction expands with: the stage's ARGs, overridden by its ENV. */
  private env(): Env {
    const m = new Map<string, string>();
    for (const [k, v] of this.stage.args) if (v !== undefined) m.set(k, v);
    for (const e of this.stage.config.Env ?? []) {
      const eq = e.indexOf('=');
      if (eq > 0) m.set(e.slice(0, eq), e.slice(eq + 1));
    }
    return m;
  }

  private expand(s: string): string { return expandWord(s, this.env(), this.file.escape); }

  private async dispatch(ins: Instruction): Promise<void> {
    if (ins.cmd === 'FROM') return this.from(ins);
    if (ins.cmd === 'ARG' && this.stages.length === 0) {
      for (const [k, v] of nameValues(ins, this.file.escape)) {
        const name = expandWord(k, new Map(), this.file.escape);
        const given = this.opts.buildArgs?.[name];
        this.globalArgs.set(name, given ?? (v === undefined ? undefined : expandWord(v, this.globalEnv(), this.file.escape)));
        if (given !== undefined) this.usedArgs.add(name);
      }
      return;
    }
    switch (ins.cmd) {
      case 'RUN': return this.runStep(ins);
      case 'COPY': case 'ADD': return this.copyStep(ins);
      default: return this.configStep(ins);
    }
  }

  private globalEnv(): Env {
    const m = new Map<string, string>();
    for (const [k, v] of this.globalArgs) if (v !== undefined) m.set(k, v);
    return m;
  }

  private async from(ins: Instruction): Promise<void> {
    const words = expandWords(ins.rest, this.globalEnv(), this.file.escape);
    const ref = words[0]!;
    const name = words.length === 3 ? words[2]!.toLowerCase() : undefined;
    let base: ImageRecord;
    const prior = this.stages.find((s) => s.name !== undefined && s.name === ref.toLowerCase());
    if (prior) base = prior.image;
    else if (ref.toLowerCase() === 'scratch') base = await this.scratch();
    else base = await this.baseImage(ref);
    if (ref.toLowerCase() !== 'scratch') this.say(` ---> ${shortId(base.id)}\n`);
    const stage: Stage = { name, image: base, config: structuredClone(base.config.config ?? {}), args: new Map(), cmdSet: false };
    this.stages.push(stage);
    const triggers = stage.config.OnBuild ?? [];
    if (triggers.length) {
      // The triggers run now, once; the new image does not inherit them.
      stage.config.OnBuild = null;
      this.say(`# Executing ${triggers.length} build trigger${triggers.length === 1 ? '' : 's'}\n`);
      for (const t of triggers) await this.dispatch(parseInstruction(t, ins.line));
    }
  }

  private async baseImage(ref: string): Promise<ImageRecord> {
    const found = this.images.tryGet(ref);
    if (found) return found;
    if (!this.d.pull) throw notFound(`No such image: ${ref}`);
    await this.d.pull(ref, (m) => this.out(m));
    return this.images.get(ref);
  }

  /** `FROM scratch`: an image with no layers, recorded so containers can be made from it. */
  private async scratch(): Promise<ImageRecord> {
    const img = await this.images.commit({
      config: { architecture: goArch(), os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] },
      layers: [],
    });
    this.intermediate.add(img.id);
    return img;
  }

  // ---------------------------------------------------------------- containers

  /** Creates the step's container on the current image; `cmd` is what it runs (or a #(nop) comment). */
  private async createContainer(image: ImageRecord, cmd: string[], env: string[] = []): Promise<string> {
    const { Id } = await this.containers.create({
      Image: image.id, Cmd: cmd, Entrypoint: [''], Env: env, Labels: {},
      HostConfig: { ...(this.opts.hostConfig ?? {}), NetworkMode: this.opts.networkMode || 'default' },
    }, {});
    return Id;
  }

  private async removeContainer(id: string): Promise<void> {
    await this.containers.remove(id, { force: true, volumes: true });
  }

  private async withMountedRoot<T>(id: string, fn: (rootfs: string) => Promise<T>): Promise<T> {
    const rec = this.containers.get(id);
    const dir = this.containers.dir(id);
    const target = join(dir, 'rootfs');
    await this.d.rootfs.mount({ lowerDirs: rec.LayerDirs, upperDir: join(dir, 'upper'), workDir: join(dir, 'work'), target });
    try {
      return await fn(target);
    } finally {
      await this.d.rootfs.unmount(target);
    }
  }

  /** Records the step's image and makes it the stage's current one. */
  private async commit(createdBy: string, upperFrom?: string): Promise<void> {
    const s = this.stage;
    const img = await commitImage(this.images, {
      parent: s.image, upperDir: upperFrom ? join(this.containers.dir(upperFrom), 'upper') : undefined,
      config: s.config, history: { created_by: createdBy }, author: s.author,
    });
    this.intermediate.add(img.id);
    s.image = img;
  }

  /** The key of the current step on the stage's image: the instruction, the ARGs in scope, and `extra`. */
  private key(ins: Instruction, extra: unknown): string {
    return cacheKey([this.stage.image.id, ins.cmd, ins.original, [...this.stage.args], extra]);
  }

  /** On a cache hit the step's earlier image becomes the stage's, and Docker's "Using cache" is shown. */
  private useCache(key: string): boolean {
    if (!this.d.cache || this.opts.noCache) return false;
    const id = this.d.cache.get(key);
    const img = id ? this.images.tryGet(id) : undefined;
    if (!img) return false;
    this.stage.image = img;
    this.stage.config = structuredClone(img.config.config ?? {});
    this.intermediate.add(img.id);
    this.say(' ---> Using cache\n');
    this.say(` ---> ${shortId(img.id)}\n`);
    return true;
  }

  private remember(key: string, parentId: string): void {
    this.d.cache?.put(key, this.stage.image.id, parentId);
  }

  private shell(): string[] { return this.stage.config.Shell?.length ? this.stage.config.Shell : DEFAULT_SHELL; }

  // ---------------------------------------------------------------- steps

  /** ARG values in scope for RUN, as environment (ENV of the same name wins). */
  private argEnv(): string[] {
    const envNames = new Set((this.stage.config.Env ?? []).map((e) => e.split('=')[0]));
    const out: string[] = [];
    for (const [k, v] of this.stage.args) if (v !== undefined && !envNames.has(k)) out.push(`${k}=${v}`);
    return out;
  }

  private async runStep(ins: Instruction): Promise<void> {
    const s = this.stage;
    const cmd = ins.json ?? [...this.shell(), ins.rest];
    const argEnv = this.argEnv();
    const key = this.key(ins, { cmd, argEnv });
    if (this.useCache(key)) return;
    const parentId = s.image.id;
    const id = await this.createContainer(s.image, cmd, argEnv);
    this.say(` ---> Running in ${shortId(id)}\n`);
    let code: number;
    try {
      code = await this.runAttached(id);
    } catch (err) {
      if (this.opts.forceRm || this.signal?.aborted) await this.removeContainer(id).catch(() => undefined);
      throw err;
    }
    if (code !== 0) {
      if (this.opts.forceRm) await this.removeContainer(id).catch(() => undefined);
      throw new StepError(`The command '${cmd.join(' ')}' returned a non-zero code: ${code}`, code);
    }
    // Docker records the build args a RUN saw: "|1 A=b /bin/sh -c …".
    const createdBy = (argEnv.length ? `|${argEnv.length} ${argEnv.join(' ')} ` : '') + cmd.join(' ');
    await this.finishContainerStep(id, createdBy, true, () => this.remember(key, parentId));
  }

  private async finishContainerStep(id: string, createdBy: string, withLayer: boolean, committed: () => void): Promise<void> {
    const rm = this.opts.rm !== false || !!this.opts.forceRm;
    try {
      await this.commit(createdBy, withLayer ? id : undefined);
      committed();
    } catch (err) {
      if (this.opts.forceRm) await this.removeContainer(id).catch(() => undefined);
      throw err;
    }
    if (rm) {
      await this.removeContainer(id);
      // Printed before the new id, as Docker does.
      this.say(` ---> Removed intermediate container ${shortId(id)}\n`);
    }
    this.say(` ---> ${shortId(this.stage.image.id)}\n`);
  }

  /** Starts a created container with its output streamed as build output; returns its exit code. */
  private async runAttached(id: string): Promise<number> {
    const decoders = { 1: new StringDecoder('utf8'), 2: new StringDecoder('utf8') };
    let ended!: () => void;
    const outputDone = new Promise<void>((r) => { ended = r; });
    await this.containers.attach(id, {
      stdinOnce: false,
      onData: (stream, chunk) => {
        const text = decoders[stream].write(chunk);
        if (text) this.say(text);
      },
      onEnd: () => ended(),
    });
    const exited = this.containers.wait(id, 'next-exit');
    await this.containers.start(id);
    // A client that goes away cancels the build: the running step is killed (and removed below).
    const cancel = () => { void this.containers.kill(id, 'SIGKILL').catch(() => undefined); };
    this.signal?.addEventListener('abort', cancel, { once: true });
    if (this.signal?.aborted) cancel();
    let StatusCode: number;
    try {
      ({ StatusCode } = await exited);
    } finally {
      this.signal?.removeEventListener('abort', cancel);
    }
    if (this.signal?.aborted) throw new Error('build cancelled');
    // Output may trail the exit a little; don't wait forever for it.
    await Promise.race([outputDone, new Promise((r) => setTimeout(r, 2000).unref())]);
    for (const dec of Object.values(decoders)) { const rest = dec.end(); if (rest) this.say(rest); }
    return StatusCode;
  }

  private async copyStep(ins: Instruction): Promise<void> {
    const s = this.stage;
    const env = this.env();
    const words = ins.json ? ins.json.map((w) => expandWord(w, env, this.file.escape)) : expandWords(ins.rest, env, this.file.escape);
    const dest = words.pop()!;
    const sources = words;
    if (ins.cmd === 'ADD') {
      const url = sources.find((x) => /^[a-z]+:\/\//i.test(x));
      if (url) throw invalidArgument(`ADD failed: fetching ${url} is not supported: berth's builder does not download URLs; put the file in the build context and COPY it`);
    }
    const from = ins.flags.get('from');
    const chown = ins.flags.get('chown');
    const chmod = ins.flags.get('chmod');
    let mode: number | undefined;
    if (chmod !== undefined) {
      if (!/^[0-7]{3,4}$/.test(chmod)) throw invalidArgument(`invalid chmod parameter: ${chmod}`);
      mode = parseInt(chmod, 8);
    }
    let contentKey: string;
    if (from) contentKey = `from:${(await this.fromSource(this.expand(from))).id}`;
    else {
      // What the sources hold now (a missing one fails later, with Docker's message).
      const found = sources.flatMap((x) => matchSources(this.contextDir, x)).map((rel) => resolveInRoot(this.contextDir, rel));
      contentKey = contentDigest(found);
    }
    const key = this.key(ins, { sources, dest, chown, chmod, contentKey });
    if (this.useCache(key)) return;
    const parentId = s.image.id;
    const id = await this.createContainer(s.image, [...this.shell(), `#(nop) ${ins.original}`]);
    try {
      await this.withMountedRoot(id, async (rootfs) => {
        let owner = { uid: 0, gid: 0 };
        if (chown) {
          const u = resolveUser(rootfs, this.expand(chown));
          owner = { uid: u.uid, gid: u.gid };
        }
        const copy = (srcRoot: string, fromContext: boolean) => copyInto(rootfs, srcRoot, sources, dest, s.config.WorkingDir || '/', {
          cmd: ins.cmd, extract: ins.cmd === 'ADD' && !from, mode, fromContext, ...owner,
        });
        if (!from) return copy(this.contextDir, true);
        const src = await this.fromSource(this.expand(from));
        const srcId = await this.createContainer(src, ['#(nop)']);
        try {
          await this.withMountedRoot(srcId, (srcRoot) => copy(srcRoot, false));
        } finally {
          await this.removeContainer(srcId).catch(() => undefined);
        }
      });
      await this.commit(`/bin/sh -c #(nop) ${ins.cmd} ${sources.join(' ')} in ${dest} `, id);
      this.remember(key, parentId);
    } finally {
      await this.removeContainer(id).catch(() => undefined);
    }
    this.say(` ---> ${shortId(s.image.id)}\n`);
  }

  /** COPY --from: a stage by name or index, else an image. */
  private async fromSource(from: string): Promise<ImageRecord> {
    const byName = this.stages.slice(0, -1).find((x) => x.name === from.toLowerCase());
    if (byName) return byName.image;
    if (/^\d+$/.test(from)) {
      const idx = Number(from);
      if (idx >= this.stages.length - 1) throw invalidArgument(`invalid from flag value ${from}: refers to current build stage`);
      return this.stages[idx]!.image;
    }
    return this.baseImage(from);
  }

  private async configStep(ins: Instruction): Promise<void> {
    const s = this.stage;
    const c = s.config;
    const env = this.env();
    const esc = this.file.escape;
    const exp = (w: string) => expandWord(w, env, esc);
    switch (ins.cmd) {
      case 'CMD':
        c.Cmd = ins.json ?? [...this.shell(), ins.rest];
        s.cmdSet = true;
        break;
      case 'ENTRYPOINT':
        c.Entrypoint = ins.json ?? [...this.shell(), ins.rest];
        // An inherited CMD does not apply to a new ENTRYPOINT.
        if (!s.cmdSet) c.Cmd = null;
        break;
      case 'ENV': {
        const list = [...(c.Env ?? [])];
        for (const [k, v] of nameValues(ins, esc)) {
          const name = exp(k);
          const value = exp(v ?? '');
          const i = list.findIndex((e) => e.split('=')[0] === name);
          if (i >= 0) list[i] = `${name}=${value}`; else list.push(`${name}=${value}`);
        }
        c.Env = list;
        break;
      }
      case 'ARG':
        for (const [k, v] of nameValues(ins, esc)) {
          const name = exp(k);
          const given = this.opts.buildArgs?.[name];
          let value: string | undefined;
          if (given !== undefined && given !== null) { value = given; this.usedArgs.add(name); }
          else if (v !== undefined) value = exp(v);
          else if (this.globalArgs.has(name)) value = this.globalArgs.get(name);
          if (given === null && this.opts.buildArgs && name in this.opts.buildArgs) this.usedArgs.add(name);
          s.args.set(name, value);
        }
        break;
      case 'LABEL':
        c.Labels = { ...(c.Labels ?? {}) };
        for (const [k, v] of nameValues(ins, esc)) c.Labels[exp(k)] = exp(v ?? '');
        break;
      case 'EXPOSE': {
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const w of expandWords(ins.rest, env, esc)) {
          const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(w);
          if (!m) throw invalidArgument(`invalid containerPort: ${w}`);
          const lo = Number(m[1]);
          const hi = m[2] ? Number(m[2]) : lo;
          if (lo < 1 || hi > 65535 || hi < lo) throw invalidArgument(`invalid containerPort: ${w}`);
          for (let p = lo; p <= hi; p++) c.ExposedPorts[`${p}/${(m[3] ?? 'tcp').toLowerCase()}`] = {};
        }
        break;
      }
      case 'WORKDIR':
        c.WorkingDir = posix.resolve(c.WorkingDir || '/', exp(ins.rest));
        break;
      case 'USER':
        c.User = exp(ins.rest);
        break;
      case 'VOLUME': {
        const vols = ins.json ? ins.json.map(exp) : expandWords(ins.rest, env, esc);
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const v of vols) {
          if (v.trim() === '') throw invalidArgument('VOLUME specified can not be an empty string');
          c.Volumes[v] = {};
        }
        break;
      }
      case 'STOPSIGNAL':
        c.StopSignal = exp(ins.rest);
        break;
      case 'SHELL':
        c.Shell = ins.json!;
        break;
      case 'ONBUILD':
        c.OnBuild = [...(c.OnBuild ?? []), ins.rest];
        break;
      case 'MAINTAINER':
        s.author = ins.rest;
        break;
      case 'HEALTHCHECK':
        c.Healthcheck = healthcheck(ins);
        break;
      default:
        throw parseError(ins.line, `unknown instruction: ${ins.cmd}`);
    }
    const key = this.key(ins, { config: c, author: s.author ?? null });
    if (this.useCache(key)) return;
    const parentId = s.image.id;
    // As Docker's classic builder: a container carries the step, then the config is committed.
    const createdBy = [...this.shell(), `#(nop)  ${ins.original}`].join(' ');
    const id = await this.createContainer(s.image, [...this.shell(), `#(nop)  ${ins.original}`]);
    this.say(` ---> Running in ${shortId(id)}\n`);
    let withLayer = false;
    if (ins.cmd === 'WORKDIR') {
      // As Docker, WORKDIR makes its directory (root's, 0755) in the image; a layer only when it was missing.
      const dir = c.WorkingDir!;
      await this.withMountedRoot(id, async (rootfs) => {
        const host = resolveInRoot(rootfs, dir);
        try {
          if (!statSync(host).isDirectory()) throw invalidArgument(`mkdir ${dir}: not a directory`);
        } catch (err) {
          if (!hasCode(err, 'ENOENT')) throw err;
          mkdirSync(host, { recursive: true, mode: 0o755 });
          withLayer = true;
        }
      }).catch(async (err) => {
        if (this.opts.forceRm) await this.removeContainer(id).catch(() => undefined);
        throw err;
      });
    }
    await this.finishContainerStep(id, createdBy, withLayer, () => this.remember(key, parentId));
  }
}

const PREDEFINED_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);

function stageName(ins: Instruction): string | undefined {
  const w = ins.rest.split(/\s+/);
  return w.length === 3 && w[1]!.toLowerCase() === 'as' ? w[2]!.toLowerCase() : undefined;
}

/** Checks what Docker checks when it parses (these are 400s before any step runs). */
function validate(ins: Instruction, escape: string): void {
  const none = ins.rest === '';
  const need = (n: string) => { if (none) throw parseError(ins.line, `${ins.cmd} requires ${n}`); };
  switch (ins.cmd) {
    case 'FROM': {
      need('at least one argument');
      const w = ins.rest.split(/\s+/);
      if (w.length === 2 || w.length > 3 || (w.length === 3 && w[1]!.toLowerCase() !== 'as')) throw parseError(ins.line, 'FROM requires either one or three arguments');
      if (w.length === 3 && !/^[a-z][a-z0-9-_.]*$/.test(w[2]!.toLowerCase())) throw parseError(ins.line, `invalid name for build stage: "${w[2]}", name can't start with a number or contain symbols`);
      break;
    }
    case 'COPY': case 'ADD': {
      const n = ins.json ? ins.json.length : ins.rest.split(/\s+/).filter(Boolean).length;
      if (n < 2) throw parseError(ins.line, `${ins.cmd} requires at least two arguments, but only one was provided. Destination could not be determined.`);
      for (const f of ins.flags.keys()) {
        if (!['from', 'chown', 'chmod', 'link'].includes(f) || (f === 'from' && ins.cmd === 'ADD')) throw parseError(ins.line, `unknown flag: ${f}`);
      }
      break;
    }
    case 'RUN':
      need('at least one argument');
      for (const f of ins.flags.keys()) throw parseError(ins.line, `unknown flag: ${f}`);
      break;
    case 'ENV': case 'LABEL': case 'ARG':
      nameValues(ins, escape);
      break;
    case 'SHELL':
      if (!ins.json) throw parseError(ins.line, 'SHELL requires the arguments to be in JSON form');
      if (ins.json.length === 0) throw parseError(ins.line, 'SHELL requires at least one argument');
      break;
    case 'ONBUILD': {
      need('at least one argument');
      const trigger = ins.rest.split(/\s+/)[0]!.toUpperCase();
      if (trigger === 'ONBUILD') throw parseError(ins.line, 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (trigger === 'FROM' || trigger === 'MAINTAINER') throw parseError(ins.line, `${trigger} isn't allowed as an ONBUILD trigger`);
      parseInstruction(ins.rest, ins.line);
      break;
    }
    case 'HEALTHCHECK':
      healthcheck(ins);
      break;
    case 'CMD': case 'ENTRYPOINT':
      break;
    case 'WORKDIR': case 'USER': case 'STOPSIGNAL': case 'EXPOSE': case 'VOLUME': case 'MAINTAINER':
      need(ins.cmd === 'EXPOSE' || ins.cmd === 'VOLUME' ? 'at least one argument' : 'exactly one argument');
      break;
  }
}

function healthcheck(ins: Instruction): HealthConfig {
  const first = ins.rest.split(/\s+/)[0]!.toUpperCase();
  if (first === 'NONE') {
    if (ins.rest.trim().split(/\s+/).length > 1) throw parseError(ins.line, 'HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (first !== 'CMD') throw parseError(ins.line, `Unknown type "${first}" in HEALTHCHECK (try CMD)`);
  const body = ins.rest.replace(/^\S+\s*/, '');
  if (!body) throw parseError(ins.line, 'Missing command after HEALTHCHECK CMD');
  const h: HealthConfig = {};
  const json = body.startsWith('[') ? (() => { try { const v = JSON.parse(body); return Array.isArray(v) ? v as string[] : undefined; } catch { return undefined; } })() : undefined;
  h.Test = json ? ['CMD', ...json] : ['CMD-SHELL', body];
  for (const [k, v] of ins.flags) {
    if (k === 'interval') h.Interval = parseDuration(v, k);
    else if (k === 'timeout') h.Timeout = parseDuration(v, k);
    else if (k === 'start-period') h.StartPeriod = parseDuration(v, k);
    else if (k === 'start-interval') h.StartInterval = parseDuration(v, k);
    else if (k === 'retries') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw parseError(ins.line, `invalid --retries value: ${v}`);
      h.Retries = n;
    } else throw parseError(ins.line, `unknown flag: ${k}`);
  }
  return h;
}

function goArch(): string {
  const a = process.arch;
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}
