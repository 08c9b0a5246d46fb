// The Engine API's JSON shapes for images (swagger v1.50: ImageSummary,
// ImageInspect, HistoryResponseItem), built from image records.
import { familiarize, parseReference } from '../reference/index.js';
import { invalidArgument } from '../util/index.js';
import type { ContainerConfig, ImageRecord } from './types.js';

export interface ApiImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Record<string, string>;
  Containers: number;
}

export interface ApiImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: ContainerConfig;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
}

export interface ApiHistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

const unix = (rfc3339: string | undefined): number => {
  const t = rfc3339 ? Date.parse(rfc3339) : NaN;
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
};

const familiarDigests = (rec: ImageRecord): string[] => rec.repoDigests.map(familiarize);

export function toApiSummary(rec: ImageRecord, opts: { containers?: number } = {}): ApiImageSummary {
  return {
    Id: rec.id,
    ParentId: '',
    RepoTags: rec.repoTags.map(familiarize),
    RepoDigests: familiarDigests(rec),
    Created: unix(rec.created),
    Size: rec.size,
    SharedSize: -1,
    Labels: rec.config.config?.Labels ?? {},
    Containers: opts.containers ?? -1,
  };
}

/** The image's container config as `docker inspect` shows it (absent fields as Docker's zero values). */
function apiConfig(c: ContainerConfig | undefined): ContainerConfig {
  const cfg = c ?? {};
  return {
    ...cfg,
    User: cfg.User ?? '',
    Env: cfg.Env ?? [],
    Cmd: cfg.Cmd ?? null,
    Entrypoint: cfg.Entrypoint ?? null,
    WorkingDir: cfg.WorkingDir ?? '',
    OnBuild: cfg.OnBuild ?? null,
    Labels: cfg.Labels ?? (null as unknown as Record<string, string>),
  };
}

export function toApiInspect(rec: ImageRecord, opts: { graphDriverData?: Record<string, string> } = {}): ApiImageInspect {
  const c = rec.config;
  const out: ApiImageInspect = {
    Id: rec.id,
    RepoTags: rec.repoTags.map(familiarize),
    RepoDigests: familiarDigests(rec),
    Parent: '',
    Comment: typeof c.comment === 'string' ? c.comment : '',
    Created: c.created ?? rec.created,
    DockerVersion: typeof c.docker_version === 'string' ? c.docker_version : '',
    Author: c.author ?? '',
    Config: apiConfig(c.config),
    Architecture: c.architecture,
    Os: c.os,
    Size: rec.size,
    GraphDriver: { Name: 'overlay2', Data: opts.graphDriverData ?? null },
    RootFS: { Type: 'layers', Layers: [...c.rootfs.diff_ids] },
    Metadata: { LastTagTime: rec.lastTagTime ?? '0001-01-01T00:00:00Z' },
  };
  if (c.variant) out.Variant = c.variant;
  if (c['os.version']) out.OsVersion = c['os.version'];
  return out;
}

/**
 * GET /images/{name}/history: newest first; the top entry carries the image id and
 * tags, the others `<missing>` (berth keeps no parent chain). `layerSize(i)` gives
 * layer i's size (uncompressed when known).
 */
export function toApiHistory(rec: ImageRecord, layerSize: (i: number) => number): ApiHistoryItem[] {
  const hist = rec.config.history ?? [];
  const out: ApiHistoryItem[] = [];
  let layer = 0;
  for (const h of hist) {
    let size = 0;
    if (!h.empty_layer) {
      if (layer >= rec.config.rootfs.diff_ids.length) throw invalidArgument('too many non-empty layers in History section');
      size = layerSize(layer++);
    }
    out.unshift({ Id: '<missing>', Created: unix(h.created), CreatedBy: h.created_by ?? '', Tags: null, Size: size, Comment: h.comment ?? '' });
  }
  if (out.length > 0) {
    const tags = rec.repoTags.filter((t) => parseReference(t).tag !== undefined).map(familiarize);
    out[0]!.Id = rec.id;
    out[0]!.Tags = tags.length ? tags : null;
  }
  return out;
}
