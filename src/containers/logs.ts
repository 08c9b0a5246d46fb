// Reading container logs. conmon writes the container's output in the CRI
// "k8s-file" format, one record per line:
//
//   2024-01-02T03:04:05.123456789+01:00 stdout F text of a full line
//   2024-01-02T03:04:05.223456789+01:00 stderr P first 8192 bytes of a long line
//
// The timestamp is in conmon's local zone; `F` ends a line (the record's own
// newline is the line's), `P` is a piece of a line that continues in the next
// record of the same stream (conmon appends a newline to keep one record per
// line). conmon cuts at its 8 KiB read buffer and whenever a read returns
// without a newline (`printf foo; sleep 1; echo bar`).
//
// We join P pieces into one record per program line. The 8 KiB cut is an
// artifact of conmon's buffer, not of the program: joined, `docker logs -t`
// shows one timestamp per line and line-oriented clients (compose's prefixing
// printer) never see a line broken in two. Docker's json-file splits at 16 KiB;
// its output without timestamps is byte-identical to ours, with timestamps it
// shows one per 16 KiB piece. To bound memory against a program that never
// writes a newline, a line longer than MAX_LINE is emitted in MAX_LINE pieces
// (without a trailing newline, exactly as Docker emits its partial messages).
import { open, stat, truncate, rename, copyFile, type FileHandle } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { dirname, basename } from 'node:path';
import { hasCode, invalidArgument } from '../util/index.js';

export type LogStream = 'stdout' | 'stderr';

export interface LogRecord {
  stream: LogStream;
  /** Millisecond precision; `nanos` holds the full sub-second part. */
  time: Date;
  /** Nanoseconds within the second, 0..999999999. */
  nanos: number;
  /** RFC3339Nano in UTC with 9 fraction digits, e.g. 2024-01-02T03:04:05.123456789Z. */
  timeNano: string;
  /** The line's bytes, with its trailing '\n' when the line was complete. */
  line: Buffer;
}

export interface ReadLogsOptions {
  stdout: boolean;
  stderr: boolean;
  /** Unix seconds (fractional); records before it are skipped. */
  since?: number;
  /** Unix seconds (fractional); reading ends at the first record after it. */
  until?: number;
  /** Last N lines (of the selected streams), or 'all'. */
  tail?: number | 'all';
  /** Keep reading as the file grows, until the container ends or `signal` aborts. */
  follow?: boolean;
  signal?: AbortSignal;
  /** Consulted at EOF while following: false means the container ended; the file is drained, then reading ends. */
  isRunning?: () => boolean | Promise<boolean>;
  /** Older (rotated) files, oldest first. */
  rotated?: string[];
  /** How often to look at the file when no change notification comes (ms). */
  pollInterval?: number;
  /** Counts the bytes read from disk, so tests can check that tail does not read everything. */
  stats?: { bytesRead: number };
}

/** Lines longer than this come out in pieces (see the header comment). */
export const MAX_LINE = 1 << 20;
const CHUNK = 64 * 1024;
/** No valid record is this long (conmon writes at most 8 KiB of text per record). */
const MAX_RECORD = MAX_LINE + 128;

// ------------------------------------------------------------------ parsing

interface RawRecord {
  stream: LogStream;
  full: boolean;
  sec: number;
  nanos: number;
  text: Buffer;
}

const TS_RE = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** Parse an RFC3339(Nano) timestamp with any offset into epoch seconds + nanos. */
function parseRfc3339(ts: string): { sec: number; nanos: number } | null {
  const m = TS_RE.exec(ts);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let sec = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!) / 1000;
  if (zone !== 'Z') {
    const sign = zone![0] === '-' ? -1 : 1;
    sec -= sign * (parseInt(zone!.slice(1, 3), 10) * 3600 + parseInt(zone!.slice(4, 6), 10) * 60);
  }
  const nanos = frac ? parseInt(frac.padEnd(9, '0'), 10) : 0;
  return Number.isFinite(sec) ? { sec, nanos } : null;
}

/** One k8s-file line (without its '\n') → record; null for anything malformed (e.g. cut by a truncation). */
function parseRecord(line: Buffer): RawRecord | null {
  const sp1 = line.indexOf(0x20);
  if (sp1 < 0 || sp1 > 40) return null;
  const sp2 = line.indexOf(0x20, sp1 + 1);
  if (sp2 < 0) return null;
  const streamName = line.toString('latin1', sp1 + 1, sp2);
  if (streamName !== 'stdout' && streamName !== 'stderr') return null;
  // The tag field may carry more (CRI allows `F:x`); its first letter is what matters.
  let sp3 = line.indexOf(0x20, sp2 + 1);
  const tag = line[sp2 + 1];
  if (tag !== 0x46 /* F */ && tag !== 0x50 /* P */) return null;
  if (sp3 < 0) sp3 = line.length; // `... stdout F` with empty text
  const ts = parseRfc3339(line.toString('latin1', 0, sp1));
  if (!ts) return null;
  return { stream: streamName, full: tag === 0x46, sec: ts.sec, nanos: ts.nanos, text: line.subarray(Math.min(sp3 + 1, line.length)) };
}

/** The record header only (stream and F/P), for scanning backwards cheaply. */
function peekHeader(line: Buffer): { stream: LogStream; full: boolean } | null {
  const sp1 = line.indexOf(0x20);
  if (sp1 < 0 || sp1 > 40) return null;
  const sp2 = line.indexOf(0x20, sp1 + 1);
  if (sp2 < 0 || sp2 - sp1 !== 7) return null;
  const stream = line.toString('latin1', sp1 + 1, sp2);
  if (stream !== 'stdout' && stream !== 'stderr') return null;
  const tag = line[sp2 + 1];
  if (tag !== 0x46 && tag !== 0x50) return null;
  return { stream, full: tag === 0x46 };
}

function makeRecord(stream: LogStream, sec: number, nanos: number, line: Buffer): LogRecord {
  const iso = new Date(sec * 1000).toISOString(); // …:05.000Z
  return {
    stream,
    time: new Date(sec * 1000 + Math.floor(nanos / 1e6)),
    nanos,
    timeNano: `${iso.slice(0, 19)}.${String(nanos).padStart(9, '0')}Z`,
    line,
  };
}

/** Docker's RFC3339NanoFixed (`2006-01-02T15:04:05.000000000Z07:00`) in UTC. */
export function formatTimestamp(rec: Pick<LogRecord, 'timeNano'>): string {
  return rec.timeNano;
}

// ------------------------------------------------------------------ joining partial records

/** Joins P pieces per stream; emits one record per complete line (or MAX_LINE piece). */
class Joiner {
  private pending = new Map<LogStream, { sec: number; nanos: number; parts: Buffer[]; size: number }>();

  push(r: RawRecord): LogRecord[] {
    const out: LogRecord[] = [];
    let p = this.pending.get(r.stream);
    if (!p) {
      p = { sec: r.sec, nanos: r.nanos, parts: [], size: 0 };
      this.pending.set(r.stream, p);
    }
    p.parts.push(r.text);
    p.size += r.text.length;
    if (r.full) {
      p.parts.push(NL);
      out.push(makeRecord(r.stream, p.sec, p.nanos, Buffer.concat(p.parts)));
      this.pending.delete(r.stream);
    } else if (p.size >= MAX_LINE) {
      out.push(makeRecord(r.stream, p.sec, p.nanos, Buffer.concat(p.parts)));
      this.pending.delete(r.stream);
    }
    return out;
  }

  /** Pieces of lines never finished (the container ended mid-line), oldest first. */
  flush(): LogRecord[] {
    const out = [...this.pending.entries()]
      .sort((a, b) => a[1].sec - b[1].sec || a[1].nanos - b[1].nanos)
      .map(([stream, p]) => makeRecord(stream, p.sec, p.nanos, Buffer.concat(p.parts)));
    this.pending.clear();
    return out;
  }

  reset(): void {
    this.pending.clear();
  }
}

const NL = Buffer.from('\n');

// ------------------------------------------------------------------ tail: scanning backwards

interface Position {
  file: number;
  offset: number;
}

const before = (a: Position, b: Position) => a.file < b.file || (a.file === b.file && a.offset < b.offset);

/**
 * The last `n` lines of the selected streams, found by reading the files
 * backwards in chunks from the end: `cutoff` is the record ending the first
 * of those lines (lines ending before it are not shown); `start` is where
 * reading must begin so that line's earlier P pieces are joined too, even
 * with records of the other stream interleaved between them.
 */
async function findTailWindow(files: string[], n: number, want: Set<LogStream>, stats?: { bytesRead: number }): Promise<{ start: Position; cutoff?: Position }> {
  let count = 0;
  let closed: Set<LogStream> | undefined; // set once `count` reaches n
  const seen = new Set<LogStream>();
  let best: Position | undefined;
  let cutoff: Position | undefined;
  for (let fi = files.length - 1; fi >= 0; fi--) {
    let fh: FileHandle;
    try {
      fh = await open(files[fi]!, 'r');
    } catch (err) {
      if (hasCode(err, 'ENOENT')) continue;
      throw err;
    }
    try {
      const size = (await fh.stat()).size;
      if (n === 0) {
        const end = { file: files.length - 1, offset: fi === files.length - 1 ? size : 0 };
        return { start: end, cutoff: end };
      }
      let pos = size;
      let carry = Buffer.alloc(0); // bytes after `pos` not yet split into lines
      let atEnd = true; // the bytes after the last '\n' are an unfinished record: skip them
      while (pos > 0) {
        const len = Math.min(CHUNK, pos);
        pos -= len;
        const chunk = Buffer.allocUnsafe(len);
        const { bytesRead } = await fh.read(chunk, 0, len, pos);
        if (stats) stats.bytesRead += bytesRead;
        const buf = carry.length ? Buffer.concat([chunk.subarray(0, bytesRead), carry]) : chunk.subarray(0, bytesRead);
        // Split buf (which starts at file offset `pos`) into lines, last first.
        let end = buf.length;
        if (atEnd) {
          const nl = buf.lastIndexOf(0x0a);
          if (nl < 0 && pos > 0) {
            // No newline yet: an unfinished record (or garbage, dropped once it cannot be one).
            carry = buf.length > MAX_RECORD ? Buffer.alloc(0) : buf;
            continue;
          }
          end = nl + 1;
          atEnd = false;
        }
        while (end > 0) {
          const nl = end >= 2 ? buf.lastIndexOf(0x0a, end - 2) : -1;
          if (nl < 0 && pos > 0) break; // the line's start is in an earlier chunk
          const start = nl + 1;
          const hdr = peekHeader(buf.subarray(start, end - 1));
          const offset = pos + start;
          end = start;
          if (!hdr) continue;
          if (closed === undefined) {
            if (want.has(hdr.stream)) seen.add(hdr.stream);
            best = { file: fi, offset };
            if (hdr.full && want.has(hdr.stream) && ++count === n) {
              // The window is complete; still take earlier P pieces of the lines it shows.
              cutoff = best;
              closed = new Set((['stdout', 'stderr'] as LogStream[]).filter((s) => !seen.has(s)));
            }
          } else if (!closed.has(hdr.stream)) {
            if (hdr.full) closed.add(hdr.stream);
            else best = { file: fi, offset };
          }
          if (closed && closed.size === 2) return { start: best!, cutoff };
        }
        carry = buf.subarray(0, end);
        if (carry.length > MAX_RECORD) carry = Buffer.alloc(0); // garbage, not a record
      }
    } finally {
      await fh.close();
    }
  }
  return { start: best ?? { file: 0, offset: 0 }, cutoff };
}

// ------------------------------------------------------------------ reading forward

/** Splits chunks into lines with their file offsets; a line longer than MAX_RECORD is garbage and dropped. */
class LineSplitter {
  private carry: Buffer[] = [];
  private carrySize = 0;
  private carryOffset = 0;
  private dropping = false;

  /** `offset` is the file offset of chunk[0]. */
  *push(chunk: Buffer, offset: number): Generator<{ line: Buffer; offset: number }> {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      let line = chunk.subarray(start, nl);
      let lineOffset = offset + start;
      if (this.carry.length) {
        line = Buffer.concat([...this.carry, line]);
        lineOffset = this.carryOffset;
        this.carry = [];
        this.carrySize = 0;
      }
      start = nl + 1;
      if (this.dropping) { this.dropping = false; continue; }
      yield { line, offset: lineOffset };
    }
    if (start < chunk.length && !this.dropping) {
      if (this.carry.length === 0) this.carryOffset = offset + start;
      this.carry.push(Buffer.from(chunk.subarray(start)));
      this.carrySize += chunk.length - start;
      if (this.carrySize > MAX_RECORD) { this.carry = []; this.carrySize = 0; this.dropping = true; }
    }
  }

  reset(): void {
    this.carry = [];
    this.carrySize = 0;
    this.dropping = false;
  }
}

/** Resolves on a change in the log's directory, after `ms`, or on abort. */
class ChangeWaiter {
  private watcher?: FSWatcher;
  private wake?: () => void;
  private dirty = false;

  constructor(path: string, private readonly ms: number, private readonly signal?: AbortSignal) {
    try {
      // Watch the directory, not the file: rotation replaces the file.
      this.watcher = watch(dirname(path), { persistent: false }, (_ev, name) => {
        if (name && !String(name).startsWith(basename(path))) return;
        this.dirty = true;
        this.wake?.();
      });
      this.watcher.on('error', () => { this.watcher?.close(); this.watcher = undefined; });
    } catch {
      this.watcher = undefined; // polling only
    }
  }

  wait(): Promise<void> {
    if (this.dirty || this.signal?.aborted) { this.dirty = false; return Promise.resolve(); }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.signal?.removeEventListener('abort', done);
        this.wake = undefined;
        this.dirty = false;
        resolve();
      };
      const timer = setTimeout(done, this.ms);
      this.wake = done;
      this.signal?.addEventListener('abort', done, { once: true });
    });
  }

  close(): void {
    this.watcher?.close();
  }
}

/**
 * Read a container's log (k8s-file format) as records: since/until/tail
 * filters, follow with rotation and truncation handling, P pieces joined.
 */
export async function* readLogs(path: string, opts: ReadLogsOptions): AsyncGenerator<LogRecord> {
  const want = new Set<LogStream>();
  if (opts.stdout) want.add('stdout');
  if (opts.stderr) want.add('stderr');
  if (want.size === 0) return;
  const files = [...(opts.rotated ?? []), path];
  const stats = opts.stats;
  const signal = opts.signal;
  const since = opts.since && opts.since > 0 ? opts.since : undefined;
  const until = opts.until && opts.until > 0 ? opts.until : undefined;

  let startAt: Position = { file: 0, offset: 0 };
  let cutoff: Position | undefined;
  if (typeof opts.tail === 'number' && opts.tail >= 0) {
    const w = await findTailWindow(files, Math.floor(opts.tail), want, stats);
    startAt = w.start;
    cutoff = w.cutoff;
  }

  const joiner = new Joiner();
  let pastUntil = false;
  // Filters a finished record; sets pastUntil when reading should stop.
  const accept = (rec: LogRecord): boolean => {
    const t = rec.time.getTime() / 1000 + (rec.nanos % 1e6) / 1e9;
    if (until !== undefined && t > until) { pastUntil = true; return false; }
    if (since !== undefined && t < since) return false;
    return want.has(rec.stream);
  };
  // `file` is the index in `files`; lines ending before the tail's cutoff are not shown.
  const linesToRecords = function* (file: number, lines: Iterable<{ line: Buffer; offset: number }>): Generator<LogRecord> {
    for (const { line, offset } of lines) {
      const raw = parseRecord(line);
      if (!raw) continue;
      const hidden = cutoff !== undefined && before({ file, offset }, cutoff);
      for (const rec of joiner.push(raw)) {
        if (!hidden && accept(rec)) yield rec;
        if (pastUntil) return;
      }
    }
  };

  // Rotated files: history only, read to their end.
  for (let fi = startAt.file; fi < files.length - 1; fi++) {
    const off = fi === startAt.file ? startAt.offset : 0;
    let fh: FileHandle;
    try {
      fh = await open(files[fi]!, 'r');
    } catch (err) {
      if (hasCode(err, 'ENOENT')) continue;
      throw err;
    }
    try {
      const split = new LineSplitter();
      for (let pos = off; ;) {
        if (signal?.aborted) return;
        const buf = Buffer.allocUnsafe(CHUNK);
        const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
        if (bytesRead === 0) break;
        if (stats) stats.bytesRead += bytesRead;
        for (const rec of linesToRecords(fi, split.push(buf.subarray(0, bytesRead), pos))) yield rec;
        pos += bytesRead;
        if (pastUntil) return;
      }
    } finally {
      await fh.close();
    }
  }

  // The current file, followed if asked.
  const follow = !!opts.follow;
  const waiter = follow ? new ChangeWaiter(path, opts.pollInterval ?? 250, signal) : undefined;
  let fh: FileHandle | undefined;
  let ino = -1;
  let pos = startAt.file === files.length - 1 ? startAt.offset : 0;
  const split = new LineSplitter();
  const openCurrent = async (): Promise<boolean> => {
    try {
      fh = await open(path, 'r');
      ino = (await fh.stat()).ino;
      return true;
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return false;
      throw err;
    }
  };
  /** Read what the open file has now; true when anything was read. */
  const drain = async function* (): AsyncGenerator<LogRecord, boolean> {
    let any = false;
    if (!fh) return false;
    for (;;) {
      if (signal?.aborted) return any;
      const buf = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
      if (bytesRead === 0) return any;
      any = true;
      if (stats) stats.bytesRead += bytesRead;
      const at = pos;
      pos += bytesRead;
      for (const rec of linesToRecords(files.length - 1, split.push(buf.subarray(0, bytesRead), at))) yield rec;
      if (pastUntil) return any;
    }
  };

  try {
    await openCurrent();
    let ending = false; // the container ended: one more drain, then stop
    for (;;) {
      yield* drain();
      if (pastUntil || signal?.aborted) return;
      if (!follow) break;
      // Rotation or truncation? Compare the path's file with the open one.
      let st;
      try {
        st = await stat(path);
      } catch (err) {
        if (!hasCode(err, 'ENOENT')) throw err;
        // Renamed away and not recreated yet: the writer may still append to the open file.
      }
      if (st && (st.ino !== ino || !fh)) {
        yield* drain(); // whatever the old file got before the writer moved on
        if (pastUntil || signal?.aborted) return;
        await fh?.close();
        fh = undefined;
        pos = 0;
        cutoff = undefined;
        split.reset();
        if (await openCurrent()) continue;
      } else if (st && fh && st.size < pos) {
        pos = 0; // truncated in place
        cutoff = undefined;
        split.reset();
        continue;
      }
      if (ending) break;
      if (until !== undefined && Date.now() / 1000 > until) break;
      const running = opts.isRunning ? await opts.isRunning() : true;
      if (!running) { ending = true; continue; }
      await waiter!.wait();
      if (signal?.aborted) return;
    }
    if (!pastUntil) for (const rec of joiner.flush()) if (accept(rec)) yield rec;
  } finally {
    waiter?.close();
    await fh?.close();
  }
}

// ------------------------------------------------------------------ since/until arguments

const DURATION_RE = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/;
const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in milliseconds; null when `s` is not a duration. */
function parseDuration(s: string): number | null {
  if (!DURATION_RE.test(s)) return null;
  const sign = s.startsWith('-') ? -1 : 1;
  let ns = 0;
  for (const m of s.replace(/^[-+]/, '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    ns += parseFloat(m[1]!) * UNIT_NS[m[2]!]!;
  }
  return (sign * ns) / 1e6;
}

/**
 * Docker's since/until values: a unix timestamp ("1700000000", "1700000000.5"),
 * an RFC3339-like date ("2024-01-02", "2024-01-02T15:04", "2024-01-02T15:04:05.5Z",
 * offsets allowed; no zone means local time), or a Go duration before `now`
 * ("10m", "1h30m"). Returns unix seconds, fractional.
 */
export function parseTimeArg(s: string, now: Date = new Date()): number {
  const value = s.trim();
  const fail = () => invalidArgument(`failed to parse value as time or duration: "${s}"`);
  if (value === '') throw fail();
  const d = value !== '0' ? parseDuration(value) : null;
  if (d !== null) return Math.floor((now.getTime() - d) / 1000);
  if (/^\d+(\.\d+)?$/.test(value)) {
    // moby's parseTimestamp: the seconds are a strconv.ParseInt(…, 64); 99999999999999999999 is refused.
    if (BigInt(value.split('.')[0]!) > 9223372036854775807n) throw fail();
    return parseFloat(value);
  }
  const m = /^(\d{4})-(\d\d)-(\d\d)(?:T(\d\d)(?::(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?)?)?(Z|z|[+-]\d\d:\d\d)?$/.exec(value);
  if (!m) throw fail();
  const [, y, mo, da, h = '0', mi = '0', se = '0', frac, zone] = m;
  const parts = [+y!, +mo! - 1, +da!, +h, +mi, +se] as const;
  if (parts[1] > 11 || parts[2] < 1 || parts[2] > 31 || parts[3] > 23 || parts[4] > 59 || parts[5] > 60) throw fail();
  let ms: number;
  if (!zone) ms = new Date(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]).getTime();
  else {
    ms = Date.UTC(...parts);
    if (zone !== 'Z' && zone !== 'z') {
      const sign = zone[0] === '-' ? -1 : 1;
      ms -= sign * (parseInt(zone.slice(1, 3), 10) * 60 + parseInt(zone.slice(4, 6), 10)) * 60_000;
    }
  }
  if (!Number.isFinite(ms)) throw fail();
  return ms / 1000 + (frac ? parseInt(frac.padEnd(9, '0'), 10) / 1e9 : 0);
}

// ------------------------------------------------------------------ size-bounded logs

/** Rotated files of `path` that exist (`path.1` is the newest), oldest first — for readLogs' `rotated`. */
export async function rotatedFiles(path: string, maxFile = 100): Promise<string[]> {
  const out: string[] = [];
  for (let i = 1; i < maxFile; i++) {
    try {
      await stat(`${path}.${i}`);
    } catch (err) {
      if (hasCode(err, 'ENOENT')) break;
      throw err;
    }
    out.push(`${path}.${i}`);
  }
  return out.reverse();
}

/**
 * json-file's max-size/max-file for a log conmon writes. When `path` has
 * reached `maxSize`: with maxFile ≤ 1 it is truncated in place (conmon opens
 * it O_APPEND, so its next write lands at offset 0); otherwise the files shift
 * (path.1 → path.2 …, the oldest dropped) and `path` becomes `path.1`, then
 * `reopen()` must make the writer start a new `path` — for conmon, write
 * "2 0 0\n" to its <bundle>/ctl FIFO. Lines conmon writes between the rename
 * and its reopen land in path.1, so nothing is lost. Without `reopen`, the
 * file is copied then truncated (a few lines may be lost in between).
 * Returns true when it rotated.
 */
export async function rotateIfNeeded(path: string, opts: { maxSize: number; maxFile: number; reopen?: () => Promise<void> }): Promise<boolean> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return false;
    throw err;
  }
  if (opts.maxSize <= 0 || size < opts.maxSize) return false;
  if (opts.maxFile <= 1) {
    await truncate(path, 0);
    return true;
  }
  for (let i = opts.maxFile - 1; i >= 2; i--) {
    try {
      await rename(`${path}.${i - 1}`, `${path}.${i}`);
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) throw err;
    }
  }
  if (opts.reopen) {
    await rename(path, `${path}.1`);
    await opts.reopen();
  } else {
    await copyFile(path, `${path}.1`);
    await truncate(path, 0);
  }
  return true;
}
