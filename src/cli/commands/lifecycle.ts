// Container lifecycle commands that take names and print them back.

import type { Command } from '../command.js';
import { StatusError } from '../command.js';
import { confirm, errText, forEachName, forceFlag } from './common.js';
import { isApiError } from '../../client/index.js';
import { tabwrite } from '../format/tabwriter.js';
import { humanSize } from '../format/units.js';
import { filtersJSON } from '../opts/filters.js';

const signalFlag = { name: 'signal', short: 's', kind: 'string' as const, desc: 'Signal to send to the container' };
const timeFlag = { name: 'timeout', short: 't', kind: 'int' as const, desc: 'Seconds to wait before killing the container' };
const timeAlias = { name: 'time', kind: 'int' as const, desc: 'Seconds to wait before killing the container (deprecated: use --timeout)', hidden: true };

function stopQuery(flags: Record<string, unknown>, changed: Set<string>) {
  const q: Record<string, string | number> = {};
  if (changed.has('timeout')) q.t = flags.timeout as number;
  else if (changed.has('time')) q.t = flags.time as number;
  if (flags.signal) q.signal = flags.signal as string;
  return q;
}

export const stop: Command = {
  use: 'stop [OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Stop one or more running containers',
  aliases: ['container stop', 'stop'],
  args: { min: 1 },
  flags: [signalFlag, timeFlag, timeAlias],
  async run(cli, { flags, changed, args }) {
    const q = stopQuery(flags, changed);
    await forEachName(cli, args, (n) => cli.api().containerStop(n, q));
  },
};

export const restart: Command = {
  use: 'restart [OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Restart one or more containers',
  aliases: ['container restart', 'restart'],
  args: { min: 1 },
  flags: [signalFlag, timeFlag, timeAlias],
  async run(cli, { flags, changed, args }) {
    const q = stopQuery(flags, changed);
    await forEachName(cli, args, (n) => cli.api().containerRestart(n, q));
  },
};

export const kill: Command = {
  use: 'kill [OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Kill one or more running containers',
  aliases: ['container kill', 'kill'],
  args: { min: 1 },
  flags: [{ ...signalFlag, desc: 'Signal to send to the container' }],
  async run(cli, { flags, args }) {
    await forEachName(cli, args, (n) => cli.api().containerKill(n, (flags.signal as string) || undefined));
  },
};

export const pause: Command = {
  use: 'pause CONTAINER [CONTAINER...]',
  short: 'Pause all processes within one or more containers',
  aliases: ['container pause', 'pause'],
  args: { min: 1 },
  async run(cli, { args }) {
    await forEachName(cli, args, (n) => cli.api().containerPause(n));
  },
};

export const unpause: Command = {
  use: 'unpause CONTAINER [CONTAINER...]',
  short: 'Unpause all processes within one or more containers',
  aliases: ['container unpause', 'unpause'],
  args: { min: 1 },
  async run(cli, { args }) {
    await forEachName(cli, args, (n) => cli.api().containerUnpause(n));
  },
};

export const rm: Command = {
  use: 'rm [OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Remove one or more containers',
  aliases: ['container rm', 'container remove', 'rm'],
  args: { min: 1 },
  flags: [
    forceFlag('Force the removal of a running container (uses SIGKILL)'),
    { name: 'link', short: 'l', kind: 'bool', desc: 'Remove the specified link' },
    { name: 'volumes', short: 'v', kind: 'bool', desc: 'Remove anonymous volumes associated with the container' },
  ],
  async run(cli, { flags, args }) {
    const q = { force: (flags.force as boolean) || undefined, v: (flags.volumes as boolean) || undefined, link: (flags.link as boolean) || undefined };
    await forEachName(cli, args, async (n) => {
      if (n.replace(/^\//, '') === '') throw new Error('Container name cannot be empty');
      try {
        await cli.api().containerRemove(n, q);
      } catch (err) {
        // With --force a missing container is reported but is no failure (as the docker CLI).
        if (!(flags.force && isApiError(err) && err.status === 404)) throw err;
        cli.err(`${errText(err)}\n`);
        return false;
      }
    });
  },
};

export const wait: Command = {
  use: 'wait CONTAINER [CONTAINER...]',
  short: 'Block until one or more containers stop, then print their exit codes',
  aliases: ['container wait', 'wait'],
  args: { min: 1 },
  async run(cli, { args }) {
    await forEachName(
      cli,
      args,
      async (n) => {
        const { result } = await cli.api().containerWait(n, 'not-running');
        const r = await result;
        if (r.Error?.Message) throw new Error(r.Error.Message);
        cli.out(`${r.StatusCode}\n`);
      },
      false,
    );
  },
};

export const rename: Command = {
  use: 'rename CONTAINER NEW_NAME',
  short: 'Rename a container',
  aliases: ['container rename', 'rename'],
  args: { exact: 2 },
  async run(cli, { args }) {
    const [oldName, newName] = [args[0]!.trim(), args[1]!.trim()];
    if (!oldName || !newName) throw new StatusError(1, 'Error: neither old nor new names may be empty');
    try {
      await cli.api().containerRename(oldName, newName);
    } catch (err) {
      throw new StatusError(1, `Error response from daemon: ${(err as Error).message}\nError: failed to rename container named ${oldName}`);
    }
  },
};

export const top: Command = {
  use: 'top CONTAINER [ps OPTIONS]',
  short: 'Display the running processes of a container',
  aliases: ['container top', 'top'],
  interspersed: false,
  args: { min: 1 },
  async run(cli, { args }) {
    const r = await cli.api().containerTop(args[0]!, args.slice(1).join(' ') || undefined);
    const lines = [r.Titles.join('\t'), ...r.Processes.map((p) => p.join('\t'))];
    cli.out(tabwrite(lines.join('\n') + '\n', { minwidth: 20, padding: 3 }));
  },
};

export const port: Command = {
  use: 'port CONTAINER [PRIVATE_PORT[/PROTO]]',
  short: 'List port mappings or a specific mapping for the container',
  aliases: ['container port', 'port'],
  args: { min: 1, max: 2 },
  async run(cli, { args }) {
    const c = await cli.api().containerInspect(args[0]!);
    const ports = c.NetworkSettings?.Ports ?? {};
    const fmt = (b: { HostIp: string; HostPort: string }) => (b.HostIp.includes(':') ? `[${b.HostIp}]:${b.HostPort}` : `${b.HostIp}:${b.HostPort}`);
    if (args[1]) {
      const [p, proto = 'tcp'] = args[1].split('/');
      const key = `${p}/${proto}`;
      const binds = ports[key];
      if (!binds?.length) throw new StatusError(1, `Error: No public port '${args[1]}' published for ${args[0]}`);
      for (const b of binds) cli.out(`${fmt(b)}\n`);
      return;
    }
    const keys = Object.keys(ports).sort((a, b) => {
      const [pa, ta] = a.split('/');
      const [pb, tb] = b.split('/');
      return Number(pa) - Number(pb) || (ta! < tb! ? -1 : ta! > tb! ? 1 : 0);
    });
    for (const k of keys) for (const b of ports[k] ?? []) cli.out(`${k} -> ${fmt(b)}\n`);
  },
};

export const containerPrune: Command = {
  use: 'prune [OPTIONS]',
  short: 'Remove all stopped containers',
  flags: [
    { name: 'filter', kind: 'list', type: 'filter', desc: 'Provide filter values (e.g. "until=<timestamp>")' },
    forceFlag('Do not prompt for confirmation'),
  ],
  args: { max: 0 },
  async run(cli, { flags }) {
    if (!flags.force && !(await confirm(cli, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue?'))) return;
    const r = await cli.api().containerPrune(filtersJSON(flags.filter as string[]));
    if (r.ContainersDeleted?.length) cli.out(`Deleted Containers:\n${r.ContainersDeleted.join('\n')}\n\n`);
    cli.out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed ?? 0)}\n`);
  },
};
