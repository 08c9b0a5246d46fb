// Docker's volume filters (`docker volume ls -f`, `docker volume prune -f`).
import { invalidArgument } from '../util/index.js';

export type Filters = Record<string, string[]>;

export function checkFilters(filters: Filters, accepted: readonly string[]): void {
  for (const key of Object.keys(filters)) {
    if (!accepted.includes(key)) throw invalidArgument(`invalid filter '${key}'`);
  }
}

/** Docker's `filters.Match`: each value is a regular expression searched in the name. */
export function matchName(patterns: string[], name: string): boolean {
  return patterns.some((p) => {
    try {
      return new RegExp(p).test(name);
    } catch {
      return false; // Docker skips patterns that do not compile
    }
  });
}

/** Every `key` or `key=value` must be present (Docker's `MatchKVList`). */
export function matchLabels(wanted: string[], labels: Record<string, string> | null): boolean {
  if (wanted.length === 0) return true;
  if (!labels) return false;
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) return Object.prototype.hasOwnProperty.call(labels, w);
    const key = w.slice(0, eq);
    return Object.prototype.hasOwnProperty.call(labels, key) && labels[key] === w.slice(eq + 1);
  });
}

/** `label!=key[=value]`: none may match. */
export function matchNotLabels(unwanted: string[], labels: Record<string, string> | null): boolean {
  return unwanted.every((u) => !matchLabels([u], labels));
}

/** Go's strconv.ParseBool, as Docker parses `dangling=` and `all=`. */
export function parseBool(key: string, value: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw invalidArgument(`invalid filter '${key}=${value}'`);
}

/** moby's Args.GetBoolOrDefault (volume ls `dangling=`): "1"/"true" or "0"/"false", exactly one of the two. */
export function boolFilter(key: string, values: string[]): boolean {
  const t = values.includes('1') || values.includes('true');
  const f = values.includes('0') || values.includes('false');
  if (t === f) throw invalidArgument(`invalid filter '${key}=[${values.join(' ')}]'`);
  return t;
}
