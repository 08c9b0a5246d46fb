// Build.prepare: the context tar is unpacked and the Dockerfile checked before any step runs,
// so these errors are plain 400s with Docker's wording (no daemon needed: no step runs here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { Build, type BuildDeps } from '../../src/build/index.js';

async function tarOf(files: Record<string, string>): Promise<Readable> {
  const pack = tar.pack();
  for (const [name, text] of Object.entries(files)) pack.entry({ name }, text);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Readable.from([Buffer.concat(chunks)]);
}

const tmpDir = mkdtempSync(join(tmpdir(), 'berth-prepare-'));
// prepare() only unpacks and parses: the stores are not touched.
const deps = { tmpDir } as unknown as BuildDeps;

async function rejects(files: Record<string, string>, re: RegExp, opts = {}) {
  await assert.rejects(async () => Build.prepare(deps, await tarOf(files), opts), (err: Error) => {
    assert.match(err.message, re);
    assert.equal((err as { kind?: string }).kind, 'InvalidArgument');
    return true;
  });
}

test('Dockerfile errors are found before any step runs', async () => {
  await rejects({ Dockerfile: '' }, /^the Dockerfile \(Dockerfile\) cannot be empty$/);
  await rejects({ Dockerfile: '# only a comment\n' }, /cannot be empty/);
  await rejects({ Dockerfile: 'RUN echo hi\n' }, /^dockerfile parse error on line 1: no build stage in current context$/);
  await rejects({ Dockerfile: 'FROM busybox\nCOPY onlyone\n' }, /^dockerfile parse error on line 2: COPY requires at least two arguments, but only one was provided\. Destination could not be determined\.$/);
  await rejects({ Dockerfile: 'FROM busybox\nRUN --mount=type=cache,target=/x true\n' }, /line 2: unknown flag: mount/);
  await rejects({ Dockerfile: 'FROM busybox\nSHELL /bin/bash -c\n' }, /SHELL requires the arguments to be in JSON form/);
  await rejects({ Dockerfile: 'FROM busybox\nONBUILD ONBUILD RUN x\n' }, /Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed/);
  await rejects({ Dockerfile: 'FROM busybox AS 1bad\n' }, /invalid name for build stage/);
  await rejects({ Dockerfile: 'FROM busybox\nHEALTHCHECK --interval=10 CMD true\n' }, /time: invalid duration "10" for --interval/);
  await rejects({ 'other.txt': 'x' }, /^Cannot locate specified Dockerfile: Dockerfile$/);
  await rejects({ Dockerfile: 'FROM busybox\n' }, /^failed to reach build target nope in Dockerfile$/, { target: 'nope' });
  // Nothing is left behind by a failed prepare.
  assert.deepEqual(readdirSync(tmpDir), []);
});

test('a custom Dockerfile name with a --target, and a lowercase dockerfile, are found', async () => {
  const b = await Build.prepare(deps, await tarOf({ 'sub/Build.df': 'FROM a AS one\nRUN x\nFROM b AS two\nRUN y\nFROM c\n' }), { dockerfile: 'sub/Build.df', target: 'two' });
  assert.deepEqual(b.file.instructions.map((i) => i.cmd), ['FROM', 'RUN', 'FROM', 'RUN', 'FROM']);
  b.cleanup();
  const lower = await Build.prepare(deps, await tarOf({ dockerfile: 'FROM a\n' }), {});
  assert.equal(lower.file.instructions.length, 1);
  lower.cleanup();
  assert.deepEqual(readdirSync(tmpDir), []);
});
