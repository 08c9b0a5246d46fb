import type { ErrorKind } from '../util/index.js';
import { errorKind } from '../util/index.js';

// The one place error kinds become HTTP status codes (moby daemon/server/httpstatus).
export const STATUS_BY_KIND: Record<ErrorKind, number> = {
  NotFound: 404,
  InvalidArgument: 400,
  AlreadyExists: 409,
  Conflict: 409,
  Unauthorized: 401,
  Forbidden: 403,
  NotModified: 304,
  Unavailable: 503,
  NotImplemented: 501,
  Internal: 500,
};

export function statusOf(err: unknown): number {
  const kind = errorKind(err);
  if (kind) return STATUS_BY_KIND[kind];
  // A body that failed to parse surfaces as a SyntaxError from JSON.parse.
  if (err instanceof SyntaxError) return 400;
  return 500;
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
