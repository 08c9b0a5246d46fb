import { invalidArgument } from '../util/index.js';

export type Filters = Record<string, string[]>;

/**
 * Docker's `filters` query as moby's filters.FromJSON decodes it: {"key": {"v": true}} (the current form) or
 * the legacy {"key": ["v"]}. JSON `null` is no filter (Go leaves the map empty); anything else that fits
 * neither form — not JSON, a list, a scalar, {"status": "running"}, values that are not strings or
 * booleans — is the bare "invalid filter" (400), and a key the endpoint does not know is
 * "invalid filter 'key'". A value mapped to false (or null) in the map form is not selected.
 */
export function parseFilters(raw: string | null, allowed?: string[]): Filters {
  if (!raw) return {};
  let parsed: unknown;
  try { parsed = JSON.parse(raw); } catch { throw invalidArgument('invalid filter'); }
  if (parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidArgument('invalid filter');
  // Own keys only, into a prototype-less object: `__proto__` or `constructor` are just unknown keys.
  const out: Filters = Object.create(null) as Filters;
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (v === null) out[k] = [];
    else if (Array.isArray(v)) {
      // Go decodes a JSON null inside []string as "".
      if (!v.every((x) => x === null || typeof x === 'string')) throw invalidArgument('invalid filter');
      out[k] = v.map((x) => (x === null ? '' : x as string));
    } else if (typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      if (!entries.every(([, b]) => b === null || typeof b === 'boolean')) throw invalidArgument('invalid filter');
      out[k] = entries.filter(([, b]) => b === true).map(([s]) => s);
    } else throw invalidArgument('invalid filter');
  }
  // Unknown keys are checked after the shape, as moby decodes first and validates after.
  if (allowed) for (const k of Object.keys(out)) if (!allowed.includes(k)) throw invalidArgument(`invalid filter '${k}'`);
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
  if (v.length === 0) throw invalidArgument(`invalid filter '${key}'`); // moby: a key with no value is not a boolean
  const t = v.includes('true') || v.includes('1');
  const f = v.includes('false') || v.includes('0');
  if (t === f) throw invalidArgument(`invalid filter '${key}=[${v.join(' ')}]'`);
  return t;
}
