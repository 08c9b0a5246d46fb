// OCI image-spec and Docker v2 schema 2 types, and berth's image record.

export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OciLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  DockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export const isIndexMediaType = (m: string | undefined): boolean =>
  m === MediaType.OciIndex || m === MediaType.DockerManifestList;
export const isManifestMediaType = (m: string | undefined): boolean =>
  m === MediaType.OciManifest || m === MediaType.DockerManifest;

export type Compression = 'none' | 'gzip' | 'zstd';

/** The compression a layer media type says its blob has; undefined when not a layer type. */
export function layerCompression(mediaType: string): Compression | undefined {
  switch (mediaType) {
    case MediaType.OciLayer:
    case MediaType.OciLayerNondistributable:
    case MediaType.DockerLayer:
      return 'none';
    case MediaType.OciLayerGzip:
    case MediaType.OciLayerNondistributableGzip:
    case MediaType.DockerLayerGzip:
    case MediaType.DockerForeignLayerGzip:
      return 'gzip';
    case MediaType.OciLayerZstd:
      return 'zstd';
    default:
      return undefined;
  }
}

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface Index {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The runtime part of an image config (OCI `config`, Docker's container config). */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: HealthConfig;
  OnBuild?: string[] | null;
  Shell?: string[];
  ArgsEscaped?: boolean;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The image config JSON (OCI image-spec config.md; Docker's is a superset). */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  created?: string;
  author?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
  // Docker-only fields kept when present.
  [extra: string]: unknown;
}

export interface LayerRef {
  /** Digest of the blob as stored in the content store (maybe compressed). */
  digest: string;
  mediaType: string;
  /** Bytes of the blob. */
  size: number;
  /** Digest of the uncompressed tar. */
  diffId: string;
}

export interface ImageRecord {
  /** 'sha256:<hex>': digest of the config blob (Docker's image ID). */
  id: string;
  manifestDigest?: string;
  manifestMediaType?: string;
  /** The index a pulled manifest was picked from (kept for `name@<index digest>` and GC). */
  indexDigest?: string;
  config: ImageConfig;
  /** Bottom first. */
  layers: LayerRef[];
  /** Full normalized refs: 'docker.io/library/busybox:latest'. */
  repoTags: string[];
  /** 'docker.io/library/busybox@sha256:…' */
  repoDigests: string[];
  /** RFC3339 (config.created, or the time the image was recorded). */
  created: string;
  /** Uncompressed layer bytes when all are known, else the compressed ones. */
  size: number;
  /** RFC3339 time a tag was last set on this image (Metadata.LastTagTime). */
  lastTagTime?: string;
}
