// Layer blobs come gzip'd, zstd'd or plain; sniff the magic bytes rather than
// trusting the media type. gzip uses node:zlib; Node 20 has no zstd, so zstd
// layers go through the `zstd` binary (Debian's zstd package) when present.
import { Readable, PassThrough } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { spawn } from 'node:child_process';
import { invalidArgument, unavailable } from '../util/index.js';

export type Compression = 'gzip' | 'zstd' | 'none';

export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** Read the first bytes of `src` and hand back a stream of the whole, uncompressed content. */
export async function decompress(src: Readable, opts: { zstdBinary?: string } = {}): Promise<Readable> {
  const it = src[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < 4) {
    const r = await it.next();
    if (r.done) { ended = true; break; }
    head = Buffer.concat([head, Buffer.from(r.value as Uint8Array)]);
  }
  const whole = Readable.from((async function* () {
    if (head.length) yield head;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.from(r.value as Uint8Array);
    }
  })(), { objectMode: false });
  whole.once('close', () => { if (!src.destroyed && !src.readableEnded) src.destroy(); });

  switch (detectCompression(head)) {
    case 'none': return whole;
    case 'gzip': {
      const gunzip = createGunzip({ chunkSize: 1 << 20 }); // larger chunks: far fewer stream hops per layer
      whole.once('error', (err) => gunzip.destroy(err));
      gunzip.once('error', () => whole.destroy());
      const out = whole.pipe(gunzip);
      // Re-label zlib's errors: a corrupt layer is the client's data, not our bug.
      const wrapped = new PassThrough();
      out.on('error', (err) => wrapped.destroy(invalidArgument(`invalid gzip layer: ${err.message}`, err)));
      return out.pipe(wrapped);
    }
    case 'zstd': return zstd(whole, opts.zstdBinary ?? 'zstd');
  }
}

function zstd(input: Readable, bin: string): Readable {
  const out = new PassThrough();
  const child = spawn(bin, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString(); });
  child.once('error', (err) => {
    out.destroy(unavailable(`zstd-compressed layer needs the zstd program: ${err.message}`, err));
    input.destroy();
  });
  input.once('error', (err) => { child.kill(); out.destroy(err); });
  child.stdin.on('error', () => { /* EPIPE when zstd quits early: its exit code tells why */ });
  input.pipe(child.stdin);
  child.stdout.pipe(out, { end: false });
  let stdoutDone = false;
  let exit: number | null | undefined;
  const finish = () => {
    if (!stdoutDone || exit === undefined) return;
    if (exit === 0) out.end();
    else out.destroy(invalidArgument(`invalid zstd layer: ${stderr.trim() || `zstd exited with ${exit}`}`));
  };
  child.stdout.once('end', () => { stdoutDone = true; finish(); });
  child.once('exit', (code) => { exit = code; finish(); });
  // A consumer giving up (e.g. a rejected entry) must not leave zstd running.
  out.once('close', () => { if (exit === undefined) child.kill(); input.destroy(); });
  return out;
}
