// `images` rows and columns, as the docker CLI's image formatter expands them.

import type { ImageSummary } from '../../client/index.js';
import { context } from './template.js';
import type { ListFormat } from './output.js';
import { humanSize, since } from './units.js';
import { goTimeString, splitReference, truncateId } from './ids.js';

export const IMAGE_HEADERS = {
  ID: 'IMAGE ID', Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT', Size: 'SIZE', Containers: 'CONTAINERS', VirtualSize: 'SIZE',
  SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE',
};

export function imageFormat(digests: boolean): ListFormat {
  return {
    table: digests
      ? '{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'
      : '{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}',
    quiet: '{{.ID}}',
    headers: IMAGE_HEADERS,
  };
}

interface Row {
  repo: string;
  tag: string;
  digest: string;
}

/** One row per repository:tag (and per digest with --digests); untagged images show <none>. */
export function imageRows(img: ImageSummary, showDigests: boolean): Row[] {
  const tags = new Map<string, string[]>();
  const digests = new Map<string, string[]>();
  for (const ref of img.RepoTags ?? []) {
    if (ref === '<none>:<none>') continue;
    const r = splitReference(ref);
    if (!r.tag) continue;
    tags.set(r.repo, [...(tags.get(r.repo) ?? []), r.tag]);
  }
  for (const ref of img.RepoDigests ?? []) {
    if (ref === '<none>@<none>') continue;
    const r = splitReference(ref);
    if (!r.digest) continue;
    digests.set(r.repo, [...(digests.get(r.repo) ?? []), r.digest]);
  }
  const rows: Row[] = [];
  for (const [repo, ts] of tags) {
    const ds = showDigests ? digests.get(repo) ?? [] : [];
    digests.delete(repo);
    for (const tag of ts) {
      if (!ds.length) rows.push({ repo, tag, digest: '<none>' });
      else for (const d of ds) rows.push({ repo, tag, digest: d });
    }
  }
  for (const [repo, ds] of digests) {
    if (showDigests) for (const d of ds) rows.push({ repo, tag: '<none>', digest: d });
    else rows.push({ repo, tag: '<none>', digest: ds[0]! });
  }
  if (!rows.length) rows.push({ repo: '<none>', tag: '<none>', digest: '<none>' });
  return rows;
}

export function imageContext(img: ImageSummary, row: Row, trunc: boolean, now = Date.now()) {
  return context({
    ID: () => (trunc ? truncateId(img.Id) : img.Id),
    Repository: () => row.repo,
    Tag: () => row.tag,
    Digest: () => row.digest,
    CreatedSince: () => (img.Created ? since(img.Created, now) : 'N/A'),
    CreatedAt: () => goTimeString(new Date(img.Created * 1000)),
    Size: () => humanSize(img.Size ?? 0),
    VirtualSize: () => humanSize(img.VirtualSize ?? img.Size ?? 0, 4),
    SharedSize: () => (img.SharedSize === -1 ? 'N/A' : humanSize(img.SharedSize ?? 0)),
    UniqueSize: () => (img.SharedSize === -1 ? 'N/A' : humanSize((img.Size ?? 0) - (img.SharedSize ?? 0))),
    Containers: () => (img.Containers === -1 ? 'N/A' : String(img.Containers ?? 0)),
  });
}
