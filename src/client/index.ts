// The berth API client: everything the CLI (or any other program) needs to talk to berthd.
export { Client, CLIENT_API_VERSION, encodeQuery, versionLess } from './client.js';
export { request as http1Request } from './http1.js';
export type { Response, Http1Request, Http1Result } from './http1.js';
export type { ClientOptions, Hijacked, PingResult, Query, QueryValue, RequestOptions } from './client.js';
export { ApiClient, encodeAuth } from './api.js';
export { ApiError, ConnectError, isApiError, isConnectError } from './errors.js';
export { DEFAULT_HOST, parseHost, resolveHost } from './host.js';
export type { Endpoint } from './host.js';
export { StdcopyParser, demux, encodeFrame, STDIN, STDOUT, STDERR, SYSTEMERR } from './stdcopy.js';
export type { Frame } from './stdcopy.js';
export { jsonLines, textLines } from './jsonstream.js';
export type { JSONMessage } from './jsonstream.js';
export type * from './types.js';
