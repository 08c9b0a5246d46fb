import type { Command } from '../command.js';
import { StatusError } from '../command.js';
import { renderList } from '../format/output.js';
import { imageContext, imageFormat, imageRows } from '../format/images.js';
import { context } from '../format/template.js';
import { humanSize, since } from '../format/units.js';
import { ellipsis, goTimeString, truncateId } from '../format/ids.js';
import { filtersJSON } from '../opts/filters.js';
import { FORMAT_HELP, confirm, errText } from './common.js';
import { parseRef, fullName, normalizedNameError } from '../reference.js';

export const images: Command = {
  use: 'images [OPTIONS] [REPOSITORY[:TAG]]',
  short: 'List images',
  aliases: ['image ls', 'image list', 'images'],
  args: { max: 1 },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', desc: 'Show all images (default hides intermediate images)' },
    { name: 'digests', kind: 'bool', desc: 'Show digests' },
    { name: 'filter', short: 'f', kind: 'list', type: 'filter', desc: 'Filter output based on conditions provided' },
    { name: 'format', kind: 'string', desc: FORMAT_HELP },
    { name: 'no-trunc', kind: 'bool', desc: "Don't truncate output" },
    { name: 'quiet', short: 'q', kind: 'bool', desc: 'Only show image IDs' },
  ],
  async run(cli, { flags, args }) {
    const extra: Record<string, string[]> = args[0] ? { reference: [args[0]] } : {};
    const list = await cli.api().imageList({ all: (flags.all as boolean) || undefined, filters: filtersJSON(flags.filter as string[], extra) });
    const digests = flags.digests as boolean;
    const trunc = !flags['no-trunc'];
    const format = flags.format as string;
    const showDigests = digests || /\.Digest\b/.test(format);
    const items = list.flatMap((img) => imageRows(img, showDigests).map((row) => imageContext(img, row, trunc)));
    cli.out(renderList(items, format, flags.quiet as boolean, imageFormat(digests)));
  },
};

export const rmi: Command = {
  use: 'rmi [OPTIONS] IMAGE [IMAGE...]',
  short: 'Remove one or more images',
  aliases: ['image rm', 'image remove', 'rmi'],
  args: { min: 1 },
  flags: [
    { name: 'force', short: 'f', kind: 'bool', desc: 'Force removal of the image' },
    { name: 'no-prune', kind: 'bool', desc: 'Do not delete untagged parents' },
  ],
  async run(cli, { flags, args }) {
    const errors: string[] = [];
    for (const name of args) {
      try {
        const r = await cli.api().imageRemove(name, { force: (flags.force as boolean) || undefined, noprune: (flags['no-prune'] as boolean) || undefined });
        for (const d of r ?? []) cli.out(d.Deleted ? `Deleted: ${d.Deleted}\n` : `Untagged: ${d.Untagged}\n`);
      } catch (err) {
        if ((err as Error).name === 'ConnectError') throw err;
        errors.push(errText(err));
      }
    }
    if (errors.length) throw new StatusError(1, errors.join('\n'));
  },
};

export const tag: Command = {
  use: 'tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  short: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  aliases: ['image tag', 'tag'],
  args: { exact: 2 },
  async run(cli, { args }) {
    const bad = normalizedNameError(args[1]!);
    if (bad) throw new StatusError(1, `Error parsing reference: "${args[1]}" is not a valid repository/tag: ${bad}`);
    const r = parseRef(args[1]!);
    if (r.digest) throw new StatusError(1, 'refusing to create a tag with a digest reference');
    await cli.api().imageTag(args[0]!, fullName(r), r.tag ?? 'latest');
  },
};

export const history: Command = {
  use: 'history [OPTIONS] IMAGE',
  short: 'Show the history of an image',
  aliases: ['image history', 'history'],
  args: { exact: 1 },
  flags: [
    { name: 'format', kind: 'string', desc: FORMAT_HELP },
    { name: 'human', short: 'H', kind: 'bool', desc: 'Print sizes and dates in human readable format', def: true },
    { name: 'no-trunc', kind: 'bool', desc: "Don't truncate output" },
    { name: 'quiet', short: 'q', kind: 'bool', desc: 'Only show image IDs' },
  ],
  async run(cli, { flags, args }) {
    const h = await cli.api().imageHistory(args[0]!);
    const trunc = !flags['no-trunc'];
    const human = flags.human as boolean;
    const items = h.map((x) =>
      context({
        ID: () => (x.Id === '<missing>' || !x.Id ? '<missing>' : trunc ? truncateId(x.Id) : x.Id),
        CreatedSince: () => (human ? since(x.Created) : goTimeString(new Date(x.Created * 1000))),
        CreatedAt: () => goTimeString(new Date(x.Created * 1000)),
        CreatedBy: () => {
          const c = (x.CreatedBy ?? '').replace(/\t/g, ' ');
          return trunc ? ellipsis(c, 45) : c;
        },
        Size: () => (human ? humanSize(x.Size) : String(x.Size)),
        Comment: () => x.Comment ?? '',
      }),
    );
    cli.out(
      renderList(items, flags.format as string, flags.quiet as boolean, {
        table: '{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}',
        headers: { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' },
      }),
    );
  },
};

export const imagePrune: Command = {
  use: 'prune [OPTIONS]',
  short: 'Remove unused images',
  args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', desc: 'Remove all unused images, not just dangling ones' },
    { name: 'filter', kind: 'list', type: 'filter', desc: 'Provide filter values (e.g. "until=<timestamp>")' },
    { name: 'force', short: 'f', kind: 'bool', desc: 'Do not prompt for confirmation' },
  ],
  async run(cli, { flags }) {
    const all = flags.all as boolean;
    const warning = all
      ? 'WARNING! This will remove all images without at least one container associated to them.'
      : 'WARNING! This will remove all dangling images.';
    if (!flags.force && !(await confirm(cli, `${warning}\nAre you sure you want to continue?`))) return;
    const r = await cli.api().imagePrune(filtersJSON(flags.filter as string[], { dangling: [all ? 'false' : 'true'] }));
    if (r.ImagesDeleted?.length) {
      cli.out('Deleted Images:\n');
      for (const d of r.ImagesDeleted) cli.out(d.Untagged ? `untagged: ${d.Untagged}\n` : `deleted: ${d.Deleted}\n`);
      cli.out('\n');
    }
    cli.out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed ?? 0)}\n`);
  },
};
