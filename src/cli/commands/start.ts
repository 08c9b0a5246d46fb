// start (optionally attached) and attach.

import type { Command, Cli } from '../command.js';
import { StatusError } from '../command.js';
import { forEachName, errText } from './common.js';
import { holdHijacked, makeRaw, monitorTtySize, proxySignals, type TerminalState } from '../streams.js';
import type { ContainerInspect } from '../../client/index.js';

async function attachAndRun(cli: Cli, c: ContainerInspect, o: { stdin: boolean; detachKeys?: string; sigProxy: boolean; start: boolean }): Promise<number> {
  const api = cli.api();
  const tty = !!c.Config.Tty;
  const conn = await api.containerAttach(c.Id, { stream: true, stdin: o.stdin || undefined, stdout: true, stderr: true, detachKeys: o.detachKeys });
  const waiter = await api.containerWait(c.Id, o.start ? 'next-exit' : 'not-running').catch(() => undefined);
  let term: TerminalState | undefined;
  if (tty && o.stdin && cli.stdin.isTTY) term = makeRaw(cli);
  const stopResize = tty ? monitorTtySize(cli, (h, w) => api.containerResize(c.Id, h, w)) : () => {};
  const stopSignals = o.sigProxy && !tty ? proxySignals((s) => api.containerKill(c.Id, s)) : () => {};
  try {
    if (o.start) {
      try {
        await api.containerStart(c.Id);
      } catch (err) {
        conn.socket.destroy();
        throw new StatusError(1, errText(err));
      }
    }
    const how = await holdHijacked(cli, conn, { tty, stdin: o.stdin, detachKeys: o.detachKeys });
    if (how === 'detached') return 0;
    if (waiter) return (await waiter.result).StatusCode;
    return (await api.containerInspect(c.Id)).State.ExitCode;
  } finally {
    stopResize();
    stopSignals();
    term?.restore();
  }
}

export const start: Command = {
  use: 'start [OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Start one or more stopped containers',
  aliases: ['container start', 'start'],
  args: { min: 1 },
  flags: [
    { name: 'attach', short: 'a', kind: 'bool', desc: 'Attach STDOUT/STDERR and forward signals' },
    { name: 'detach-keys', kind: 'string', desc: 'Override the key sequence for detaching a container' },
    { name: 'interactive', short: 'i', kind: 'bool', desc: "Attach container's STDIN" },
  ],
  async run(cli, { flags, args }) {
    if (flags.attach || flags.interactive) {
      if (args.length > 1) throw new StatusError(1, 'you cannot start and attach multiple containers at once');
      const c = await cli.api().containerInspect(args[0]!);
      if (c.State.Running) {
        // The docker CLI attaches to an already running container in this case.
        return attachAndRun(cli, c, { stdin: !!flags.interactive && !!c.Config.OpenStdin, detachKeys: (flags['detach-keys'] as string) || undefined, sigProxy: true, start: false });
      }
      return attachAndRun(cli, c, { stdin: !!flags.interactive && !!c.Config.OpenStdin, detachKeys: (flags['detach-keys'] as string) || undefined, sigProxy: true, start: true });
    }
    // Each failure is printed as it happens; the command then fails naming them all.
    const failed: string[] = [];
    for (const n of args) {
      try {
        await cli.api().containerStart(n);
        cli.out(`${n}\n`);
      } catch (err) {
        if ((err as Error)?.name === 'ConnectError') throw err;
        cli.err(`${errText(err)}\n`);
        failed.push(n);
      }
    }
    if (failed.length) throw new StatusError(1, `Error: failed to start containers: ${failed.join(', ')}`);
  },
};

export const attach: Command = {
  use: 'attach [OPTIONS] CONTAINER',
  short: 'Attach local standard input, output, and error streams to a running container',
  aliases: ['container attach', 'attach'],
  args: { exact: 1 },
  flags: [
    { name: 'detach-keys', kind: 'string', desc: 'Override the key sequence for detaching a container' },
    { name: 'no-stdin', kind: 'bool', desc: 'Do not attach STDIN' },
    { name: 'sig-proxy', kind: 'bool', desc: 'Proxy all received signals to the process', def: true },
  ],
  async run(cli, { flags, args }) {
    const c = await cli.api().containerInspect(args[0]!);
    if (!c.State.Running) throw new StatusError(1, 'You cannot attach to a stopped container, start it first');
    if (c.State.Paused) throw new StatusError(1, 'You cannot attach to a paused container, unpause it first');
    if (c.State.Restarting) throw new StatusError(1, 'You cannot attach to a restarting container, wait until it is running');
    return attachAndRun(cli, c, {
      stdin: !flags['no-stdin'] && !!c.Config.OpenStdin,
      detachKeys: (flags['detach-keys'] as string) || undefined,
      sigProxy: flags['sig-proxy'] as boolean,
      start: false,
    });
  },
};
