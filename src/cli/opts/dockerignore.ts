// .dockerignore: patterns matched against context-relative paths ("/" separated); `*` and `?`
// stay within one path element, `**` spans any number; "!" re-includes; a pattern that matches
// a parent directory matches everything under it; the last matching pattern wins.

export interface IgnorePattern {
  re: RegExp;
  exclusion: boolean;
}

function clean(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return parts.join('/');
}

function toRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += '\\' + pattern[++i];
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      if (end < 0) re += '\\[';
      else {
        re += pattern.slice(i, end + 1).replace('[!', '[^');
        i = end;
      }
    } else re += c.replace(/[.+^${}()|]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

export function parseDockerignore(text: string): IgnorePattern[] {
  const out: IgnorePattern[] = [];
  for (let line of text.split('\n')) {
    line = line.replace(/\r$/, '').trim();
    if (!line || line.startsWith('#')) continue;
    let exclusion = false;
    if (line.startsWith('!')) {
      exclusion = true;
      line = line.slice(1).trim();
    }
    const p = clean(line);
    if (!p) continue;
    out.push({ re: toRegExp(p), exclusion });
  }
  return out;
}

/** Whether a context-relative path is excluded from the build context. */
export function isIgnored(path: string, patterns: IgnorePattern[]): boolean {
  const rel = clean(path);
  const prefixes: string[] = [];
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i++) prefixes.push(parts.slice(0, i).join('/'));
  let matched = false;
  for (const p of patterns) {
    if (prefixes.some((x) => p.re.test(x))) matched = !p.exclusion;
  }
  return matched;
}

/** Whether any exclusion pattern could re-include something below this directory. */
export function hasExclusions(patterns: IgnorePattern[]): boolean {
  return patterns.some((p) => p.exclusion);
}
