// Dockerfile parser: parser directives, comments, line continuations (with
// the escape directive), flags (--from=…), JSON and shell forms. Variable
// expansion happens later, per instruction, with the builder's environment.
import { invalidArgument } from '../util/index.js';

export const INSTRUCTIONS = new Set([
  'FROM', 'RUN', 'CMD', 'ENTRYPOINT', 'ENV', 'ARG', 'LABEL', 'EXPOSE', 'WORKDIR', 'USER', 'VOLUME',
  'COPY', 'ADD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL', 'ONBUILD', 'MAINTAINER',
]);

export interface Instruction {
  /** Upper-case instruction name. */
  cmd: string;
  /** The instruction as written, continuations joined (Docker's "Step n/m : …" text). */
  original: string;
  /** 1-based line where it starts. */
  line: number;
  /** Leading `--name=value` flags (`--name` alone gives 'true'). */
  flags: Map<string, string>;
  /** Text after the name and flags, trimmed. */
  rest: string;
  /** The JSON (exec) form, when `rest` is a JSON array of strings. */
  json?: string[];
}

export interface Dockerfile {
  escape: string;
  instructions: Instruction[];
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;

export function parseError(line: number, msg: string): Error {
  return invalidArgument(`dockerfile parse error on line ${line}: ${msg}`);
}

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let escape = '\\';
  let i = 0;
  // Parser directives: only at the very top, before any comment, blank line or instruction.
  const seen = new Set<string>();
  for (; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lines[i]!.trim());
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (seen.has(key)) throw parseError(i + 1, `only one ${key} parser directive can be used`);
    seen.add(key);
    if (key === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`') throw parseError(i + 1, `invalid escape token '${m[2]}' does not match \` or \\`);
      escape = m[2]!;
    }
    // syntax=, check=: accepted and ignored (they select BuildKit frontends).
  }
  const continuation = new RegExp(`${escape === '\\' ? '\\\\' : '`'}[ \\t]*$`);
  const out: Instruction[] = [];
  while (i < lines.length) {
    const first = lines[i]!;
    const trimmed = first.trim();
    if (trimmed === '' || trimmed.startsWith('#')) { i++; continue; }
    const start = i + 1;
    let text = first.replace(/^\s+/, '');
    i++;
    while (continuation.test(text)) {
      text = text.replace(continuation, '');
      // Comment and empty lines inside a continued instruction are dropped.
      while (i < lines.length && (lines[i]!.trim() === '' || lines[i]!.trim().startsWith('#'))) i++;
      if (i >= lines.length) break;
      text += lines[i]!;
      i++;
    }
    out.push(parseInstruction(text.trim(), start));
  }
  return { escape, instructions: out };
}

export function parseInstruction(text: string, line: number): Instruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(text)!;
  const word = m[1]!;
  const cmd = word.toUpperCase();
  if (!INSTRUCTIONS.has(cmd)) throw parseError(line, `unknown instruction: ${word}`);
  let rest = m[2]!;
  const flags = new Map<string, string>();
  // Flags come first; ONBUILD's belong to its trigger, and RUN/CMD's text is a command.
  if (cmd !== 'ONBUILD') {
    for (;;) {
      const f = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(rest);
      if (!f) break;
      flags.set(f[1]!.toLowerCase(), f[2] ?? 'true');
      rest = rest.slice(f[0].length);
    }
  }
  rest = rest.trim();
  const ins: Instruction = { cmd, original: text, line, flags, rest };
  const json = jsonForm(rest);
  if (json) ins.json = json;
  return ins;
}

/** A JSON array of strings, or undefined (then it is the shell form). */
export function jsonForm(s: string): string[] | undefined {
  if (!s.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(s);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch { /* shell form */ }
  return undefined;
}

/**
 * Splits on unquoted whitespace, keeping quotes and escapes in the words
 * (they are removed when each word is expanded).
 */
export function rawWords(s: string, escape = '\\'): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === escape && i + 1 < s.length) { cur += ch + s[++i]; continue; }
    if (quote) {
      if (ch === quote) quote = undefined;
      cur += ch;
      continue;
    }
    if (ch === '"' || ch === "'") { quote = ch; cur += ch; continue; }
    if (/\s/.test(ch)) {
      if (cur) out.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

/**
 * ENV/LABEL/ARG pairs, raw (unexpanded): `k=v k2="v 2"`, or the legacy
 * `ENV key value with spaces` form (ENV only, one pair).
 */
export function nameValues(ins: Instruction, escape = '\\'): [string, string | undefined][] {
  const words = rawWords(ins.rest, escape);
  if (words.length === 0) throw parseError(ins.line, `${ins.cmd} requires at least one argument`);
  if (ins.cmd === 'ARG') {
    return words.map((w) => {
      const eq = w.indexOf('=');
      return eq < 0 ? [w, undefined] : [w.slice(0, eq), w.slice(eq + 1)];
    });
  }
  if (!words[0]!.includes('=')) {
    if (ins.cmd !== 'ENV' || words.length < 2) throw parseError(ins.line, `${ins.cmd} must have two arguments`);
    const value = ins.rest.slice(ins.rest.indexOf(words[0]!) + words[0]!.length).trim();
    return [[words[0]!, value]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) throw parseError(ins.line, `Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    if (eq === 0) throw parseError(ins.line, `${ins.cmd} names can not be blank`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}
