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

/** Collect once after `quietMs` without a request on any of the servers. */
export function collectWhenIdle(servers: Server[], quietMs = 1500, log?: Logger): () => void {
  const gc = exposeGc();
  if (!gc) return () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      gc();
      mallocTrim();
      const m = process.memoryUsage();
      const mb = (n: number) => Math.round(n / 1e5) / 10;
      log?.debug('idle: collected', { rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), heapTotalMB: mb(m.heapTotal), externalMB: mb(m.external) });
    }, quietMs);
    timer.unref();
  };
  for (const s of servers) s.on('request', arm).on('upgrade', arm);
  arm();
  return () => { if (timer) clearTimeout(timer); };
}
