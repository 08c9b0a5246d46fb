// pull, push, load, save, import: image transfer through the daemon.

import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Command } from '../command.js';
import { StatusError } from '../command.js';
import { pullImage, registryAuthHeader } from '../pull.js';
import { displayStream } from '../progress.js';
import { parseRef, fullName, familiarName } from '../reference.js';
import { jsonLines } from '../../client/index.js';

export const pull: Command = {
  use: 'pull [OPTIONS] NAME[:TAG|@DIGEST]',
  short: 'Download an image from a registry',
  aliases: ['image pull', 'pull'],
  args: { exact: 1 },
  flags: [
    { name: 'all-tags', short: 'a', kind: 'bool', desc: 'Download all tagged images in the repository' },
    { name: 'disable-content-trust', kind: 'bool', desc: 'Skip image verification', def: true },
    { name: 'platform', kind: 'string', desc: 'Set platform if server is multi-platform capable' },
    { name: 'quiet', short: 'q', kind: 'bool', desc: 'Suppress verbose output' },
  ],
  async run(cli, { flags, args }) {
    const ref = parseRef(args[0]!);
    const allTags = flags['all-tags'] as boolean;
    if (allTags && (ref.tag || ref.digest)) throw new StatusError(1, 'tag can\'t be used with --all-tags/-a');
    if (!ref.tag && !ref.digest && !allTags && !flags.quiet) cli.out('Using default tag: latest\n');
    await pullImage(cli, args[0]!, { platform: flags.platform as string, quiet: flags.quiet as boolean, allTags, out: cli.stdout });
    const name = `${fullName(ref)}${ref.digest ? `@${ref.digest}` : allTags ? '' : `:${ref.tag ?? 'latest'}`}`;
    cli.out(`${name}\n`);
  },
};

export const push: Command = {
  use: 'push [OPTIONS] NAME[:TAG]',
  short: 'Upload an image to a registry',
  aliases: ['image push', 'push'],
  args: { exact: 1 },
  flags: [
    { name: 'all-tags', short: 'a', kind: 'bool', desc: 'Push all tags of an image to the repository' },
    { name: 'disable-content-trust', kind: 'bool', desc: 'Skip image signing', def: true },
    { name: 'platform', kind: 'string', desc: 'Push a platform-specific manifest as a single-platform image to the registry' },
    { name: 'quiet', short: 'q', kind: 'bool', desc: 'Suppress verbose output' },
  ],
  async run(cli, { flags, args }) {
    const ref = parseRef(args[0]!);
    const allTags = flags['all-tags'] as boolean;
    if (!ref.tag && !allTags && !flags.quiet) cli.out('Using default tag: latest\n');
    const res = await cli.api().imagePush(fullName(ref), allTags ? undefined : ref.tag ?? 'latest', registryAuthHeader(cli, ref));
    if (flags.quiet) {
      for await (const m of jsonLines(res)) if (m.error || m.errorDetail) throw new StatusError(1, m.errorDetail?.message ?? m.error ?? '');
      cli.out(`${familiarName(ref)}:${ref.tag ?? 'latest'}\n`);
      return;
    }
    await displayStream(res, cli.stdout, { tty: !!cli.stdout.isTTY, width: cli.stdout.columns });
  },
};

export const load: Command = {
  use: 'load [OPTIONS]',
  short: 'Load an image from a tar archive or STDIN',
  aliases: ['image load', 'load'],
  args: { max: 0 },
  flags: [
    { name: 'input', short: 'i', kind: 'string', desc: 'Read from tar archive file, instead of STDIN' },
    { name: 'quiet', short: 'q', kind: 'bool', desc: 'Suppress the load output' },
  ],
  async run(cli, { flags }) {
    const input = flags.input as string;
    if (!input && cli.stdin.isTTY) throw new StatusError(1, 'requested load from stdin, but stdin is empty');
    const body: Readable = input ? createReadStream(input) : cli.stdin;
    const opened = input ? new Promise<void>((resolve, reject) => (body as ReturnType<typeof createReadStream>).once('open', () => resolve()).once('error', reject)) : Promise.resolve();
    await opened.catch((err: NodeJS.ErrnoException) => {
      throw new StatusError(1, `open ${input}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`);
    });
    const res = await cli.api().imageLoad(body, flags.quiet as boolean);
    await displayStream(res, cli.stdout, { tty: !!cli.stdout.isTTY, width: cli.stdout.columns });
  },
};

export const save: Command = {
  use: 'save [OPTIONS] IMAGE [IMAGE...]',
  short: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  aliases: ['image save', 'save'],
  args: { min: 1 },
  flags: [
    { name: 'output', short: 'o', kind: 'string', desc: 'Write to a file, instead of STDOUT' },
    { name: 'platform', kind: 'list', desc: 'Save only the given platform(s)', hidden: true },
  ],
  async run(cli, { flags, args }) {
    const output = flags.output as string;
    if (!output && cli.stdout.isTTY) throw new StatusError(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const res = await cli.api().imageSave(args);
    if (output) {
      // Write beside the target and rename, so a failed save leaves no half-written archive.
      const tmp = `${output}.berth-tmp-${process.pid}`;
      const { renameSync, rmSync } = await import('node:fs');
      try {
        await pipeline(res, createWriteStream(tmp));
        renameSync(tmp, output);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
    } else await pipeline(res, cli.stdout, { end: false });
  },
};

export const importCmd: Command = {
  use: 'import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
  short: 'Import the contents from a tarball to create a filesystem image',
  aliases: ['image import', 'import'],
  args: { min: 1, max: 2 },
  flags: [
    { name: 'change', short: 'c', kind: 'list', desc: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', kind: 'string', desc: 'Set commit message for imported image' },
    { name: 'platform', kind: 'string', desc: 'Set platform if server is multi-platform capable' },
  ],
  async run(cli, { flags, args }) {
    const src = args[0]!;
    let repo: string | undefined;
    let tagName: string | undefined;
    if (args[1]) {
      const r = parseRef(args[1]);
      repo = fullName(r);
      tagName = r.tag;
    }
    const query: Record<string, string | string[] | undefined> = {
      fromSrc: src === '-' || !/^https?:\/\//.test(src) ? '-' : src, repo, tag: tagName, message: (flags.message as string) || undefined,
      changes: (flags.change as string[]).length ? (flags.change as string[]) : undefined, platform: (flags.platform as string) || undefined,
    };
    let body: Readable | undefined;
    if (query.fromSrc === '-') {
      if (src === '-') body = cli.stdin;
      else {
        const s = createReadStream(src);
        await new Promise<void>((resolve, reject) => s.once('open', () => resolve()).once('error', reject)).catch((err: NodeJS.ErrnoException) => {
          throw new StatusError(1, `open ${src}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`);
        });
        body = s;
      }
    }
    const res = await cli.api().imageCreate(query, undefined, body);
    await displayStream(res, cli.stdout, { tty: !!cli.stdout.isTTY, width: cli.stdout.columns });
  },
};
