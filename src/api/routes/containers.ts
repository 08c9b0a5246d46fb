// /containers/* and /exec/*: thin handlers over the container service.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { invalidArgument, conflict, notFound, notImplemented, errorKind, type Logger } from '../../util/index.js';
import {
  type ContainerService, type ContainerRecord, type AttachSession, inspectView, listView, healthFilterValue, HEALTH_FILTER_VALUES,
} from '../../containers/index.js';
import { atoi, type Router, type Ctx } from '../server.js';
import { frame } from '../stdcopy.js';
import { parseFilters, matchLabels, boolFilter, type Filters } from '../filters.js';

const execFileP = promisify(execFile);

export interface LogRecordLike { stream: 'stdout' | 'stderr'; timeNano: string; line: Buffer }

export interface ContainersBackend {
  containers: ContainerService;
  log: Logger;
  endpoints(id: string): Record<string, any>;
  /** The container's network namespace as a path (inspect's NetworkSettings.SandboxKey), or ''. */
  sandboxKey?(rec: ContainerRecord): string;
  readLogs(path: string, opts: { stdout: boolean; stderr: boolean; since?: number; until?: number; tail?: number | 'all'; follow?: boolean; signal?: AbortSignal; isRunning?: () => boolean; rotated?: string[] }): AsyncIterable<LogRecordLike>;
  parseTime(s: string): number;
  stats(id: string, prev?: unknown): Promise<Record<string, any>>;
  topPids(id: string): Promise<number[]>;
  imageMatches(ancestor: string, rec: ContainerRecord): boolean;
  diskUsage?(id: string): Promise<{ rw: number; rootfs: number }>;
  /** The daemon's event sink (for events not about one container, like prune's). */
  events?(type: string, action: string, id: string, attrs?: Record<string, string>): void;
}

const CONTAINER_STATES = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];
const CONTAINER_FILTERS = ['id', 'name', 'status', 'label', 'ancestor', 'exited', 'before', 'since', 'volume', 'network', 'health', 'is-task', 'publish', 'expose'];

function streamType(ctx: Ctx, tty: boolean): string {
  return !tty && ctx.versionAtLeast('1.42') ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream';
}

/** Docker's detach sequence watcher (default ctrl-p,ctrl-q). */
export function parseDetachKeys(spec: string | null | undefined): number[] {
  const s = spec || 'ctrl-p,ctrl-q';
  return s.split(',').map((k) => {
    const key = k.trim();
    if (/^ctrl-[a-z@\[\\\]^_]$/i.test(key)) {
      const c = key[5]!.toLowerCase();
      if (c >= 'a' && c <= 'z') return c.charCodeAt(0) - 96;
      return { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, '_': 31 }[c]!;
    }
    if (key.length === 1) return key.charCodeAt(0);
    throw invalidArgument(`Invalid detach keys (${spec}) provided`);
  });
}

export function filterContainers(list: ContainerRecord[], f: Filters, be: ContainersBackend): ContainerRecord[] {
  // before=/since= take a full id or a name (moby's idOrNameFilter), and an unknown one is a 404.
  const all = be.containers.list();
  const byRef = (ref: string) => {
    const c = all.find((r) => r.Id === ref) ?? all.find((r) => r.Name === ref.replace(/^\//, ''));
    if (!c) throw notFound(`No such container: ${ref}`);
    return c;
  };
  const isTask = boolFilter(f, 'is-task');
  for (const e of f.exited ?? []) if (!/^[+-]?\d+$/.test(e)) throw invalidArgument(`invalid filter 'exited=${e}': strconv.Atoi: parsing ${JSON.stringify(e)}: invalid syntax`);
  const before = f.before?.length ? byRef(f.before[f.before.length - 1]!) : undefined;
  const since = f.since?.length ? byRef(f.since[f.since.length - 1]!) : undefined;
  // dockerd 28's words for a bad status= / health= value.
  for (const h of f.health ?? []) if (!HEALTH_FILTER_VALUES.includes(h)) throw invalidArgument(`invalid filter 'health=${h}': invalid value for health (${h}): must be one of none, starting, healthy, unhealthy`);
  for (const st of f.status ?? []) if (!CONTAINER_STATES.includes(st)) throw invalidArgument(`invalid filter 'status=${st}': invalid value for state (${st}): must be one of ${CONTAINER_STATES.join(', ')}`);
  return list.filter((r) => {
    if (f.id && !f.id.some((v) => r.Id.startsWith(v))) return false;
    if (f.name && !f.name.some((v) => { try { return new RegExp(v.replace(/^\//, '')).test(r.Name); } catch { return r.Name.includes(v); } })) return false;
    if (f.status && !f.status.includes(r.State.Status)) return false;
    if (f.exited && !(r.State.Status === 'exited' && f.exited.some((e) => Number(e) === r.State.ExitCode))) return false;
    if (!matchLabels(f.label, r.Config.Labels)) return false;
    if (f.ancestor && !f.ancestor.some((a) => be.imageMatches(a, r))) return false;
    if (before && !(r.Created < before.Created)) return false;
    if (since && !(r.Created > since.Created)) return false;
    // volume= is a volume's name, a bind's source or any mount's destination (moby daemon/list.go).
    if (f.volume && !f.volume.some((v) => r.Mounts.some((m) => (m.Name ? m.Name === v : m.Source === v) || m.Destination === v))) return false;
    // network= is a network name or a prefix of its id (moby daemon/list.go).
    if (f.network && !f.network.some((n) => Object.entries(be.endpoints(r.Id)).some(([name, ep]) => name === n || (typeof ep?.NetworkID === 'string' && ep.NetworkID.startsWith(n))) || r.HostConfig.NetworkMode === n)) return false;
    if (isTask === true) return false;
    if (f.health && !f.health.includes(healthFilterValue(r))) return false;
    // publish matches the container ports bound in HostConfig, expose the ones in Config (moby daemon/list.go).
    if (f.publish && !portSpecs('publish', f.publish).some((p) => Object.hasOwn(r.HostConfig.PortBindings ?? {}, p))) return false;
    if (f.expose && !portSpecs('expose', f.expose).some((p) => Object.hasOwn(r.Config.ExposedPorts ?? {}, p))) return false;
    return true;
  });
}

/**
 * `docker logs --details`: the extra attributes the log driver records (log-opt labels, labels-regex,
 * env, env-regex), as dockerd prints them before each line: k=v pairs sorted by key, query-escaped,
 * comma-separated (empty when there are none, so each line then starts with a space).
 */
export function logDetails(rec: ContainerRecord): string {
  const opts: Record<string, string> = (rec.HostConfig.LogConfig?.Config ?? {}) as Record<string, string>;
  const attrs: Record<string, string> = {};
  const labels: Record<string, string> = rec.Config.Labels ?? {};
  const env = new Map<string, string>((rec.Config.Env ?? []).map((e: string) => { const i = e.indexOf('='); return i < 0 ? [e, ''] as const : [e.slice(0, i), e.slice(i + 1)] as const; }));
  const list = (k: string) => (opts[k] ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  const re = (k: string) => { try { return opts[k] ? new RegExp(opts[k]!) : undefined; } catch { return undefined; } };
  for (const k of list('labels')) if (k in labels) attrs[k] = labels[k]!;
  const lr = re('labels-regex');
  if (lr) for (const [k, v] of Object.entries(labels)) if (lr.test(k)) attrs[k] = v;
  for (const k of list('env')) if (env.has(k) && env.get(k) !== '') attrs[k] = env.get(k)!;
  const er = re('env-regex');
  if (er) for (const [k, v] of env) if (v !== '' && er.test(k)) attrs[k] = v;
  // Go's url.QueryEscape: only A-Z a-z 0-9 - _ . ~ stay, a space is '+'.
  const esc = (x: string) => encodeURIComponent(x).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');
  return Object.keys(attrs).sort().map((k) => `${esc(k)}=${esc(attrs[k]!)}`).join(',');
}

/** Filter values like 80, 8080/udp or 8000-8090/tcp as "port/proto" keys (tcp when unsaid). */
function portSpecs(name: string, values: string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(v.trim());
    const lo = m ? Number(m[1]) : NaN;
    const hi = m?.[2] ? Number(m[2]) : lo;
    if (!m || lo < 1 || hi > 65535 || hi < lo || hi - lo > 65535) throw invalidArgument(`invalid filter '${name}=${v}'`);
    for (let p = lo; p <= hi; p++) out.push(`${p}/${m[3] ?? 'tcp'}`);
  }
  return out;
}

/**
 * h= and w= of a resize: both required, as dockerd's strconv.Atoi of an absent value fails. A terminal's
 * size is an unsigned short (struct winsize): a negative or larger value would wrap in the ioctl, so it
 * is refused here rather than handed to the runtime.
 */
function ttySize(ctx: Ctx): [number, number] {
  const dim = (name: string) => {
    const n = ctx.qint(name) ?? atoi(ctx.query.get(name) ?? '');
    if (n < 0 || n > 65535) throw invalidArgument(`invalid ${name === 'h' ? 'height' : 'width'} ${n}: must be between 0 and 65535`);
    return n;
  };
  return [dim('h'), dim('w')];
}

export function containerRoutes(r: Router, be: ContainersBackend): void {
  const svc = be.containers;

  r.get('/containers/json', async (ctx) => {
    const filters = parseFilters(ctx.query.get('filters'), CONTAINER_FILTERS);
    const all = ctx.qbool('all');
    let list = svc.list();
    const limit = ctx.qint('limit', -1)!;
    // Like dockerd, a limit (docker ps -n N / -l) lists stopped containers too.
    // status= implies -a in dockerd; exited= does not (docker ps --filter exited=0 alone lists nothing).
    if (!all && limit <= 0 && !filters.status) list = list.filter((c) => c.State.Status === 'running' || c.State.Status === 'paused' || c.State.Status === 'restarting');
    list = filterContainers(list, filters, be);
    if (limit > 0) list = list.slice(0, limit);
    const now = Date.now();
    const views = list.map((c) => listView(c, be.endpoints(c.Id), now));
    // ?size=1 (docker ps --size): SizeRw and SizeRootFs per container.
    if (ctx.qbool('size') && be.diskUsage) {
      await Promise.all(views.map(async (v: Record<string, any>) => {
        const u = await be.diskUsage!(v.Id).catch(() => ({ rw: 0, rootfs: 0 }));
        v.SizeRw = u.rw; v.SizeRootFs = u.rootfs;
      }));
    }
    ctx.json(200, views);
  });

  r.post('/containers/create', async (ctx) => {
    const body = await ctx.body();
    const name = ctx.query.get('name') ?? undefined;
    const res = await svc.create(body, { name });
    ctx.json(201, res);
  });

  r.get('/containers/{id}/json', async (ctx) => {
    const rec = svc.get(ctx.params.id!);
    const execIds = [...svc.execs.values()].filter((e) => e.ContainerID === rec.Id && (e.Running || e.ExitCode === null)).map((e) => e.ID);
    const size = ctx.qbool('size') && be.diskUsage ? await be.diskUsage(rec.Id) : undefined;
    ctx.json(200, inspectView(rec, { endpoints: be.endpoints(rec.Id), execIds, dir: svc.dir(rec.Id), size, sandboxKey: be.sandboxKey?.(rec) }));
  });

  r.post('/containers/{id}/start', async (ctx) => {
    if (ctx.query.get('detachKeys')) parseDetachKeys(ctx.query.get('detachKeys'));
    try {
      await svc.start(ctx.params.id!);
    } catch (err) {
      if ((err as { kind?: string }).kind === 'NotModified') { ctx.res.writeHead(304); ctx.res.end(); return; }
      throw err;
    }
    ctx.noContent();
  });

  r.post('/containers/{id}/stop', async (ctx) => {
    // t= is strconv.Atoi'd before anything happens (`t=abc`, `t=1.5` are refused, nothing is stopped).
    const timeout = ctx.query.get('t') ? ctx.qint('t') : ctx.qint('timeout');
    try {
      await svc.stop(ctx.params.id!, { timeout, signal: ctx.query.get('signal') ?? undefined });
    } catch (err) {
      if ((err as { kind?: string }).kind === 'NotModified') { ctx.res.writeHead(304); ctx.res.end(); return; }
      throw err;
    }
    ctx.noContent();
  });

  r.post('/containers/{id}/restart', async (ctx) => {
    await svc.restart(ctx.params.id!, { timeout: ctx.qint('t'), signal: ctx.query.get('signal') ?? undefined });
    ctx.noContent();
  });

  r.post('/containers/{id}/kill', async (ctx) => {
    await svc.kill(ctx.params.id!, ctx.query.get('signal') || undefined);
    ctx.noContent();
  });

  r.post('/containers/{id}/pause', async (ctx) => { await svc.pause(ctx.params.id!); ctx.noContent(); });
  r.post('/containers/{id}/unpause', async (ctx) => { await svc.unpause(ctx.params.id!); ctx.noContent(); });

  r.post('/containers/{id}/update', async (ctx) => { ctx.json(200, await svc.update(ctx.params.id!, (await ctx.body({ optional: true })) ?? {})); });

  r.post('/containers/{id}/rename', (ctx) => { svc.rename(ctx.params.id!, ctx.query.get('name') ?? ''); ctx.noContent(); });

  r.post('/containers/{id}/resize', async (ctx) => {
    const [h, w] = ttySize(ctx);
    await svc.resize(ctx.params.id!, h, w);
    ctx.res.writeHead(200, { 'Content-Type': 'text/plain' });
    ctx.res.end();
  });

  r.delete('/containers/{id}', async (ctx) => {
    await svc.remove(ctx.params.id!, { force: ctx.qbool('force'), volumes: ctx.qbool('v') });
    ctx.noContent();
  });

  r.post('/containers/{id}/wait', async (ctx) => {
    const rec = svc.get(ctx.params.id!);
    const condition = (ctx.query.get('condition') || 'not-running') as 'not-running' | 'next-exit' | 'removed';
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw invalidArgument(`invalid condition: "${condition}"`);
    const result = svc.wait(rec.Id, condition);
    // The Go client blocks until headers arrive: send them now.
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    ctx.res.flushHeaders();
    const res = await result;
    const body = ctx.versionAtLeast('1.30') ? res : { StatusCode: res.StatusCode };
    ctx.res.end(JSON.stringify(body) + '\n');
  });

  r.post('/containers/{id}/attach', async (ctx) => {
    const rec = svc.get(ctx.params.id!);
    const wantStdin = ctx.qbool('stdin');
    const wantStdout = ctx.qbool('stdout');
    const wantStderr = ctx.qbool('stderr');
    const detachKeys = parseDetachKeys(ctx.query.get('detachKeys'));
    if (!ctx.qbool('stream') && !ctx.qbool('logs')) throw invalidArgument('Bad parameters: you must choose at least one stream');
    const tty = !!rec.Config.Tty;
    if (rec.State.Status === 'paused') throw conflict(`You cannot attach to a paused container, unpause it first`);
    const sock = ctx.hijack(streamType(ctx, tty));
    // logs=1 replays what the container already wrote; without stream=1 that is all.
    if (ctx.qbool('logs') && rec.HostConfig.LogConfig?.Type !== 'none') {
      // Give the client a moment to read the 101 headers: docker-py then reads the raw
      // socket, and bytes its HTTP parser buffered together with the headers would be lost.
      await new Promise((r) => setTimeout(r, 50));
      await replayLogs(sock, be, rec, { tty, stdout: wantStdout, stderr: wantStderr });
      if (!ctx.qbool('stream')) { sock.end(); be.events?.('container', 'attach', rec.Id, { image: rec.Image, name: rec.Name }); return; }
    }
    be.events?.('container', 'attach', rec.Id, { image: rec.Image, name: rec.Name }); // dockerd logs every attach
    attachSocket(sock, {
      tty, wantStdin: wantStdin && !!rec.Config.OpenStdin, wantStdout, wantStderr, detachKeys, stdinOnce: !!rec.Config.StdinOnce,
      connect: (s) => svc.attach(rec.Id, s),
      onClose: (s) => svc.detachPending(rec.Id, s),
      log: be.log,
    });
  });

  r.get('/containers/{id}/logs', async (ctx) => {
    const rec = svc.get(ctx.params.id!);
    const stdout = ctx.qbool('stdout');
    const stderr = ctx.qbool('stderr');
    if (!stdout && !stderr) throw invalidArgument('Bad parameters: you must choose at least one stream');
    if (rec.HostConfig.LogConfig?.Type === 'none') throw notImplemented('configured logging driver does not support reading');
    const tailRaw = ctx.query.get('tail');
    // dockerd reads anything but a non-negative integer (testcontainers sends tail=-1) as "all".
    const tailNum = tailRaw && /^-?\d+$/.test(tailRaw.trim()) ? Number(tailRaw) : -1;
    const tail = tailNum < 0 ? 'all' : tailNum;
    const since = ctx.query.get('since') ? be.parseTime(ctx.query.get('since')!) : undefined;
    const until = ctx.query.get('until') ? be.parseTime(ctx.query.get('until')!) : undefined;
    const timestamps = ctx.qbool('timestamps');
    const details = ctx.qbool('details') ? Buffer.from(logDetails(rec) + ' ') : undefined;
    const follow = ctx.qbool('follow');
    const tty = !!rec.Config.Tty;
    const ac = new AbortController();
    ctx.req.socket.on('close', () => ac.abort());
    ctx.res.writeHead(200, { 'Content-Type': streamType(ctx, tty) });
    ctx.res.flushHeaders();
    const rotated = await svc.rotatedLogs(rec);
    try {
      for await (const entry of be.readLogs(rec.LogPath, {
        stdout, stderr, since, until, tail, follow, signal: ac.signal, rotated,
        isRunning: () => { const cur = svc.store.find(rec.Id); return !!cur && (cur.State.Status === 'running' || cur.State.Status === 'paused' || cur.State.Status === 'restarting'); },
      })) {
        let data = entry.line;
        if (details) data = Buffer.concat([details, data]);
        if (timestamps) data = Buffer.concat([Buffer.from(entry.timeNano + ' '), data]);
        const ok = ctx.res.write(tty ? data : frame(entry.stream === 'stdout' ? 1 : 2, data));
        if (!ok) await new Promise((r) => ctx.res.once('drain', r));
      }
    } catch (err) {
      if (!ac.signal.aborted && !tty) ctx.res.write(frame(3, Buffer.from(`${(err as Error).message}\n`)));
    }
    ctx.res.end();
  });

  r.get('/containers/{id}/top', async (ctx) => {
    const rec = svc.get(ctx.params.id!);
    if (rec.State.Status !== 'running' && rec.State.Status !== 'paused') throw conflict(`container ${rec.Id} is not running`);
    const pids = new Set(await be.topPids(rec.Id));
    const args = (ctx.query.get('ps_args') || '-ef').split(/\s+/).filter(Boolean);
    const { stdout } = await execFileP('ps', args, { maxBuffer: 16 * 1024 * 1024 }).catch((err) => {
      throw invalidArgument(`Error running ps: ${(err as Error).message}`);
    });
    const lines = stdout.split('\n').filter(Boolean);
    const titles = lines[0]!.trim().split(/\s+/);
    const pidIdx = titles.indexOf('PID');
    if (pidIdx < 0) throw invalidArgument(`Couldn't find PID field in ps output`);
    const processes: string[][] = [];
    for (const line of lines.slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (!pids.has(Number(fields[pidIdx]))) continue;
      const head = fields.slice(0, titles.length - 1);
      head.push(fields.slice(titles.length - 1).join(' '));
      processes.push(head);
    }
    ctx.json(200, { Titles: titles, Processes: processes });
  });

  r.get('/containers/{id}/stats', async (ctx) => {
    const rec = svc.get(ctx.params.id!);
    const stream = ctx.query.get('stream') === null ? true : ctx.qbool('stream');
    const oneShot = ctx.qbool('one-shot');
    if (stream && oneShot) throw invalidArgument('cannot have stream=true and one-shot=true');
    const running = () => { const c = svc.store.find(rec.Id); return !!c && (c.State.Status === 'running' || c.State.Status === 'paused'); };
    const sample = async (prev?: unknown) => (running() ? be.stats(rec.Id, prev) : emptyStats(rec));
    if (!stream) {
      // Without one-shot Docker takes two samples a second apart so CPU % can be computed.
      let s = await sample();
      if (!oneShot && running()) { await new Promise((r) => setTimeout(r, 1000)); s = await sample(s); }
      ctx.json(200, { ...s, name: `/${rec.Name}`, id: rec.Id });
      return;
    }
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    let closed = false;
    ctx.req.socket.on('close', () => { closed = true; });
    let prev: unknown;
    while (!closed) {
      const s = await sample(prev).catch(() => emptyStats(rec));
      ctx.res.write(JSON.stringify({ ...s, name: `/${rec.Name}`, id: rec.Id }) + '\n');
      prev = s;
      if (!running()) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    ctx.res.end();
  });

  r.post('/containers/prune', async (ctx) => {
    const filters = parseFilters(ctx.query.get('filters'), ['until', 'label', 'label!']);
    const deleted: string[] = [];
    let reclaimed = 0;
    const until = filters.until?.[0] ? be.parseTime(filters.until[0]) * 1000 : undefined;
    for (const c of svc.list()) {
      if (c.State.Status === 'running' || c.State.Status === 'paused' || c.State.Status === 'restarting') continue;
      if (until !== undefined && Date.parse(c.Created) >= until) continue;
      if (!matchLabels(filters.label, c.Config.Labels)) continue;
      if (filters['label!'] && !filters['label!'].every((l) => !matchLabels([l], c.Config.Labels))) continue;
      // SpaceReclaimed is the writable layers' size, as dockerd counts it.
      const rw = be.diskUsage ? (await be.diskUsage(c.Id).catch(() => ({ rw: 0 }))).rw : 0;
      // A container that a concurrent start got running, or that another rm took, is not pruned: dockerd
      // skips a container it cannot remove rather than failing the whole prune.
      const skip = await svc.remove(c.Id, {}).then(() => false, (err) => {
        const kind = errorKind(err);
        if (kind === 'Conflict' || kind === 'NotFound') return true;
        throw err;
      });
      if (skip) continue;
      deleted.push(c.Id);
      reclaimed += rw;
    }
    // dockerd ends every prune with a "prune" event carrying what it reclaimed.
    be.events?.('container', 'prune', '', { reclaimed: String(reclaimed) });
    ctx.json(200, { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed });
  });

  // ------------------------------------------------------------ exec

  r.post('/containers/{id}/exec', async (ctx) => {
    const body = await ctx.body();
    ctx.json(201, svc.execCreate(ctx.params.id!, body));
  });

  r.post('/exec/{id}/start', async (ctx) => {
    const e = svc.execGet(ctx.params.id!);
    const body = (await ctx.body({ optional: true })) ?? {};
    if (body.Detach) {
      await svc.execStart(e.ID);
      ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
      ctx.res.end();
      return;
    }
    const tty = body.Tty ?? e.ProcessConfig.tty;
    const sock = ctx.hijack(streamType(ctx, !!tty));
    attachSocket(sock, {
      tty: !!tty, wantStdin: e.OpenStdin, wantStdout: e.OpenStdout || !e.OpenStdin, wantStderr: e.OpenStderr || !e.OpenStdin,
      detachKeys: parseDetachKeys(e.DetachKeys || undefined), stdinOnce: true,
      connect: (s) => svc.execStart(e.ID, s),
      onClose: () => undefined,
      log: be.log,
      onConnectError: (err) => {
        sock.write(tty ? Buffer.from(`${(err as Error).message}\r\n`) : frame(1, Buffer.from(`${(err as Error).message}\n`)));
        e.ExitCode = /executable file not found|no such file/.test((err as Error).message) ? 127 : 126;
      },
    });
  });

  r.post('/exec/{id}/resize', async (ctx) => {
    const [h, w] = ttySize(ctx);
    await svc.execResize(ctx.params.id!, h, w);
    ctx.res.writeHead(200, { 'Content-Type': 'text/plain' });
    ctx.res.end();
  });

  r.get('/exec/{id}/json', (ctx) => {
    const e = svc.execGet(ctx.params.id!);
    ctx.json(200, {
      CanRemove: e.CanRemove, ContainerID: e.ContainerID, DetachKeys: e.DetachKeys, ExitCode: e.ExitCode, ID: e.ID,
      OpenStderr: e.OpenStderr, OpenStdin: e.OpenStdin, OpenStdout: e.OpenStdout, ProcessConfig: e.ProcessConfig,
      Running: e.Running, Pid: e.Pid,
    });
  });
}

/** Write a container's log so far onto an attach connection (framed unless it has a TTY). */
async function replayLogs(sock: Socket, be: ContainersBackend, rec: ContainerRecord, o: { tty: boolean; stdout: boolean; stderr: boolean }): Promise<void> {
  if (!o.stdout && !o.stderr) return;
  const rotated = await be.containers.rotatedLogs(rec);
  try {
    for await (const entry of be.readLogs(rec.LogPath, { stdout: o.stdout, stderr: o.stderr, tail: 'all', follow: false, rotated })) {
      if (sock.destroyed) return;
      const ok = sock.write(o.tty ? entry.line : frame(entry.stream === 'stdout' ? 1 : 2, entry.line));
      if (!ok) await new Promise((r) => sock.once('drain', r));
    }
  } catch (err) {
    be.log.debug('attach log replay failed', { id: rec.Id, err: (err as Error).message });
  }
}

/** A stopped container's blkio_stats: Go's zero BlkioStats, whose slices (no omitempty) encode as null. */
const EMPTY_BLKIO = {
  io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null,
  io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
};

function emptyStats(rec: ContainerRecord) {
  return {
    read: '0001-01-01T00:00:00Z', preread: '0001-01-01T00:00:00Z', pids_stats: {}, blkio_stats: EMPTY_BLKIO, num_procs: 0,
    storage_stats: {}, cpu_stats: { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    precpu_stats: { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    memory_stats: {}, name: `/${rec.Name}`, id: rec.Id,
  };
}

interface AttachOpts {
  tty: boolean;
  wantStdin: boolean;
  wantStdout: boolean;
  wantStderr: boolean;
  detachKeys: number[];
  stdinOnce: boolean;
  connect(s: AttachSession): Promise<void>;
  onClose(s: AttachSession): void;
  onConnectError?(err: unknown): void;
  log: Logger;
}

/** Wire a hijacked socket to a container's (or exec's) stdio. */
function attachSocket(sock: Socket, o: AttachOpts): void {
  let ended = false;
  const finish = () => { if (!ended) { ended = true; sock.end(); } };
  // stdin from the client, with the detach sequence filtered out.
  let stdin: NodeJS.ReadableStream | undefined;
  if (o.wantStdin) {
    const pt = new PassThrough();
    let matched = 0;
    sock.on('data', (chunk: Buffer) => {
      const out: number[] = [];
      for (const byte of chunk) {
        if (byte === o.detachKeys[matched]) {
          matched++;
          if (matched === o.detachKeys.length) { if (out.length) pt.write(Buffer.from(out)); finish(); return; }
          continue;
        }
        if (matched) { out.push(...o.detachKeys.slice(0, matched)); matched = 0; }
        out.push(byte);
      }
      if (out.length) pt.write(Buffer.from(out));
    });
    sock.on('end', () => pt.end());
    // Reading the request body off an upgraded connection may have paused the
    // socket, and a paused socket stays paused when a 'data' listener is added.
    sock.resume();
    stdin = pt;
  } else {
    sock.resume();
  }
  const session: AttachSession = {
    stdin,
    stdinOnce: o.stdinOnce,
    onData: (stream, chunk) => {
      if (ended) return;
      if (stream === 1 && !o.wantStdout) return;
      if (stream === 2 && !o.wantStderr) return;
      sock.write(o.tty ? chunk : frame(stream, chunk));
    },
    onEnd: finish,
  };
  sock.on('close', () => { ended = true; o.onClose(session); session.close?.(); });
  sock.on('error', () => undefined);
  o.connect(session).catch((err) => {
    o.log.debug('attach failed', { err: (err as Error).message });
    o.onConnectError?.(err);
    finish();
  });
}
