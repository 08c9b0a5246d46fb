// /_ping, /version, /info, /system/df, /events.
import os from 'node:os';
import type { Router } from '../server.js';
import { API_VERSION, MIN_API_VERSION, SERVER_VERSION, BERTH_VERSION } from '../server.js';
import type { EventBus, BerthEvent } from '../../util/index.js';
import { parseFilters, type Filters } from '../filters.js';

export interface SystemBackend {
  events: EventBus;
  info(): Promise<Record<string, unknown>>;
  df(): Promise<Record<string, unknown>>;
  parseTime(s: string): number;
}

export function systemRoutes(r: Router, be: SystemBackend): void {
  const ping = (ctx: Parameters<Parameters<Router['get']>[1]>[0]) => {
    ctx.res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
    ctx.res.setHeader('Pragma', 'no-cache');
    ctx.res.setHeader('Builder-Version', '1');
    ctx.res.setHeader('Swarm', 'inactive');
    ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': ctx.req.method === 'HEAD' ? '0' : '2' });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
  };
  r.get('/_ping', ping);
  r.head('/_ping', ping);

  r.get('/version', (ctx) => {
    ctx.json(200, {
      Platform: { Name: 'berth' },
      Components: [{ Name: 'Engine', Version: SERVER_VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: 'berth', GoVersion: `node${process.versions.node}`, Os: 'linux', Arch: goArch(), KernelVersion: os.release(), BuildTime: '2026-11-27T00:00:00.000000000+00:00', Experimental: 'false', BerthVersion: BERTH_VERSION } }],
      Version: SERVER_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: 'berth',
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: goArch(),
      KernelVersion: os.release(),
      BuildTime: '2026-11-27T00:00:00.000000000+00:00',
    });
  });

  r.get('/info', async (ctx) => {
    const info = await be.info();
    // dockerd drops these from 1.50 on and sends them as false before (moby v28.2.2 system_routes.go getInfo).
    if (!ctx.versionAtLeast('1.50')) Object.assign(info, { BridgeNfIptables: false, BridgeNfIp6tables: false });
    ctx.json(200, info);
  });
  r.get('/system/df', async (ctx) => ctx.json(200, await be.df()));

  r.get('/events', async (ctx) => {
    const filters = parseFilters(ctx.query.get('filters'));
    const now = Date.now() / 1000;
    const since = ctx.query.get('since') ? be.parseTime(ctx.query.get('since')!) : undefined;
    const until = ctx.query.get('until') ? be.parseTime(ctx.query.get('until')!) : undefined;
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    ctx.res.flushHeaders();
    const send = (e: BerthEvent) => {
      if (!matchEvent(e, filters)) return;
      if (until !== undefined && e.timeNano / 1e9 > until) return;
      ctx.res.write(JSON.stringify(legacyFields(e)) + '\n');
    };
    if (since !== undefined) for (const e of be.events.since(since * 1e9)) send(e);
    if (until !== undefined && until <= now) { ctx.res.end(); return; }
    await new Promise<void>((resolve) => {
      const unsubscribe = be.events.subscribe(send);
      const done = () => { unsubscribe(); resolve(); };
      ctx.req.socket.on('close', done);
      // An until= beyond setTimeout's range (~24.8 days) would fire at once (Node clamps it to 1 ms):
      // such a stream simply runs until the client leaves.
      const wait = until === undefined ? Infinity : (until - now) * 1000;
      if (wait <= 2_147_483_647) setTimeout(() => { done(); ctx.res.end(); }, wait).unref();
    });
    if (!ctx.res.writableEnded) ctx.res.end();
  });
}

/** Docker still sends the pre-1.22 fields status/id/from for container events. */
function legacyFields(e: BerthEvent): Record<string, unknown> {
  if (e.Type !== 'container' && e.Type !== 'image') return e as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { status: e.Action, id: e.Actor.ID };
  if (e.Type === 'container' && e.Actor.Attributes.image) out.from = e.Actor.Attributes.image;
  return { ...out, ...e };
}

function matchEvent(e: BerthEvent, f: Filters): boolean {
  if (f.type && !f.type.includes(e.Type)) return false;
  if (f.event && !f.event.some((a) => e.Action === a || e.Action.startsWith(`${a}:`))) return false;
  if (f.container && !(e.Type === 'container' && f.container.some((c) => e.Actor.ID.startsWith(c) || e.Actor.Attributes.name === c))) return false;
  if (f.image && !f.image.some((i) => e.Actor.Attributes.image === i || e.Actor.ID === i || e.Actor.Attributes.name === i)) return false;
  if (f.volume && !(e.Type === 'volume' && f.volume.includes(e.Actor.ID))) return false;
  if (f.network && !(e.Type === 'network' && f.network.some((n) => e.Actor.ID === n || e.Actor.Attributes.name === n))) return false;
  if (f.label && !f.label.every((l) => {
    const [k, v] = l.split('=');
    return v === undefined ? k! in e.Actor.Attributes : e.Actor.Attributes[k!] === v;
  })) return false;
  return true;
}

export function goArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[process.arch] ?? process.arch;
}
