// --filter key=value → the filters query parameter: {"key":{"value":true}} (filters.Args JSON).

import { StatusError } from '../command.js';

export function filtersJSON(list: string[], extra: Record<string, string[]> = {}): string | undefined {
  const m: Record<string, Record<string, boolean>> = {};
  const add = (k: string, v: string) => ((m[k] ??= {})[v] = true);
  for (const f of list) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new StatusError(125, `invalid argument "${f}" for "-f, --filter" flag: bad format of filter (expected name=value)`);
    add(f.slice(0, eq).trim().toLowerCase(), f.slice(eq + 1));
  }
  for (const [k, vs] of Object.entries(extra)) for (const v of vs) add(k, v);
  return Object.keys(m).length ? JSON.stringify(m) : undefined;
}
