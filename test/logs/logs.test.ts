import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, appendFileSync, renameSync, rmSync, openSync, writeSync, closeSync, statSync, truncateSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { readLogs, parseTimeArg, formatTimestamp, rotateIfNeeded, rotatedFiles, MAX_LINE, type LogRecord, type ReadLogsOptions } from '../../src/containers/logs.js';
import { k8sLine, tmp, conmonAvailable, runUnderConmon } from './helpers.js';

const dirs: string[] = [];
const newDir = () => { const d = tmp('logs'); dirs.push(d); return d; };
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

async function collect(path: string, opts: Partial<ReadLogsOptions> = {}): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for await (const r of readLogs(path, { stdout: true, stderr: true, ...opts })) out.push(r);
  return out;
}
const text = (recs: LogRecord[]) => recs.map((r) => `${r.stream}:${r.line.toString()}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const T0 = 1_700_000_000; // 2023-11-14T22:13:20Z

describe('readLogs: k8s-file records', () => {
  test('full lines, both streams, timestamps converted to UTC nanoseconds', async () => {
    const p = join(newDir(), 'ctr.log');
    writeFileSync(p,
      k8sLine(T0, 123456789, 'stdout', 'F', 'hello') +
      k8sLine(T0 + 1, 5, 'stderr', 'F', 'oops', -330) +
      k8sLine(T0 + 2, 0, 'stdout', 'F', ''));
    const recs = await collect(p);
    assert.deepEqual(text(recs), ['stdout:hello\n', 'stderr:oops\n', 'stdout:\n']);
    assert.equal(recs[0]!.timeNano, '2023-11-14T22:13:20.123456789Z');
    assert.equal(formatTimestamp(recs[0]!), '2023-11-14T22:13:20.123456789Z');
    assert.equal(recs[0]!.time.getTime(), T0 * 1000 + 123);
    assert.equal(recs[0]!.nanos, 123456789);
    assert.equal(formatTimestamp(recs[1]!), '2023-11-14T22:13:21.000000005Z');
    assert.equal(formatTimestamp(recs[2]!), '2023-11-14T22:13:22.000000000Z');
  });

  test('stream selection', async () => {
    const p = join(newDir(), 'ctr.log');
    writeFileSync(p, k8sLine(T0, 0, 'stdout', 'F', 'out') + k8sLine(T0, 1, 'stderr', 'F', 'err'));
    assert.deepEqual(text(await collect(p, { stderr: false })), ['stdout:out\n']);
    assert.deepEqual(text(await collect(p, { stdout: false })), ['stderr:err\n']);
    assert.deepEqual(await collect(p, { stdout: false, stderr: false }), []);
  });

  test('P pieces are joined per stream, even with the other stream interleaved', async () => {
    const p = join(newDir(), 'ctr.log');
    writeFileSync(p,
      k8sLine(T0, 1, 'stdout', 'P', 'part one ') +
      k8sLine(T0, 2, 'stderr', 'F', 'an error') +
      k8sLine(T0, 3, 'stdout', 'P', 'part two ') +
      k8sLine(T0, 4, 'stdout', 'F', 'end'));
    const recs = await collect(p);
    assert.deepEqual(text(recs), ['stderr:an error\n', 'stdout:part one part two end\n']);
    // The joined line carries the time its first piece was written.
    assert.equal(recs[1]!.nanos, 1);
  });

  test('an unfinished line at the end comes out without a newline', async () => {
    const p = join(newDir(), 'ctr.log');
    writeFileSync(p, k8sLine(T0, 0, 'stdout', 'F', 'a') + k8sLine(T0, 1, 'stdout', 'P', 'no newline'));
    assert.deepEqual(text(await collect(p)), ['stdout:a\n', 'stdout:no newline']);
  });

  test('malformed lines and a record cut mid-write are skipped', async () => {
    const p = join(newDir(), 'ctr.log');
    writeFileSync(p, 'garbage\n' + k8sLine(T0, 0, 'stdout', 'F', 'ok') + 'xx stdin F nope\n' + '2023-11-14T22:13:20.1+00:00 stdo');
    assert.deepEqual(text(await collect(p)), ['stdout:ok\n']);
  });

  test('a line longer than MAX_LINE comes out in MAX_LINE pieces', async () => {
    const p = join(newDir(), 'ctr.log');
    const piece = 'x'.repeat(8192);
    const fd = openSync(p, 'w');
    const pieces = Math.ceil(MAX_LINE / 8192) + 2;
    for (let i = 0; i < pieces; i++) writeSync(fd, k8sLine(T0, i, 'stdout', 'P', piece));
    writeSync(fd, k8sLine(T0, pieces, 'stdout', 'F', 'tail'));
    closeSync(fd);
    const recs = await collect(p);
    assert.equal(recs.length, 2);
    assert.equal(recs[0]!.line.length, MAX_LINE);
    assert.ok(!recs[0]!.line.includes('\n'));
    assert.equal(recs[0]!.line.length + recs[1]!.line.length, pieces * 8192 + 'tail\n'.length);
    assert.ok(recs[1]!.line.toString().endsWith('xtail\n'));
  });

  test('since and until (unix seconds, fractional)', async () => {
    const p = join(newDir(), 'ctr.log');
    writeFileSync(p, [0, 1, 2, 3, 4].map((i) => k8sLine(T0 + i, 500_000_000, 'stdout', 'F', `l${i}`)).join(''));
    assert.deepEqual(text(await collect(p, { since: T0 + 2 })), ['stdout:l2\n', 'stdout:l3\n', 'stdout:l4\n']);
    assert.deepEqual(text(await collect(p, { since: T0 + 2.6 })), ['stdout:l3\n', 'stdout:l4\n']);
    assert.deepEqual(text(await collect(p, { until: T0 + 1.5 })), ['stdout:l0\n', 'stdout:l1\n']);
    assert.deepEqual(text(await collect(p, { since: T0 + 1, until: T0 + 3 })), ['stdout:l1\n', 'stdout:l2\n']);
  });
});

describe('readLogs: tail', () => {
  const file = (lines: string[]) => {
    const p = join(newDir(), 'ctr.log');
    writeFileSync(p, lines.join(''));
    return p;
  };

  test('last N lines; tail larger than the log; tail 0; all', async () => {
    const p = file(Array.from({ length: 20 }, (_, i) => k8sLine(T0 + i, 0, 'stdout', 'F', `line ${i}`)));
    assert.deepEqual(text(await collect(p, { tail: 3 })), ['stdout:line 17\n', 'stdout:line 18\n', 'stdout:line 19\n']);
    assert.equal((await collect(p, { tail: 100 })).length, 20);
    assert.deepEqual(await collect(p, { tail: 0 }), []);
    assert.equal((await collect(p, { tail: 'all' })).length, 20);
  });

  test('counts lines of the selected streams, and takes the P pieces of the first one', async () => {
    const p = file([
      k8sLine(T0, 0, 'stdout', 'F', 'old'),
      k8sLine(T0, 1, 'stdout', 'P', 'begin-'),
      k8sLine(T0, 2, 'stderr', 'F', 'e1'),
      k8sLine(T0, 3, 'stdout', 'P', 'middle-'),
      k8sLine(T0, 4, 'stderr', 'F', 'e2'),
      k8sLine(T0, 5, 'stdout', 'F', 'end'),
      k8sLine(T0, 6, 'stderr', 'F', 'e3'),
      k8sLine(T0, 7, 'stdout', 'F', 'last'),
    ]);
    assert.deepEqual(text(await collect(p, { tail: 2, stderr: false })), ['stdout:begin-middle-end\n', 'stdout:last\n']);
    assert.deepEqual(text(await collect(p, { tail: 2, stdout: false })), ['stderr:e2\n', 'stderr:e3\n']);
    assert.deepEqual(text(await collect(p, { tail: 3 })), ['stdout:begin-middle-end\n', 'stderr:e3\n', 'stdout:last\n']);
  });

  test('a record being written at the end is not counted', async () => {
    const p = file([k8sLine(T0, 0, 'stdout', 'F', 'a'), k8sLine(T0, 1, 'stdout', 'F', 'b'), '2023-11-14T22:13:20.1+00:00 stdout F inco']);
    assert.deepEqual(text(await collect(p, { tail: 1 })), ['stdout:b\n']);
  });

  test('tail reaches into rotated files when the current one is short', async () => {
    const d = newDir();
    const p = join(d, 'ctr.log');
    writeFileSync(`${p}.2`, k8sLine(T0, 0, 'stdout', 'F', 'r2-a') + k8sLine(T0, 1, 'stdout', 'F', 'r2-b'));
    writeFileSync(`${p}.1`, k8sLine(T0, 2, 'stdout', 'F', 'r1-a') + k8sLine(T0, 3, 'stdout', 'P', 'split-'));
    writeFileSync(p, k8sLine(T0, 4, 'stdout', 'F', 'line') + k8sLine(T0, 5, 'stdout', 'F', 'cur'));
    const rotated = await rotatedFiles(p);
    assert.deepEqual(rotated, [`${p}.2`, `${p}.1`]);
    assert.deepEqual(text(await collect(p, { rotated, tail: 3 })), ['stdout:r1-a\n', 'stdout:split-line\n', 'stdout:cur\n']);
    assert.deepEqual(text(await collect(p, { rotated })).length, 5);
  });

  test('tail of a 200 MB log reads only its end', async () => {
    const p = join(newDir(), 'big.log');
    const block = Buffer.from(Array.from({ length: 16 * 1024 }, (_, i) => k8sLine(T0, i, i % 3 ? 'stdout' : 'stderr', 'F', `filler line number ${i}`)).join(''));
    const fd = openSync(p, 'w');
    let size = 0;
    while (size < 200 * 1024 * 1024) size += writeSync(fd, block);
    for (let i = 0; i < 10; i++) writeSync(fd, k8sLine(T0 + 100, i, 'stdout', 'F', `final ${i}`));
    closeSync(fd);
    assert.ok(statSync(p).size > 200 * 1024 * 1024);
    const stats = { bytesRead: 0 };
    const recs = await collect(p, { tail: 10, stats });
    assert.deepEqual(recs.map((r) => r.line.toString()), Array.from({ length: 10 }, (_, i) => `final ${i}\n`));
    // Backwards by chunks, then forward from the start of those lines: a few chunks, not 200 MB.
    assert.ok(stats.bytesRead < 256 * 1024, `read ${stats.bytesRead} bytes`);
    const stats2 = { bytesRead: 0 };
    assert.equal((await collect(p, { tail: 1000, stats: stats2, stderr: false })).length, 1000);
    assert.ok(stats2.bytesRead < 1024 * 1024, `read ${stats2.bytesRead} bytes`);
    rmSync(p);
  });
});

describe('readLogs: follow', () => {
  test('reads what a writer appends, and ends when the container stops and the file is drained', async () => {
    const p = join(newDir(), 'ctr.log');
    writeFileSync(p, k8sLine(T0, 0, 'stdout', 'F', 'before'));
    let running = true;
    const got: string[] = [];
    const reader = (async () => {
      for await (const r of readLogs(p, { stdout: true, stderr: true, follow: true, isRunning: () => running, pollInterval: 50 })) got.push(r.line.toString());
    })();
    for (let i = 0; i < 5; i++) {
      await sleep(30);
      appendFileSync(p, k8sLine(T0 + 1, i, 'stdout', 'F', `live ${i}`));
    }
    // A line split across writes, finished just before the container ends.
    appendFileSync(p, k8sLine(T0 + 2, 0, 'stdout', 'P', 'half '));
    await sleep(60);
    assert.ok(!got.includes('half last\n'));
    appendFileSync(p, k8sLine(T0 + 2, 1, 'stdout', 'F', 'last'));
    running = false;
    await reader;
    assert.deepEqual(got, ['before\n', 'live 0\n', 'live 1\n', 'live 2\n', 'live 3\n', 'live 4\n', 'half last\n']);
  });

  test('follow with tail 0 shows only new lines; abort ends it', async () => {
    const p = join(newDir(), 'ctr.log');
    writeFileSync(p, k8sLine(T0, 0, 'stdout', 'F', 'old'));
    const ac = new AbortController();
    const got: string[] = [];
    const reader = (async () => {
      for await (const r of readLogs(p, { stdout: true, stderr: true, follow: true, tail: 0, signal: ac.signal, isRunning: () => true })) {
        got.push(r.line.toString());
      }
    })();
    await sleep(50);
    appendFileSync(p, k8sLine(T0, 1, 'stderr', 'F', 'new'));
    for (let i = 0; i < 100 && got.length === 0; i++) await sleep(10);
    ac.abort();
    await reader;
    assert.deepEqual(got, ['new\n']);
  });

  test('follow survives rotation (rename + new file) and truncation in place', async () => {
    const p = join(newDir(), 'ctr.log');
    writeFileSync(p, k8sLine(T0, 0, 'stdout', 'F', 'one'));
    let running = true;
    const got: string[] = [];
    const reader = (async () => {
      for await (const r of readLogs(p, { stdout: true, stderr: true, follow: true, isRunning: () => running, pollInterval: 30 })) got.push(r.line.toString());
    })();
    await sleep(60);
    // conmon's way to start over: write path.tmp, rename it over path.
    writeFileSync(`${p}.tmp`, k8sLine(T0, 1, 'stdout', 'F', 'two'));
    renameSync(`${p}.tmp`, p);
    await sleep(100);
    // Truncate in place, then write less than before.
    truncateSync(p, 0);
    await sleep(100);
    appendFileSync(p, k8sLine(T0, 2, 'stdout', 'F', 'x'));
    await sleep(100);
    running = false;
    await reader;
    assert.deepEqual(got, ['one\n', 'two\n', 'x\n']);
  });

  test('follow waits for a log that does not exist yet', async () => {
    const p = join(newDir(), 'later.log');
    let running = true;
    const got: string[] = [];
    const reader = (async () => {
      for await (const r of readLogs(p, { stdout: true, stderr: true, follow: true, isRunning: () => running, pollInterval: 30 })) got.push(r.line.toString());
    })();
    await sleep(50);
    writeFileSync(p, k8sLine(T0, 0, 'stdout', 'F', 'appeared'));
    await sleep(100);
    running = false;
    await reader;
    assert.deepEqual(got, ['appeared\n']);
  });
});

describe('readLogs with real conmon 2.1.6', { skip: conmonAvailable ? false : 'conmon is not installed' }, () => {
  test('reads a log conmon wrote: streams, a line split by a pause, a 20 000 byte line', async () => {
    const c = runUnderConmon([
      'echo hello',
      'echo err >&2',
      "printf 'partial'",
      'sleep 0.2',
      "printf ' more\\n'",
      "head -c 20000 /dev/zero | tr '\\0' a; echo",
      "printf 'no newline at exit'",
    ].join('\n'));
    dirs.push(c.dir);
    try {
      await c.waitExit();
      const raw = readFileSync(c.log, 'utf8');
      assert.match(raw, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}[+-]\d\d:\d\d stdout F hello\n/);
      assert.ok(raw.split('\n').filter((l) => l.includes(' stdout P ')).length >= 3, 'conmon splits the long line in 8 KiB pieces');
      const recs = await collect(c.log);
      assert.deepEqual(
        recs.map((r) => `${r.stream}:${r.line.length > 100 ? `${r.line.length} bytes` : r.line.toString()}`),
        ['stdout:hello\n', 'stderr:err\n', 'stdout:partial more\n', 'stdout:20001 bytes', 'stdout:no newline at exit'],
      );
      assert.ok(Math.abs(recs[0]!.time.getTime() - Date.now()) < 60_000);
      assert.match(recs[0]!.timeNano, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    } finally {
      c.stop();
    }
  });

  test('follow a running container until it exits', async () => {
    const c = runUnderConmon('i=0; while [ $i -lt 20 ]; do echo "tick $i"; i=$((i+1)); sleep 0.02; done; echo bye >&2');
    dirs.push(c.dir);
    try {
      const got: string[] = [];
      for await (const r of readLogs(c.log, { stdout: true, stderr: true, follow: true, isRunning: () => !c.exited(), pollInterval: 50 })) {
        got.push(`${r.stream}:${r.line.toString()}`);
      }
      assert.equal(got.length, 21);
      assert.equal(got[0], 'stdout:tick 0\n');
      assert.equal(got[20], 'stderr:bye\n');
      assert.ok(c.exited());
    } finally {
      c.stop();
    }
  });

  test('--log-size-max: conmon starts the file over, dropping everything before', async () => {
    const c = runUnderConmon('i=0; while [ $i -lt 100 ]; do echo "line $i"; i=$((i+1)); done', ['--log-size-max', '1000']);
    dirs.push(c.dir);
    try {
      await c.waitExit();
      assert.ok(statSync(c.log).size <= 1000);
      const lines = (await collect(c.log)).map((r) => r.line.toString());
      assert.ok(lines.length < 20 && lines.length > 0);
      assert.equal(lines.at(-1), 'line 99\n');
      assert.equal(existsSync(`${c.log}.1`), false, 'conmon 2.1.6 keeps no older file');
    } finally {
      c.stop();
    }
  });

  test('rotateIfNeeded + conmon reopen (ctl "2 0 0") keeps every line across files', async () => {
    const c = runUnderConmon('i=0; while [ $i -lt 60 ]; do echo "line $i"; i=$((i+1)); sleep 0.02; done');
    dirs.push(c.dir);
    try {
      const reopen = async () => writeFileSync(join(c.bundle, 'ctl'), '2 0 0\n');
      let rotations = 0;
      while (!c.exited()) {
        if (await rotateIfNeeded(c.log, { maxSize: 600, maxFile: 50, reopen })) rotations++;
        await sleep(40);
      }
      assert.ok(rotations >= 2, `rotated ${rotations} times`);
      const rotated = await rotatedFiles(c.log, 50);
      assert.equal(rotated.length, rotations);
      const lines = (await collect(c.log, { rotated })).map((r) => r.line.toString());
      assert.deepEqual(lines, Array.from({ length: 60 }, (_, i) => `line ${i}\n`));
      assert.deepEqual((await collect(c.log, { rotated, tail: 5 })).map((r) => r.line.toString()), [55, 56, 57, 58, 59].map((i) => `line ${i}\n`));
    } finally {
      c.stop();
    }
  });
});

describe('rotateIfNeeded', () => {
  test('below max-size nothing happens; max-file 1 truncates; max-file N shifts and drops the oldest', async () => {
    const p = join(newDir(), 'ctr.log');
    writeFileSync(p, 'x'.repeat(50));
    assert.equal(await rotateIfNeeded(p, { maxSize: 100, maxFile: 3 }), false);
    writeFileSync(p, 'a'.repeat(100));
    assert.equal(await rotateIfNeeded(p, { maxSize: 100, maxFile: 1 }), true);
    assert.equal(statSync(p).size, 0);
    let reopened = 0;
    const reopen = async () => { reopened++; writeFileSync(p, ''); };
    for (const ch of ['b', 'c', 'd']) {
      writeFileSync(p, ch.repeat(100));
      assert.equal(await rotateIfNeeded(p, { maxSize: 100, maxFile: 3, reopen }), true);
    }
    assert.equal(reopened, 3);
    assert.equal(readFileSync(`${p}.1`, 'utf8'), 'd'.repeat(100));
    assert.equal(readFileSync(`${p}.2`, 'utf8'), 'c'.repeat(100));
    assert.equal(existsSync(`${p}.3`), false);
    assert.deepEqual(await rotatedFiles(p, 3), [`${p}.2`, `${p}.1`]);
  });
});

describe('parseTimeArg', () => {
  const now = new Date('2024-01-02T03:04:05.678Z');
  test('unix timestamps', () => {
    assert.equal(parseTimeArg('1700000000', now), 1700000000);
    assert.equal(parseTimeArg('1700000000.5', now), 1700000000.5);
    assert.equal(parseTimeArg('1700000000.000000001', now), 1700000000.000000001);
    assert.equal(parseTimeArg('0', now), 0);
  });
  test('durations before now', () => {
    assert.equal(parseTimeArg('10m', now), Math.floor(now.getTime() / 1000) - 600);
    assert.equal(parseTimeArg('1h30m', now), Math.floor(now.getTime() / 1000) - 5400);
    assert.equal(parseTimeArg('1.5s', now), Math.floor((now.getTime() - 1500) / 1000));
  });
  test('RFC3339 dates with and without zones', () => {
    assert.equal(parseTimeArg('2024-01-02T03:04:05Z', now), Date.parse('2024-01-02T03:04:05Z') / 1000);
    assert.equal(parseTimeArg('2024-01-02T03:04:05.25+01:00', now), Date.parse('2024-01-02T02:04:05Z') / 1000 + 0.25);
    assert.equal(parseTimeArg('2024-01-02T03:04Z', now), Date.parse('2024-01-02T03:04:00Z') / 1000);
    assert.equal(parseTimeArg('2024-01-02', now), new Date(2024, 0, 2).getTime() / 1000);
    assert.equal(parseTimeArg('2024-01-02T10:00', now), new Date(2024, 0, 2, 10, 0).getTime() / 1000);
  });
  test('rejects what is neither', () => {
    for (const bad of ['', 'yesterday', '10x', '2024-13-01', '12:00']) {
      assert.throws(() => parseTimeArg(bad, now), (err: Error) => err.message === `failed to parse value as time or duration: "${bad}"`);
    }
  });
});
