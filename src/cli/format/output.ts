// Render lists the way the docker CLI's formatter package does: "table" (default columns),
// "table TEMPLATE", "json", or a raw template; one template run per item, tables aligned.

import { Template, HEADER_FUNCS, unescapeFormat, context } from './template.js';
import { tabwrite } from './tabwriter.js';

export interface ListFormat {
  /** The default table template, without the "table " prefix. */
  table: string;
  /** The template for -q. */
  quiet?: string;
  /** Header strings by field name. */
  headers: Record<string, string>;
}

/** Resolve --format/--quiet into [template, isTable]. */
export function resolveFormat(format: string, quiet: boolean, spec: ListFormat): { tmpl: string; table: boolean } {
  const f = format.trim();
  if (quiet && (f === '' || f === 'table')) return { tmpl: spec.quiet ?? '{{.ID}}', table: false };
  if (f === '' || f === 'table') return { tmpl: spec.table, table: true };
  if (f === 'json') return { tmpl: '{{json .}}', table: false };
  if (f.startsWith('table ')) return { tmpl: unescapeFormat(f.slice(6).trim()), table: true };
  return { tmpl: unescapeFormat(format), table: false };
}

export function headerContext(headers: Record<string, string>): object {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(headers)) o[k] = () => v;
  // A column of {{.Label "name"}} is headed by the label's name.
  o.Label = (name: string) => name;
  return context(o);
}

/** Render all items; a table gets its header row and tabwriter alignment. */
export function renderList(items: object[], format: string, quiet: boolean, spec: ListFormat): string {
  const { tmpl, table } = resolveFormat(format, quiet, spec);
  const t = new Template(tmpl);
  let out = '';
  if (table) out += t.execute(headerContext(spec.headers), HEADER_FUNCS) + '\n';
  for (const item of items) out += t.execute(item) + '\n';
  return table ? tabwrite(out) : out;
}

/** Whether a template reads a field (the CLI asks for sizes only when .Size is used). */
export function usesField(format: string, field: string): boolean {
  return new RegExp(`\\.${field}\\b`).test(format);
}

/** A single-object template (inspect -f, version -f, info -f). */
export function renderOne(format: string, data: unknown): string {
  const { tmpl } = resolveFormat(format === 'json' ? 'json' : format, false, { table: '', headers: {} });
  return new Template(tmpl).execute(data) + '\n';
}
