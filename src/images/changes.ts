// Dockerfile instructions accepted by `docker import --change` / `commit --change`,
// applied to an image's container config.
import { posix } from 'node:path';
import { invalidArgument, parseGoDuration } from '../util/index.js';
import type { ContainerConfig, HealthConfig } from './types.js';

const ALLOWED = new Set(['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'USER', 'VOLUME', 'WORKDIR', 'STOPSIGNAL', 'HEALTHCHECK']);

/** Splits words, honouring "…", '…' and backslash escapes (the Dockerfile shell-word rules, simplified). */
export function splitWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quote) {
      if (ch === quote) { quote = undefined; continue; }
      if (ch === '\\' && quote === '"' && i + 1 < s.length) { cur += s[++i]; continue; }
      cur += ch;
      continue;
    }
    if (ch === '"' || ch === "'") { quote = ch; inWord = true; continue; }
    if (ch === '\\' && i + 1 < s.length) { cur += s[++i]; inWord = true; continue; }
    if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    cur += ch;
    inWord = true;
  }
  if (quote) throw invalidArgument(`unexpected end of statement while looking for matching ${quote}`);
  if (inWord) words.push(cur);
  return words;
}

/** JSON array of strings, or undefined when `s` is not one (then it is the shell form). */
function jsonArray(s: string): string[] | undefined {
  if (!s.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(s);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch { /* shell form */ }
  return undefined;
}

/** `k=v k2="v 2"`, or the legacy one-pair form `k v w`. */
function keyValues(instr: string, rest: string): [string, string][] {
  const words = splitWords(rest);
  if (words.length === 0) throw invalidArgument(`${instr} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    if (instr === 'LABEL' || words.length < 2) throw invalidArgument(`${instr} must have two arguments`);
    const firstSpace = rest.trim().search(/\s/);
    return [[words[0]!, rest.trim().slice(firstSpace).trim()]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw invalidArgument(`${instr} names can not be blank`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function exposedPorts(rest: string): string[] {
  const out: string[] = [];
  for (const w of splitWords(rest)) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(w);
    if (!m) throw invalidArgument(`invalid containerPort: ${w}`);
    const lo = Number(m[1]);
    const hi = m[2] ? Number(m[2]) : lo;
    if (lo < 1 || hi > 65535 || hi < lo) throw invalidArgument(`invalid containerPort: ${w}`);
    const proto = (m[3] ?? 'tcp').toLowerCase();
    for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  }
  return out;
}

/**
 * `HEALTHCHECK NONE` or `HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D]
 * [--start-interval=D] [--retries=N] CMD command` (exec or shell form).
 */
function healthcheck(rest: string): HealthConfig {
  const words = rest.split(/\s+/);
  const hc: HealthConfig = {};
  let i = 0;
  for (; i < words.length && words[i]!.startsWith('--'); i++) {
    const m = /^--([a-z-]+)=(.*)$/.exec(words[i]!);
    if (!m) throw invalidArgument(`Bad HEALTHCHECK flag: ${words[i]}`);
    const [, name, value] = m as unknown as [string, string, string];
    if (name === 'retries') {
      if (!/^-?\d+$/.test(value)) throw invalidArgument(`invalid value for --retries: ${value}`);
      const n = Number(value);
      if (n < 0) throw invalidArgument(`--retries cannot be negative (${n})`);
      hc.Retries = n;
      continue;
    }
    const field = ({ interval: 'Interval', timeout: 'Timeout', 'start-period': 'StartPeriod', 'start-interval': 'StartInterval' } as const)[name];
    if (!field) throw invalidArgument(`Unknown flag: ${name}`);
    let ns: number;
    try { ns = value === '' ? 0 : parseGoDuration(value); } catch (err) { throw invalidArgument((err as Error).message); }
    if (ns !== 0 && ns < 1e6) throw invalidArgument(`Interval "${name}" cannot be less than 1ms`);
    if (ns) hc[field] = ns;
  }
  const typ = (words[i] ?? '').toUpperCase();
  const cmd = words.slice(i + 1).join(' ').trim();
  if (typ === 'NONE') {
    if (i > 0 || cmd) throw invalidArgument('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (typ !== 'CMD') throw invalidArgument(`Unknown type "${words[i] ?? ''}" in HEALTHCHECK (try CMD)`);
  if (!cmd) throw invalidArgument('Missing command after HEALTHCHECK CMD');
  // The rest keeps its own spacing: take it from the original text, after "CMD".
  const after = rest.slice(rest.search(/\bCMD\b/i) + 3).trim();
  const exec = jsonArray(after);
  return { ...hc, Test: exec ? ['CMD', ...exec] : ['CMD-SHELL', after] };
}

/** Applies `changes` to a copy of `config`. */
export function applyChanges(config: ContainerConfig, changes: string[]): ContainerConfig {
  const c: ContainerConfig = structuredClone(config);
  for (const raw of changes) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(line)!;
    const instr = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (!ALLOWED.has(instr)) throw invalidArgument(`${m[1]} is not a valid change command`);
    switch (instr) {
      case 'CMD':
      case 'ENTRYPOINT': {
        const v = jsonArray(rest) ?? ['/bin/sh', '-c', rest];
        if (instr === 'CMD') c.Cmd = v;
        else {
          c.Entrypoint = v;
          // As in a Dockerfile, a new ENTRYPOINT resets an inherited CMD.
          c.Cmd = null;
        }
        break;
      }
      case 'ENV': {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of keyValues(instr, rest)) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        c.Env = env;
        break;
      }
      case 'LABEL': {
        c.Labels = { ...(c.Labels ?? {}) };
        for (const [k, v] of keyValues(instr, rest)) c.Labels[k] = v;
        break;
      }
      case 'EXPOSE': {
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of exposedPorts(rest)) c.ExposedPorts[p] = {};
        break;
      }
      case 'VOLUME': {
        const vols = jsonArray(rest) ?? splitWords(rest);
        if (vols.length === 0) throw invalidArgument('VOLUME requires at least one argument');
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const v of vols) {
          if (v.trim() === '') throw invalidArgument('VOLUME specified can not be an empty string');
          c.Volumes[v] = {};
        }
        break;
      }
      case 'USER':
        if (!rest) throw invalidArgument('USER requires exactly one argument');
        c.User = rest;
        break;
      case 'WORKDIR':
        if (!rest) throw invalidArgument('WORKDIR requires exactly one argument');
        c.WorkingDir = posix.resolve(c.WorkingDir || '/', rest);
        break;
      case 'STOPSIGNAL':
        if (!rest) throw invalidArgument('STOPSIGNAL requires exactly one argument');
        c.StopSignal = rest;
        break;
      case 'HEALTHCHECK':
        c.Healthcheck = healthcheck(rest);
        break;
      case 'ONBUILD':
        if (!rest) throw invalidArgument('ONBUILD requires at least one argument');
        c.OnBuild = [...(c.OnBuild ?? []), rest];
        break;
    }
  }
  return c;
}
