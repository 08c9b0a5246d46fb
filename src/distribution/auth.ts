// Token auth (distribution docs/spec/auth/token.md + oauth.md), as the docker
// engine does it: anonymous GET, GET with Basic credentials, OAuth2 POST with a
// refresh (identity) token, or a registry token passed through. Tokens are
// cached by realm + service + scopes + credential identity until they expire.
import { invalidArgument } from '../util/index.js';
import type { Challenge } from './challenge.js';
import type { TlsSettings } from './endpoints.js';
import { errorFromBody, registryError } from './errors.js';
import { readBody, type HttpClient } from './http.js';
import { basicCredentials, credentialKey } from './authconfig.js';
import type { AuthConfig } from './types.js';

export const CLIENT_ID = 'docker';
const MIN_EXPIRY_S = 60;

export interface TokenResult {
  token: string;
  refreshToken?: string;
  expiresAt: number;
}

export interface TokenOptions {
  scopes: string[];
  auth?: AuthConfig;
  tls?: TlsSettings;
  signal?: AbortSignal;
  /** Login asks for a refresh token (offline_token=true). */
  offline?: boolean;
  /** Bypass the cache (a 401 with a cached token). */
  fresh?: boolean;
}

export class TokenCache {
  private readonly cache = new Map<string, TokenResult>();
  constructor(private readonly http: HttpClient, private readonly now: () => number = Date.now) {}

  /** The Authorization header value for a request answering `challenges`, or undefined for none. */
  async authorization(challenges: Challenge[], o: TokenOptions): Promise<string | undefined> {
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      if (o.auth?.registrytoken) return `Bearer ${o.auth.registrytoken}`;
      return `Bearer ${(await this.token(bearer, o)).token}`;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      const b = basicCredentials(o.auth);
      if (b) return `Basic ${Buffer.from(`${b.username}:${b.password}`).toString('base64')}`;
    }
    return undefined;
  }

  async token(ch: Challenge, o: TokenOptions): Promise<TokenResult> {
    const realm = ch.params.realm;
    if (!realm) throw invalidArgument('invalid token challenge: no realm');
    const scopes = [...new Set(o.scopes)].sort();
    const key = JSON.stringify([realm, ch.params.service ?? '', scopes, credentialKey(o.auth), !!o.offline]);
    const hit = this.cache.get(key);
    if (hit && !o.fresh && hit.expiresAt > this.now()) return hit;
    const t = await this.fetchToken(realm, ch.params.service, scopes, o);
    this.cache.set(key, t);
    return t;
  }

  private async fetchToken(realm: string, service: string | undefined, scopes: string[], o: TokenOptions): Promise<TokenResult> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw invalidArgument(`invalid token realm: ${realm.slice(0, 200)}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidArgument(`invalid token realm scheme: ${url.protocol}`);
    const refresh = o.auth?.identitytoken;
    const basic = basicCredentials(o.auth);
    let res;
    if (refresh) {
      // OAuth2 (spec/auth/oauth.md): exchange the refresh token for an access token.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh, client_id: CLIENT_ID });
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      if (o.offline) form.set('access_type', 'offline');
      res = await this.http.send({
        method: 'POST', url: url.href, tls: o.tls, signal: o.signal,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: Buffer.from(form.toString()),
      });
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (basic) {
        if (o.offline) {
          url.searchParams.set('offline_token', 'true');
          url.searchParams.set('client_id', CLIENT_ID);
        }
        url.searchParams.set('account', basic.username);
        headers.Authorization = `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`;
      }
      res = await this.http.send({ method: 'GET', url: url.href, tls: o.tls, signal: o.signal, headers });
    }
    const body = await readBody(res, 1 << 20, 'token response');
    if (res.status !== 200) throw errorFromBody(res.status, body);
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      throw registryError('Unavailable', `unable to decode token response: ${(err as Error).message}`, undefined, err);
    }
    const token = typeof json.token === 'string' && json.token ? json.token
      : typeof json.access_token === 'string' && json.access_token ? json.access_token : '';
    if (!token) throw registryError('Unauthorized', 'authorization server did not include a token in the response');
    let expiresIn = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : MIN_EXPIRY_S;
    if (expiresIn < MIN_EXPIRY_S) expiresIn = MIN_EXPIRY_S;
    let issued = this.now();
    if (typeof json.issued_at === 'string') {
      const t = Date.parse(json.issued_at);
      // A server clock far off ours would make every token look expired or eternal.
      if (Number.isFinite(t) && Math.abs(t - issued) < 3600_000) issued = t;
    }
    const out: TokenResult = { token, expiresAt: issued + expiresIn * 1000 - 5000 };
    if (typeof json.refresh_token === 'string' && json.refresh_token) out.refreshToken = json.refresh_token;
    return out;
  }
}
