// berth: the command line. Parses global flags, finds the command, imports only its module,
// runs it and turns errors into the docker CLI's messages and exit codes.
//
// Message prefix: where the docker CLI writes "docker: Error response from daemon: …", berth
// writes "berth: Error response from daemon: …". The text after the program name is kept
// identical, because that is what scripts grep for ("Error response from daemon", "No such
// container", "Unable to find image"); the program name is what a user typed.

import { homedir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, isApiError, isConnectError, resolveHost, DEFAULT_HOST } from '../client/index.js';
import type { Cli, Command } from './command.js';
import { FlagError, flagUsages, parseFlags, type FlagSpec } from './flags.js';
import { COMMANDS, type Entry } from './registry.js';

export const VERSION = '0.1.0';
export const GIT_COMMIT = 'berth';

const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'config', kind: 'string', desc: 'Location of client config files', def: join(homedir(), '.docker') },
  { name: 'context', short: 'c', kind: 'string', desc: 'Name of the context to use to connect to the daemon (only "default")' },
  { name: 'debug', short: 'D', kind: 'bool', desc: 'Enable debug mode' },
  { name: 'host', short: 'H', kind: 'list', desc: 'Daemon socket to connect to' },
  { name: 'log-level', short: 'l', kind: 'string', desc: 'Set the logging level ("debug", "info", "warn", "error", "fatal")', def: 'info' },
  { name: 'tls', kind: 'bool', desc: 'Use TLS; implied by --tlsverify', hidden: true },
  { name: 'tlsverify', kind: 'bool', desc: 'Use TLS and verify the remote', hidden: true },
  { name: 'version', short: 'v', kind: 'bool', desc: 'Print version information and quit' },
];

class CliImpl implements Cli {
  readonly prog = 'berth';
  path = '';
  readonly stdout = process.stdout;
  readonly stderr = process.stderr;
  // Lazy: process.stdin builds a stream (fs or tty, and their modules) on first use, a cost
  // for every command that never reads it.
  get stdin() {
    return process.stdin;
  }
  readonly env = process.env;
  private client: ApiClient | undefined;
  constructor(
    readonly host: string,
    readonly configDir: string,
  ) {}
  api(): ApiClient {
    this.client ??= new ApiClient({ host: this.host, version: this.env.DOCKER_API_VERSION || undefined, userAgent: `berth-cli/${VERSION}` });
    return this.client;
  }
  out(text: string): void {
    this.stdout.write(text);
  }
  err(text: string): void {
    this.stderr.write(text);
  }
}

function topHelp(prog: string): string {
  const section = (title: string, group: Entry['group']) => {
    const names = Object.keys(COMMANDS).filter((n) => COMMANDS[n]!.group === group && !COMMANDS[n]!.hidden);
    return `${title}:\n${names.map((n) => `  ${n.padEnd(11)} ${COMMANDS[n]!.short}`).join('\n')}\n`;
  };
  return [
    `Usage:  ${prog} [OPTIONS] COMMAND\n`,
    'A Docker-compatible container engine\n',
    section('Common Commands', 'common'),
    section('Management Commands', 'management'),
    section('Commands', 'other'),
    `Global Options:\n${flagUsages(GLOBAL_FLAGS)}\n`,
    `Run '${prog} COMMAND --help' for more information on a command.\n`,
  ].join('\n');
}

function groupHelp(prog: string, name: string, entry: Entry): string {
  const subs = Object.keys(entry.sub!).filter((n) => !entry.sub![n]!.hidden);
  const width = Math.max(...subs.map((n) => n.length)) + 3;
  return [
    `Usage:  ${prog} ${name} COMMAND\n`,
    `${entry.short}\n`,
    `Commands:\n${subs.map((n) => `  ${n.padEnd(width - 1)}${entry.sub![n]!.short}`).join('\n')}\n`,
    `Run '${prog} ${name} COMMAND --help' for more information on a command.\n`,
  ].join('\n');
}

/** "ps [OPTIONS]" invoked as "container ls" → "container ls [OPTIONS]". */
export function usageLine(prog: string, path: string, cmd: Command): string {
  const rest = cmd.use.split(' ').slice(1).join(' ');
  return `${prog} ${path}${rest ? ' ' + rest : ''}`;
}

export function commandHelp(prog: string, path: string, cmd: Command): string {
  const parts = [`Usage:  ${usageLine(prog, path, cmd)}\n`, `${cmd.long ?? cmd.short}\n`];
  if (cmd.aliases?.length) parts.push(`Aliases:\n  ${cmd.aliases.map((a) => `${prog} ${a}`).join(', ')}\n`);
  if (cmd.flags?.some((f) => !f.hidden)) parts.push(`Options:\n${flagUsages(cmd.flags)}\n`);
  return parts.join('\n');
}

function checkArgs(prog: string, path: string, cmd: Command, n: number): string | undefined {
  const a = cmd.args;
  if (!a) return undefined;
  const plural = (k: number) => (k === 1 ? 'argument' : 'arguments');
  if (a.exact !== undefined && n !== a.exact) return `${prog}: '${prog} ${path}' requires ${a.exact} ${plural(a.exact)}`;
  if (a.min !== undefined && n < a.min) return `${prog}: '${prog} ${path}' requires at least ${a.min} ${plural(a.min)}`;
  if (a.max !== undefined && n > a.max)
    return a.max === 0 ? `${prog}: '${prog} ${path}' accepts no arguments` : `${prog}: '${prog} ${path}' requires at most ${a.max} ${plural(a.max)}`;
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  let global;
  try {
    global = parseFlags(GLOBAL_FLAGS, argv, { interspersed: false });
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`${err.message}\nSee 'berth --help'.\n`);
      return 125;
    }
    throw err;
  }
  const prog = 'berth';
  if (global.flags.version) {
    process.stdout.write(`berth version ${VERSION}, build ${GIT_COMMIT}\n`);
    return 0;
  }
  const [name, ...rest] = global.args;
  if (!name || global.help || name === 'help') {
    if (name === 'help' && rest.length) return main([...rest, '--help']);
    process.stdout.write(topHelp(prog));
    return 0;
  }
  const hosts = global.flags.host as string[];
  if (hosts.length > 1) {
    process.stderr.write('Specify only one -H\n');
    return 1;
  }
  const ctxName = global.flags.context as string;
  if (ctxName && ctxName !== 'default') {
    process.stderr.write(`context "${ctxName}" does not exist\n`);
    return 1;
  }
  const configDir = (global.changed.has('config') ? (global.flags.config as string) : '') || process.env.DOCKER_CONFIG || join(homedir(), '.docker');
  const cli = new CliImpl(resolveHost(hosts[0]), configDir);

  let entry = COMMANDS[name];
  let path = name;
  let args = rest;
  if (!entry) {
    process.stderr.write(`${prog}: unknown command: ${prog} ${name}\n\nRun '${prog} --help' for more information\n`);
    return 1;
  }
  if (entry.sub) {
    const subName = args[0];
    if (!subName || subName.startsWith('-')) {
      process.stdout.write(groupHelp(prog, name, entry));
      return 0;
    }
    const sub = entry.sub[subName];
    if (!sub) {
      process.stderr.write(`${prog}: unknown command: ${prog} ${name} ${subName}\n\nUsage:  ${prog} ${name}\n\nRun '${prog} ${name} --help' for more information\n`);
      return 1;
    }
    entry = sub;
    path = `${name} ${subName}`;
    args = args.slice(1);
  }
  cli.path = path;
  const cmd = await entry.load!();
  const flags = cmd.flags ?? [];
  let parsed;
  try {
    parsed = parseFlags(flags, args, { interspersed: cmd.interspersed ?? true });
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`${err.message}\n\nUsage:  ${usageLine(prog, path, cmd)}\n\nRun '${prog} ${path} --help' for more information\n`);
      return 125;
    }
    throw err;
  }
  if (parsed.help) {
    process.stdout.write(commandHelp(prog, path, cmd));
    return 0;
  }
  const argErr = checkArgs(prog, path, cmd, parsed.args.length);
  if (argErr) {
    process.stderr.write(`${argErr}\n\nUsage:  ${usageLine(prog, path, cmd)}\n\nSee '${prog} ${path} --help' for more information\n`);
    return 1;
  }
  try {
    const code = await cmd.run(cli, parsed);
    return code ?? 0;
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`${err.message}\n\nUsage:  ${usageLine(prog, path, cmd)}\n\nRun '${prog} ${path} --help' for more information\n`);
      return 125;
    }
    const te = err as { name?: string; parse?: boolean; message: string };
    if (te?.name === 'TemplateError' && te.parse) {
      const how = cmd.templateError ?? {};
      const msg = how.name ? te.message.replace('template: :', `template: ${how.name}:`) : te.message;
      process.stderr.write(`${how.prefix ?? 'template parsing error: '}${msg}\n`);
      return how.status ?? 1;
    }
    return reportError(cli, err);
  }
}

export function reportError(cli: Cli, err: unknown): number {
  if (isConnectError(err)) {
    let msg = err.message;
    if (err.code !== 'EACCES' && err.host === DEFAULT_HOST)
      msg += `\nStart it with 'sudo berthd', or point -H, BERTH_HOST or DOCKER_HOST at a running daemon.`;
    cli.err(msg + '\n');
    return 1;
  }
  if (isApiError(err)) {
    cli.err(`Error response from daemon: ${err.message}\n`);
    return 1;
  }
  const e = err as { name?: string; status?: number; message?: string };
  if (e?.name === 'StatusError') {
    if (e.message) cli.err(e.message.endsWith('\n') ? e.message : e.message + '\n');
    return e.status ?? 1;
  }
  if (e?.name === 'TemplateError') {
    cli.err(`${e.message}\n`);
    return 1;
  }
  cli.err(`${e?.message ?? String(err)}\n`);
  if (cli.env.BERTH_DEBUG && err instanceof Error) cli.err(`${err.stack}\n`);
  return 1;
}
