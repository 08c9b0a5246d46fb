// A Go text/template engine for --format: the subset people write in docker commands.
// Text and {{actions}} with {{- -}} trimming and comments; pipelines with |; fields (.A.B),
// variables ($, $x, $x.A), literals, parenthesised pipelines; if/else if/else, range (with
// `$i, $v :=` and else), with; Go's builtins and the docker CLI's json/join/split/lower/
// upper/title/pad/truncate. Values print as Go's fmt %v prints them.

export const MISSING: unique symbol = Symbol('no value');

export type Funcs = Record<string, (...args: any[]) => unknown>;

export class TemplateError extends Error {
  /** True for errors found while parsing (the CLI words those per command), false while executing. */
  constructor(message: string, readonly parse = false) {
    super(message);
    this.name = 'TemplateError';
  }
}

// ---------------------------------------------------------------- lexing

type Tok =
  | { t: 'field'; names: string[] } // .A.B  ('.' alone: names = [])
  | { t: 'var'; name: string; names: string[] } // $x.A
  | { t: 'ident'; v: string }
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'nil' }
  | { t: '(' } | { t: ')' } | { t: '|' } | { t: ':=' } | { t: '=' } | { t: ',' }
  | { t: 'chain'; names: string[] }; // .A after a ')'

function lexAction(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const fieldChain = (): string[] => {
    const names: string[] = [];
    while (src[i] === '.' && /[A-Za-z_]/.test(src[i + 1] ?? '')) {
      i++;
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      names.push(m[0]);
      i += m[0].length;
    }
    return names;
  };
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === '|' || c === ',') {
      toks.push({ t: c });
      i++;
      if (c === ')' && src[i] === '.') toks.push({ t: 'chain', names: fieldChain() });
      continue;
    }
    if (c === ':' && src[i + 1] === '=') {
      toks.push({ t: ':=' });
      i += 2;
      continue;
    }
    if (c === '=') {
      toks.push({ t: '=' });
      i++;
      continue;
    }
    if (c === '.') {
      if (/[0-9]/.test(src[i + 1] ?? '')) {
        const m = /^\.[0-9]+/.exec(src.slice(i))!;
        toks.push({ t: 'num', v: Number(m[0]) });
        i += m[0].length;
        continue;
      }
      if (/[A-Za-z_]/.test(src[i + 1] ?? '')) toks.push({ t: 'field', names: fieldChain() });
      else {
        toks.push({ t: 'field', names: [] });
        i++;
      }
      continue;
    }
    if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(src.slice(i))!;
      i += m[0].length;
      toks.push({ t: 'var', name: m[0], names: fieldChain() });
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw new TemplateError('unterminated quoted string');
      toks.push({ t: 'str', v: JSON.parse(src.slice(i, j + 1).replace(/\\'/g, "'")) as string });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) throw new TemplateError('unterminated raw quoted string');
      toks.push({ t: 'str', v: src.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    if (c === "'") {
      const m = /^'(\\.|[^'])'/.exec(src.slice(i));
      if (!m) throw new TemplateError('bad character constant');
      const ch = m[1]!.startsWith('\\') ? (JSON.parse(`"${m[1]}"`) as string) : m[1]!;
      toks.push({ t: 'num', v: ch.codePointAt(0)! });
      i += m[0].length;
      continue;
    }
    const num = /^[+-]?(0x[0-9a-fA-F]+|\d+(\.\d*)?([eE][+-]?\d+)?)/.exec(src.slice(i));
    if (num && (/[0-9]/.test(c) || ((c === '-' || c === '+') && /[0-9]/.test(src[i + 1] ?? '')))) {
      toks.push({ t: 'num', v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      const v = id[0];
      if (v === 'true' || v === 'false') toks.push({ t: 'bool', v: v === 'true' });
      else if (v === 'nil') toks.push({ t: 'nil' });
      else toks.push({ t: 'ident', v });
      i += v.length;
      continue;
    }
    throw new TemplateError(`unexpected "${c}" in command`);
  }
  return toks;
}

// ---------------------------------------------------------------- parsing

type Operand =
  | { k: 'field'; names: string[] }
  | { k: 'var'; name: string; names: string[] }
  | { k: 'func'; name: string }
  | { k: 'lit'; v: unknown }
  | { k: 'pipe'; pipe: Pipeline; names: string[] };

interface Command {
  args: Operand[];
}
interface Pipeline {
  decl: string[];
  assign: boolean;
  cmds: Command[];
}

type Node =
  | { k: 'text'; v: string }
  | { k: 'action'; pipe: Pipeline }
  | { k: 'if' | 'with'; pipe: Pipeline; list: Node[]; else: Node[] }
  | { k: 'range'; pipe: Pipeline; list: Node[]; else: Node[] };

function parsePipeline(toks: Tok[], pos: { i: number }, inParen: boolean): Pipeline {
  const pipe: Pipeline = { decl: [], assign: false, cmds: [] };
  // Declarations: $x := / $i, $v := / $x =
  const save = pos.i;
  const decl: string[] = [];
  while (toks[pos.i]?.t === 'var' && (toks[pos.i] as { names: string[] }).names.length === 0) {
    decl.push((toks[pos.i] as { name: string }).name);
    pos.i++;
    if (toks[pos.i]?.t === ',') {
      pos.i++;
      continue;
    }
    break;
  }
  const op = toks[pos.i]?.t;
  if (decl.length && (op === ':=' || op === '=')) {
    pipe.decl = decl;
    pipe.assign = op === '=';
    pos.i++;
  } else pos.i = save;

  let cmd: Command = { args: [] };
  while (pos.i < toks.length) {
    const tok = toks[pos.i]!;
    if (tok.t === ')') {
      if (!inParen) throw new TemplateError('unexpected right paren');
      break;
    }
    pos.i++;
    switch (tok.t) {
      case '|':
        if (!cmd.args.length) throw new TemplateError('missing command');
        pipe.cmds.push(cmd);
        cmd = { args: [] };
        break;
      case 'field':
        cmd.args.push({ k: 'field', names: tok.names });
        break;
      case 'var':
        cmd.args.push({ k: 'var', name: tok.name, names: tok.names });
        break;
      case 'ident':
        cmd.args.push({ k: 'func', name: tok.v });
        break;
      case 'str':
      case 'num':
      case 'bool':
        cmd.args.push({ k: 'lit', v: tok.v });
        break;
      case 'nil':
        cmd.args.push({ k: 'lit', v: null });
        break;
      case '(': {
        const inner = parsePipeline(toks, pos, true);
        if (toks[pos.i]?.t !== ')') throw new TemplateError('unclosed left paren');
        pos.i++;
        let names: string[] = [];
        if (toks[pos.i]?.t === 'chain') names = (toks[pos.i++] as { names: string[] }).names;
        cmd.args.push({ k: 'pipe', pipe: inner, names });
        break;
      }
      default:
        throw new TemplateError(`unexpected ${tok.t} in operand`);
    }
  }
  if (cmd.args.length) pipe.cmds.push(cmd);
  else if (pipe.cmds.length) throw new TemplateError('missing command');
  return pipe;
}

function parsePipelineText(src: string): Pipeline {
  const toks = lexAction(src);
  const pos = { i: 0 };
  const p = parsePipeline(toks, pos, false);
  if (pos.i < toks.length) throw new TemplateError('unexpected tokens after pipeline');
  if (!p.cmds.length) throw new TemplateError('missing value for command');
  return p;
}

interface Item {
  kind: 'text' | 'action';
  v: string;
}

function split(src: string): Item[] {
  const items: Item[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open < 0) {
      if (text) items.push({ kind: 'text', v: text });
      break;
    }
    let start = open + 2;
    if (src.startsWith('- ', start) || src.startsWith('-\t', start) || src.startsWith('-\n', start)) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    if (text) items.push({ kind: 'text', v: text });
    let close: number;
    if (src.slice(start).trimStart().startsWith('/*')) {
      const endc = src.indexOf('*/', start);
      if (endc < 0) throw new TemplateError('unclosed comment');
      close = src.indexOf('}}', endc);
    } else {
      close = start;
      // find the closing braces outside string literals
      while (close < src.length) {
        const ch = src[close]!;
        if (ch === '"') {
          close++;
          while (close < src.length && src[close] !== '"') close += src[close] === '\\' ? 2 : 1;
        } else if (ch === '`') close = src.indexOf('`', close + 1);
        else if (src.startsWith('}}', close)) break;
        if (close < 0) break;
        close++;
      }
    }
    if (close < 0 || close >= src.length) throw new TemplateError('unclosed action');
    let body = src.slice(start, close);
    if (/\s-$/.test(body)) {
      body = body.slice(0, -1);
      trimNext = true;
    }
    if (!body.trim().startsWith('/*')) items.push({ kind: 'action', v: body.trim() });
    i = close + 2;
  }
  return items;
}

function parseList(items: Item[], pos: { i: number }, stopAt: string[]): { list: Node[]; stop: string } {
  const list: Node[] = [];
  while (pos.i < items.length) {
    const it = items[pos.i++]!;
    if (it.kind === 'text') {
      list.push({ k: 'text', v: it.v });
      continue;
    }
    const word = /^[a-z]+/.exec(it.v)?.[0] ?? '';
    if (word === 'end' || word === 'else') {
      if (!stopAt.includes(word)) throw new TemplateError(`unexpected {{${word}}}`);
      if (word === 'else') pos.i--; // the caller inspects the else clause
      return { list, stop: word };
    }
    if (word === 'if' || word === 'range' || word === 'with') {
      list.push(parseControl(word, it.v.slice(word.length), items, pos));
      continue;
    }
    if (word === 'define' || word === 'template' || word === 'block') throw new TemplateError(`{{${word}}} is not supported`);
    list.push({ k: 'action', pipe: parsePipelineText(it.v) });
  }
  if (stopAt.length) throw new TemplateError('unexpected EOF');
  return { list, stop: '' };
}

function parseControl(word: 'if' | 'range' | 'with', rest: string, items: Item[], pos: { i: number }): Node {
  const pipe = parsePipelineText(rest);
  const body = parseList(items, pos, ['end', 'else']);
  let elseList: Node[] = [];
  if (body.stop === 'else') {
    const elseItem = items[pos.i++]!;
    const after = elseItem.v.slice(4).trim();
    if (after.startsWith('if ') && word === 'if') {
      // {{else if x}} is {{else}}{{if x}}...{{end}} sharing the outer {{end}}
      elseList = [parseControl('if', after.slice(2), items, pos)];
      return { k: word, pipe, list: body.list, else: elseList };
    }
    if (after.startsWith('with ') && word === 'with') {
      elseList = [parseControl('with', after.slice(4), items, pos)];
      return { k: word, pipe, list: body.list, else: elseList };
    }
    elseList = parseList(items, pos, ['end']).list;
  }
  return { k: word, pipe, list: body.list, else: elseList };
}

// ---------------------------------------------------------------- values

export function truthy(v: unknown): boolean {
  if (v === MISSING || v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

/** fmt's %v. */
export function goString(v: unknown): string {
  if (v === MISSING || v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(goInner).join(' ')}]`;
  if (typeof v === 'function') return goString(v());
  if (typeof v === 'object') {
    const keys = Object.keys(v as object).sort();
    return `map[${keys.map((k) => `${k}:${goInner((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  }
  return String(v);
}

function goInner(v: unknown): string {
  return v === null || v === undefined || v === MISSING ? '<nil>' : goString(v);
}

function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const s = String(n);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

// ---------------------------------------------------------------- functions

function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += goString(a);
  });
  return out;
}

export function sprintf(format: string, args: unknown[]): string {
  let ai = 0;
  return format.replace(/%([-+ #0]*)(\d+|\*)?(?:\.(\d+))?([a-zA-Z%])/g, (all, fl: string, w: string | undefined, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (ai >= args.length) return `%!${verb}(MISSING)`;
    const a = args[ai++];
    let s: string;
    switch (verb) {
      case 'd':
        s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${goString(a)})`;
        break;
      case 'f':
      case 'F':
        s = typeof a === 'number' ? a.toFixed(prec === undefined ? 6 : Number(prec)) : `%!f(${goString(a)})`;
        break;
      case 'g':
        s = goString(a);
        break;
      case 'q':
        s = JSON.stringify(goString(a));
        break;
      case 'x':
        s = typeof a === 'number' ? a.toString(16) : Buffer.from(goString(a)).toString('hex');
        break;
      case 'X':
        s = typeof a === 'number' ? a.toString(16).toUpperCase() : Buffer.from(goString(a)).toString('hex').toUpperCase();
        break;
      case 't':
        s = String(a);
        break;
      case 's':
      case 'v':
      default:
        s = goString(a);
        if (prec !== undefined && (verb === 's' || verb === 'v')) s = s.slice(0, Number(prec));
    }
    const width = w ? Number(w) : 0;
    if (s.length < width) s = fl.includes('-') ? s.padEnd(width) : s.padStart(width, fl.includes('0') && verb !== 's' ? '0' : ' ');
    void all;
    return s;
  });
}

function length(v: unknown): number {
  if (typeof v === 'string' || Array.isArray(v)) return v.length;
  if (v && typeof v === 'object') return Object.keys(v).length;
  throw new TemplateError(`len of ${goString(v)}`);
}

function index(v: unknown, ...keys: unknown[]): unknown {
  let cur = v;
  for (const k of keys) {
    if (cur === null || cur === undefined || cur === MISSING) return MISSING;
    if (Array.isArray(cur)) {
      if (typeof k !== 'number' || k < 0 || k >= cur.length) throw new TemplateError(`error calling index: index out of range: ${goString(k)}`);
      cur = cur[k];
    } else if (typeof cur === 'object') {
      const o = cur as Record<string, unknown>;
      cur = Object.prototype.hasOwnProperty.call(o, String(k)) ? o[String(k)] : MISSING;
    } else throw new TemplateError(`can't index item of type ${typeof cur}`);
  }
  return cur;
}

function eq(a: unknown, ...bs: unknown[]): boolean {
  return bs.some((b) => a === b || (a == null && b == null));
}

function title(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, p: string, c: string) => p + c.toUpperCase());
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : goString(v);
}

export const BUILTINS: Funcs = {
  and: (...a: unknown[]) => a.find((x) => !truthy(x)) ?? a[a.length - 1],
  or: (...a: unknown[]) => a.find((x) => truthy(x)) ?? a[a.length - 1],
  not: (a: unknown) => !truthy(a),
  len: length,
  index,
  print: (...a: unknown[]) => sprint(a),
  printf: (f: string, ...a: unknown[]) => sprintf(f, a),
  println: (...a: unknown[]) => a.map(goString).join(' ') + '\n',
  eq,
  ne: (a: unknown, b: unknown) => !eq(a, b),
  lt: (a: number, b: number) => a < b,
  le: (a: number, b: number) => a <= b,
  gt: (a: number, b: number) => a > b,
  ge: (a: number, b: number) => a >= b,
  slice: (v: string | unknown[], i = 0, j?: number) => v.slice(i, j),
  urlquery: (...a: unknown[]) => encodeURIComponent(sprint(a)),
  html: (...a: unknown[]) => sprint(a).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`),
  js: (...a: unknown[]) => JSON.stringify(sprint(a)).slice(1, -1),
  call: (fn: (...x: unknown[]) => unknown, ...a: unknown[]) => fn(...a),
  // the docker CLI's additions (cli/templates)
  // The docker CLI's json does not escape HTML, but a formatting context marshals itself with
  // Go's default encoder, which writes <, > and & as \u003c, \u003e, \u0026.
  json: (v: unknown) => {
    const text = JSON.stringify(toJSON(v)) ?? 'null';
    return isContext(v) ? text.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) : text;
  },
  split: (s: unknown, sep: string) => str(s).split(sep),
  join: (v: unknown, sep: string) => (Array.isArray(v) ? v.map(goString).join(sep) : str(v)),
  title: (s: unknown) => title(str(s)),
  lower: (s: unknown) => str(s).toLowerCase(),
  upper: (s: unknown) => str(s).toUpperCase(),
  pad: (s: unknown, l: number, r: number) => ' '.repeat(l) + str(s) + ' '.repeat(r),
  truncate: (s: unknown, n: number) => [...str(s)].slice(0, n).join(''),
};

/** What the docker CLI's table headers do to the header strings: no JSON, no splitting. */
export const HEADER_FUNCS: Funcs = {
  json: () => '',
  split: (s: unknown) => s,
  join: (s: unknown) => s,
  title: (s: unknown) => s,
  lower: (s: unknown) => s,
  upper: (s: unknown) => s,
  pad: (s: unknown) => s,
  truncate: (s: unknown) => s,
};

/** A formatting context's JSON: its zero-argument getters, sorted by name (as the CLI marshals them). */
export function toJSON(v: unknown): unknown {
  if (v && typeof v === 'object' && (v as { [ctxMarker]?: boolean })[ctxMarker]) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const f = (v as Record<string, unknown>)[k];
      if (typeof f === 'function') {
        if (f.length === 0) out[k] = f();
      } else out[k] = f;
    }
    return out;
  }
  return v === MISSING ? null : v;
}

function isContext(v: unknown): boolean {
  return !!v && typeof v === 'object' && !!(v as { [ctxMarker]?: boolean })[ctxMarker];
}

/** Marks an object whose function-valued properties are methods (called by field access). */
export const ctxMarker = Symbol('formatting context');

export function context<T extends object>(o: T): T {
  Object.defineProperty(o, ctxMarker, { value: true, enumerable: false });
  return o;
}

// ---------------------------------------------------------------- execution

interface Scope {
  vars: Map<string, unknown>[];
}

export class Template {
  private readonly root: Node[];

  constructor(src: string, private readonly funcs: Funcs = {}) {
    try {
      this.root = parseList(split(src), { i: 0 }, []).list;
    } catch (err) {
      throw err instanceof TemplateError ? new TemplateError(`template: :1: ${err.message}`, true) : err;
    }
    this.checkFuncs(this.root);
  }

  private checkFuncs(nodes: Node[]): void {
    const checkPipe = (p: Pipeline) => {
      for (const c of p.cmds)
        for (const a of c.args) {
          if (a.k === 'func' && !(a.name in this.funcs) && !(a.name in BUILTINS))
            throw new TemplateError(`template: :1: function "${a.name}" not defined`, true);
          if (a.k === 'pipe') checkPipe(a.pipe);
        }
    };
    for (const n of nodes) {
      if (n.k === 'text') continue;
      checkPipe(n.pipe);
      if (n.k !== 'action') {
        this.checkFuncs(n.list);
        this.checkFuncs(n.else);
      }
    }
  }

  execute(data: unknown, extraFuncs: Funcs = {}): string {
    const funcs = { ...BUILTINS, ...this.funcs, ...extraFuncs };
    const scope: Scope = { vars: [new Map([['$', data]])] };
    const out: string[] = [];
    this.run(this.root, data, scope, funcs, out);
    return out.join('');
  }

  private run(nodes: Node[], dot: unknown, scope: Scope, funcs: Funcs, out: string[]): void {
    for (const n of nodes) {
      switch (n.k) {
        case 'text':
          out.push(n.v);
          break;
        case 'action': {
          const v = this.pipe(n.pipe, dot, scope, funcs);
          if (!n.pipe.decl.length) out.push(goString(v));
          break;
        }
        case 'if':
        case 'with': {
          scope.vars.push(new Map());
          const v = this.pipe(n.pipe, dot, scope, funcs);
          if (truthy(v)) this.run(n.list, n.k === 'with' ? v : dot, scope, funcs, out);
          else this.run(n.else, dot, scope, funcs, out);
          scope.vars.pop();
          break;
        }
        case 'range': {
          scope.vars.push(new Map());
          const decl = n.pipe.decl;
          const v = this.pipe({ ...n.pipe, decl: [] }, dot, scope, funcs);
          let entries: [unknown, unknown][] = [];
          if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
          else if (typeof v === 'number') entries = Array.from({ length: v }, (_, i) => [i, i]);
          else if (v && typeof v === 'object') entries = Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]);
          else if (truthy(v)) throw new TemplateError(`range can't iterate over ${goString(v)}`);
          if (!entries.length) this.run(n.else, dot, scope, funcs, out);
          for (const [k, x] of entries) {
            const frame = scope.vars[scope.vars.length - 1]!;
            if (decl.length === 1) frame.set(decl[0]!, x);
            else if (decl.length === 2) {
              frame.set(decl[0]!, k);
              frame.set(decl[1]!, x);
            }
            this.run(n.list, x, scope, funcs, out);
          }
          scope.vars.pop();
          break;
        }
      }
    }
  }

  private lookupVar(name: string, scope: Scope): unknown {
    for (let i = scope.vars.length - 1; i >= 0; i--) if (scope.vars[i]!.has(name)) return scope.vars[i]!.get(name);
    throw new TemplateError(`template: :1: undefined variable: ${name}`);
  }

  private pipe(p: Pipeline, dot: unknown, scope: Scope, funcs: Funcs): unknown {
    let v: unknown = MISSING;
    let first = true;
    for (const c of p.cmds) {
      v = this.command(c, dot, scope, funcs, first ? undefined : { v });
      first = false;
    }
    if (p.decl.length) {
      if (p.assign) {
        for (let i = scope.vars.length - 1; i >= 0; i--)
          if (scope.vars[i]!.has(p.decl[0]!)) {
            scope.vars[i]!.set(p.decl[0]!, v);
            return v;
          }
        throw new TemplateError(`template: :1: undefined variable: ${p.decl[0]}`);
      }
      scope.vars[scope.vars.length - 1]!.set(p.decl[0]!, v);
    }
    return v;
  }

  private command(c: Command, dot: unknown, scope: Scope, funcs: Funcs, piped?: { v: unknown }): unknown {
    const [head, ...rest] = c.args;
    const args = () => {
      const a = rest.map((o) => this.operand(o, dot, scope, funcs));
      if (piped) a.push(piped.v);
      return a;
    };
    if (head!.k === 'func') {
      const fn = funcs[head!.name]!;
      try {
        return fn(...args());
      } catch (err) {
        if (err instanceof TemplateError) throw err;
        throw new TemplateError(`template: :1: error calling ${head!.name}: ${(err as Error).message}`);
      }
    }
    if ((head!.k === 'field' || head!.k === 'var') && head!.names.length && (rest.length || piped)) {
      // A method call with arguments: .Label "x"
      const recv = head!.k === 'field' ? dot : this.lookupVar(head!.name, scope);
      const obj = this.walk(recv, head!.names.slice(0, -1), false);
      const m = (obj as Record<string, unknown> | null)?.[head!.names[head!.names.length - 1]!];
      if (typeof m !== 'function') throw new TemplateError(`template: :1: can't give argument to non-function ${head!.names.join('.')}`);
      return (m as (...x: unknown[]) => unknown).apply(obj, args());
    }
    if (rest.length || piped) throw new TemplateError(`template: :1: can't give argument to non-function`);
    return this.operand(head!, dot, scope, funcs);
  }

  private operand(o: Operand, dot: unknown, scope: Scope, funcs: Funcs): unknown {
    switch (o.k) {
      case 'lit':
        return o.v;
      case 'field':
        return this.walk(dot, o.names, true);
      case 'var':
        return this.walk(this.lookupVar(o.name, scope), o.names, true);
      case 'func':
        return funcs[o.name]!();
      case 'pipe':
        return this.walk(this.pipe(o.pipe, dot, scope, funcs), o.names, true);
    }
  }

  private walk(v: unknown, names: string[], callLast: boolean): unknown {
    let cur = v;
    names.forEach((name, i) => {
      if (cur === MISSING || cur === null || cur === undefined) {
        cur = MISSING;
        return;
      }
      if (typeof cur !== 'object') throw new TemplateError(`template: :1: can't evaluate field ${name} in type ${typeof cur}`);
      const o = cur as Record<string, unknown>;
      const isCtx = !!(o as { [ctxMarker]?: boolean })[ctxMarker];
      if (!(name in o)) {
        if (isCtx) throw new TemplateError(`template: :1: can't evaluate field ${name}`);
        cur = MISSING;
        return;
      }
      const f = o[name];
      cur = typeof f === 'function' && (callLast || i < names.length - 1) ? (f as () => unknown).call(o) : f;
    });
    return cur;
  }
}

/** The docker CLI turns the escapes \t and \n of a --format string into real characters. */
export function unescapeFormat(f: string): string {
  return f.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}
