// Just enough of the image reference grammar for the client side: the docker CLI normalises
// names itself (for pull's fromImage, for "Unable to find image 'busybox:latest'", for auth).

export interface Ref {
  /** Registry host, "docker.io" for Hub. */
  domain: string;
  /** Repository path inside the registry ("library/busybox"). */
  path: string;
  tag?: string;
  digest?: string;
}

export function parseRef(s: string): Ref {
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const first = rest.split('/')[0]!;
  let domain = 'docker.io';
  let path = rest;
  if (rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    domain = first;
    path = rest.slice(first.length + 1);
  }
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  return { domain, path, tag, digest };
}

/** "docker.io/library/busybox" */
export function fullName(r: Ref): string {
  return `${r.domain}/${r.path}`;
}

/** "busybox" */
export function familiarName(r: Ref): string {
  if (r.domain !== 'docker.io') return `${r.domain}/${r.path}`;
  return r.path.startsWith('library/') && r.path.split('/').length === 2 ? r.path.slice(8) : r.path;
}

/** "busybox:latest" (a missing tag means latest unless there is a digest). */
export function familiarWithTag(s: string): string {
  const r = parseRef(s);
  const name = familiarName(r);
  if (r.digest) return `${name}${r.tag ? `:${r.tag}` : ''}@${r.digest}`;
  return `${name}:${r.tag ?? 'latest'}`;
}

/** The key under which credentials are stored in config.json for this reference's registry. */
export function authKey(domain: string): string {
  return domain === 'docker.io' ? 'https://index.docker.io/v1/' : domain;
}

// The reference grammar of github.com/distribution/reference, for the checks the docker CLI makes
// before it sends a name (tag).
const ALNUM = '[a-z0-9]+';
const SEP = '(?:[._]|__|[-]+)';
const PATH = `${ALNUM}(?:${SEP}${ALNUM})*`;
const DOMAIN_COMP = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `(?:${DOMAIN_COMP}(?:\\.${DOMAIN_COMP})*|\\[[a-fA-F0-9:]+\\])`;
const NAME = `(?:${HOST}(?::[0-9]+)?/)?${PATH}(?:/${PATH})*`;
const REFERENCE = new RegExp(`^(${NAME})(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`);

/** ParseNormalizedNamed's error for `s`, or undefined when it is a valid name. */
export function normalizedNameError(s: string): string | undefined {
  if (/^[a-f0-9]{64}$/.test(s)) return `invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`;
  // The remote name is what follows a first component that looks like a registry host.
  const slash = s.indexOf('/');
  const first = slash < 0 ? '' : s.slice(0, slash);
  const hasDomain = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first);
  let remote = hasDomain ? s.slice(slash + 1) : s;
  const tagAt = remote.search(/[:@]/);
  if (tagAt >= 0) remote = remote.slice(0, tagAt);
  if (!hasDomain && !remote.includes('/')) remote = `library/${remote}`;
  if (remote.toLowerCase() !== remote) return `invalid reference format: repository name (${remote}) must be lowercase`;
  const m = REFERENCE.exec(s);
  if (!m) return 'invalid reference format';
  if (m[1]!.length > 255) return 'repository name must not be more than 255 characters';
  return undefined;
}
