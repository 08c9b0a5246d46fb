export { type AuthConfig, type RegistryConfig, type Descriptor, type JSONMessage, MediaTypes, MANIFEST_ACCEPT } from './types.js';
export { decodeRegistryAuth, decodeRegistryAuth as decodeAuthHeader, encodeRegistryAuth, authConfigFrom, basicCredentials } from './authconfig.js';
export {
  EndpointResolver,
  type Endpoint,
  type TlsSettings,
  DOCKER_HUB_DOMAIN,
  DOCKER_HUB_ENDPOINT,
  DOCKER_HUB_AUTH_KEY,
  DEFAULT_CERTS_DIRS,
  domainFromServerAddress,
} from './endpoints.js';
export { parseChallenges, type Challenge } from './challenge.js';
export { TokenCache, type TokenResult, type TokenOptions } from './auth.js';
export { registryErrorCode } from './errors.js';
export { HttpClient, isTransportError, MAX_REDIRECTS, type HttpResponse, type SendOptions } from './http.js';
export {
  Registry,
  Registry as RegistryClient,
  RemoteRepository,
  MAX_MANIFEST_SIZE,
  manifestMediaType,
  type FetchedManifest,
  type BlobProgress,
  type FetchBlobOptions,
  type PushBlobOptions,
} from './registry.js';
export { humanSize, goDuration, progressBar, progressMessage, ProgressThrottle } from './progress.js';
export { Limiter } from './limiter.js';
