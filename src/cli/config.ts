// The client config file (~/.docker/config.json, or --config / DOCKER_CONFIG): registry
// credentials under "auths", keyed as the docker CLI keys them (Hub: https://index.docker.io/v1/).
// Other keys in the file are preserved. Credential helpers (credsStore) are not supported.

import { readFileSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthConfig } from '../client/index.js';

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
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

export function getAuth(dir: string, key: string): AuthConfig | undefined {
  const entry = readConfig(dir).auths?.[key];
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

export function setAuth(dir: string, key: string, auth: AuthConfig): void {
  const cfg = readConfig(dir);
  cfg.auths ??= {};
  const entry: { auth?: string; identitytoken?: string } = {};
  if (auth.identitytoken) entry.identitytoken = auth.identitytoken;
  if (auth.username || auth.password) entry.auth = Buffer.from(`${auth.username ?? ''}:${auth.identitytoken ? '' : auth.password ?? ''}`).toString('base64');
  cfg.auths[key] = entry;
  writeConfig(dir, cfg);
}

export function removeAuth(dir: string, key: string): boolean {
  const cfg = readConfig(dir);
  if (!cfg.auths?.[key]) return false;
  delete cfg.auths[key];
  writeConfig(dir, cfg);
  return true;
}
