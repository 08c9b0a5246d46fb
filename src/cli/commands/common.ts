// Pieces shared by several commands.

import type { FlagSpec } from '../flags.js';

export const FORMAT_HELP = `Format output using a custom template:
'table':            Print output in table format with column headers (default)
'table TEMPLATE':   Print output in table format using the given Go template
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template.
Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates`;

export const INSPECT_FORMAT_HELP = `Format output using a custom template:
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template.
Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates`;

export const formatFlag = (desc = FORMAT_HELP): FlagSpec => ({ name: 'format', kind: 'string', desc });
export const quietFlag = (desc: string): FlagSpec => ({ name: 'quiet', short: 'q', kind: 'bool', desc });
export const filterFlag: FlagSpec = { name: 'filter', short: 'f', kind: 'list', type: 'filter', desc: 'Provide filter values' };
export const forceFlag = (desc: string): FlagSpec => ({ name: 'force', short: 'f', kind: 'bool', desc });

import type { Cli } from '../command.js';
import { StatusError } from '../command.js';
import { isApiError } from '../../client/index.js';

/** The text the docker CLI prints for an error of one item of a multi-item command. */
export function errText(err: unknown): string {
  if (isApiError(err)) return `Error response from daemon: ${err.message}`;
  return (err as Error)?.message ?? String(err);
}

/**
 * Run `fn` on every name, printing each name that succeeded (as docker stop/rm/kill do) and
 * collecting failures; any failure ends the command with status 1 after all were tried.
 */
export async function forEachName(cli: Cli, names: string[], fn: (name: string) => Promise<unknown>, print = true): Promise<void> {
  const errors: string[] = [];
  for (const name of names) {
    try {
      // fn returns false for a name it handled without success output.
      if ((await fn(name)) !== false && print) cli.out(`${name}\n`);
    } catch (err) {
      if ((err as Error)?.name === 'ConnectError') throw err;
      errors.push(errText(err));
    }
  }
  if (errors.length) throw new StatusError(1, errors.join('\n'));
}

/** Ask "[y/N]" on the terminal; a non-terminal stdin answers no unless it says y. */
export async function confirm(cli: Cli, question: string): Promise<boolean> {
  cli.out(`${question} [y/N] `);
  const line = await readLine(cli);
  return /^y(es)?$/i.test(line.trim());
}

function readLine(cli: Cli): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (c: Buffer) => {
      buf += c.toString();
      if (buf.includes('\n')) done();
    };
    const done = () => {
      cli.stdin.off('data', onData);
      cli.stdin.off('end', done);
      cli.stdin.pause();
      resolve(buf.split('\n')[0] ?? '');
    };
    cli.stdin.on('data', onData);
    cli.stdin.on('end', done);
  });
}
