// What a command module exports, and the context it runs in.

import type { Readable, Writable } from 'node:stream';
import type { ApiClient } from '../client/index.js';
import type { FlagSpec, Parsed } from './flags.js';

export interface Command {
  /** Usage after the program name: "ps [OPTIONS]". */
  use: string;
  short: string;
  long?: string;
  /** Other full spellings, shown under "Aliases:". */
  aliases?: string[];
  flags?: FlagSpec[];
  /** false for run/create/exec: nothing after the first argument is a flag. */
  interspersed?: boolean;
  args?: { min?: number; max?: number; exact?: number };
  /** How the docker CLI words a --format that does not parse (default: "template parsing error: ", status 1). */
  templateError?: { prefix?: string; status?: number; name?: string };
  run(cli: Cli, p: Parsed): Promise<number | void>;
}

export interface Cli {
  /** "berth" (used in messages and usage text). */
  readonly prog: string;
  /** The command path as typed, e.g. "container ls". */
  path: string;
  readonly stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  readonly stderr: Writable & { isTTY?: boolean };
  readonly stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  readonly env: NodeJS.ProcessEnv;
  readonly configDir: string;
  readonly host: string;
  api(): ApiClient;
  out(text: string): void;
  err(text: string): void;
}

/** End the command with this exit status; message (if any) goes to stderr. */
export class StatusError extends Error {
  constructor(readonly status: number, message = '') {
    super(message);
    this.name = 'StatusError';
  }
}
