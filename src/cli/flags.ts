// A command-line parser with the behaviour of spf13/pflag as the docker CLI configures it:
// `--name value`, `--name=value`, `-abc` bundles, `-p80` and `-p=80`, `--bool=false`, `--`,
// and (for run/exec/create) no flags after the first positional argument.

export type FlagKind = 'bool' | 'string' | 'list' | 'int' | 'float';

export interface FlagSpec {
  name: string;
  short?: string;
  kind: FlagKind;
  desc: string;
  /** The type word shown in --help ("string", "list", "bytes", "duration", ...). */
  type?: string;
  def?: string | number | boolean;
  hidden?: boolean;
}

export type FlagValue = string | number | boolean | string[];

export interface Parsed {
  flags: Record<string, FlagValue>;
  /** Names of flags that were given on the command line. */
  changed: Set<string>;
  args: string[];
  help: boolean;
}

/** A usage error: exit 125 with the message, the usage line and a pointer to --help. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

function defaultValue(f: FlagSpec): FlagValue {
  if (f.def !== undefined) return f.def;
  switch (f.kind) {
    case 'bool':
      return false;
    case 'list':
      return [];
    case 'int':
    case 'float':
      return 0;
    default:
      return '';
  }
}

function describe(f: FlagSpec): string {
  return f.short ? `-${f.short}, --${f.name}` : `--${f.name}`;
}

function convert(f: FlagSpec, raw: string): string | number | boolean {
  switch (f.kind) {
    case 'bool': {
      const v = raw.toLowerCase();
      if (['1', 't', 'true'].includes(v)) return true;
      if (['0', 'f', 'false'].includes(v)) return false;
      throw new FlagError(`invalid argument "${raw}" for "${describe(f)}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`);
    }
    case 'int': {
      if (!/^[+-]?\d+$/.test(raw.trim()))
        throw new FlagError(`invalid argument "${raw}" for "${describe(f)}" flag: strconv.ParseInt: parsing "${raw}": invalid syntax`);
      return Number(raw);
    }
    case 'float': {
      const n = Number(raw);
      if (raw.trim() === '' || Number.isNaN(n))
        throw new FlagError(`invalid argument "${raw}" for "${describe(f)}" flag: strconv.ParseFloat: parsing "${raw}": invalid syntax`);
      return n;
    }
    default:
      return raw;
  }
}

export interface ParseOptions {
  /** false: everything after the first positional argument is an argument (docker run IMAGE CMD -x). */
  interspersed?: boolean;
}

export function parseFlags(specs: FlagSpec[], argv: string[], opts: ParseOptions = {}): Parsed {
  const interspersed = opts.interspersed ?? true;
  const byName = new Map<string, FlagSpec>();
  const byShort = new Map<string, FlagSpec>();
  for (const f of specs) {
    byName.set(f.name, f);
    if (f.short) byShort.set(f.short, f);
  }
  const flags: Record<string, FlagValue> = {};
  for (const f of specs) flags[f.name] = defaultValue(f);
  const changed = new Set<string>();
  const args: string[] = [];
  let help = false;

  const set = (f: FlagSpec, raw: string) => {
    const v = convert(f, raw);
    if (f.kind === 'list') {
      // The default of a list is replaced by the first value given, then appended to.
      flags[f.name] = changed.has(f.name) ? [...(flags[f.name] as string[]), raw] : [raw];
    } else flags[f.name] = v;
    changed.add(f.name);
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      if (name === 'help' && !byName.has('help')) {
        help = true;
        continue;
      }
      const f = byName.get(name);
      if (!f) throw new FlagError(`unknown flag: --${name}`);
      if (eq >= 0) set(f, a.slice(eq + 1));
      else if (f.kind === 'bool') set(f, 'true');
      else {
        if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: --${name}`);
        set(f, argv[++i]!);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        const f = byShort.get(c);
        if (!f) {
          if (c === 'h') {
            help = true;
            continue;
          }
          throw new FlagError(`unknown shorthand flag: '${c}' in ${a}`);
        }
        const rest = a.slice(j + 1);
        if (f.kind === 'bool') {
          if (rest.startsWith('=')) {
            set(f, rest.slice(1));
            break;
          }
          set(f, 'true');
          continue;
        }
        if (rest.length) set(f, rest.startsWith('=') ? rest.slice(1) : rest);
        else {
          if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: '${c}' in -${c}`);
          set(f, argv[++i]!);
        }
        break;
      }
      continue;
    }
    args.push(a);
    if (!interspersed) {
      args.push(...argv.slice(i + 1));
      break;
    }
  }
  return { flags, changed, args, help };
}

/** Options block of --help, laid out like pflag's FlagUsagesWrapped at 80 columns. */
export function flagUsages(specs: FlagSpec[], width = 80): string {
  const visible = specs.filter((f) => !f.hidden).sort((a, b) => a.name.localeCompare(b.name));
  const lines = visible.map((f) => {
    let left = f.short ? `  -${f.short}, --${f.name}` : `      --${f.name}`;
    const type = f.type ?? (f.kind === 'bool' ? '' : f.kind === 'float' ? 'decimal' : f.kind);
    if (type) left += ` ${type}`;
    let desc = f.desc;
    if (f.def !== undefined && f.def !== '' && f.def !== false && !(f.kind === 'int' && f.def === 0)) {
      desc += f.kind === 'string' ? ` (default "${f.def}")` : ` (default ${f.def})`;
    }
    return { left, desc };
  });
  const max = Math.max(0, ...lines.map((l) => l.left.length));
  const out: string[] = [];
  for (const { left, desc } of lines) {
    const indent = max + 3;
    out.push(left + ' '.repeat(indent - left.length) + wrap(desc, width - indent).join('\n' + ' '.repeat(indent)));
  }
  return out.join('\n');
}

function wrap(text: string, width: number): string[] {
  if (width < 24) return text.split('\n');
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(' ')) {
      if (line && line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    out.push(line);
  }
  return out;
}
