// WWW-Authenticate challenges (RFC 7235): `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.

export interface Challenge {
  scheme: string; // lower case: 'bearer' | 'basic' | …
  params: Record<string, string>;
}

/** Parses every challenge in the given header values. Unparseable parts are skipped. */
export function parseChallenges(values: string[]): Challenge[] {
  const out: Challenge[] = [];
  for (const v of values) {
    let i = 0;
    let cur: Challenge | undefined;
    const skipWs = () => { while (i < v.length && (v[i] === ' ' || v[i] === '\t' || v[i] === ',')) i++; };
    const token = () => {
      const m = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(v.slice(i));
      if (!m) return '';
      i += m[0].length;
      return m[0];
    };
    while (i < v.length) {
      skipWs();
      const start = i;
      const t = token();
      if (!t) { i++; continue; }
      let j = i;
      while (v[j] === ' ' || v[j] === '\t') j++;
      if (v[j] === '=' && cur) {
        i = j + 1;
        while (v[i] === ' ' || v[i] === '\t') i++;
        let val = '';
        if (v[i] === '"') {
          i++;
          while (i < v.length && v[i] !== '"') {
            if (v[i] === '\\' && i + 1 < v.length) i++;
            val += v[i];
            i++;
          }
          i++;
        } else {
          const s = i;
          while (i < v.length && v[i] !== ',' && v[i] !== ' ') i++;
          val = v.slice(s, i);
        }
        cur.params[t.toLowerCase()] = val;
      } else if (start === i - t.length) {
        cur = { scheme: t.toLowerCase(), params: {} };
        out.push(cur);
      }
    }
  }
  return out;
}
