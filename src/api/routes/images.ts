// /images/*, /auth: parse, call the backend, stream JSON messages as Docker does (/build is in build.ts).
import type { Readable } from 'node:stream';
import type { Router, Ctx } from '../server.js';
import { invalidArgument, notImplemented } from '../../util/index.js';
import { parseFilters } from '../filters.js';

export interface JSONMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  error?: string;
  errorDetail?: { code?: number; message: string };
  aux?: unknown;
}

export interface ImagesBackend {
  list(opts: { all: boolean; filters: Record<string, string[]>; digests: boolean }): unknown[];
  inspect(name: string): unknown;
  history(name: string): unknown[];
  tag(name: string, repo: string, tag?: string): void;
  remove(name: string, opts: { force: boolean; noPrune: boolean }): Promise<unknown[]>;
  prune(filters: Record<string, string[]>): Promise<unknown>;
  import(src: Readable, opts: { repo?: string; tag?: string; changes: string[]; message?: string; platform?: string }): Promise<string>;
  load(src: Readable, opts: { quiet: boolean; onProgress: (m: JSONMessage) => void }): Promise<string[]>;
  save(names: string[]): Readable;
  pull(opts: { image: string; tag?: string; platform?: string; auth?: string; onProgress: (m: JSONMessage) => void; signal: AbortSignal }): Promise<void>;
  push(opts: { name: string; tag?: string; auth?: string; onProgress: (m: JSONMessage) => void; signal: AbortSignal }): Promise<void>;
  login(body: Record<string, any>): Promise<{ Status: string; IdentityToken?: string }>;
  /** GET /distribution/{name}/json: the registry's manifest descriptor and platforms, without pulling. */
  distribution?(opts: { name: string; auth?: string; signal: AbortSignal }): Promise<unknown>;
}

/** A JSON-lines progress stream (\r\n line ends, as moby's streamformatter). */
function jsonStream(ctx: Ctx) {
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
  };
  return {
    start,
    write(m: JSONMessage) { start(); ctx.res.write(JSON.stringify(m) + '\r\n'); },
    get started() { return started; },
    fail(err: unknown) {
      const message = (err as Error).message ?? String(err);
      start();
      ctx.res.write(JSON.stringify({ errorDetail: { message }, error: message }) + '\r\n');
    },
    end() { start(); ctx.res.end(); },
  };
}

export function imageRoutes(r: Router, be: ImagesBackend): void {
  r.get('/images/json', (ctx) => {
    const filters = parseFilters(ctx.query.get('filters'), ['reference', 'dangling', 'label', 'before', 'since', 'until']);
    const f = ctx.query.get('filter');
    if (f) filters.reference = [...(filters.reference ?? []), f];
    ctx.json(200, be.list({ all: ctx.qbool('all'), filters, digests: ctx.qbool('digests') }));
  });

  r.post('/images/create', async (ctx) => {
    const fromSrc = ctx.query.get('fromSrc');
    const fromImage = ctx.query.get('fromImage');
    const out = jsonStream(ctx);
    if (fromSrc !== null) {
      if (fromSrc !== '-') throw invalidArgument('importing from a URL is not supported: use fromSrc=- with the tar as the request body');
      const changes = ctx.query.getAll('changes').flatMap((c) => c.split('\n')).filter(Boolean);
      const id = await be.import(ctx.req, {
        repo: ctx.query.get('repo') || undefined, tag: ctx.query.get('tag') || undefined, changes,
        message: ctx.query.get('message') ?? undefined, platform: ctx.query.get('platform') || undefined,
      });
      out.write({ status: id });
      out.end();
      return;
    }
    if (!fromImage) throw invalidArgument('fromImage or fromSrc is required');
    const ac = new AbortController();
    ctx.req.socket.on('close', () => ac.abort());
    try {
      await be.pull({
        image: fromImage, tag: ctx.query.get('tag') || undefined, platform: ctx.query.get('platform') || undefined,
        auth: ctx.req.headers['x-registry-auth'] as string | undefined, onProgress: (m) => out.write(m), signal: ac.signal,
      });
    } catch (err) {
      if (!out.started) throw err;
      out.fail(err);
    }
    out.end();
  });

  r.post('/images/load', async (ctx) => {
    const quiet = ctx.qbool('quiet');
    const out = jsonStream(ctx);
    try {
      const lines = await be.load(ctx.req, { quiet, onProgress: (m) => { if (!quiet) out.write(m); } });
      for (const l of lines) out.write({ stream: `${l}\n` });
    } catch (err) {
      if (!out.started) throw err;
      out.fail(err);
    }
    out.end();
  });

  const save = async (ctx: Ctx, names: string[]) => {
    if (names.length === 0) throw invalidArgument('no images specified');
    const stream = be.save(names);
    // Errors before the first byte become HTTP errors; later ones cut the stream.
    const first = await new Promise<Buffer | null>((resolve, reject) => {
      stream.once('error', reject);
      stream.once('readable', () => resolve(stream.read() as Buffer | null));
      stream.once('end', () => resolve(null));
    });
    ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    if (first) ctx.res.write(first);
    stream.on('error', () => ctx.res.destroy());
    stream.pipe(ctx.res);
    await new Promise((r) => ctx.res.on('close', r));
  };
  r.get('/images/get', (ctx) => save(ctx, ctx.query.getAll('names')));
  r.post('/images/prune', async (ctx) => ctx.json(200, await be.prune(parseFilters(ctx.query.get('filters'), ['dangling', 'until', 'label', 'label!']))));
  r.get('/images/search', () => { throw invalidArgument('search is not supported: no registry index is reachable from berth'); });

  r.get('/images/{name:.*}/json', (ctx) => ctx.json(200, legacyInspectFields(be.inspect(ctx.params.name!), ctx.version, ctx.req.headers['user-agent'])));
  r.get('/images/{name:.*}/history', (ctx) => ctx.json(200, be.history(ctx.params.name!)));
  r.get('/images/{name:.*}/get', (ctx) => save(ctx, [ctx.params.name!]));
  r.post('/images/{name:.*}/tag', (ctx) => {
    const repo = ctx.query.get('repo');
    if (!repo) throw invalidArgument('repository name must have at least one component');
    be.tag(ctx.params.name!, repo, ctx.query.get('tag') || undefined);
    ctx.res.writeHead(201);
    ctx.res.end();
  });
  r.post('/images/{name:.*}/push', async (ctx) => {
    const out = jsonStream(ctx);
    const ac = new AbortController();
    ctx.req.socket.on('close', () => ac.abort());
    try {
      await be.push({ name: ctx.params.name!, tag: ctx.query.get('tag') || undefined, auth: ctx.req.headers['x-registry-auth'] as string | undefined, onProgress: (m) => out.write(m), signal: ac.signal });
    } catch (err) {
      if (!out.started) throw err;
      out.fail(err);
    }
    out.end();
  });
  r.delete('/images/{name:.*}', async (ctx) => ctx.json(200, await be.remove(ctx.params.name!, { force: ctx.qbool('force'), noPrune: ctx.qbool('noprune') })));

  r.post('/auth', async (ctx) => ctx.json(200, await be.login(await ctx.body())));
  r.get('/distribution/{name:.*}/json', async (ctx) => {
    if (!be.distribution) throw notImplemented('distribution inspect is not supported');
    const ac = new AbortController();
    ctx.req.once('close', () => ac.abort());
    ctx.json(200, await be.distribution({ name: ctx.params.name!, auth: ctx.req.headers['x-registry-auth'] as string | undefined, signal: ac.signal }));
  });
}

// Docker's zero container.Config, as image inspect shows ContainerConfig for an image not built by the legacy builder.
const ZERO_CONTAINER_CONFIG = {
  Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
  Tty: false, OpenStdin: false, StdinOnce: false, Env: null, Cmd: null, Image: '', Volumes: null,
  WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: null,
};

/**
 * Fields image inspect carried before API 1.45 (Container, ContainerConfig) and 1.44 (VirtualSize),
 * which dockerd still returns to clients that ask for those versions: docker-compose 1.29 reads
 * image_config['ContainerConfig'] unguarded whenever it recreates a container. It negotiates the
 * newest API version, so against dockerd >= 25 it fails with KeyError: 'ContainerConfig'; berth
 * keeps the field for that client (known by its User-Agent) so `up` after a config change works.
 */
function legacyInspectFields(img: unknown, version: string, userAgent: string | undefined): unknown {
  const out = img as Record<string, unknown>;
  const [maj, min] = version.split('.').map(Number) as [number, number];
  const before = (m: number) => maj < 1 || (maj === 1 && min < m);
  if (before(45) || /^docker-compose\/1\./.test(userAgent ?? '')) {
    out.Container ??= '';
    out.ContainerConfig ??= { ...ZERO_CONTAINER_CONFIG };
  }
  if (before(44)) out.VirtualSize ??= out.Size;
  // Before 1.50 dockerd sends Config as a container.Config (moby v28.2.2 image_routes.go, imageInspectLegacy):
  // every field without omitempty is there, zero-valued; from 1.50 on it is the OCI image config.
  if (before(50)) out.Config = { ...ZERO_CONTAINER_CONFIG, ...(out.Config as Record<string, unknown> | undefined) };
  return out;
}
