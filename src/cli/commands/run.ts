// run and create: parse the flags into the create body, create (pulling on 404 as the docker
// CLI does), then for run: attach before start so no output is lost, start, stream, and exit
// with the container's status.

import { writeFileSync } from 'node:fs';
import type { Command, Cli } from '../command.js';
import { StatusError } from '../command.js';
import { CREATE_FLAGS, RUN_FLAGS, parseRunOptions, type RunOptions } from '../opts/run.js';
import { isApiError, type ApiError } from '../../client/index.js';
import { pullImage } from '../pull.js';
import { familiarWithTag } from '../reference.js';
import { holdHijacked, makeRaw, monitorTtySize, proxySignals, type TerminalState } from '../streams.js';
import type { Parsed } from '../flags.js';

/** The docker CLI's "docker: <msg>\n\nRun 'docker run --help' …" with status 125 (or 126/127). */
function runError(cli: Cli, msg: string, status = 125): StatusError {
  return new StatusError(status, `${cli.prog}: ${msg}\n\nRun '${cli.prog} ${cli.path} --help' for more information`);
}

function apiText(err: unknown): string {
  return isApiError(err) ? `Error response from daemon: ${err.message}` : (err as Error).message;
}

/** Exit status for a failed start, from the daemon's message (as the docker CLI decides it). */
export function startErrorStatus(msg: string): number {
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(msg)) return 127;
  if (/permission denied|is a directory/.test(msg)) return 126;
  return 125;
}

function parse(cli: Cli, p: Parsed, isRun: boolean): RunOptions {
  try {
    const tty = p.flags.tty as boolean;
    const size: [number, number] | undefined = tty && cli.stdout.isTTY ? [cli.stdout.rows ?? 24, cli.stdout.columns ?? 80] : undefined;
    return parseRunOptions(p.flags, p.changed, p.args, { env: cli.env, isRun, consoleSize: size });
  } catch (err) {
    if ((err as Error).name === 'RunOptionError') throw runError(cli, (err as Error).message);
    throw err;
  }
}

async function createContainer(cli: Cli, o: RunOptions, quiet: boolean): Promise<string> {
  const query = { name: o.name || undefined, platform: o.platform || undefined };
  const pull = () => pullImage(cli, o.image, { platform: o.platform, quiet, out: cli.stderr });
  try {
    if (o.pull === 'always') await pull();
    let created;
    try {
      created = await cli.api().containerCreate(o.body, query);
    } catch (err) {
      if (!(isApiError(err) && (err as ApiError).isNotFound && o.pull !== 'never')) throw err;
      // Only a missing image is worth a pull; a 404 for a missing network is not.
      if (!/image|No such image/i.test(err.message) && /network/i.test(err.message)) throw err;
      cli.err(`Unable to find image '${familiarWithTag(o.image)}' locally\n`);
      await pull();
      created = await cli.api().containerCreate(o.body, query);
    }
    for (const w of created.Warnings ?? []) cli.err(`WARNING: ${w}\n`);
    if (o.body.HostConfig.ContainerIDFile) writeFileSync(o.body.HostConfig.ContainerIDFile as string, created.Id);
    return created.Id;
  } catch (err) {
    if ((err as Error).name === 'ConnectError') throw err;
    if ((err as Error).name === 'StatusError') throw runError(cli, (err as Error).message);
    throw runError(cli, apiText(err));
  }
}

export const create: Command = {
  use: 'create [OPTIONS] IMAGE [COMMAND] [ARG...]',
  short: 'Create a new container',
  aliases: ['container create', 'create'],
  interspersed: false,
  args: { min: 1 },
  flags: CREATE_FLAGS,
  async run(cli, p) {
    const o = parse(cli, p, false);
    cli.out(`${await createContainer(cli, o, p.flags.quiet as boolean)}\n`);
  },
};

export const run: Command = {
  use: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]',
  short: 'Create and run a new container from an image',
  aliases: ['container run', 'run'],
  interspersed: false,
  args: { min: 1 },
  flags: RUN_FLAGS,
  async run(cli, p) {
    const o = parse(cli, p, true);
    const cfg = o.body;
    const detach = p.flags.detach as boolean;
    if (cfg.Tty && cfg.AttachStdin && !cli.stdin.isTTY) throw new StatusError(1, 'the input device is not a TTY');
    const id = await createContainer(cli, o, p.flags.quiet as boolean);
    const api = cli.api();
    const attachAny = cfg.AttachStdin || cfg.AttachStdout || cfg.AttachStderr;
    const detachKeys = (p.flags['detach-keys'] as string) || undefined;

    let conn;
    if (!detach && attachAny) {
      try {
        conn = await api.containerAttach(id, {
          stream: true, stdin: cfg.AttachStdin || undefined, stdout: cfg.AttachStdout || undefined,
          stderr: cfg.AttachStderr || undefined, detachKeys,
        });
      } catch (err) {
        throw runError(cli, apiText(err));
      }
    }
    let waiter;
    if (!detach) {
      const autoRemove = cfg.HostConfig.AutoRemove as boolean;
      waiter = await api.containerWait(id, autoRemove ? 'removed' : 'next-exit').catch((err) => {
        throw runError(cli, apiText(err));
      });
    }
    let term: TerminalState | undefined;
    if (conn && cfg.Tty && cfg.AttachStdin) term = makeRaw(cli);
    try {
      try {
        await api.containerStart(id);
      } catch (err) {
        conn?.socket.destroy();
        term?.restore();
        const msg = apiText(err);
        throw runError(cli, msg, startErrorStatus(msg));
      }
      if (detach) {
        cli.out(`${id}\n`);
        return 0;
      }
      const stopResize = cfg.Tty ? monitorTtySize(cli, (h, w) => api.containerResize(id, h, w)) : () => {};
      const stopSignals = (p.flags['sig-proxy'] as boolean) && !cfg.Tty ? proxySignals((s) => api.containerKill(id, s)) : () => {};
      try {
        if (conn) {
          const how = await holdHijacked(cli, conn, { tty: !!cfg.Tty, stdin: !!cfg.AttachStdin, detachKeys });
          if (how === 'detached') return 0;
        }
        const r = await waiter!.result;
        if (r.Error?.Message) throw new StatusError(125, `${cli.prog}: ${r.Error.Message}`);
        return r.StatusCode;
      } finally {
        stopResize();
        stopSignals();
      }
    } finally {
      term?.restore();
    }
  },
};
