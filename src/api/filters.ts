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

/** `label=key` or `label=key=value` against a label map (moby's MatchKVList: the key is what precedes the
 * first "=", so `label=k!=v` asks for a label named "k!"; negation exists only as prune's `label!` filter). */
export function matchLabels(filters: string[] | undefined, labels: Record<string, string> | null | undefined): boolean {
  if (!filters || filters.length === 0) return true;
  const l = labels ?? {};
  return filters.every((f) => {
    const i = f.indexOf('=');
    if (i < 0) return Object.prototype.hasOwnProperty.call(l, f);
    const key = f.slice(0, i);
    return Object.prototype.hasOwnProperty.call(l, key) && l[key] === f.slice(i + 1);
  });
}

/** A boolean filter (is-task=, dangling=): "true"/"1" or "false"/"0", one of them; else Docker's invalid filter. */
export function boolFilter(filters: Filters, key: string): boolean | undefined {
  const v = filters[key];
  if (!v) return undefined;
  const t = v.includes('true') || v.includes('1');
  const f = v.includes('false') || v.includes('0');
  if (t === f) throw invalidArgument(`invalid filter '${key}=[${v.join(' ')}]'`);
  return t;
}
