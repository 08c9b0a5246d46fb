import { readFileSync } from 'node:fs';
import type { Command } from '../command.js';
import { StatusError } from '../command.js';
import { holdHijacked, makeRaw, monitorTtySize, type TerminalState } from '../streams.js';

export const exec: Command = {
  use: 'exec [OPTIONS] CONTAINER COMMAND [ARG...]',
  short: 'Execute a command in a running container',
  aliases: ['container exec', 'exec'],
  interspersed: false,
  args: { min: 2 },
  flags: [
    { name: 'detach', short: 'd', kind: 'bool', desc: 'Detached mode: run command in the background' },
    { name: 'detach-keys', kind: 'string', desc: 'Override the key sequence for detaching a container' },
    { name: 'env', short: 'e', kind: 'list', desc: 'Set environment variables' },
    { name: 'env-file', kind: 'list', desc: 'Read in a file of environment variables' },
    { name: 'interactive', short: 'i', kind: 'bool', desc: 'Keep STDIN open even if not attached' },
    { name: 'privileged', kind: 'bool', desc: 'Give extended privileges to the command' },
    { name: 'tty', short: 't', kind: 'bool', desc: 'Allocate a pseudo-TTY' },
    { name: 'user', short: 'u', kind: 'string', desc: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
    { name: 'workdir', short: 'w', kind: 'string', desc: 'Working directory inside the container' },
  ],
  async run(cli, { flags, args }) {
    const api = cli.api();
    const [name, ...cmd] = args;
    const tty = flags.tty as boolean;
    const interactive = flags.interactive as boolean;
    const detach = flags.detach as boolean;
    if (tty && interactive && !cli.stdin.isTTY) throw new StatusError(1, 'the input device is not a TTY');
    const env: string[] = [];
    for (const f of flags['env-file'] as string[])
      for (const l of readFileSync(f, 'utf8').split('\n')) if (l.trim() && !l.trimStart().startsWith('#')) env.push(l.trim());
    for (const e of flags.env as string[]) env.push(e.includes('=') || cli.env[e] === undefined ? e : `${e}=${cli.env[e]}`);
    await api.containerInspect(name!);
    const size = tty && cli.stdout.isTTY ? [cli.stdout.rows ?? 24, cli.stdout.columns ?? 80] : undefined;
    const body: Record<string, unknown> = {
      User: flags.user, Privileged: flags.privileged, Tty: tty, AttachStdin: interactive && !detach, AttachStdout: !detach,
      AttachStderr: !detach, Detach: detach, DetachKeys: flags['detach-keys'], Env: env.length ? env : null, WorkingDir: flags.workdir,
      Cmd: cmd, ...(size ? { ConsoleSize: size } : {}),
    };
    const { Id } = await api.execCreate(name!, body);
    if (detach) {
      await api.execStartDetached(Id, { Detach: true, Tty: tty, ...(size ? { ConsoleSize: size } : {}) });
      return 0;
    }
    const conn = await api.execStart(Id, { Detach: false, Tty: tty, ...(size ? { ConsoleSize: size } : {}) });
    let term: TerminalState | undefined;
    if (tty && interactive) term = makeRaw(cli);
    const stopResize = tty ? monitorTtySize(cli, (h, w) => api.execResize(Id, h, w)) : () => {};
    try {
      const how = await holdHijacked(cli, conn, { tty, stdin: interactive, detachKeys: (flags['detach-keys'] as string) || undefined });
      if (how === 'detached') return 0;
    } finally {
      stopResize();
      term?.restore();
    }
    const r = await api.execInspect(Id);
    return r.ExitCode ?? 0;
  },
};
