// The client config file (~/.docker/config.json, or --config / DOCKER_CONFIG): registry
// credentials under "auths", keyed as the docker CLI keys them (Hub: https://index.docker.io/v1/).
// Other keys in the file are preserved. Credential helpers work as the docker CLI's:
// `credHelpers[key]` (per registry) over `credsStore` (default; when unset, pass or
// secretservice if their helper is installed), each a
// docker-credential-<name> program spoken to with get/store/erase/list on stdin/stdout;
// with a helper the file keeps only an empty `auths[key]` entry (no secret).

import { readFileSync, writeFileSync, mkdirSync, renameSync, accessSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { AuthConfig } from '../client/index.js';

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  psFormat?: string;
  imagesFormat?: string;
  detachKeys?: string;
  [k: string]: unknown;
}

export function readConfig(dir: string): ConfigFile {
  try {
    return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as ConfigFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`loading config file ${join(dir, 'config.json')}: ${(err as Error).message}`);
  }
}

export function writeConfig(dir: string, cfg: ConfigFile): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'config.json');
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(cfg, null, '\t') + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

/** The helper that holds `key`'s credentials, if any (credHelpers wins over credsStore, as in the docker CLI). */
export function credentialHelper(cfg: ConfigFile, key: string): string | undefined {
  return cfg.credHelpers?.[key] || cfg.credsStore || defaultStore();
}

/**
 * The docker CLI's default store on Linux when config.json names none: "pass"
 * if `pass` is installed, else "secretservice", provided its
 * docker-credential-<name> is on PATH. Without one, config.json holds the secrets.
 */
function defaultStore(): string | undefined {
  const store = onPath('pass') ? 'pass' : 'secretservice';
  return onPath(`docker-credential-${store}`) ? store : undefined;
}

function onPath(prog: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => {
    try {
      accessSync(join(d || '.', prog), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Runs docker-credential-<helper> <action> with `input` on stdin; errors in the docker CLI's words. */
function runHelper(helper: string, action: 'get' | 'store' | 'erase' | 'list', input: string): { ok: true; out: string } | { ok: false; out: string; err: string } {
  const prog = `docker-credential-${helper}`;
  const r = spawnSync(prog, [action], { input, encoding: 'utf8', timeout: 60_000 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    return { ok: false, out: '', err: code === 'ENOENT' ? `exec: "${prog}": executable file not found in $PATH` : r.error.message };
  }
  const out = (r.stdout ?? '').trim();
  if (r.status !== 0) return { ok: false, out, err: r.signal ? `signal: ${r.signal}` : `exit status ${r.status}` };
  return { ok: true, out };
}

// The messages docker-credential-helpers print when there is nothing stored.
const NOT_FOUND = /^(credentials not found in native keychain|no credentials server URL)$/;

function helperGet(helper: string, key: string): AuthConfig | undefined {
  const r = runHelper(helper, 'get', key);
  if (!r.ok) {
    if (NOT_FOUND.test(r.out)) return undefined;
    throw new Error(`error getting credentials - err: ${r.err}, out: \`${r.out}\``);
  }
  let c: { Username?: string; Secret?: string };
  try {
    c = JSON.parse(r.out);
  } catch {
    throw new Error(`error getting credentials - err: invalid character in helper output, out: \`${r.out}\``);
  }
  // docker-credential-pass 0.6 answers an unknown server with empty fields and status 0.
  if (!c.Username && !c.Secret) return undefined;
  // "<token>" as the user name marks an identity (refresh) token, as the docker CLI stores it.
  if (c.Username === '<token>') return { serveraddress: key, identitytoken: c.Secret };
  return { serveraddress: key, username: c.Username, password: c.Secret };
}

export function getAuth(dir: string, key: string): AuthConfig | undefined {
  const cfg = readConfig(dir);
  const helper = credentialHelper(cfg, key);
  if (helper) return helperGet(helper, key);
  const entry = cfg.auths?.[key];
  if (!entry) return undefined;
  const out: AuthConfig = { serveraddress: key };
  if (entry.auth) {
    const dec = Buffer.from(entry.auth, 'base64').toString();
    const i = dec.indexOf(':');
    out.username = dec.slice(0, i);
    out.password = dec.slice(i + 1);
  }
  if (entry.identitytoken) out.identitytoken = entry.identitytoken;
  return out;
}

/** Stores credentials; returns false when they went to a helper, true when into config.json (in the clear). */
export function setAuth(dir: string, key: string, auth: AuthConfig): boolean {
  const cfg = readConfig(dir);
  cfg.auths ??= {};
  const helper = credentialHelper(cfg, key);
  if (helper) {
    const body = auth.identitytoken
      ? { ServerURL: key, Username: '<token>', Secret: auth.identitytoken }
      : { ServerURL: key, Username: auth.username ?? '', Secret: auth.password ?? '' };
    const r = runHelper(helper, 'store', JSON.stringify(body));
    if (!r.ok) throw new Error(`error storing credentials - err: ${r.err}, out: \`${r.out}\``);
    // The docker CLI keeps an empty entry, so that logout (and build) know the registry,
    // and records a detected default store as credsStore.
    cfg.auths[key] = {};
    if (!cfg.credHelpers?.[key] && !cfg.credsStore) cfg.credsStore = helper;
    writeConfig(dir, cfg);
    return false;
  }
  const entry: { auth?: string; identitytoken?: string } = {};
  if (auth.identitytoken) entry.identitytoken = auth.identitytoken;
  if (auth.username || auth.password) entry.auth = Buffer.from(`${auth.username ?? ''}:${auth.identitytoken ? '' : auth.password ?? ''}`).toString('base64');
  cfg.auths[key] = entry;
  writeConfig(dir, cfg);
  return true;
}

/**
 * Forgets `key`. False when there was nothing to forget. A helper that cannot
 * erase is reported through `warn` and the file entry goes anyway (docker CLI).
 */
export function removeAuth(dir: string, key: string, warn?: (msg: string) => void): boolean {
  const cfg = readConfig(dir);
  if (!cfg.auths?.[key]) return false;
  const helper = credentialHelper(cfg, key);
  if (helper) {
    const r = runHelper(helper, 'erase', key);
    if (!r.ok && !NOT_FOUND.test(r.out)) warn?.(`WARNING: could not erase credentials: ${key}: error erasing credentials - err: ${r.err}, out: \`${r.out}\`\n`);
  }
  delete cfg.auths[key];
  writeConfig(dir, cfg);
  return true;
}

/** Every registry key with credentials: config.json's, a credsStore's `list`, and credHelpers' keys. */
export function authKeys(dir: string): string[] {
  const cfg = readConfig(dir);
  const keys = new Set(Object.keys(cfg.auths ?? {}));
  if (cfg.credsStore) {
    const r = runHelper(cfg.credsStore, 'list', '');
    if (r.ok) {
      try {
        for (const k of Object.keys(JSON.parse(r.out) as Record<string, string>)) keys.add(k);
      } catch { /* a helper without list output: the file's keys only */ }
    }
  }
  for (const k of Object.keys(cfg.credHelpers ?? {})) keys.add(k);
  return [...keys];
}
