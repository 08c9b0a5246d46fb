// The helper shell that starts berth's one-off network tools (spawner.ts):
// input reaches the tool byte for byte, errors carry the tool's words and
// exit code, and jobs run side by side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ShellSpawner } from '../../src/network/spawner.js';
import { silentLogger } from '../../src/util/index.js';

test('spawner: stdin verbatim, errors with the tool message, concurrent jobs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-spawner-'));
  const s = new ShellSpawner(silentLogger);
  try {
    const out = join(dir, 'out');
    const input = "quotes ' \" and $HOME `date` \\ stay\nEOF\nlast line\n";
    await s.run({ argv: ['sh', '-c', 'cat > "$1"', 'sh', out], input });
    assert.equal(readFileSync(out, 'utf8'), input);

    await assert.rejects(s.run({ argv: ['sh', '-c', 'echo "bad thing" >&2; echo more >&2; exit 3'] }), (err: Error) => {
      assert.match(err.message, /exit 3: bad thing more/);
      return true;
    });
    await assert.rejects(s.run({ argv: ['/nonexistent/tool'] }), /exit 127/);

    // Side by side: ten jobs of 300 ms take far less than 3 s.
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 10 }, () => s.run({ argv: ['sleep', '0.3'] })));
    assert.ok(Date.now() - t0 < 2000, `10 × sleep 0.3 took ${Date.now() - t0} ms`);
  } finally {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('spawner: jobs still running when their shell is retired finish normally', async () => {
  const s = new ShellSpawner(silentLogger, { jobsPerShell: 2 });
  try {
    // Jobs 1-2 go to the first shell, which is then retired (its stdin closed) while they sleep.
    const jobs = Array.from({ length: 5 }, (_, i) => s.run({ argv: ['sh', '-c', `sleep 0.2; exit ${i === 4 ? 5 : 0}`] }));
    const results = await Promise.allSettled(jobs);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    assert.match(String((results[4] as PromiseRejectedResult).reason), /exit 5/);
  } finally {
    s.close();
  }
});
