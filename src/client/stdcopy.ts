// stdcopy: the multiplexed stream format of attach, exec and logs without a TTY.
// Each frame is an 8-byte header [stream, 0, 0, 0, size uint32 BE] followed by `size` bytes.
// Stream 0 stdin, 1 stdout, 2 stderr, 3 systemerr (an error from the daemon, ending the stream).

import type { Readable, Writable } from 'node:stream';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const SYSTEMERR = 3;

export interface Frame {
  stream: number;
  data: Buffer;
}

/** Incremental frame parser: push chunks of any size, get back complete frames. */
export class StdcopyParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: Frame[] = [];
    let off = 0;
    while (this.buf.length - off >= 8) {
      const stream = this.buf[off]!;
      if (stream > 3) throw new Error(`Unrecognized input header: ${stream}`);
      const size = this.buf.readUInt32BE(off + 4);
      if (this.buf.length - off - 8 < size) break;
      frames.push({ stream, data: this.buf.subarray(off + 8, off + 8 + size) });
      off += 8 + size;
    }
    this.buf = off ? this.buf.subarray(off) : this.buf;
    return frames;
  }

  /** Bytes held back waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length;
  }
}

/** Encode one frame (used by tests and by anything that needs to fake a daemon). */
export function encodeFrame(stream: number, data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(body.length, 4);
  return Buffer.concat([h, body]);
}

/**
 * Copy a multiplexed stream to stdout/stderr until it ends. Rejects on a systemerr frame,
 * like moby's StdCopy, with the daemon's text as the message.
 */
export function demux(src: Readable, stdout: Writable, stderr: Writable): Promise<void> {
  const parser = new StdcopyParser();
  return new Promise((resolve, reject) => {
    let failed = false;
    src.on('data', (chunk: Buffer) => {
      if (failed) return;
      let frames: Frame[];
      try {
        frames = parser.push(chunk);
      } catch (err) {
        failed = true;
        src.destroy();
        reject(err);
        return;
      }
      for (const f of frames) {
        if (f.stream === SYSTEMERR) {
          failed = true;
          src.destroy();
          reject(new Error(`error from daemon in stream: ${f.data.toString()}`));
          return;
        }
        const out = f.stream === STDERR ? stderr : stdout;
        if (!out.write(f.data)) {
          src.pause();
          out.once('drain', () => src.resume());
        }
      }
    });
    src.on('end', () => !failed && resolve());
    src.on('close', () => !failed && resolve());
    src.on('error', (err) => !failed && reject(err));
  });
}
