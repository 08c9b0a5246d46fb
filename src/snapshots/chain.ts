// OCI image-spec chain IDs: chainID(L0) = diffID(L0);
// chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)).
import { createHash } from 'node:crypto';
import { invalidArgument } from '../util/index.js';

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function assertDigest(d: string, what = 'digest'): void {
  if (!DIGEST.test(d)) throw invalidArgument(`invalid ${what}: ${JSON.stringify(d)}`);
}

export function chainId(parent: string | null, diffId: string): string {
  assertDigest(diffId, 'diffID');
  if (parent === null) return diffId;
  assertDigest(parent, 'chainID');
  return `sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`;
}

/** The chain IDs of a bottom-first list of diffIDs. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(chainId(out.length ? out[out.length - 1]! : null, d));
  return out;
}
