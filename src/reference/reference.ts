// Docker's image reference grammar (distribution/reference), written from the
// grammar in FACTS.md §3.3:
//
//   reference      := name [ ":" tag ] [ "@" digest ]
//   name           := [domain '/'] path-component ['/' path-component]*
//   domain         := host [':' port]
//   path-component := [a-z0-9]+ (( [._] | __ | [-]+ ) [a-z0-9]+)*
//   tag            := [\w][\w.-]{0,127}
//   digest         := algorithm ":" hex{32,}
import { invalidArgument } from '../util/index.js';

export interface Reference {
  /** Registry host[:port]; `docker.io` for Docker Hub. */
  domain: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  path: string;
  tag?: string;
  digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
const NAME_TOTAL_MAX = 255;

const alnum = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainAndPort = `(?:${domainName}|${ipv6})(?::[0-9]+)?`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

const REFERENCE_RE = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const ANCHORED_NAME_RE = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const TAG_RE = new RegExp(`^${tagPat}$`);
const ID_RE = /^[a-f0-9]{64}$/;

/** Digest lengths of the algorithms go-digest knows; others are "unsupported". */
const DIGEST_HEX_LEN: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

function checkDigest(d: string): void {
  const i = d.indexOf(':');
  const alg = d.slice(0, i);
  const hex = d.slice(i + 1);
  const want = DIGEST_HEX_LEN[alg];
  if (want === undefined) throw invalidArgument('unsupported digest algorithm');
  if (!/^[a-f0-9]+$/.test(hex)) throw invalidArgument('invalid checksum digest format');
  if (hex.length !== want) throw invalidArgument('invalid checksum digest length');
}

/** Splits the domain off a not-yet-normalized name the way Docker does (splitDockerDomain). */
function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const i = name.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = i === -1 ? '' : name.slice(0, i);
  if (i === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    domain = first;
    remainder = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_PREFIX + remainder;
  return { domain, remainder };
}

/** Parses an already fully-qualified reference string (distribution's `Parse`), no normalization. */
function parseExact(s: string): Reference {
  const m = REFERENCE_RE.exec(s);
  if (!m) {
    if (s === '') throw invalidArgument('repository name must have at least one component');
    if (REFERENCE_RE.test(s.toLowerCase())) throw invalidArgument('repository name must be lowercase');
    throw invalidArgument('invalid reference format');
  }
  const name = m[1]!;
  if (name.length > NAME_TOTAL_MAX) throw invalidArgument(`repository name must not be more than ${NAME_TOTAL_MAX} characters`);
  const nm = ANCHORED_NAME_RE.exec(name)!;
  const ref: Reference = { domain: nm[1] ?? '', path: nm[2]! };
  if (m[2] !== undefined) ref.tag = m[2];
  if (m[3] !== undefined) {
    checkDigest(m[3]);
    ref.digest = m[3];
  }
  return ref;
}

/**
 * Parses a user-typed reference into its normalized form (Docker's
 * ParseNormalizedNamed): `busybox` → docker.io/library/busybox.
 * No default tag is added; see withDefaultTag.
 */
export function parseReference(s: string): Reference {
  if (ID_RE.test(s)) {
    throw invalidArgument(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const { domain, remainder } = splitDockerDomain(s);
  const colon = remainder.indexOf(':');
  const remote = colon === -1 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote) {
    throw invalidArgument(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  return parseExact(`${domain}/${remainder}`);
}

/** Like parseReference, but only a name (no tag, no digest) is accepted. */
export function parseRepositoryName(s: string): Reference {
  const r = parseReference(s);
  if (r.tag !== undefined || r.digest !== undefined) throw invalidArgument('invalid reference format');
  return r;
}

export const isValidTag = (tag: string): boolean => TAG_RE.test(tag);

/** `docker.io/library/busybox` */
export const normalizedName = (r: Reference): string => (r.domain ? `${r.domain}/${r.path}` : r.path);

/** Full form: `docker.io/library/busybox:latest`, `name@sha256:…`, or `name:tag@sha256:…`. */
export function referenceString(r: Reference): string {
  let s = normalizedName(r);
  if (r.tag !== undefined) s += `:${r.tag}`;
  if (r.digest !== undefined) s += `@${r.digest}`;
  return s;
}

/** What the docker CLI shows: `busybox`, `user/app`, `localhost:5000/app`. */
export function familiarName(r: Reference): string {
  if (r.domain !== DEFAULT_DOMAIN) return normalizedName(r);
  if (r.path.startsWith(OFFICIAL_PREFIX)) {
    const rest = r.path.slice(OFFICIAL_PREFIX.length);
    if (!rest.includes('/')) return rest;
  }
  return r.path;
}

/** `busybox:latest`, `user/app@sha256:…` */
export function familiarString(r: Reference): string {
  let s = familiarName(r);
  if (r.tag !== undefined) s += `:${r.tag}`;
  if (r.digest !== undefined) s += `@${r.digest}`;
  return s;
}

/** Adds `latest` when the reference has neither a tag nor a digest (TagNameOnly). */
export function withDefaultTag(r: Reference): Reference {
  if (r.tag !== undefined || r.digest !== undefined) return r;
  return { ...r, tag: DEFAULT_TAG };
}

/** A full image ID: 64 hex, optionally `sha256:`-prefixed. */
export const isImageIdLike = (s: string): boolean => /^(?:sha256:)?[a-f0-9]{64}$/.test(s);

/** Parses and returns the full normalized string with the default tag: `busybox` → `docker.io/library/busybox:latest`. */
export const normalize = (s: string): string => referenceString(withDefaultTag(parseReference(s)));

/** Re-renders a stored full reference string in familiar form: `docker.io/library/busybox:latest` → `busybox:latest`. */
export const familiarize = (s: string): string => familiarString(parseReference(s));
