// Container healthchecks with the real docker CLI against berthd: status
// transitions, inspect's State.Health, ps status and filter, timeouts,
// --no-healthcheck over an image HEALTHCHECK, events, pause, daemon restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
before(async () => {
  d = await startDaemon();
  await importBusybox(d);
  // An image with its own HEALTHCHECK, made the way `docker import --change` allows.
  await importBusybox(d, 'hcimage:latest', ['CMD ["sleep", "300"]', 'HEALTHCHECK --interval=200ms --retries=1 CMD ["false"]']);
});
after(async () => { if (d) await destroyDaemon(d); });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function health(name: string): Promise<any> {
  const r = await d.docker(['inspect', '-f', '{{json .State.Health}}', name]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** Polls until the container's health status is `want` (or fails after `ms`). */
async function waitHealth(name: string, want: string, ms = 15_000): Promise<any> {
  const end = Date.now() + ms;
  let h: any;
  while (Date.now() < end) {
    h = await health(name);
    if (h?.Status === want) return h;
    await sleep(100);
  }
  assert.fail(`health of ${name} stayed ${JSON.stringify(h)}, wanted ${want}`);
}

test('starting → unhealthy → healthy, with inspect, ps status, ps filter and events', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const run = await d.docker(['run', '-d', '--name', 'hc', '--health-cmd', 'test -f /tmp/ok || { echo not yet; exit 3; }',
    '--health-interval', '200ms', '--health-retries', '2', 'busybox', 'sleep', '300']);
  assert.equal(run.code, 0, run.stderr);
  const first = await health('hc');
  assert.equal(first.Status, 'starting');
  assert.equal(first.FailingStreak, 0);
  assert.deepEqual(first.Log, []);
  assert.match((await d.docker(['ps', '--filter', 'name=hc', '--format', '{{.Status}}'])).stdout, /^Up .* \(health: starting\)\n$/);

  const bad = await waitHealth('hc', 'unhealthy');
  assert.ok(bad.FailingStreak >= 2, JSON.stringify(bad));
  const last = bad.Log.at(-1);
  assert.equal(last.ExitCode, 3);
  assert.equal(last.Output, 'not yet\n');
  assert.ok(Date.parse(last.Start) <= Date.parse(last.End));
  assert.match((await d.docker(['ps', '--filter', 'name=hc', '--format', '{{.Status}}'])).stdout, /^Up .* \(unhealthy\)\n$/);

  assert.equal((await d.docker(['exec', 'hc', 'touch', '/tmp/ok'])).code, 0);
  const good = await waitHealth('hc', 'healthy');
  assert.equal(good.FailingStreak, 0);
  assert.equal(good.Log.at(-1).ExitCode, 0);
  assert.ok(good.Log.length <= 5);
  assert.match((await d.docker(['ps', '--filter', 'name=hc', '--format', '{{.Status}}'])).stdout, /^Up .* \(healthy\)\n$/);
  // The log keeps the last five results.
  await sleep(1500);
  assert.equal((await health('hc')).Log.length, 5);

  // ps --filter health=…, and a container without a check is "none".
  await d.docker(['run', '-d', '--name', 'plain', 'busybox', 'sleep', '300']);
  assert.equal((await d.docker(['ps', '--filter', 'health=healthy', '--format', '{{.Names}}'])).stdout, 'hc\n');
  assert.equal((await d.docker(['ps', '--filter', 'health=none', '--format', '{{.Names}}'])).stdout, 'plain\n');
  assert.equal((await d.docker(['ps', '--filter', 'health=unhealthy', '-q'])).stdout, '');
  const badFilter = await d.docker(['ps', '--filter', 'health=sick']);
  assert.notEqual(badFilter.code, 0);
  assert.match(badFilter.stderr, /invalid filter 'health=sick': invalid value for health \(sick\): must be one of none, starting, healthy, unhealthy/);
  // No Health key at all for a container without a check, as in Docker.
  assert.equal((await d.docker(['inspect', '-f', '{{json .State}}', 'plain'])).stdout.includes('"Health"'), false);

  const until = Math.floor(Date.now() / 1000) + 1;
  const ev = await d.docker(['events', '--since', String(since), '--until', String(until), '--filter', 'container=hc',
    '--filter', 'event=health_status', '--format', '{{.Action}}']);
  assert.deepEqual(ev.stdout.trim().split('\n'), ['health_status: unhealthy', 'health_status: healthy']);
  await d.docker(['rm', '-f', 'hc', 'plain']);
});

test('a check that outlives its timeout is killed and reported as Docker words it', async () => {
  await d.docker(['run', '-d', '--name', 'slow', '--health-cmd', 'echo begun; sleep 5', '--health-interval', '300ms',
    '--health-timeout', '500ms', '--health-retries', '1', 'busybox', 'sleep', '300']);
  const h = await waitHealth('slow', 'unhealthy');
  const r = h.Log.at(-1);
  assert.equal(r.ExitCode, -1);
  assert.equal(r.Output, 'Health check exceeded timeout (500ms): begun\n');
  assert.ok(Date.parse(r.End) - Date.parse(r.Start) < 4000, 'the check was killed, not waited for');
  await d.docker(['rm', '-f', 'slow']);
});

test('image HEALTHCHECK is inherited, merged field by field, and --no-healthcheck disables it', async () => {
  const cfg = await d.docker(['image', 'inspect', '-f', '{{json .Config.Healthcheck}}', 'hcimage']);
  assert.deepEqual(JSON.parse(cfg.stdout), { Test: ['CMD', 'false'], Interval: 200_000_000, Retries: 1 });

  await d.docker(['run', '-d', '--name', 'inherit', 'hcimage']);
  const h = await waitHealth('inherit', 'unhealthy');
  assert.equal(h.Log[0].ExitCode, 1);
  // The create body's command replaces the image's; its interval and retries stay.
  await d.docker(['run', '-d', '--name', 'merged', '--health-cmd', 'true', 'hcimage']);
  assert.deepEqual(JSON.parse((await d.docker(['inspect', '-f', '{{json .Config.Healthcheck}}', 'merged'])).stdout),
    { Test: ['CMD-SHELL', 'true'], Interval: 200_000_000, Retries: 1 });
  await waitHealth('merged', 'healthy');

  await d.docker(['run', '-d', '--name', 'nocheck', '--no-healthcheck', 'hcimage']);
  await sleep(800);
  assert.equal((await d.docker(['inspect', '-f', '{{json .Config.Healthcheck.Test}}', 'nocheck'])).stdout.trim(), '["NONE"]');
  assert.equal((await d.docker(['inspect', '-f', '{{json .State}}', 'nocheck'])).stdout.includes('"Health"'), false);
  assert.match((await d.docker(['ps', '--filter', 'name=nocheck', '--format', '{{.Status}}'])).stdout, /^Up [^(]*\n$/);
  await d.docker(['rm', '-f', 'inherit', 'merged', 'nocheck']);
});

test('bad healthcheck settings are refused with Docker\'s messages', async () => {
  const r = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], Healthcheck: { Test: ['CMD', 'true'], Interval: 1000 } });
  assert.equal(r.status, 400);
  assert.equal(r.body.message, 'Interval in Healthcheck cannot be less than 1ms');
  const n = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], Healthcheck: { Test: ['CMD', 'true'], Retries: -1 } });
  assert.equal(n.status, 400);
  assert.equal(n.body.message, 'Retries in Healthcheck cannot be negative');
  await assert.rejects(importBusybox(d, 'broken', ['HEALTHCHECK --interval=5s']), /HEALTHCHECK/);
  await assert.rejects(importBusybox(d, 'broken', ['HEALTHCHECK --interval=1us CMD true']), /cannot be less than 1ms/);
});

test('paused containers are not checked; stop keeps the last status; restart and daemon restart start over', async () => {
  // Each check takes 0.4 s, so right after a (re)start the status is still "starting" however slow
  // the machine is to answer the inspect.
  await d.docker(['run', '-d', '--name', 'cycle', '--health-cmd', 'sleep 0.4; date >> /tmp/runs', '--health-interval', '200ms', 'busybox', 'sleep', '300']);
  await waitHealth('cycle', 'healthy');
  assert.equal((await d.docker(['pause', 'cycle'])).code, 0);
  await sleep(700); // a check in flight may still finish
  const before = (await health('cycle')).Log.at(-1).End;
  await sleep(800);
  assert.equal((await health('cycle')).Log.at(-1).End, before, 'no checks while paused');
  assert.equal((await d.docker(['unpause', 'cycle'])).code, 0);
  await sleep(1500);
  assert.notEqual((await health('cycle')).Log.at(-1).End, before, 'checks resume after unpause');

  assert.equal((await d.docker(['stop', '-t', '1', 'cycle'])).code, 0);
  assert.equal((await health('cycle')).Status, 'healthy');
  assert.equal((await d.docker(['start', 'cycle'])).code, 0);
  assert.equal((await health('cycle')).Status, 'starting');
  await waitHealth('cycle', 'healthy');

  await d.restart();
  // The record kept the health state; the new daemon starts the checks over.
  assert.equal((await health('cycle')).Status, 'starting');
  await waitHealth('cycle', 'healthy');
  await d.docker(['rm', '-f', 'cycle']);
});

test('failures inside the start period do not count, and StartInterval paces the checks there', async () => {
  await d.docker(['run', '-d', '--name', 'warmup', '--health-cmd', 'exit 1', '--health-interval', '800ms', '--health-start-period', '1500ms',
    '--health-start-interval', '150ms', '--health-retries', '1', 'busybox', 'sleep', '300']);
  await sleep(1000);
  const h = await health('warmup');
  assert.equal(h.Status, 'starting');
  assert.equal(h.FailingStreak, 0);
  assert.ok(h.Log.length >= 3, `checked every 150ms, not every 800ms: ${h.Log.length}`);
  // The first check after the start period counts.
  await waitHealth('warmup', 'unhealthy', 5000);
  await d.docker(['rm', '-f', 'warmup']);
});

test('docker-compose 1.29 depends_on condition service_healthy waits for healthy', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-compose-hc-'));
  const compose = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile('docker-compose', ['-p', 'berthhc', ...args], { cwd: dir, env: d.env, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin!.end();
  });
  writeFileSync(join(dir, 'docker-compose.yml'), `version: "2.4"
services:
  web:
    image: busybox
    command: sh -c 'trap "exit 0" TERM; sleep 2; touch /tmp/ready; sleep 300 & wait'
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready"]
      interval: 200ms
      retries: 100
  client:
    image: busybox
    command: "true"
    depends_on:
      web:
        condition: service_healthy
`);
  try {
    const up = await compose(['up', '-d']);
    assert.equal(up.code, 0, up.stderr);
    const web = await health('berthhc_web_1');
    assert.equal(web.Status, 'healthy');
    const healthyAt = Date.parse(web.Log.find((r: any) => r.ExitCode === 0).End);
    const clientStarted = Date.parse((await d.docker(['inspect', '-f', '{{.State.StartedAt}}', 'berthhc_client_1'])).stdout.trim());
    assert.ok(clientStarted >= healthyAt, `client started ${clientStarted - healthyAt} ms before web was healthy`);
  } finally {
    await compose(['down', '-t', '1']);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('output is capped at 4096 bytes; a CMD check whose program is missing fails with the runtime\'s error', async () => {
  for (const [name, Test] of [['big', ['CMD-SHELL', 'yes abcdefgh | head -c 10000']], ['nobin', ['CMD', '/nonexistent']]] as const) {
    const c = await d.api('POST', `/containers/create?name=${name}`, { Image: 'busybox', Cmd: ['sleep', '300'], Healthcheck: { Test, Interval: 200e6, Retries: 1 } });
    assert.equal(c.status, 201);
    assert.equal((await d.api('POST', `/containers/${name}/start`)).status, 204);
  }
  const big = (await waitHealth('big', 'healthy')).Log.at(-1);
  assert.equal(big.Output, `${'abcdefgh\n'.repeat(455)}a...`);
  assert.deepEqual(Object.keys(big), ['Start', 'End', 'ExitCode', 'Output']);
  const nobin = (await waitHealth('nobin', 'unhealthy')).Log.at(-1);
  assert.equal(nobin.ExitCode, -1);
  assert.match(nobin.Output, /\/nonexistent/);
  await d.docker(['rm', '-f', 'big', 'nobin']);
});
