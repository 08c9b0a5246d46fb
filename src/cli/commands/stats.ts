// stats: one table (--no-stream) or a live table redrawn every half second, like the docker CLI.

import type { Command } from '../command.js';
import { StatusError } from '../command.js';
import { jsonLines, type StatsResponse } from '../../client/index.js';
import { renderList } from '../format/output.js';
import { STATS_FORMAT, computeStats, statsContext, type StatsRow } from '../format/stats.js';
import { errText } from './common.js';

export const stats: Command = {
  use: 'stats [OPTIONS] [CONTAINER...]',
  short: 'Display a live stream of container(s) resource usage statistics',
  aliases: ['container stats', 'stats'],
  flags: [
    { name: 'all', short: 'a', kind: 'bool', desc: 'Show all containers (default shows just running)' },
    { name: 'format', kind: 'string', desc: "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template." },
    { name: 'no-stream', kind: 'bool', desc: 'Disable streaming stats and only pull the first result' },
    { name: 'no-trunc', kind: 'bool', desc: 'Do not truncate output' },
  ],
  async run(cli, { flags, args }) {
    const api = cli.api();
    const names = args.length ? args : (await api.containerList({ all: (flags.all as boolean) || undefined })).map((c) => c.Id);
    const format = flags.format as string;
    const trunc = !flags['no-trunc'];
    const render = (rows: StatsRow[]) => renderList(rows.map((r) => statsContext(r, trunc)), format, false, STATS_FORMAT);
    if (flags['no-stream']) {
      const rows: StatsRow[] = [];
      const errors: string[] = [];
      for (const n of names) {
        try {
          const res = await api.containerStats(n, { stream: false });
          for await (const s of jsonLines<StatsResponse>(res)) rows.push(computeStats(n, s));
        } catch (err) {
          errors.push(errText(err));
        }
      }
      // The docker CLI prints no table when any named container failed.
      if (errors.length) throw new StatusError(1, errors.join('\n'));
      cli.out(render(rows));
      return;
    }
    const latest = new Map<string, StatsRow>();
    const ac = new AbortController();
    let failed: unknown;
    for (const n of names) {
      void (async () => {
        try {
          const res = await api.containerStats(n, { stream: true }, ac.signal);
          for await (const s of jsonLines<StatsResponse>(res)) latest.set(n, computeStats(n, s));
        } catch (err) {
          if (!ac.signal.aborted && args.length) failed = err;
        }
        latest.delete(n);
      })();
    }
    const tty = !!cli.stdout.isTTY;
    const draw = () => {
      const rows = names.map((n) => latest.get(n)).filter((r): r is StatsRow => !!r);
      cli.out((tty ? '\x1b[2J\x1b[H' : '') + render(rows));
    };
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (failed) {
          clearInterval(timer);
          resolve();
          return;
        }
        draw();
      }, 500);
      const stop = () => {
        clearInterval(timer);
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    ac.abort();
    if (failed) throw new StatusError(1, errText(failed));
  },
};
