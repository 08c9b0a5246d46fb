// Wire-level types of the registry client. Image-level types (configs, records,
// platforms) live in images/; distribution only moves descriptors and bytes.

/** Docker's AuthConfig as sent in X-Registry-Auth and POST /auth. */
export interface AuthConfig {
  username?: string;
  password?: string;
  /** base64("user:pass"), as the CLI's config.json stores it. */
  auth?: string;
  email?: string;
  serveraddress?: string;
  /** An OAuth2 refresh token from an earlier login. */
  identitytoken?: string;
  /** A bearer token to send as is. */
  registrytoken?: string;
}

export interface RegistryConfig {
  /** registry-mirrors: http(s) URLs tried before Docker Hub, for pulls only. */
  mirrors?: string[];
  /** insecure-registries: CIDRs or host[:port]. 127.0.0.0/8 and ::1 are always insecure. */
  insecureRegistries?: string[];
  maxConcurrentDownloads?: number;
  maxConcurrentUploads?: number;
  /** Directories holding <host[:port]>/{*.crt,*.cert,*.key}; default /etc/docker/certs.d and /etc/berth/certs.d. */
  certsDirs?: string[];
  /** Download attempts per blob (Docker: 5). */
  maxDownloadAttempts?: number;
  /** Backoff unit between attempts; attempt n waits n × this (Docker: 5 s). */
  retryDelayMs?: number;
  /** Connect + response-header timeout. */
  requestTimeoutMs?: number;
  /** A body that sends nothing for this long is cut (and the download resumed). */
  idleTimeoutMs?: number;
  /** Blobs up to this size are uploaded with one PUT; larger ones are streamed with PATCH. */
  monolithicUploadMax?: number;
  userAgent?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string; 'os.version'?: string; 'os.features'?: string[] };
  artifactType?: string;
}

/** Docker's pkg/jsonmessage.JSONMessage, as the pull/push streams carry it. */
export interface JSONMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  errorDetail?: { code?: number; message: string };
  error?: string;
  aux?: unknown;
  stream?: string;
}

export const MediaTypes = {
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** What a manifest GET accepts, in Docker's order of preference. */
export const MANIFEST_ACCEPT = [
  MediaTypes.OciIndex,
  MediaTypes.OciManifest,
  MediaTypes.DockerManifestList,
  MediaTypes.DockerManifest,
];
