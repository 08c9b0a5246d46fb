// inspect: the API's JSON as a 4-space indented array, or a template per object.

import type { Command, Cli } from '../command.js';
import { StatusError } from '../command.js';
import { isApiError } from '../../client/index.js';
import { Template, unescapeFormat } from '../format/template.js';
import { INSPECT_FORMAT_HELP } from './common.js';

type Getter = (cli: Cli, name: string, size: boolean) => Promise<unknown>;

const GETTERS: Record<string, Getter> = {
  container: (cli, n, size) => cli.api().containerInspect(n, size),
  image: (cli, n) => cli.api().imageInspect(n),
  network: (cli, n) => cli.api().networkInspect(n),
  volume: (cli, n) => cli.api().volumeInspect(n),
};

/** Print objects as the docker CLI's inspect does; missing ones are reported after. */
export async function inspectObjects(cli: Cli, names: string[], format: string, get: (name: string) => Promise<unknown>, missing: (name: string, err: Error) => string): Promise<void> {
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const n of names) {
    try {
      found.push(await get(n));
    } catch (err) {
      if (isApiError(err) && err.status === 404) errors.push(missing(n, err));
      else if ((err as Error).name === 'ConnectError') throw err;
      else errors.push(isApiError(err) ? `Error response from daemon: ${err.message}` : (err as Error).message);
    }
  }
  if (format) {
    const f = format === 'json' ? '{{json .}}' : unescapeFormat(format);
    const t = new Template(f);
    for (const o of found) cli.out(t.execute(o) + '\n');
  } else cli.out((found.length ? JSON.stringify(found, null, 4) : '[]') + '\n');
  if (errors.length) throw new StatusError(1, errors.join('\n'));
}

const formatFlag = { name: 'format', short: 'f', kind: 'string' as const, desc: INSPECT_FORMAT_HELP };

export const inspect: Command = {
  use: 'inspect [OPTIONS] NAME|ID [NAME|ID...]',
  short: 'Return low-level information on berth objects',
  args: { min: 1 },
  templateError: { status: 64 },
  flags: [
    formatFlag,
    { name: 'size', short: 's', kind: 'bool', desc: 'Display total file sizes if the type is container' },
    { name: 'type', kind: 'string', desc: 'Only inspect objects of the given type' },
  ],
  async run(cli, { flags, args }) {
    const type = flags.type as string;
    if (type && !GETTERS[type]) throw new StatusError(1, `"${type}" is not a valid value for --type`);
    const kinds = type ? [type] : Object.keys(GETTERS);
    await inspectObjects(
      cli,
      args,
      flags.format as string,
      async (n) => {
        for (const k of kinds) {
          try {
            return await GETTERS[k]!(cli, n, flags.size as boolean);
          } catch (err) {
            if (type || !(isApiError(err) && err.status === 404)) throw err;
          }
        }
        throw Object.assign(new Error(''), { name: 'ApiError', status: 404, message: '' });
      },
      // With --type the daemon's own answer is passed through, as the docker CLI does.
      (n, err) => (type ? `Error response from daemon: ${err.message}` : `Error: No such object: ${n}`),
    );
  },
};

function typed(kind: string, short: string, extra: Command['flags'] = []): Command {
  return {
    use: 'inspect [OPTIONS] ' + kind.toUpperCase() + ' [' + kind.toUpperCase() + '...]',
    short,
    args: { min: 1 },
    templateError: { status: 64 },
    flags: [formatFlag, ...extra],
    async run(cli, { flags, args }) {
      // The typed commands pass the daemon's own message through.
      await inspectObjects(cli, args, flags.format as string, (n) => GETTERS[kind]!(cli, n, !!flags.size), (_n, err) => `Error response from daemon: ${err.message}`);
    },
  };
}

export const containerInspect = typed('container', 'Display detailed information on one or more containers', [
  { name: 'size', short: 's', kind: 'bool', desc: 'Display total file sizes' },
]);
export const imageInspect = typed('image', 'Display detailed information on one or more images');
export const volumeInspect = typed('volume', 'Display detailed information on one or more volumes');
export const networkInspect = typed('network', 'Display detailed information on one or more networks');
