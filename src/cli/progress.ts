// Display of JSON-message streams (pull, push, load, import, build) like the docker CLI's
// jsonmessage.DisplayJSONMessagesStream: on a terminal each layer keeps its own line, redrawn
// in place with ANSI cursor moves; elsewhere plain lines, progress-bar updates left out.

import type { Readable, Writable } from 'node:stream';
import { jsonLines, type JSONMessage } from '../client/index.js';
import { humanSize } from './format/units.js';
import { StatusError } from './command.js';

export function progressBar(cur: number, total: number, width: number): string {
  if (cur <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(cur, 4).padStart(8);
  let pct = Math.trunc(((cur / total) * 100) / 2);
  if (pct > 50) pct = 50;
  let box = '';
  if (width > 110) box = `[${'='.repeat(pct)}>${' '.repeat(Math.max(0, 50 - pct))}] `;
  const numbers = cur > total ? humanSize(cur, 4).padStart(8) : `${humanSize(cur, 4).padStart(8)}/${humanSize(total, 4)}`;
  return box + numbers;
}

function hasProgress(m: JSONMessage): boolean {
  return !!m.progressDetail && ((m.progressDetail.current ?? 0) > 0 || (m.progressDetail.total ?? 0) > 0);
}

/** Render one message; returns the text (without cursor handling). */
export function renderMessage(m: JSONMessage, tty: boolean, width: number): string | undefined {
  let prefix = '';
  let endl = '';
  if (tty && !m.stream && m.progressDetail) {
    prefix = '\x1b[2K\r';
    endl = '\r';
  } else if (m.progressDetail && hasProgress(m)) return undefined; // no bars off a terminal
  let s = prefix;
  if (m.id) s += `${m.id}: `;
  if (m.progressDetail && tty) s += `${m.status ?? ''} ${progressBar(m.progressDetail.current ?? 0, m.progressDetail.total ?? 0, width)}${endl}`;
  else if (m.progress) s += `${m.status ?? ''} ${m.progress}${endl}`;
  else if (m.stream) s += `${m.stream}${endl}`;
  else s += `${m.status ?? ''}${endl}\n`;
  return s;
}

export interface DisplayOptions {
  tty: boolean;
  width?: number;
  onAux?: (aux: Record<string, unknown>) => void;
}

/** Print a JSON-message stream; an error message in the stream ends it with status 1. */
export async function displayStream(src: Readable, out: Writable, opts: DisplayOptions): Promise<void> {
  const width = opts.width ?? 80;
  let ids = new Map<string, number>();
  for await (const m of jsonLines(src)) {
    if (m.errorDetail || m.error) throw new StatusError(1, m.errorDetail?.message || m.error || 'unknown error');
    if (m.aux) {
      opts.onAux?.(m.aux);
      continue;
    }
    let diff = 0;
    if (m.id && (m.progressDetail || m.progress)) {
      let line = ids.get(m.id);
      if (line === undefined) {
        line = ids.size;
        ids.set(m.id, line);
        if (opts.tty) out.write('\n');
      }
      diff = ids.size - line;
      if (opts.tty && diff > 0) out.write(`\x1b[${diff}A`);
    } else ids = new Map();
    const text = renderMessage(m, opts.tty, width);
    if (text !== undefined) out.write(text);
    if (m.id && opts.tty && diff > 0) out.write(`\x1b[${diff}B`);
  }
}
