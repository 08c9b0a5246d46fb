import type { Command } from '../command.js';
import { CONTAINER_FORMAT, containerContext } from '../format/containers.js';
import { renderList, usesField } from '../format/output.js';
import { filtersJSON } from '../opts/filters.js';
import { FORMAT_HELP } from './common.js';

export const ps: Command = {
  use: 'ps [OPTIONS]',
  short: 'List containers',
  aliases: ['container ls', 'container list', 'container ps', 'ps'],
  args: { max: 0 },
  templateError: { prefix: 'failed to parse template: ' },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', desc: 'Show all containers (default shows just running)' },
    { name: 'filter', short: 'f', kind: 'list', type: 'filter', desc: 'Filter output based on conditions provided' },
    { name: 'format', kind: 'string', desc: FORMAT_HELP },
    { name: 'last', short: 'n', kind: 'int', desc: 'Show n last created containers (includes all states)', def: -1 },
    { name: 'latest', short: 'l', kind: 'bool', desc: 'Show the latest created container (includes all states)' },
    { name: 'no-trunc', kind: 'bool', desc: "Don't truncate output" },
    { name: 'quiet', short: 'q', kind: 'bool', desc: 'Only display container IDs' },
    { name: 'size', short: 's', kind: 'bool', desc: 'Display total file sizes' },
  ],
  async run(cli, { flags }) {
    const format = flags.format as string;
    let size = flags.size as boolean;
    // Like the docker CLI: sizes are asked for when the template reads .Size, and
    // `{{json .}}` reads every field (`--format json` does not ask for them).
    const wantsAll = !!format && /\{\{\s*json\s+\.\s*\}\}/.test(format);
    if (format && !format.startsWith('table') && format !== 'json') size = usesField(format, 'Size') || wantsAll;
    else if (format && (usesField(format, 'Size') || wantsAll)) size = true;
    let limit = flags.last as number;
    if (flags.latest) limit = 1;
    const list = await cli.api().containerList({
      all: (flags.all as boolean) || undefined,
      limit: limit > 0 ? limit : undefined,
      size: size || undefined,
      filters: filtersJSON(flags.filter as string[]),
    });
    const trunc = !flags['no-trunc'];
    const spec = size && !format ? { ...CONTAINER_FORMAT, table: CONTAINER_FORMAT.table + '\t{{.Size}}' } : CONTAINER_FORMAT;
    cli.out(renderList(list.map((c) => containerContext(c, trunc)), format, flags.quiet as boolean, spec));
  },
};
