// Give memory back when the daemon goes quiet.
//
// V8 grows its heap during a burst of work (20 containers starting at once
// leaves tens of MB of garbage and a grown young generation) and, left alone,
// keeps it until the next burst forces a collection. A daemon spends most of
// its life idle, and its idle RSS is what users compare with dockerd's. So
// once no API request has arrived for a while, run one full collection,
// which compacts the heap and returns the freed pages to the system, then
// ask glibc for the C heap's free pages too (buffers of the HTTP parser,
// SQLite, libuv's thread pool); after a few minutes of mixed work we
// measured 4.6 MB held there.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Server } from 'node:http';
import type { Logger } from '../util/index.js';
import { mallocTrim } from '../sys/index.js';

type Gc = () => void;

/** V8's gc(), exposed after start-up (the flag must be set before a context is created). */
function exposeGc(): Gc | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as Gc) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Collect after `quietMs` without a request on any of the servers, then a few
 * more times while it stays quiet. V8 drops the bytecode of a function only
 * after it has gone unused through several full collections (--bytecode-old-age,
 * 5 by default), so the code a burst compiled (the create/start/remove paths,
 * build, pull) is only given back by the later rounds; it is compiled again,
 * lazily, when next needed.
 */
export function collectWhenIdle(servers: Server[], quietMs = 1500, log?: Logger, rounds = 7, spacingMs = 1000): () => void {
  const gc = exposeGc();
  if (!gc) return () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const collect = (left: number) => {
    timer = undefined;
    gc();
    mallocTrim();
    if (left > 1) {
      timer = setTimeout(() => collect(left - 1), spacingMs);
      timer.unref();
      return;
    }
    const m = process.memoryUsage();
    const mb = (n: number) => Math.round(n / 1e5) / 10;
    log?.debug('idle: collected', { rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), heapTotalMB: mb(m.heapTotal), externalMB: mb(m.external) });
  };
  const arm = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => collect(rounds), quietMs);
    timer.unref();
  };
  for (const s of servers) s.on('request', arm).on('upgrade', arm);
  arm();
  return () => { if (timer) clearTimeout(timer); };
}
