// JSON-lines streams: pull/push/load/build progress and events. Lines end in "\r\n" or "\n".

import type { Readable } from 'node:stream';

export interface JSONMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  error?: string;
  errorDetail?: { code?: number; message?: string };
  aux?: Record<string, unknown>;
  time?: number;
  timeNano?: number;
  [k: string]: unknown;
}

/** Yield each non-empty line of a newline-delimited stream (the last one may lack its newline). */
export async function* textLines(src: Readable): AsyncGenerator<string> {
  let rest = '';
  src.setEncoding('utf8');
  for await (const chunk of src as AsyncIterable<string>) {
    rest += chunk;
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl).trim();
      rest = rest.slice(nl + 1);
      if (line) yield line;
    }
  }
  // Some daemons send concatenated JSON without a trailing newline.
  const last = rest.trim();
  if (last) yield last;
}

/** Yield each JSON value of a newline-delimited stream. */
export async function* jsonLines<T = JSONMessage>(src: Readable): AsyncGenerator<T> {
  for await (const line of textLines(src)) yield JSON.parse(line) as T;
}
