// Identifier and reference display helpers shared by the formatters.

/** stringid.TruncateID: drop "sha256:" and keep 12 characters. */
export function truncateId(id: string): string {
  const i = id.indexOf(':');
  return (i >= 0 ? id.slice(i + 1) : id).slice(0, 12);
}

/** formatter.Ellipsis: cut to `max` display characters, the last being "…". */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  if (max <= 0) return '';
  return chars.slice(0, max - 1).join('') + '…';
}

/** Split "repo:tag" / "repo@digest" (a colon before the last slash is a registry port). */
export function splitReference(ref: string): { repo: string; tag?: string; digest?: string } {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) return { repo: rest.slice(0, colon), tag: rest.slice(colon + 1), digest };
  return { repo: rest, digest };
}

/** reference.FamiliarName: "docker.io/library/busybox" → "busybox". */
export function familiarName(repo: string): string {
  let r = repo;
  if (r.startsWith('docker.io/')) r = r.slice('docker.io/'.length);
  else if (r.startsWith('index.docker.io/')) r = r.slice('index.docker.io/'.length);
  if (r.startsWith('library/') && r.split('/').length === 2) r = r.slice('library/'.length);
  return r;
}

/** Go's Time.String(): "2006-01-02 15:04:05 -0700 MST" in local time. */
export function goTimeString(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  let zone = 'UTC';
  if (off !== 0) {
    const name = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((x) => x.type === 'timeZoneName')?.value;
    zone = name && !name.startsWith('GMT') ? name : `${sign}${p(Math.trunc(abs / 60))}${abs % 60 ? p(abs % 60) : ''}`;
  }
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${sign}${p(Math.trunc(abs / 60))}${p(abs % 60)} ${zone}`;
}
