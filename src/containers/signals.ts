import { constants } from 'node:os';
import { invalidArgument } from '../util/index.js';

/** `SIGTERM`, `TERM`, `15`, `sigterm` → 15, as Docker's signal.ParseSignal. */
export function signalNumber(s: string | number): number {
  if (typeof s === 'number') return s;
  const t = s.trim();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (n < 1 || n > 64) throw invalidArgument(`Invalid signal: ${s}`);
    return n;
  }
  const name = t.toUpperCase().replace(/^SIG/, '');
  if (/^RTMIN\+\d+$/.test(name)) return 34 + Number(name.split('+')[1]);
  if (/^RTMAX-\d+$/.test(name)) return 64 - Number(name.split('-')[1]);
  const n = (constants.signals as Record<string, number>)[`SIG${name}`];
  if (n === undefined) throw invalidArgument(`Invalid signal: ${s}`);
  return n;
}
