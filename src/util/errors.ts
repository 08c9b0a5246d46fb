// Error kinds, not error classes per module. The layer that knows throws a
// BerthError with a kind and a message in Docker's words; api/ maps kinds to
// HTTP status codes once. Check kinds with isKind()/isNotFound(), which walk
// `cause`, never with instanceof.

export type ErrorKind =
  | 'NotFound'
  | 'InvalidArgument'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotModified'
  | 'Unavailable'
  | 'NotImplemented'
  | 'Internal';

const BERTH_ERROR = Symbol.for('berth.error');

export class BerthError extends Error {
  readonly kind: ErrorKind;
  readonly [BERTH_ERROR] = true;
  constructor(kind: ErrorKind, message: string, opts?: { cause?: unknown }) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.kind = kind;
    this.name = `BerthError(${kind})`;
  }
}

export function errorKind(err: unknown): ErrorKind | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 16; depth++) {
    if (typeof e === 'object' && (e as Record<symbol, unknown>)[BERTH_ERROR]) return (e as BerthError).kind;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export const isKind = (err: unknown, kind: ErrorKind): boolean => errorKind(err) === kind;
export const isNotFound = (err: unknown): boolean => isKind(err, 'NotFound');
export const isConflict = (err: unknown): boolean => isKind(err, 'Conflict');
export const isInvalidArgument = (err: unknown): boolean => isKind(err, 'InvalidArgument');

export const notFound = (msg: string, cause?: unknown) => new BerthError('NotFound', msg, { cause });
export const invalidArgument = (msg: string, cause?: unknown) => new BerthError('InvalidArgument', msg, { cause });
export const conflict = (msg: string, cause?: unknown) => new BerthError('Conflict', msg, { cause });
export const alreadyExists = (msg: string, cause?: unknown) => new BerthError('AlreadyExists', msg, { cause });
export const unauthorized = (msg: string, cause?: unknown) => new BerthError('Unauthorized', msg, { cause });
export const forbidden = (msg: string, cause?: unknown) => new BerthError('Forbidden', msg, { cause });
export const notModified = (msg: string, cause?: unknown) => new BerthError('NotModified', msg, { cause });
export const unavailable = (msg: string, cause?: unknown) => new BerthError('Unavailable', msg, { cause });
export const notImplemented = (msg: string, cause?: unknown) => new BerthError('NotImplemented', msg, { cause });
export const internal = (msg: string, cause?: unknown) => new BerthError('Internal', msg, { cause });

/** True when a Node system error has the given code (ENOENT, EEXIST, …). */
export function hasCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
