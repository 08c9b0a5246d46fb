// Registry error responses → berth errors with the words Docker shows.
// The body is `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"…","detail":…}]}`;
// Docker prints the first one as `manifest unknown: <message>`.
import { BerthError, type ErrorKind } from '../util/index.js';
import { readBody, type HttpResponse } from './http.js';

const REGISTRY_CODE = Symbol.for('berth.distribution.code');

/** The registry's error code (MANIFEST_UNKNOWN, DENIED, …) carried by an error, if any. */
export function registryErrorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let d = 0; e && d < 8; d++) {
    const c = (e as Record<symbol, unknown>)[REGISTRY_CODE];
    if (typeof c === 'string') return c;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function registryError(kind: ErrorKind, message: string, code?: string, cause?: unknown): BerthError {
  const e = new BerthError(kind, message, { cause });
  if (code) (e as unknown as Record<symbol, unknown>)[REGISTRY_CODE] = code;
  return e;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  408: 'Request Timeout', 409: 'Conflict', 413: 'Request Entity Too Large', 416: 'Requested Range Not Satisfiable',
  429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
export const statusLine = (status: number): string => `${status} ${STATUS_TEXT[status] ?? ''}`.trim();

function kindForStatus(status: number): ErrorKind {
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden';
  if (status === 404) return 'NotFound';
  if (status === 429 || status >= 500) return 'Unavailable';
  if (status >= 400) return 'InvalidArgument';
  return 'Internal';
}

/** Reads a failed response's body (bounded) and turns it into an error. */
export async function responseError(res: HttpResponse): Promise<BerthError> {
  let body: Buffer = Buffer.alloc(0);
  try {
    body = await readBody(res, 64 << 10, 'error body');
  } catch { /* an oversized or cut error body: status alone */ }
  return errorFromBody(res.status, body);
}

export function errorFromBody(status: number, body: Buffer): BerthError {
  const kind = kindForStatus(status);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch { /* not JSON */ }
  const errs = (parsed as { errors?: unknown })?.errors;
  if (Array.isArray(errs) && errs.length > 0 && typeof errs[0] === 'object' && errs[0] !== null) {
    const first = errs[0] as { code?: unknown; message?: unknown };
    const code = typeof first.code === 'string' ? first.code : 'UNKNOWN';
    const text = code.toLowerCase().replace(/_/g, ' ');
    const msg = typeof first.message === 'string' && first.message !== '' ? `${text}: ${first.message}` : text;
    return registryError(kindForCode(code, kind), msg.slice(0, 1024), code);
  }
  // Token servers answer 401 with {"details": "..."} (Docker Hub: "incorrect username or password").
  const details = (parsed as { details?: unknown })?.details;
  if (status === 401 && typeof details === 'string') return registryError('Unauthorized', `unauthorized: ${details.slice(0, 512)}`, 'UNAUTHORIZED');
  if (status === 401) return registryError('Unauthorized', 'unauthorized: authentication required', 'UNAUTHORIZED');
  return registryError(kind, `received unexpected HTTP status: ${statusLine(status)}`);
}

function kindForCode(code: string, fallback: ErrorKind): ErrorKind {
  switch (code) {
    case 'UNAUTHORIZED': return 'Unauthorized';
    case 'DENIED': return 'Forbidden';
    case 'MANIFEST_UNKNOWN': case 'NAME_UNKNOWN': case 'BLOB_UNKNOWN': return 'NotFound';
    case 'TOOMANYREQUESTS': return 'Unavailable';
    default: return fallback;
  }
}
