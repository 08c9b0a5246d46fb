// One suite for every ContentStore implementation (after containerd's
// core/content/testsuite). Only tests import this file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { readdirSync, statSync } from 'node:fs';
import { isInvalidArgument, isNotFound, isConflict } from '../util/index.js';
import { digestOf, type ContentStore } from './content.js';

export interface ContentFactory {
  (): Promise<{ store: ContentStore; cleanup: () => Promise<void>; ingestDir?: string }>;
}

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export function contentStoreSuite(name: string, factory: ContentFactory): void {
  const it = (title: string, fn: (s: ContentStore, ingestDir?: string) => Promise<void>) =>
    test(`${name}: ${title}`, async () => {
      const { store, cleanup, ingestDir } = await factory();
      try { await fn(store, ingestDir); } finally { await cleanup(); }
    });
  const ingestEmpty = (dir?: string) => { if (dir) assert.deepEqual(readdirSync(dir), []); };

  it('writes, reads, lists and deletes a blob', async (s, ingestDir) => {
    const data = Buffer.from('hello world');
    const d = digestOf(data);
    assert.equal(await s.has(d), false);
    const info = await s.writeBuffer(data);
    assert.deepEqual(info, { digest: d, size: 11 });
    assert.equal(await s.has(d), true);
    assert.deepEqual(await s.info(d), info);
    assert.deepEqual(await s.readBuffer(d), data);
    assert.deepEqual(await collect(s.createReadStream(d)), data);
    assert.deepEqual(await collect(s.createReadStream(d, { start: 6 })), Buffer.from('world'));
    assert.deepEqual(await s.list(), [info]);
    ingestEmpty(ingestDir);
    await s.delete(d);
    assert.equal(await s.has(d), false);
    assert.deepEqual(await s.list(), []);
  });

  it('committed blobs are read-only', async (s) => {
    const { digest } = await s.writeBuffer('ro');
    assert.equal(statSync(s.path(digest)).mode & 0o777, 0o444);
  });

  it('missing blobs are NotFound', async (s) => {
    const d = digestOf('nope');
    await assert.rejects(s.info(d), isNotFound);
    await assert.rejects(s.readBuffer(d), isNotFound);
    await assert.rejects(s.delete(d), isNotFound);
    assert.throws(() => s.createReadStream(d), isNotFound);
  });

  it('rejects malformed digests before touching paths', async (s) => {
    for (const bad of ['sha256:../../etc/passwd', 'sha256:ABC', `sha256:${'a'.repeat(63)}`, '../x', '', `sha256:${'a'.repeat(64)}/`]) {
      await assert.rejects(s.has(bad), isInvalidArgument, bad);
      assert.throws(() => s.path(bad), isInvalidArgument);
      await assert.rejects(s.writeBuffer('x', { digest: bad }), isInvalidArgument);
    }
    await assert.rejects(s.writeBuffer('x', { digest: `sha512:${'a'.repeat(128)}` }), /unsupported digest algorithm/);
  });

  it('verifies the expected digest and size, leaving nothing behind', async (s, ingestDir) => {
    const data = Buffer.from('payload');
    const right = digestOf(data);
    const wrong = digestOf('other');
    await assert.rejects(s.writeBuffer(data, { digest: wrong }), (err: Error) =>
      isInvalidArgument(err) && err.message.includes(wrong) && err.message.includes(right));
    await assert.rejects(s.writeBuffer(data, { size: 3 }), (err: Error) => isInvalidArgument(err) && /expected 3/.test(err.message));
    await assert.rejects(s.writeBuffer(data, { size: 100 }), (err: Error) => isInvalidArgument(err) && /expected 100 bytes, got 7/.test(err.message));
    assert.deepEqual(await s.list(), []);
    assert.equal(await s.has(wrong), false);
    ingestEmpty(ingestDir);
    assert.deepEqual(await s.writeBuffer(data, { digest: right, size: 7 }), { digest: right, size: 7 });
  });

  it('ingests streams and async iterables', async (s) => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const d = digestOf(big);
    const info = await s.ingest(Readable.from([big.subarray(0, 1000), big.subarray(1000)]), { digest: d, size: big.length });
    assert.deepEqual(info, { digest: d, size: big.length });
    async function* gen() { yield new Uint8Array([1, 2]); yield new Uint8Array([3]); }
    const info2 = await s.ingest(gen());
    assert.deepEqual(info2, { digest: digestOf(Buffer.from([1, 2, 3])), size: 3 });
    assert.deepEqual(await s.readBuffer(info2.digest), Buffer.from([1, 2, 3]));
  });

  it('an existing blob counts as success', async (s) => {
    const a = await s.writeBuffer('same');
    const b = await s.writeBuffer('same');
    assert.deepEqual(a, b);
    // With an expected digest that is present, the source is not even read.
    let read = false;
    async function* never() { read = true; yield new Uint8Array([0]); }
    assert.deepEqual(await s.ingest(never(), { digest: a.digest }), a);
    assert.equal(read, false);
    assert.equal((await s.list()).length, 1);
  });

  it('readBuffer honours maxSize', async (s) => {
    const { digest } = await s.writeBuffer(Buffer.alloc(100));
    await assert.rejects(s.readBuffer(digest, { maxSize: 99 }), (err: Error) => isInvalidArgument(err) && /too large/.test(err.message));
    assert.equal((await s.readBuffer(digest, { maxSize: 100 })).length, 100);
  });

  it('aborts on signal and on source errors without committing', async (s, ingestDir) => {
    const ac = new AbortController();
    async function* slow() { yield Buffer.from('a'); ac.abort(); yield Buffer.from('b'); }
    await assert.rejects(s.ingest(slow(), {}, { signal: ac.signal }), { name: 'AbortError' });
    async function* broken() { yield Buffer.from('a'); throw new Error('connection reset'); }
    await assert.rejects(s.ingest(broken()), /connection reset/);
    assert.deepEqual(await s.list(), []);
    ingestEmpty(ingestDir);
  });

  it('resumes a partial ingest by ref', async (s, ingestDir) => {
    const data = Buffer.from('0123456789'.repeat(1000));
    const d = digestOf(data);
    const ref = `layer-${d}`;
    assert.equal(await s.ingestOffset(ref), 0);
    async function* firstTry() { yield data.subarray(0, 4000); throw new Error('connection reset'); }
    await assert.rejects(s.ingest(firstTry(), { digest: d, size: data.length }, { ref, resume: true }), /connection reset/);
    assert.equal(await s.has(d), false);
    const offset = await s.ingestOffset(ref);
    assert.equal(offset, 4000);
    const info = await s.ingest(Readable.from([data.subarray(offset)]), { digest: d, size: data.length }, { ref, resume: true });
    assert.deepEqual(info, { digest: d, size: data.length });
    assert.deepEqual(await s.readBuffer(d), data);
    assert.equal(await s.ingestOffset(ref), 0);
    ingestEmpty(ingestDir);
  });

  it('without resume, a ref starts over; a bad resumed blob is dropped', async (s) => {
    const data = Buffer.from('abcdef');
    const d = digestOf(data);
    async function* part() { yield Buffer.from('zzz'); throw new Error('reset'); }
    await assert.rejects(s.ingest(part(), { digest: d }, { ref: 'r', resume: true }), /reset/);
    assert.equal(await s.ingestOffset('r'), 3);
    // Resuming on top of garbage: digest fails and the partial is removed.
    await assert.rejects(s.ingest([data.subarray(3)], { digest: d }, { ref: 'r', resume: true }), /unexpected digest/);
    assert.equal(await s.ingestOffset('r'), 0);
    await assert.rejects(s.ingest(part(), { digest: d }, { ref: 'r', resume: true }), /reset/);
    assert.deepEqual(await s.ingest([data], { digest: d }, { ref: 'r' }), { digest: d, size: 6 });
    assert.equal(await s.ingestOffset('r'), 0);
  });

  it('two ingests of one ref cannot run at once', async (s) => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    async function* held() { yield Buffer.from('a'); await gate; yield Buffer.from('b'); }
    const first = s.ingest(held(), {}, { ref: 'same' });
    await new Promise((r) => setTimeout(r, 20));
    await assert.rejects(s.ingest([Buffer.from('x')], {}, { ref: 'same' }), isConflict);
    await assert.rejects(s.abortIngest('same'), isConflict);
    release();
    assert.equal((await first).size, 2);
    await s.abortIngest('same');
  });

  it('concurrent writers of one blob both succeed', async (s) => {
    const data = Buffer.alloc(256 * 1024, 3);
    const results = await Promise.all([1, 2, 3, 4].map(() => s.ingest(Readable.from([data]))));
    for (const r of results) assert.equal(r.digest, digestOf(data));
    assert.equal((await s.list()).length, 1);
  });
}
