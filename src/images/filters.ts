// `docker images --filter` semantics over image records.
import { invalidArgument, parseGoDuration } from '../util/index.js';
import { familiarize, familiarName, parseReference } from '../reference/index.js';
import type { ImageRecord } from './types.js';

export type Filters = Record<string, string[] | Record<string, boolean>>;

/** Accepts both wire shapes: {"label":["a=b"]} and the legacy {"label":{"a=b":true}}. */
/** moby's Args.GetBoolOrDefault: "1"/"true" or "0"/"false", one of the two, else "invalid filter 'k=[v …]'". */
export function boolFilter(filters: Filters | undefined, key: string): boolean | undefined {
  const v = filterValues(filters, key);
  if (!v.length) return undefined;
  const t = v.includes('1') || v.includes('true');
  const f = v.includes('0') || v.includes('false');
  if (t === f) throw invalidArgument(`invalid filter '${key}=[${v.join(' ')}]'`);
  return t;
}

export function filterValues(filters: Filters | undefined, key: string): string[] {
  const v = filters?.[key];
  if (!v) return [];
  if (Array.isArray(v)) return v;
  return Object.entries(v).filter(([, on]) => on).map(([k]) => k);
}

/** Go's path.Match: `*` and `?` stop at '/', `[...]` classes. */
export function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) throw invalidArgument(`syntax error in pattern: ${pattern}`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^')) cls = '!' + cls.slice(1);
      re += cls.startsWith('!') ? `[^${cls.slice(1).replace(/\\/g, '\\\\')}]` : `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (ch === '\\' && i + 1 < pattern.length) re += '\\' + pattern[++i];
    else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

/** Does `pattern` match the tagged ref (as FamiliarMatch: either the familiar name or the familiar name:tag)? */
function referenceMatches(pattern: string, fullRef: string): boolean {
  const re = globToRegExp(pattern);
  const familiar = familiarize(fullRef);
  return re.test(familiar) || re.test(familiarName(parseReference(fullRef)));
}

function labelMatches(rec: ImageRecord, exprs: string[]): boolean {
  const labels = rec.config.config?.Labels ?? {};
  return exprs.every((e) => {
    const eq = e.indexOf('=');
    if (eq === -1) return Object.hasOwn(labels, e);
    const k = e.slice(0, eq);
    return Object.hasOwn(labels, k) && labels[k] === e.slice(eq + 1);
  });
}

const IMAGE_FILTERS = new Set(['reference', 'dangling', 'label', 'before', 'since', 'until']);

/**
 * Applies image list filters. `resolve` turns a before/since argument into an
 * image. With a reference filter, RepoTags keeps only the matching tags.
 */
export function filterImages(list: ImageRecord[], filters: Filters | undefined, resolve: (refOrId: string) => ImageRecord): ImageRecord[] {
  for (const k of Object.keys(filters ?? {})) if (!IMAGE_FILTERS.has(k)) throw invalidArgument(`invalid filter '${k}'`);
  const refs = filterValues(filters, 'reference');
  const dangling = filterValues(filters, 'dangling');
  const labels = filterValues(filters, 'label');
  const before = filterValues(filters, 'before').map((r) => Date.parse(resolve(r).created));
  const since = filterValues(filters, 'since').map((r) => Date.parse(resolve(r).created));
  const until = filterValues(filters, 'until').map(parseUntil);
  const danglingOnly = boolFilter(filters, 'dangling');
  const out: ImageRecord[] = [];
  for (const rec of list) {
    const created = Date.parse(rec.created);
    if (dangling.length && (rec.repoTags.length === 0) !== danglingOnly) continue;
    if (labels.length && !labelMatches(rec, labels)) continue;
    if (before.some((t) => !(created < t))) continue;
    if (since.some((t) => !(created > t))) continue;
    if (until.some((t) => !(created < t))) continue;
    if (refs.length) {
      const tags = rec.repoTags.filter((t) => refs.some((p) => referenceMatches(p, t)));
      const digests = rec.repoDigests.filter((t) => refs.some((p) => referenceMatches(p, t)));
      if (tags.length === 0 && digests.length === 0) continue;
      out.push({ ...rec, repoTags: tags, repoDigests: rec.repoDigests });
      continue;
    }
    out.push(rec);
  }
  return out;
}

/** `until` takes a unix timestamp, an RFC3339 date, or a Go duration relative to now (10m, 2h30m). */
export function parseUntil(v: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  // Any Go duration ("90m", "1h30m", "1.5h"), as dockerd's timetypes.GetTimestamp takes it.
  if (v !== '0' && /^[+-]?[\d.]+(ns|us|µs|ms|s|m|h)/.test(v)) {
    try { return now - parseGoDuration(v) / 1e6; } catch { /* not a duration: a date below */ }
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalidArgument(`failed to parse value as time or duration: "${v}"`);
  return t;
}

export { labelMatches };
