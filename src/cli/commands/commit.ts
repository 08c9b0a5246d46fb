// commit: a container's changes become a new image (POST /commit).
import type { Command } from '../command.js';
import { parseRef, fullName } from '../reference.js';

export const commit: Command = {
  use: 'commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  short: "Create a new image from a container's changes",
  aliases: ['container commit', 'commit'],
  args: { min: 1, max: 2 },
  flags: [
    { name: 'author', short: 'a', kind: 'string', desc: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { name: 'change', short: 'c', kind: 'list', desc: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', kind: 'string', desc: 'Commit message' },
    { name: 'pause', short: 'p', kind: 'bool', desc: 'Pause container during commit', def: true },
  ],
  async run(cli, { flags, args }) {
    let repo: string | undefined;
    let tag: string | undefined;
    if (args[1]) {
      const r = parseRef(args[1]);
      repo = fullName(r);
      tag = r.tag;
    }
    const changes = flags.change as string[];
    const res = await cli.api().post<{ Id: string }>('/commit', {
      container: args[0]!, repo, tag, comment: (flags.message as string) || undefined, author: (flags.author as string) || undefined,
      pause: flags.pause !== false, changes: changes.length ? changes : undefined,
    }, null);
    cli.stdout.write(`${res.Id}\n`);
  },
};
