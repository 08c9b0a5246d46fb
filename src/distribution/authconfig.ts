// X-Registry-Auth: base64url(JSON AuthConfig). The docker CLI sends URL-safe
// base64 (with or without padding); other clients send standard base64. Both decode.
import { invalidArgument, sha256 } from '../util/index.js';
import type { AuthConfig } from './types.js';

const FIELDS = ['username', 'password', 'auth', 'email', 'serveraddress', 'identitytoken', 'registrytoken'] as const;

/** Decodes an X-Registry-Auth value; an empty or missing header is `{}`. Throws InvalidArgument on garbage. */
export function decodeRegistryAuth(header: string | undefined | null): AuthConfig {
  if (!header || header.trim() === '') return {};
  const text = Buffer.from(header.trim().replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`invalid X-Registry-Auth header: ${(err as Error).message}`, err);
  }
  return authConfigFrom(json);
}

/** Validates an AuthConfig body (POST /auth, or the decoded header): known string fields only. */
export function authConfigFrom(json: unknown): AuthConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw invalidArgument('invalid X-Registry-Auth header: not a JSON object');
  }
  const out: AuthConfig = {};
  for (const k of FIELDS) {
    const v = (json as Record<string, unknown>)[k];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string') throw invalidArgument(`invalid X-Registry-Auth header: ${k} must be a string`);
    out[k] = v;
  }
  return out;
}

export function encodeRegistryAuth(a: AuthConfig): string {
  return Buffer.from(JSON.stringify(a)).toString('base64url');
}

/** Username and password from either field pair or the `auth` blob. */
export function basicCredentials(a: AuthConfig | undefined): { username: string; password: string } | undefined {
  if (!a) return undefined;
  let { username, password } = a;
  if ((!username || password === undefined) && a.auth) {
    const dec = Buffer.from(a.auth, 'base64').toString('utf8');
    const i = dec.indexOf(':');
    if (i > 0) {
      username = dec.slice(0, i);
      password = dec.slice(i + 1);
    }
  }
  if (!username || !password) return undefined;
  return { username, password };
}

/** An identity for cache keys: tokens fetched with one user's credentials never serve another. */
export function credentialKey(a: AuthConfig | undefined): string {
  if (!a) return 'anonymous';
  if (a.registrytoken) return `rt:${sha256(a.registrytoken)}`;
  if (a.identitytoken) return `it:${sha256(a.identitytoken)}`;
  const b = basicCredentials(a);
  return b ? `basic:${sha256(`${b.username}\0${b.password}`)}` : 'anonymous';
}
