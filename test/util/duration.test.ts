// Go's duration text, as Docker's messages and HEALTHCHECK options use it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoDuration, goDurationString } from '../../src/util/index.js';

test('Go durations both ways', () => {
  for (const [text, ns] of [['0s', 0], ['500ms', 500e6], ['1s', 1e9], ['1.5s', 1.5e9], ['1m30s', 90e9], ['2h0m0s', 7200e9], ['250µs', 250e3], ['10ns', 10]] as const) {
    assert.equal(goDurationString(ns), text);
    assert.equal(parseGoDuration(text), ns);
  }
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('1h30m'), 5400e9);
  assert.throws(() => parseGoDuration('5'), /missing unit/);
  assert.throws(() => parseGoDuration('5x'), /unknown unit "x"/);
  assert.throws(() => parseGoDuration(''), /invalid duration/);
});
