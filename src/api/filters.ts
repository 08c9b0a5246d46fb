import { invalidArgument } from '../util/index.js';

export type Filters = Record<string, string[]>;

/** Docker's `filters` query: {"key": ["v"]} or the old {"key": {"v": true}} form. */
export function parseFilters(raw: string | null, allowed?: string[]): Filters {
  if (!raw) return {};
  let parsed: unknown;
  try { parsed = JSON.parse(raw); } catch { throw invalidArgument(`invalid filter '${raw}'`); }
  if (!parsed || typeof parsed !== 'object') throw invalidArgument(`invalid filter '${raw}'`);
  const out: Filters = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (allowed && !allowed.includes(k)) throw invalidArgument(`invalid filter '${k}'`);
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (v && typeof v === 'object') out[k] = Object.entries(v as Record<string, unknown>).filter(([, b]) => b).map(([s]) => s);
    else throw invalidArgument(`invalid filter '${k}'`);
  }
  return out;
}

/** `label=key` or `label=key=value` against a label map. */
export function matchLabels(filters: string[] | undefined, labels: Record<string, string> | null | undefined): boolean {
  if (!filters || filters.length === 0) return true;
  const l = labels ?? {};
  return filters.every((f) => {
    const i = f.indexOf('=');
    if (i < 0) return Object.prototype.hasOwnProperty.call(l, f);
    const neg = f[i - 1] === '!';
    const key = f.slice(0, neg ? i - 1 : i);
    const val = f.slice(i + 1);
    return neg ? l[key] !== val : l[key] === val;
  });
}
