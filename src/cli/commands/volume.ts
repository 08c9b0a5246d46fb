import type { Command } from '../command.js';
import { StatusError } from '../command.js';
import { renderList } from '../format/output.js';
import { context } from '../format/template.js';
import { humanSize } from '../format/units.js';
import { filtersJSON } from '../opts/filters.js';
import { FORMAT_HELP, confirm, forEachName } from './common.js';
import { volumeInspect } from './inspect.js';
import type { Volume } from '../../client/index.js';

function kv(items: string[]): Record<string, string> {
  return Object.fromEntries(items.map((i) => (i.includes('=') ? [i.slice(0, i.indexOf('=')), i.slice(i.indexOf('=') + 1)] : [i, ''])));
}

export const create: Command = {
  use: 'create [OPTIONS] [VOLUME]',
  short: 'Create a volume',
  args: { max: 1 },
  flags: [
    { name: 'driver', short: 'd', kind: 'string', desc: 'Specify volume driver name', def: 'local' },
    { name: 'label', kind: 'list', desc: 'Set metadata for a volume' },
    { name: 'name', kind: 'string', desc: 'Specify volume name', hidden: true },
    { name: 'opt', short: 'o', kind: 'list', type: 'map', desc: 'Set driver specific options' },
  ],
  async run(cli, { flags, args }) {
    if (args[0] && flags.name) throw new StatusError(1, `conflicting options: cannot specify a volume-name through both --name and as a positional arg`);
    const v = await cli.api().volumeCreate({
      Name: args[0] ?? (flags.name as string), Driver: flags.driver, DriverOpts: kv(flags.opt as string[]), Labels: kv(flags.label as string[]),
    });
    cli.out(`${v.Name}\n`);
  },
};

export function volumeContext(v: Volume) {
  return context({
    Name: () => v.Name,
    Driver: () => v.Driver,
    Scope: () => v.Scope,
    Mountpoint: () => v.Mountpoint,
    Labels: () => Object.entries(v.Labels ?? {}).map(([k, x]) => `${k}=${x}`).join(','),
    Label: (n: string) => (v.Labels ?? {})[n] ?? '',
    Links: () => (v.UsageData ? String(v.UsageData.RefCount) : 'N/A'),
    Size: () => (v.UsageData && v.UsageData.Size >= 0 ? humanSize(v.UsageData.Size) : 'N/A'),
    Availability: () => 'N/A',
    Group: () => 'N/A',
    Status: () => 'N/A',
  });
}

export const ls: Command = {
  use: 'ls [OPTIONS]',
  short: 'List volumes',
  aliases: ['volume ls', 'volume list'],
  args: { max: 0 },
  flags: [
    { name: 'cluster', kind: 'bool', desc: 'Display only cluster volumes, and use cluster volume list formatting', hidden: true },
    { name: 'filter', short: 'f', kind: 'list', type: 'filter', desc: "Provide filter values (e.g. \"dangling=true\")" },
    { name: 'format', kind: 'string', desc: FORMAT_HELP },
    { name: 'quiet', short: 'q', kind: 'bool', desc: 'Only display volume names' },
  ],
  async run(cli, { flags }) {
    const r = await cli.api().volumeList({ filters: filtersJSON(flags.filter as string[]) });
    const vols = [...(r.Volumes ?? [])].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    cli.out(
      renderList(vols.map(volumeContext), flags.format as string, flags.quiet as boolean, {
        table: '{{.Driver}}\t{{.Name}}',
        quiet: '{{.Name}}',
        headers: { Name: 'VOLUME NAME', Driver: 'DRIVER', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE' },
      }),
    );
  },
};

export const rm: Command = {
  use: 'rm [OPTIONS] VOLUME [VOLUME...]',
  short: 'Remove one or more volumes',
  long: 'Remove one or more volumes. You cannot remove a volume that is in use by a container.',
  aliases: ['volume rm', 'volume remove'],
  args: { min: 1 },
  flags: [{ name: 'force', short: 'f', kind: 'bool', desc: 'Force the removal of one or more volumes' }],
  async run(cli, { flags, args }) {
    await forEachName(cli, args, (n) => cli.api().volumeRemove(n, flags.force as boolean));
  },
};

export const prune: Command = {
  use: 'prune [OPTIONS]',
  short: 'Remove unused local volumes',
  args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', desc: 'Remove all unused volumes, not just anonymous ones' },
    { name: 'filter', kind: 'list', type: 'filter', desc: 'Provide filter values (e.g. "label=<label>")' },
    { name: 'force', short: 'f', kind: 'bool', desc: 'Do not prompt for confirmation' },
  ],
  async run(cli, { flags }) {
    const all = flags.all as boolean;
    if (!flags.force && !(await confirm(cli, `WARNING! This will remove ${all ? 'all local volumes not used by at least one container' : 'anonymous local volumes not used by at least one container'}.\nAre you sure you want to continue?`))) return;
    const r = await cli.api().volumePrune(filtersJSON(flags.filter as string[], all ? { all: ['true'] } : {}));
    if (r.VolumesDeleted?.length) cli.out(`Deleted Volumes:\n${r.VolumesDeleted.join('\n')}\n\n`);
    cli.out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed ?? 0)}\n`);
  },
};

export const inspect = volumeInspect;
