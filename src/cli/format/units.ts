// Sizes and durations printed the way the docker CLI prints them (docker/go-units).

/** Go's %.<p>g: shortest of fixed/exponent form with p significant digits, trailing zeros removed. */
export function formatG(x: number, p: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return String(x);
  const exp = Math.floor(Math.log10(Math.abs(Number(x.toPrecision(p)))));
  if (exp < -4 || exp >= p) {
    let [m, e] = x.toExponential(p - 1).split('e') as [string, string];
    if (m.includes('.')) m = m.replace(/0+$/, '').replace(/\.$/, '');
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  let s = x.toFixed(Math.max(0, p - 1 - exp));
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function scale(size: number, base: number, units: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return [size, units[i]!];
}

/** units.HumanSizeWithPrecision: decimal units ("4.26MB" at precision 3). */
export function humanSize(bytes: number, precision = 3): string {
  const [n, u] = scale(bytes, 1000, DECIMAL);
  return formatG(n, precision) + u;
}

/** units.BytesSize: binary units, 4 significant digits ("1.953MiB"). */
export function bytesSize(bytes: number): string {
  const [n, u] = scale(bytes, 1024, BINARY);
  return formatG(n, 4) + u;
}

/** units.HumanDuration of a span in milliseconds. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3600000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3600000 / 24 / 365)} years`;
}

/** "2 hours ago" from a unix time in seconds. */
export function since(unixSeconds: number, now = Date.now()): string {
  return `${humanDuration(now - unixSeconds * 1000)} ago`;
}

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]?)([iI]?[bB]?)$/;
const MULT: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** units.RAMInBytes: "512m", "1g", "1.5GB" → bytes (binary multiples, as --memory takes). */
export function ramInBytes(s: string): number {
  const m = SIZE_RE.exec(s.trim());
  if (!m) throw new Error(`invalid size: '${s}'`);
  return Math.trunc(Number(m[1]) * MULT[m[2]!.toLowerCase()]!);
}

/** units.FromHumanSize: decimal multiples ("10MB" → 10000000). */
export function fromHumanSize(s: string): number {
  const m = SIZE_RE.exec(s.trim());
  if (!m) throw new Error(`invalid size: '${s}'`);
  const k = m[2]!.toLowerCase();
  const p = { '': 0, k: 1, m: 2, g: 3, t: 4, p: 5 }[k]!;
  return Math.trunc(Number(m[1]) * 1000 ** p);
}

const DUR_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Go time.ParseDuration → milliseconds ("1m30s", "500ms", "0"). */
export function parseGoDuration(s: string): number {
  const str = s.trim();
  if (str === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let sign = 1;
  let rest = str;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  let matched = 0;
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(rest))) {
    total += Number(m[1]) * DUR_UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (!rest || matched !== rest.length) {
    const bad = /^(\d+(?:\.\d*)?)([^\d.]+)/.exec(rest.slice(matched));
    if (bad) throw new Error(`time: unknown unit "${bad[2]}" in duration "${s}"`);
    if (/^\d+(\.\d*)?$/.test(rest.slice(matched))) throw new Error(`time: missing unit in duration "${s}"`);
    throw new Error(`time: invalid duration "${s}"`);
  }
  return sign * total;
}

/** Go's Duration.String() of a span in nanoseconds ("1m30s", "500ms"), for --help defaults. */
export function goDurationString(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1e6) return `${ns / 1e3}µs`;
  if (ns < 1e9) return `${ns / 1e6}ms`;
  let s = ns / 1e9;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${formatG(s, 9)}s`;
}
