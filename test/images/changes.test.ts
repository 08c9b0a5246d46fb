// HEALTHCHECK in `docker import --change` / `commit --change`: the forms a Dockerfile allows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges } from '../../src/images/index.js';

test('HEALTHCHECK: shell form, exec form, options, NONE', () => {
  assert.deepEqual(applyChanges({}, ['HEALTHCHECK CMD curl -f http://localhost/ || exit 1']).Healthcheck,
    { Test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'] });
  assert.deepEqual(applyChanges({}, ['HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --start-interval=100ms --retries=4 CMD ["pg_isready", "-q"]']).Healthcheck,
    { Test: ['CMD', 'pg_isready', '-q'], Interval: 90e9, Timeout: 500e6, StartPeriod: 2e9, StartInterval: 100e6, Retries: 4 });
  assert.deepEqual(applyChanges({ Healthcheck: { Test: ['CMD', 'x'] } }, ['HEALTHCHECK NONE']).Healthcheck, { Test: ['NONE'] });
});

test('HEALTHCHECK: malformed lines are refused', () => {
  assert.throws(() => applyChanges({}, ['HEALTHCHECK NONE --retries=1']), /HEALTHCHECK NONE takes no arguments/);
  assert.throws(() => applyChanges({}, ['HEALTHCHECK --interval=5s']), /Unknown type "" in HEALTHCHECK/);
  assert.throws(() => applyChanges({}, ['HEALTHCHECK RUN true']), /Unknown type "RUN" in HEALTHCHECK \(try CMD\)/);
  assert.throws(() => applyChanges({}, ['HEALTHCHECK CMD']), /Missing command after HEALTHCHECK CMD/);
  assert.throws(() => applyChanges({}, ['HEALTHCHECK --retries=-1 CMD true']), /--retries cannot be negative/);
  assert.throws(() => applyChanges({}, ['HEALTHCHECK --interval=5 CMD true']), /missing unit in duration/);
  assert.throws(() => applyChanges({}, ['HEALTHCHECK --bogus=1 CMD true']), /Unknown flag: bogus/);
});
