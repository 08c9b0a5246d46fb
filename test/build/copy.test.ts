// COPY/ADD into a container root: sources stay inside the context, destinations inside the root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, readFileSync, existsSync, lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { copyInto, matchSources } from '../../src/build/index.js';

function dirs() {
  const base = mkdtempSync(join(tmpdir(), 'berth-copy-'));
  const ctx = join(base, 'ctx');
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  for (const d of [ctx, root, outside]) mkdirSync(d);
  writeFileSync(join(outside, 'secret'), 'host secret\n');
  return { base, ctx, root, outside };
}
const opts = { cmd: 'COPY', fromContext: true };

test('a context symlink is followed only inside the context', async () => {
  const { ctx, root, outside } = dirs();
  symlinkSync(join(outside, 'secret'), join(ctx, 'abs-link'));
  symlinkSync('../outside/secret', join(ctx, 'rel-link'));
  await assert.rejects(copyInto(root, ctx, ['abs-link'], '/x', '/', opts), /file not found in build context/);
  await assert.rejects(copyInto(root, ctx, ['rel-link'], '/x', '/', opts), /file not found in build context/);
  await assert.rejects(copyInto(root, ctx, ['../outside/secret'], '/x', '/', opts), /file not found in build context/);
  assert.equal(existsSync(join(root, 'x')), false);
});

test('symlinks in the image never lead a copy out of its root', async () => {
  const { ctx, root, outside } = dirs();
  writeFileSync(join(ctx, 'f'), 'data\n');
  mkdirSync(join(ctx, 'd'));
  writeFileSync(join(ctx, 'd', 'inner'), 'inner\n');
  symlinkSync(outside, join(root, 'etc'));
  symlinkSync(join(outside, 'secret'), join(root, 'target'));
  await copyInto(root, ctx, ['f'], '/etc/f', '/', opts);
  await copyInto(root, ctx, ['f'], '/target', '/', opts);
  await copyInto(root, ctx, ['d'], '/etc/sub/', '/', opts);
  assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'host secret\n');
  assert.equal(existsSync(join(outside, 'f')), false);
  assert.equal(existsSync(join(outside, 'sub')), false);
  // The absolute link is read as the container sees it: /outside... inside the root.
  assert.equal(readFileSync(join(root, outside, 'f'), 'utf8'), 'data\n');
  assert.equal(readFileSync(join(root, outside, 'secret'), 'utf8'), 'data\n');
  assert.equal(readFileSync(join(root, outside, 'sub', 'inner'), 'utf8'), 'inner\n');
});

test('directories copy their contents; several sources need a directory destination; globs match', async () => {
  const { ctx, root } = dirs();
  mkdirSync(join(ctx, 'src', 'deep'), { recursive: true });
  writeFileSync(join(ctx, 'src', 'a.txt'), 'a');
  writeFileSync(join(ctx, 'src', 'deep', 'b.txt'), 'b');
  symlinkSync('a.txt', join(ctx, 'src', 'link'));
  await copyInto(root, ctx, ['src'], '/app', '/', opts);
  assert.equal(readFileSync(join(root, 'app', 'deep', 'b.txt'), 'utf8'), 'b');
  assert.equal(readlinkSync(join(root, 'app', 'link')), 'a.txt');
  assert.ok(lstatSync(join(root, 'app', 'link')).isSymbolicLink());
  assert.deepEqual(matchSources(ctx, 'src/*.txt'), ['src/a.txt']);
  assert.deepEqual(matchSources(ctx, 's?c/de*/*'), ['src/deep/b.txt']);
  await assert.rejects(copyInto(root, ctx, ['src/a.txt', 'src/deep/b.txt'], '/two', '/', opts), /destination must be a directory and end with a \//);
  await copyInto(root, ctx, ['src/a.txt'], 'rel/', '/work', opts);
  assert.equal(readFileSync(join(root, 'work', 'rel', 'a.txt'), 'utf8'), 'a');
});
