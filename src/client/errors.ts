// Errors a client call can end in. The CLI decides exit codes from these, as the docker CLI does
// from errdefs classes (404 NotFound, 409 Conflict, other 4xx InvalidArgument, 5xx Internal).

/** The daemon answered with an error status; `message` is its `{"message"}` text. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
  get isNotFound(): boolean {
    return this.status === 404;
  }
  get isConflict(): boolean {
    return this.status === 409;
  }
}

/** The daemon could not be reached at all. */
export class ConnectError extends Error {
  readonly host: string;
  readonly code: string;
  constructor(host: string, code: string) {
    super(
      code === 'EACCES'
        ? `permission denied while trying to connect to the berth daemon socket at ${host}`
        : `Cannot connect to the berth daemon at ${host}. Is the berth daemon running?`,
    );
    this.name = 'ConnectError';
    this.host = host;
    this.code = code;
  }
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof Error && err.name === 'ApiError';
}

export function isConnectError(err: unknown): err is ConnectError {
  return err instanceof Error && err.name === 'ConnectError';
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ENOTSOCK', 'EHOSTUNREACH', 'ECONNRESET']);

export function isConnectCode(code: unknown): code is string {
  return typeof code === 'string' && CONNECT_CODES.has(code);
}
