// /containers/{id}/archive (HEAD, GET, PUT), /export and /changes: docker cp,
// docker export, docker diff. The work is in containers/archive.ts.
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { invalidArgument } from '../../util/index.js';
import type { Change, PathStat } from '../../containers/index.js';
import type { Ctx, Router } from '../server.js';

export interface ArchiveBackend {
  stat(ref: string, path: string): Promise<PathStat>;
  archive(ref: string, path: string, consume: (stat: PathStat, tar: Readable) => Promise<void>): Promise<void>;
  extract(ref: string, path: string, body: Readable, opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean }): Promise<void>;
  export(ref: string, consume: (tar: Readable) => Promise<void>): Promise<void>;
  changes(ref: string): Promise<Change[]>;
}

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

/** The stat document as dockerd sends it: base64 of its JSON. */
export const encodePathStat = (s: PathStat): string => Buffer.from(JSON.stringify(s)).toString('base64');

function pathParam(ctx: Ctx): string {
  const path = ctx.query.get('path');
  // dockerd's own wording (sic: no space before "cannot").
  if (!path) throw invalidArgument("bad parameter: pathcannot be empty");
  // No file name holds a NUL; Node's fs would throw a TypeError (a 500) on one.
  if (path.includes('\0')) throw invalidArgument(`invalid path ${JSON.stringify(path)}: contains a NUL byte`);
  return path;
}

export function archiveRoutes(r: Router, be: ArchiveBackend): void {
  r.head('/containers/{id}/archive', async (ctx) => {
    const stat = await be.stat(ctx.params.id!, pathParam(ctx));
    ctx.res.writeHead(200, { [STAT_HEADER]: encodePathStat(stat), 'Content-Type': 'application/json' });
    ctx.res.end();
  });

  r.get('/containers/{id}/archive', async (ctx) => {
    await be.archive(ctx.params.id!, pathParam(ctx), async (stat, tar) => {
      ctx.res.writeHead(200, { [STAT_HEADER]: encodePathStat(stat), 'Content-Type': 'application/x-tar' });
      await pipeline(tar, ctx.res);
    });
  });

  r.put('/containers/{id}/archive', async (ctx) => {
    await be.extract(ctx.params.id!, pathParam(ctx), ctx.req, {
      noOverwriteDirNonDir: ctx.qbool('noOverwriteDirNonDir'),
      copyUIDGID: ctx.qbool('copyUIDGID'),
    });
    // docker-py's put_archive returns `status_code == 200`.
    ctx.res.writeHead(200, { 'Content-Length': 0 });
    ctx.res.end();
  });

  r.get('/containers/{id}/export', async (ctx) => {
    await be.export(ctx.params.id!, async (tar) => {
      ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      await pipeline(tar, ctx.res);
    });
  });

  r.get('/containers/{id}/changes', async (ctx) => {
    const list = await be.changes(ctx.params.id!);
    // dockerd sends null, not [], for a container without changes.
    ctx.json(200, list.length ? list : null);
  });
}
