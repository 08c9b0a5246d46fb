// Go's time.Duration text forms, as Docker puts them on the wire and in
// messages ("1m30s", "500ms"). The daemon needs them for HEALTHCHECK options
// and for health check messages ("Health check exceeded timeout (1s)").

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go time.ParseDuration → nanoseconds. Throws Go's messages on bad input. */
export function parseGoDuration(s: string): number {
  const str = s.trim();
  let rest = str;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) { sign = rest.startsWith('-') ? -1 : 1; rest = rest.slice(1); }
  if (rest === '0') return 0;
  if (rest === '') throw new Error(`time: invalid duration "${s}"`);
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  let m: RegExpExecArray | null;
  while (at < rest.length && (re.lastIndex = at, m = re.exec(rest))) {
    total += Number(m[1]) * UNIT_NS[m[2]!]!;
    at = re.lastIndex;
  }
  if (at !== rest.length) {
    const tail = rest.slice(at);
    if (/^[\d.]+$/.test(tail)) throw new Error(`time: missing unit in duration "${s}"`);
    const bad = /^[\d.]+([^\d.]+)/.exec(tail);
    if (bad) throw new Error(`time: unknown unit "${bad[1]}" in duration "${s}"`);
    throw new Error(`time: invalid duration "${s}"`);
  }
  return Math.round(sign * total);
}

/** Go's Duration.String() of nanoseconds: "0s", "500ms", "1.5s", "1m30s", "2h0m0s". */
export function goDurationString(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 0) return `-${goDurationString(-ns)}`;
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${trimFrac(ns / 1e3)}µs`;
  if (ns < 1e9) return `${trimFrac(ns / 1e6)}ms`;
  const h = Math.floor(ns / 3600e9);
  const m = Math.floor((ns - h * 3600e9) / 60e9);
  const s = (ns - h * 3600e9 - m * 60e9) / 1e9;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${trimFrac(s)}s`;
}

function trimFrac(n: number): string {
  return n.toFixed(9).replace(/\.?0+$/, '');
}
