// Variable substitution and word splitting as Docker's Dockerfile shell lexer
// does it (not a shell: no globbing, no command substitution). Quotes group
// words and are removed; '…' is literal; inside "…" the escape character only
// escapes ", $ and itself; $VAR, ${VAR}, ${VAR:-w}, ${VAR-w}, ${VAR:+w},
// ${VAR+w}, ${VAR:?msg}, ${VAR?msg} are expanded from `env`.
import { invalidArgument } from '../util/index.js';

export type Env = ReadonlyMap<string, string>;

class Lexer {
  i = 0;
  constructor(readonly s: string, readonly env: Env, readonly escape: string) {}

  peek(): string | undefined { return this.s[this.i]; }

  /** Expands `s` into words (split on unquoted whitespace); one word when !split. */
  words(split: boolean): string[] {
    const out: string[] = [];
    let cur = '';
    let inWord = false;
    while (this.i < this.s.length) {
      const ch = this.s[this.i]!;
      if (split && /\s/.test(ch)) {
        if (inWord) out.push(cur);
        cur = '';
        inWord = false;
        this.i++;
        continue;
      }
      inWord = true;
      if (ch === this.escape) {
        this.i++;
        if (this.i < this.s.length) cur += this.s[this.i++];
        else cur += ch; // a trailing escape stays as it is
        continue;
      }
      if (ch === "'") { cur += this.single(); continue; }
      if (ch === '"') { cur += this.double(); continue; }
      if (ch === '$') {
        const v = this.dollar();
        // An unquoted empty expansion does not make a word by itself.
        if (v === '' && split && cur === '' && (this.i >= this.s.length || /\s/.test(this.s[this.i]!))) { inWord = false; continue; }
        if (split && /\s/.test(v)) {
          // An unquoted expansion is split into words, as in a shell.
          const parts = v.split(/\s+/);
          cur += parts.shift()!;
          const last = parts.pop();
          if (last === undefined) continue;
          if (cur !== '') out.push(cur);
          for (const p of parts) if (p) out.push(p);
          cur = last;
          inWord = last !== '';
          continue;
        }
        cur += v;
        continue;
      }
      cur += ch;
      this.i++;
    }
    if (inWord) out.push(cur);
    return out;
  }

  private single(): string {
    this.i++; // opening '
    const end = this.s.indexOf("'", this.i);
    if (end < 0) throw invalidArgument("unexpected end of statement while looking for matching single-quote");
    const v = this.s.slice(this.i, end);
    this.i = end + 1;
    return v;
  }

  private double(): string {
    this.i++; // opening "
    let v = '';
    for (;;) {
      if (this.i >= this.s.length) throw invalidArgument('unexpected end of statement while looking for matching double-quote');
      const ch = this.s[this.i]!;
      if (ch === '"') { this.i++; return v; }
      if (ch === '$') { v += this.dollar(); continue; }
      if (ch === this.escape) {
        const next = this.s[this.i + 1];
        if (next === '"' || next === '$' || next === this.escape) { v += next; this.i += 2; continue; }
      }
      v += ch;
      this.i++;
    }
  }

  /** At '$': the expansion, or a literal '$' when no name follows. */
  private dollar(): string {
    this.i++;
    const ch = this.peek();
    if (ch === '{') {
      this.i++;
      const name = this.name();
      if (!name) throw invalidArgument(`missing ':' in substitution`);
      const c = this.peek();
      if (c === '}') { this.i++; return this.env.get(name) ?? ''; }
      let colon = false;
      if (c === ':') { colon = true; this.i++; }
      const op = this.peek();
      if (op !== '-' && op !== '+' && op !== '?') {
        throw invalidArgument(`unsupported modifier (${op ?? ''}) in substitution`);
      }
      this.i++;
      const word = this.untilBrace();
      const val = this.env.get(name);
      const set = colon ? val !== undefined && val !== '' : val !== undefined;
      if (op === '-') return set ? val! : word;
      if (op === '+') return set ? word : '';
      if (!set) throw invalidArgument(`${name}: ${word || 'is not allowed to be unset'}`);
      return val!;
    }
    const name = this.name();
    if (!name) return '$';
    return this.env.get(name) ?? '';
  }

  private name(): string {
    const m = /^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9])/.exec(this.s.slice(this.i));
    if (!m) return '';
    this.i += m[0].length;
    return m[0];
  }

  /** The word of ${VAR:-word}, itself expanded, up to the matching '}'. */
  private untilBrace(): string {
    let v = '';
    for (;;) {
      if (this.i >= this.s.length) throw invalidArgument("syntax error: missing '}'");
      const ch = this.s[this.i]!;
      if (ch === '}') { this.i++; return v; }
      if (ch === this.escape && this.i + 1 < this.s.length) { v += this.s[this.i + 1]; this.i += 2; continue; }
      if (ch === "'") { v += this.single(); continue; }
      if (ch === '"') { v += this.double(); continue; }
      if (ch === '$') { v += this.dollar(); continue; }
      v += ch;
      this.i++;
    }
  }
}

/** One word: quotes removed, variables expanded (ENV values, WORKDIR, USER, …). */
export function expandWord(s: string, env: Env, escape = '\\'): string {
  return new Lexer(s, env, escape).words(false).join('');
}

/** Several words split on unquoted whitespace (COPY/ADD sources, EXPOSE, VOLUME). */
export function expandWords(s: string, env: Env, escape = '\\'): string[] {
  return new Lexer(s, env, escape).words(true);
}
