// export, diff: a container's filesystem as a tar, and its changes against the image.

import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Command } from '../command.js';
import { StatusError } from '../command.js';

export const exportCmd: Command = {
  use: 'export [OPTIONS] CONTAINER',
  short: "Export a container's filesystem as a tar archive",
  aliases: ['container export', 'export'],
  args: { exact: 1 },
  flags: [{ name: 'output', short: 'o', kind: 'string', desc: 'Write to a file, instead of STDOUT' }],
  async run(cli, { flags, args }) {
    const output = flags.output as string;
    // The docker CLI's wording.
    if (!output && cli.stdout.isTTY) throw new StatusError(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const res = await cli.api().containerExport(args[0]!);
    if (!output) {
      await pipeline(res, cli.stdout, { end: false });
      return;
    }
    // Write beside the target and rename, so a failed export leaves no half-written archive.
    const tmp = `${output}.berth-tmp-${process.pid}`;
    try {
      await pipeline(res, createWriteStream(tmp));
      renameSync(tmp, output);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  },
};

const KINDS = ['C', 'A', 'D'];

export const diff: Command = {
  use: 'diff CONTAINER',
  short: "Inspect changes to files or directories on a container's filesystem",
  aliases: ['container diff', 'diff'],
  args: { exact: 1 },
  async run(cli, { args }) {
    const changes = (await cli.api().containerChanges(args[0]!)) ?? [];
    cli.out(changes.map((c) => `${KINDS[c.Kind] ?? '?'} ${c.Path}\n`).join(''));
  },
};
