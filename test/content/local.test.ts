import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { LocalContentStore } from '../../src/content/index.js';
import { contentStoreSuite } from '../../src/content/testsuite.js';

contentStoreSuite('local', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-content-'));
  return {
    store: new LocalContentStore({ root }),
    ingestDir: join(root, 'ingest'),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
