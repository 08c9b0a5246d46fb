// /networks/*: pass-through to the network manager; connect/disconnect go through containers.
import type { Router } from '../server.js';
import { parseFilters } from '../filters.js';
import { invalidArgument } from '../../util/index.js';

export interface NetworksBackend {
  create(body: Record<string, any>): Promise<{ Id: string; Warning: string }>;
  list(filters: Record<string, string[]>): unknown[];
  inspect(idOrName: string): unknown;
  remove(idOrName: string): Promise<void>;
  prune(filters: Record<string, string[]>): Promise<{ NetworksDeleted: string[] | null }>;
  connect(network: string, body: Record<string, any>): Promise<void>;
  disconnect(network: string, body: Record<string, any>): Promise<void>;
}

export function networkRoutes(r: Router, be: NetworksBackend): void {
  r.get('/networks', (ctx) => {
    const list = be.list(parseFilters(ctx.query.get('filters'), ['name', 'id', 'label', 'driver', 'type', 'dangling', 'scope']));
    // From API 1.28 dockerd lists networks without their endpoints (Containers is {}; moby network_routes.go
    // getNetworksList asks for Detailed only below 1.28): only GET /networks/{id} has them.
    if (ctx.versionAtLeast('1.28')) for (const n of list as { Containers?: unknown }[]) n.Containers = {};
    ctx.json(200, list);
  });
  r.post('/networks/create', async (ctx) => ctx.json(201, await be.create(await ctx.body())));
  r.post('/networks/prune', async (ctx) => ctx.json(200, await be.prune(parseFilters(ctx.query.get('filters'), ['until', 'label', 'label!']))));
  r.get('/networks/{id}', (ctx) => ctx.json(200, be.inspect(ctx.params.id!)));
  r.delete('/networks/{id}', async (ctx) => { await be.remove(ctx.params.id!); ctx.noContent(); });
  r.post('/networks/{id}/connect', async (ctx) => { await be.connect(ctx.params.id!, containerBody(await ctx.body())); ctx.res.writeHead(200); ctx.res.end(); });
  r.post('/networks/{id}/disconnect', async (ctx) => { await be.disconnect(ctx.params.id!, containerBody(await ctx.body())); ctx.res.writeHead(200); ctx.res.end(); });
}

/** connect/disconnect bodies name a container; an EndpointConfig, when given, is an object. */
function containerBody(body: Record<string, any>): Record<string, any> {
  if (typeof body.Container !== 'string' || !body.Container) throw invalidArgument('invalid container: a container name or id is required');
  const ep = body.EndpointConfig;
  if (ep !== undefined && ep !== null && (typeof ep !== 'object' || Array.isArray(ep))) throw invalidArgument('invalid EndpointConfig: expected an object');
  return body;
}
