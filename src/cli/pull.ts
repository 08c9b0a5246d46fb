// Pulling an image through the daemon (POST /images/create), shared by pull, run and create.

import type { Writable } from 'node:stream';
import { encodeAuth } from '../client/index.js';
import type { Cli } from './command.js';
import { getAuth } from './config.js';
import { displayStream } from './progress.js';
import { authKey, parseRef, fullName, type Ref } from './reference.js';

export function registryAuthHeader(cli: Cli, ref: Ref): string {
  const auth = getAuth(cli.configDir, authKey(ref.domain));
  return encodeAuth(auth ?? {});
}

export interface PullOptions {
  platform?: string;
  quiet?: boolean;
  allTags?: boolean;
  out: Writable & { isTTY?: boolean; columns?: number };
}

export async function pullImage(cli: Cli, image: string, opts: PullOptions): Promise<void> {
  const ref = parseRef(image);
  const tag = ref.digest ?? (opts.allTags ? undefined : ref.tag ?? 'latest');
  const res = await cli.api().imageCreate({ fromImage: fullName(ref), tag, platform: opts.platform || undefined }, registryAuthHeader(cli, ref));
  if (opts.quiet) {
    // Still consume (and fail on) the stream, printing nothing.
    const sink = { write: () => true } as unknown as Writable;
    await displayStream(res, sink, { tty: false });
    return;
  }
  await displayStream(res, opts.out, { tty: !!opts.out.isTTY, width: opts.out.columns });
}
