// Talking to conmon's attach socket.
//
// conmon listens on `<bundle>/attach`, an AF_UNIX SOCK_SEQPACKET socket. Every
// packet it sends is one read of the container's output, prefixed by one byte:
// 2 = stdout, 3 = stderr. What we write is copied raw to the container's stdin,
// and shutdown(SHUT_WR) makes conmon close that stdin (unless it was started
// with --leave-stdin-open).
//
// Node cannot open SEQPACKET sockets and refuses to wrap one given as an fd
// (net.Socket({fd}) → ERR_INVALID_FD_TYPE), so:
//  1. src/sys connectSeqpacket(path) connects and hands us the raw fd (it
//     also copes with paths longer than sun_path via /proc/self/fd);
//  2. we wrap the fd in libuv's pipe handle directly —
//       const { Pipe, constants } = process.binding('pipe_wrap');
//       const h = new Pipe(constants.SOCKET); h.open(fd);
//       new net.Socket({ handle: h, allowHalfOpen: true })
//     libuv reads a stream socket with read(2), and read(2) on a SEQPACKET
//     socket returns exactly one packet, so each 'data' event is one packet;
//     socket.end() is shutdown(SHUT_WR).
//  3. two catches, both seen here: when the peer closes, libuv sees POLLHUP
//     after a "partial" read and reports EOF at once, although on SEQPACKET
//     more packets may still be queued. And when conmon closes its end while
//     stdin we sent is still unread (a process that exits without reading it),
//     the kernel flags ECONNRESET on our socket, and a SEQPACKET read reports
//     that pending error *before* the packets still queued: Node destroys the
//     socket and the process's last output would be lost. So we keep a spare
//     fd (dup) of the socket and, on end, error or close, drain what is left
//     from it with fs.readSync (non-blocking: packets, then 0 or EAGAIN)
//     before ending our own stream.
//  4. stdin is written in pieces of at most 8 KiB, one write at a time: a
//     SEQPACKET write is one packet, conmon reads at most 32 KiB per packet and
//     would silently drop the rest, and Node would otherwise coalesce queued
//     writes into one writev (= one big packet).
import net from 'node:net';
import { readSync, closeSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { connectSeqpacket, dupCloexec } from '../sys/index.js';

export interface OutputChunk { stream: 1 | 2; data: Buffer }

export interface AttachStreams {
  /** The container's stdin (present when asked for). end() closes it in the container (unless stdin is left open). */
  stdin?: Writable;
  /** Object-mode stream of {stream: 1 (stdout) | 2 (stderr), data}. Ends when the process's output ends. */
  output: Readable;
  /** Callback style over `output` (either may be used, not both). */
  onData(fn: (stream: 1 | 2, chunk: Buffer) => void): void;
  onEnd(fn: () => void): void;
  /** Disconnect (does not stop the container). */
  close(): void;
}

const STDIN_PIECE = 8192;

interface PipeWrapBinding { Pipe: new (type: number) => { open(fd: number): number }; constants: { SOCKET: number } }

function wrapFd(fd: number): net.Socket {
  // process.binding is deprecated but present in Node 20 and the only way to
  // give libuv an fd of a socket type it would otherwise refuse.
  const { Pipe, constants } = (process as unknown as { binding(name: string): PipeWrapBinding }).binding('pipe_wrap');
  const handle = new Pipe(constants.SOCKET);
  const err = handle.open(fd);
  if (err) throw new Error(`cannot wrap attach socket fd ${fd}: libuv error ${err}`);
  return new net.Socket({ handle, allowHalfOpen: true } as net.SocketConstructorOpts);
}

/** Connect to a conmon attach socket. */
export function openAttach(socketPath: string, opts: { stdin?: boolean } = {}): AttachStreams {
  const fd = connectSeqpacket(socketPath);
  let sock: net.Socket;
  let spare = -1;
  try {
    spare = dupCloexec(fd);
    sock = wrapFd(fd);
  } catch (err) {
    closeSync(fd);
    if (spare >= 0) closeSync(spare);
    throw err;
  }
  let ended = false;
  const output = new Readable({ objectMode: true, read: () => { sock.resume(); } });
  const deliver = (pkt: Buffer) => {
    if (pkt.length < 1) return true;
    const kind = pkt[0];
    if (kind !== 2 && kind !== 3) return true;
    return output.push({ stream: kind === 2 ? 1 : 2, data: pkt.subarray(1) } satisfies OutputChunk);
  };
  /** See (3) above: packets libuv left behind when it saw the hangup or the reset. */
  const drain = () => {
    if (spare < 0) return;
    const buf = Buffer.allocUnsafe(65536);
    for (;;) {
      let n: number;
      try { n = readSync(spare, buf, 0, buf.length, null); } catch (err) {
        // A reset not yet consumed by libuv's read: the packets come after it.
        if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') continue;
        break;
      }
      if (n <= 0) break;
      deliver(Buffer.from(buf.subarray(0, n)));
    }
  };
  const releaseSpare = () => {
    if (spare < 0) return;
    try { closeSync(spare); } catch { /* already gone */ }
    spare = -1;
  };
  const finish = (drainFirst: boolean) => {
    if (ended) return;
    ended = true;
    if (drainFirst) drain();
    releaseSpare();
    output.push(null);
  };
  sock.on('data', (pkt: Buffer) => { if (!deliver(pkt)) sock.pause(); });
  sock.on('end', () => finish(true));
  sock.on('error', () => finish(true));
  sock.on('close', () => finish(true));

  let stdin: Writable | undefined;
  if (opts.stdin) {
    stdin = new Writable({
      write(chunk: Buffer, _enc, cb) {
        let off = 0;
        const next = (err?: Error | null) => {
          if (err) return cb(err);
          if (off >= chunk.length) return cb();
          const piece = chunk.subarray(off, off + STDIN_PIECE);
          off += piece.length;
          if (sock.destroyed) return cb(new Error('attach socket closed'));
          sock.write(piece, next);
        };
        next();
      },
      final(cb) {
        if (sock.destroyed) return cb();
        sock.end(() => cb());
      },
    });
    // A container that exits while we still write: not our caller's error.
    stdin.on('error', () => undefined);
  }

  return {
    stdin,
    output,
    onData(fn) { output.on('data', (c: OutputChunk) => fn(c.stream, c.data)); },
    onEnd(fn) { output.once('end', fn); if (output.readableEnded) fn(); },
    close() {
      sock.destroy();
      finish(false);
      if (stdin && !stdin.destroyed) stdin.destroy();
    },
  };
}
