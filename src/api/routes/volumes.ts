// /volumes/*: pass-through to the volume store.
import type { Router } from '../server.js';
import { parseFilters } from '../filters.js';

export interface VolumesBackend {
  create(body: Record<string, any>): Promise<unknown>;
  get(name: string): unknown;
  list(filters: Record<string, string[]>): { Volumes: unknown[]; Warnings: string[] | null };
  remove(name: string, opts: { force?: boolean }): Promise<void>;
  prune(filters: Record<string, string[]>): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>;
}

export function volumeRoutes(r: Router, be: VolumesBackend): void {
  r.get('/volumes', (ctx) => {
    const res = be.list(parseFilters(ctx.query.get('filters'), ['name', 'label', 'dangling', 'driver']));
    ctx.json(200, { Volumes: res.Volumes, Warnings: res.Warnings && res.Warnings.length ? res.Warnings : null });
  });
  r.post('/volumes/create', async (ctx) => ctx.json(201, await be.create((await ctx.body({ optional: true })) ?? {})));
  r.post('/volumes/prune', async (ctx) => ctx.json(200, await be.prune(parseFilters(ctx.query.get('filters'), ['label', 'label!', 'all']))));
  r.get('/volumes/{name}', (ctx) => ctx.json(200, be.get(ctx.params.name!)));
  r.delete('/volumes/{name}', async (ctx) => { await be.remove(ctx.params.name!, { force: ctx.qbool('force') }); ctx.noContent(); });
}
