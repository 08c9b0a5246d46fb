import type { Command } from '../command.js';
import { demux } from '../../client/index.js';
import { parseGoDuration } from '../format/units.js';

/** --since/--until: a Go duration back from now, a unix time, or a date (as the docker CLI accepts). */
export function timestampArg(v: string, now = Date.now()): string {
  if (!v) return '';
  // As the docker CLI: "0" is the epoch, not a zero duration.
  if (v !== '0') try {
    const ms = parseGoDuration(v);
    return ((now - ms) / 1000).toFixed(9).replace(/\.?0+$/, '');
  } catch {
    /* not a duration */
  }
  if (/^\d+(\.\d+)?$/.test(v)) return v;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new Error(`invalid value for "since": failed to parse value as time or duration: "${v}"`);
  return String(t / 1000);
}

export const logs: Command = {
  use: 'logs [OPTIONS] CONTAINER',
  short: 'Fetch the logs of a container',
  aliases: ['container logs', 'logs'],
  args: { exact: 1 },
  flags: [
    { name: 'details', kind: 'bool', desc: 'Show extra details provided to logs' },
    { name: 'follow', short: 'f', kind: 'bool', desc: 'Follow log output' },
    { name: 'since', kind: 'string', desc: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { name: 'tail', short: 'n', kind: 'string', desc: 'Number of lines to show from the end of the logs', def: 'all' },
    { name: 'timestamps', short: 't', kind: 'bool', desc: 'Show timestamps' },
    { name: 'until', kind: 'string', desc: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
  ],
  async run(cli, { flags, args }) {
    const api = cli.api();
    const c = await api.containerInspect(args[0]!);
    const res = await api.containerLogs(args[0]!, {
      stdout: true, stderr: true, since: timestampArg(flags.since as string) || undefined, until: timestampArg(flags.until as string) || undefined,
      timestamps: (flags.timestamps as boolean) || undefined, follow: (flags.follow as boolean) || undefined, tail: flags.tail as string,
      details: (flags.details as boolean) || undefined,
    });
    if (c.Config.Tty) {
      for await (const chunk of res) cli.stdout.write(chunk as Buffer);
    } else await demux(res, cli.stdout, cli.stderr);
  },
};
