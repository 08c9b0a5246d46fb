// POST /build (the classic builder's JSON stream) and POST /commit.
import type { Readable } from 'node:stream';
import type { Router, Ctx } from '../server.js';
import { invalidArgument } from '../../util/index.js';

export interface BuildStreamMessage {
  stream?: string;
  status?: string;
  aux?: unknown;
  error?: string;
  errorDetail?: { code?: number; message: string };
}

export interface BuildRequest {
  dockerfile?: string;
  tags: string[];
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  quiet: boolean;
  noCache: boolean;
  rm: boolean;
  forceRm: boolean;
  target?: string;
  networkMode?: string;
  hostConfig: Record<string, unknown>;
}

export interface BuildBackend {
  /**
   * Reads the context and checks the Dockerfile (errors here are HTTP errors),
   * then gives the function that runs the steps; a failed step throws an error
   * with an optional numeric `code` (the command's exit status).
   */
  prepare(context: Readable, req: BuildRequest): Promise<{ run(out: (m: BuildStreamMessage) => void, signal?: AbortSignal): Promise<string>; cleanup(): void }>;
  /** `docker builder prune`: drops the build cache. */
  prune(): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }>;
  commit(opts: {
    container: string; repo?: string; tag?: string; comment?: string; author?: string; pause: boolean; changes: string[];
    config?: Record<string, any>;
  }): Promise<string>;
}

/** The resource and host options of RUN containers, as HostConfig fields. */
function runHostConfig(ctx: Ctx): Record<string, unknown> {
  const hc: Record<string, unknown> = {};
  const ints: [string, string][] = [['memory', 'Memory'], ['memswap', 'MemorySwap'], ['cpushares', 'CpuShares'], ['cpuperiod', 'CpuPeriod'], ['cpuquota', 'CpuQuota'], ['shmsize', 'ShmSize']];
  for (const [q, field] of ints) {
    const v = ctx.query.get(q);
    if (v === null || v === '') continue;
    const n = Number(v);
    if (!Number.isInteger(n)) throw invalidArgument(`invalid ${q}: ${v}`);
    if (n !== 0) hc[field] = n;
  }
  const cpuset = ctx.query.get('cpusetcpus');
  if (cpuset) hc.CpusetCpus = cpuset;
  const hosts = ctx.query.getAll('extrahosts').flatMap((h) => h.split(',')).map((h) => h.trim()).filter(Boolean);
  if (hosts.length) hc.ExtraHosts = hosts;
  const ulimits = ctx.query.get('ulimits');
  if (ulimits) {
    try {
      const v: unknown = JSON.parse(ulimits);
      if (v !== null) {
        if (!Array.isArray(v)) throw new Error('not a list');
        hc.Ulimits = v;
      }
    } catch {
      throw invalidArgument(`invalid ulimits JSON: ${ulimits}`);
    }
  }
  return hc;
}

function jsonQuery<T>(ctx: Ctx, name: string, what: string): T | undefined {
  const raw = ctx.query.get(name);
  if (!raw) return undefined;
  try {
    const v: unknown = JSON.parse(raw);
    if (v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as T;
  } catch {
    throw invalidArgument(`invalid ${what} JSON: ${raw}`);
  }
}

export function buildRoutes(r: Router, be: BuildBackend): void {
  r.post('/build', async (ctx) => {
    if (ctx.query.get('version') === '2') throw invalidArgument('BuildKit (version=2) is not supported by berth: use the classic builder (DOCKER_BUILDKIT=0)');
    const remote = ctx.query.get('remote');
    if (remote) throw invalidArgument('building from a remote context is not supported: send the context as the request body');
    const buildArgs = jsonQuery<Record<string, string | null>>(ctx, 'buildargs', 'buildargs') ?? {};
    const labels = jsonQuery<Record<string, string>>(ctx, 'labels', 'labels') ?? {};
    const build = await be.prepare(ctx.req, {
      dockerfile: ctx.query.get('dockerfile') || undefined,
      tags: ctx.query.getAll('t').filter(Boolean),
      buildArgs, labels,
      quiet: ctx.qbool('q'),
      noCache: ctx.qbool('nocache'),
      rm: ctx.qbool('rm', true),
      forceRm: ctx.qbool('forcerm'),
      target: ctx.query.get('target') || undefined,
      networkMode: ctx.query.get('networkmode') || undefined,
      hostConfig: runHostConfig(ctx),
    });
    // From here on the answer is a 200 JSON stream; a failure is its last message.
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    const write = (m: BuildStreamMessage) => { if (!ctx.res.destroyed) ctx.res.write(JSON.stringify(m) + '\r\n'); };
    // The client going away (Ctrl-C on docker build) cancels the build.
    const ac = new AbortController();
    ctx.res.on('close', () => { if (!ctx.res.writableFinished) ac.abort(); });
    try {
      await build.run(write, ac.signal);
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      const code = (err as { code?: unknown }).code;
      write({ errorDetail: { ...(typeof code === 'number' ? { code } : {}), message }, error: message });
    } finally {
      build.cleanup();
    }
    ctx.res.end();
  });

  r.post('/build/prune', async (ctx) => ctx.json(200, await be.prune()));

  r.post('/commit', async (ctx) => {
    const container = ctx.query.get('container');
    if (!container) throw invalidArgument('container is required');
    const body = await ctx.body<Record<string, any> | null>({ optional: true });
    const id = await be.commit({
      container,
      repo: ctx.query.get('repo') || undefined,
      tag: ctx.query.get('tag') || undefined,
      comment: ctx.query.get('comment') || undefined,
      author: ctx.query.get('author') || undefined,
      pause: ctx.qbool('pause', true),
      changes: ctx.query.getAll('changes').flatMap((c) => c.split('\n')).filter(Boolean),
      config: body && typeof body === 'object' ? body : undefined,
    });
    ctx.json(201, { Id: id });
  });
}
