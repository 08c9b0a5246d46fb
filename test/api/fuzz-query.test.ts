// Query and path parameters are untrusted: malformed filters, bad numbers and booleans, odd names and
// %-escapes get Docker's status and words, never a 500; the daemon stays up and nothing is changed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { startDaemon, destroyDaemon, importBusybox, type TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
let id: string;

interface Res { status: number; text: string; json: any }

/** A request whose target is sent byte for byte (no client-side normalisation of `..` or `%`). */
function raw(method: string, target: string, body?: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
    const req = http.request({ socketPath: d.socket, method, path: target, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: any;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode!, text, json });
      });
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`${method} ${target.slice(0, 100)}: no answer in 15 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

const q = encodeURIComponent;

/** What the daemon holds, to show a refused request changed nothing. */
async function state(): Promise<string> {
  const c = (await raw('GET', '/containers/json?all=1')).json.map((x: any) => `${x.Id}${x.Names}${x.State}`).sort();
  const i = (await raw('GET', '/images/json?all=1')).json.map((x: any) => `${x.Id}${x.RepoTags}`).sort();
  const v = (await raw('GET', '/volumes')).json.Volumes.map((x: any) => x.Name).sort();
  const n = (await raw('GET', '/networks')).json.map((x: any) => x.Id).sort();
  return JSON.stringify({ c, i, v, n });
}

before(async () => {
  d = await startDaemon();
  await importBusybox(d);
  const c = await raw('POST', '/containers/create?name=fz', JSON.stringify({ Image: 'busybox', Cmd: ['sleep', '1000'] }));
  assert.equal(c.status, 201, c.text);
  id = c.json.Id;
  await raw('POST', '/volumes/create', JSON.stringify({ Name: 'fzvol' }));
});

after(async () => { if (d) await destroyDaemon(d); });

test('filters: moby FromJSON shapes, unknown keys, legacy map form', async () => {
  const before = await state();
  const expect = async (target: string, status: number, message?: string) => {
    const r = await raw(target.startsWith('/containers/prune') || target.includes('/prune') ? 'POST' : 'GET', target);
    assert.equal(r.status, status, `${target}: ${r.text}`);
    if (message !== undefined) assert.equal(r.json.message, message, target);
    return r;
  };
  for (const list of ['/containers/json?all=1&', '/images/json?', '/volumes?', '/networks?', '/containers/prune?', '/images/prune?', '/volumes/prune?', '/networks/prune?']) {
    for (const bad of ['not json', '{', '[]', '["a"]', '1', '"s"', '{"label":"x"}', '{"label":[1,2]}', '{"label":{"a":1}}', '{"label":[["x"]]}']) {
      await expect(`${list}filters=${q(bad)}`, 400, 'invalid filter');
    }
    await expect(`${list}filters=${q('{"zzz":["1"]}')}`, 400, "invalid filter 'zzz'");
    await expect(`${list}filters=${q('{"__proto__":["x"]}')}`, 400, "invalid filter '__proto__'");
    await expect(`${list}filters=${q('{"constructor":{"x":true}}')}`, 400, "invalid filter 'constructor'");
  }
  // {"status":"running"} is neither form; {"status":{"running":true}} is the current one, {"status":["running"]} the legacy one.
  await expect(`/containers/json?all=1&filters=${q('{"status":"running"}')}`, 400, 'invalid filter');
  const created = await expect(`/containers/json?filters=${q('{"status":{"created":true}}')}`, 200);
  assert.deepEqual(created.json.map((c: any) => c.Id), [id]);
  const legacy = await expect(`/containers/json?filters=${q('{"status":["created"]}')}`, 200);
  assert.deepEqual(legacy.json.map((c: any) => c.Id), [id]);
  // A value mapped to false is not asked for; JSON null is no filter at all (Go leaves the map empty).
  assert.deepEqual((await expect(`/containers/json?filters=${q('{"status":{"created":false}}')}`, 200)).json, []);
  assert.equal((await expect(`/containers/json?all=1&filters=null`, 200)).json.length, 1);
  // Values that are checked: before/since name a container, exited is a number, dangling a boolean, until a time.
  await expect(`/containers/json?all=1&filters=${q('{"before":["nope"]}')}`, 404, 'No such container: nope');
  await expect(`/containers/json?all=1&filters=${q('{"exited":["1e3"]}')}`, 400, "invalid filter 'exited=1e3': strconv.Atoi: parsing \"1e3\": invalid syntax");
  await expect(`/containers/json?all=1&filters=${q('{"publish":["70000"]}')}`, 400, "invalid filter 'publish=70000'");
  await expect(`/images/json?filters=${q('{"dangling":["maybe"]}')}`, 400, "invalid filter 'dangling=[maybe]'");
  for (const p of ['/containers/prune', '/images/prune', '/networks/prune']) {
    const r = await expect(`${p}?filters=${q('{"until":["garbage"]}')}`, 400);
    assert.match(r.json.message, /garbage/);
  }
  assert.equal(await state(), before, 'refused filters changed nothing');
});

test('numbers: strconv.Atoi rules for t=, limit=, h=/w=; time values within int64', async () => {
  const before = await state();
  const cases: [string, string, number, string | RegExp][] = [
    ['POST', `/containers/${id}/stop?t=abc`, 400, 'strconv.Atoi: parsing "abc": invalid syntax'],
    ['POST', `/containers/${id}/stop?t=1.5`, 400, 'strconv.Atoi: parsing "1.5": invalid syntax'],
    ['POST', `/containers/${id}/stop?t=99999999999999999999`, 400, 'strconv.Atoi: parsing "99999999999999999999": value out of range'],
    // t= is read before anything runs: a refused restart does not start the container.
    ['POST', `/containers/${id}/restart?t=1e400`, 400, 'strconv.Atoi: parsing "1e400": invalid syntax'],
    ['GET', '/containers/json?limit=0x10', 400, 'strconv.Atoi: parsing "0x10": invalid syntax'],
    ['GET', '/containers/json?limit=-99999999999999999999', 400, 'strconv.Atoi: parsing "-99999999999999999999": value out of range'],
    ['POST', `/containers/${id}/resize`, 400, 'strconv.Atoi: parsing "": invalid syntax'],
    ['POST', `/containers/${id}/resize?h=10&w=x`, 400, 'strconv.Atoi: parsing "x": invalid syntax'],
    ['POST', `/containers/${id}/resize?h=-1&w=10`, 400, /invalid height -1/],
    ['POST', `/containers/${id}/resize?h=10&w=70000`, 400, /invalid width 70000/],
    ['POST', '/exec/nope/resize?h=1.5&w=1', 400, 'strconv.Atoi: parsing "1.5": invalid syntax'],
    ['POST', `/containers/${id}/kill?signal=999`, 400, 'Invalid signal: 999'],
    ['POST', `/containers/${id}/kill?signal=-1`, 400, 'Invalid signal: -1'],
    ['GET', `/containers/${id}/logs?stdout=1&since=99999999999999999999`, 400, 'failed to parse value as time or duration: "99999999999999999999"'],
    ['GET', '/events?since=0&until=99999999999999999999', 400, 'failed to parse value as time or duration: "99999999999999999999"'],
    ['GET', '/events?until=abc', 400, 'failed to parse value as time or duration: "abc"'],
    ['GET', `/containers/${id}/stats?stream=maybe&one-shot=1`, 400, 'cannot have stream=true and one-shot=true'],
    ['POST', `/containers/${id}/wait?condition=bogus`, 400, 'invalid condition: "bogus"'],
  ];
  for (const [m, target, status, message] of cases) {
    const r = await raw(m, target);
    assert.equal(r.status, status, `${m} ${target}: ${r.text}`);
    if (typeof message === 'string') assert.equal(r.json.message, message, target);
    else assert.match(r.json.message, message, target);
  }
  // tail= is lenient in dockerd: anything but a non-negative integer is "all".
  for (const tail of ['abc', '-1', '99999999999999999999', '1.5']) {
    assert.equal((await raw('GET', `/containers/${id}/logs?stdout=1&tail=${tail}`)).status, 200, `tail=${tail}`);
  }
  assert.equal(await state(), before, 'refused numbers changed nothing');
});

test('booleans as dockerd reads them; a repeated parameter: the first one counts', async () => {
  // BoolValue: anything but "", 0, no, false, none is true.
  for (const yes of ['1', 'true', 'TRUE', 'yes', 'on', 'y']) {
    const r = await raw('GET', `/containers/json?all=${yes}`);
    assert.deepEqual(r.json.map((c: any) => c.Id), [id], `all=${yes}`);
  }
  for (const no of ['0', 'false', 'no', 'none', '', ' False ']) {
    assert.deepEqual((await raw('GET', `/containers/json?all=${q(no)}`)).json, [], `all=${JSON.stringify(no)}`);
  }
  assert.equal((await raw('GET', `/containers/${id}/logs?stdout=yes`)).status, 200);
  assert.deepEqual((await raw('GET', '/containers/json?all=1&all=0')).json.map((c: any) => c.Id), [id]);
  assert.deepEqual((await raw('GET', '/containers/json?all=0&all=1')).json, []);
});

test('path parameters: %-escapes, dot segments, long and odd names', async () => {
  const before = await state();
  const cases: [string, string, number, string | RegExp][] = [
    ['GET', '/containers/%zz/json', 400, 'invalid URL escape "%zz"'],
    ['GET', '/containers/%/json', 400, 'invalid URL escape "%"'],
    ['DELETE', '/images/abc%', 400, 'invalid URL escape "%"'],
    // %2e%2e%2f and a literal `..` are a name, never a different route.
    ['GET', '/containers/%2e%2e%2f%2e%2e%2fetc/json', 404, 'No such container: ../../etc'],
    ['DELETE', '/containers/..?force=1', 404, 'No such container: ..'],
    ['POST', `/containers/${id}/%2e%2e/kill`, 404, 'page not found'],
    ['GET', '/volumes/..', 404, 'get ..: no such volume'],
    ['DELETE', '/volumes/%2e%2e', 404, 'get ..: no such volume'],
    ['GET', '/networks/%2e%2e', 404, 'network .. not found'],
    ['GET', '/images/%2e%2e%2f%2e%2e%2fetc%2fpasswd/json', 400, 'invalid reference format'],
    ['DELETE', `/images/${q('../busybox')}`, 400, 'invalid reference format'],
    ['GET', `/images/${'A'.repeat(300)}/json`, 400, /invalid reference format/],
    ['GET', `/containers/${'a'.repeat(8000)}/json`, 404, /^No such container: a+$/],
    ['GET', `/volumes/${q('ünï')}`, 404, 'get ünï: no such volume'],
    ['GET', `/exec/${q('../x')}/json`, 404, 'No such exec instance: ../x'],
    ['POST', `/containers/${id}/rename?name=${q('a/b')}`, 400, 'Invalid container name (a/b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'],
    ['POST', `/containers/${id}/rename?name=${q('..')}`, 400, /Invalid container name \(\.\.\)/],
    ['POST', `/containers/create?name=${q('../../etc')}`, 400, /Invalid container name/],
    ['POST', '/volumes/create', 400, /: volume name is too long, names should be at most 255 characters$/],
    ['POST', '/volumes/create?x=1', 400, /includes invalid characters for a local volume name/],
    ['POST', '/networks/create', 400, /invalid network name/],
    ['POST', `/images/busybox/tag?repo=${q('../x')}`, 400, 'invalid reference format'],
    ['POST', `/images/busybox/tag?repo=ok&tag=${q('bad tag')}`, 400, 'invalid reference format'],
    ['GET', `/containers/${id}/archive?path=`, 400, 'bad parameter: pathcannot be empty'],
    ['GET', `/containers/${id}/archive?path=/etc%00x`, 400, /contains a NUL byte/],
    ['GET', `/containers/${id}/archive?path=${'x'.repeat(4000)}`, 400, 'file name too long'],
  ];
  const bodies: Record<string, string> = {
    '/containers/create?name=../../etc': JSON.stringify({ Image: 'busybox' }),
    '/volumes/create': JSON.stringify({ Name: 'v'.repeat(300) }),
    '/volumes/create?x=1': JSON.stringify({ Name: '../evil' }),
    '/networks/create': JSON.stringify({ Name: '../evil' }),
  };
  for (const [m, target, status, message] of cases) {
    const r = await raw(m, target, bodies[target] ?? bodies[target.replace('%2F', '/').replace('%2F', '/')]);
    assert.equal(r.status, status, `${m} ${target.slice(0, 80)}: ${r.text.slice(0, 300)}`);
    if (typeof message === 'string') assert.equal(r.json.message, message, target.slice(0, 80));
    else assert.match(r.json.message, message, target.slice(0, 80));
  }
  // `path=` climbing out of the container resolves inside it: this is the container's own passwd.
  const pw = await raw('HEAD', `/containers/${id}/archive?path=${q('/../../../../../etc/passwd')}`);
  assert.equal(pw.status, 200);
  assert.equal(await state(), before, 'refused paths changed nothing');
});

test('ambiguous id prefixes are a 400, not a guess', async () => {
  const made: string[] = [];
  try {
    let prefix: string | undefined;
    while (!prefix) {
      const c = await raw('POST', '/containers/create', JSON.stringify({ Image: 'busybox' }));
      made.push(c.json.Id);
      prefix = made.find((x, i) => [id, ...made].findIndex((y) => y[0] === x[0]) !== i + 1)?.[0];
    }
    for (const [m, p] of [['GET', `/containers/${prefix}/json`], ['DELETE', `/containers/${prefix}?force=1`], ['POST', `/containers/${prefix}/start`]] as const) {
      const r = await raw(m, p);
      assert.equal(r.status, 400, `${m} ${p}: ${r.text}`);
      assert.equal(r.json.message, `multiple IDs found with provided prefix: ${prefix}`);
    }
  } finally {
    for (const x of made) await raw('DELETE', `/containers/${x}?force=1`);
  }
});

test('random hostile values on every route: never a 5xx, the daemon stays up, nothing changes', async () => {
  const before = await state();
  const values = ['', 'abc', '-1', '1.5', '1e400', '99999999999999999999', '-99999999999999999999', '0x10', '..', '../../../../etc/passwd',
    '%2e%2e%2f', 'ü\u0301', 'x'.repeat(4000), '[', '{', 'null', '[]', '{"a":1}', '{"status":"running"}', '\u0000', ' ', '-', 'ctrl-', 'true', 'no'];
  // Prune filters get only values that cannot be read as "no filter", or they would really prune.
  const badFilters = values.filter((v) => !['', 'null', ' '].includes(v));
  // Routes that change things get only names that do not exist; read-only ones the real container.
  const routes: [string, string, string[]][] = [
    ['GET', '/containers/json', ['all', 'limit', 'size', 'filters']],
    ['GET', `/containers/${id}/json`, ['size']],
    ['GET', `/containers/${id}/logs?stdout=1`, ['stderr', 'tail', 'since', 'until', 'timestamps', 'details']],
    ['GET', `/containers/${id}/top`, ['ps_args']],
    ['GET', `/containers/${id}/stats?stream=0`, ['one-shot']],
    ['GET', `/containers/${id}/changes`, []],
    ['HEAD', `/containers/${id}/archive`, ['path']],
    ['POST', `/containers/${id}/resize`, ['h', 'w']],
    ['POST', `/containers/${id}/wait`, ['condition']],
    ['POST', `/containers/${id}/kill`, ['signal']],
    ['POST', `/containers/${id}/stop`, ['t', 'signal']],
    ['POST', `/containers/${id}/attach`, ['detachKeys']],
    ['POST', '/containers/NOPE-x/rename', ['name']],
    ['DELETE', '/containers/NOPE-x', ['force', 'v', 'link']],
    ['GET', '/images/json', ['all', 'filters', 'digests', 'filter']],
    ['GET', '/images/busybox/json', []],
    ['GET', '/images/busybox/history', []],
    ['POST', '/images/NOPE-x/tag', ['repo', 'tag']],
    ['DELETE', '/images/NOPE-x', ['force', 'noprune']],
    ['GET', '/images/get', ['names']],
    ['GET', '/volumes', ['filters']],
    ['GET', '/networks', ['filters']],
    ['GET', '/events?until=1', ['since', 'filters']],
    ['GET', '/system/df', ['type']],
    ['POST', '/commit', ['container', 'repo', 'tag']],
    ['POST', '/containers/prune', ['filters']],
    ['POST', '/images/prune', ['filters']],
    ['POST', '/volumes/prune', ['filters']],
    ['POST', '/networks/prune', ['filters']],
  ];
  const pathRoutes = ['GET /containers/{}/json', 'GET /containers/{}/logs?stdout=1', 'POST /containers/{}/start', 'POST /containers/{}/kill', 'DELETE /containers/{}?force=1',
    'GET /images/{}/json', 'DELETE /images/{}', 'GET /volumes/{}', 'DELETE /volumes/{}', 'GET /networks/{}', 'DELETE /networks/{}', 'GET /exec/{}/json',
    'POST /exec/{}/start', 'GET /plugins/{}/json'];
  // (Not /distribution/{name}/json: a name like NOPE/x is a registry host, and asking it is a network error, a 5xx in dockerd too.)
  const names = ['..', '%2e%2e', '%2e%2e%2f%2e%2e%2fetc', '%zz', '%', q('ü'), 'x'.repeat(5000), '.', '-', '%00', 'NOPE%2fx', q('a b'), 'sha256:zz'];
  let seed = 20261128;
  const rand = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  const t0 = Date.now();
  let count = 0;
  for (const [m, base, params] of routes) {
    for (const p of params) {
      for (const v of p === 'filters' && base.includes('prune') ? badFilters : values) {
        if (base.startsWith('/events') && v === '') continue; // an empty since/until is "no bound": a stream that never ends
        // A second, random parameter of the same route, and sometimes the same one repeated.
        const other = params[rand(params.length)]!;
        const extra = rand(3) === 0 ? `&${other}=${q(values[rand(values.length)]!)}` : rand(2) ? `&${p}=1` : '';
        const target = `${base}${base.includes('?') ? '&' : '?'}${p}=${q(v)}${other === 'filters' && base.includes('prune') ? '' : extra}`;
        const r = await raw(m, target, m === 'POST' && base === '/commit' ? '{}' : undefined);
        assert.ok(r.status < 500, `${m} ${target.slice(0, 200)} → ${r.status} ${r.text.slice(0, 300)}`);
        count++;
      }
    }
  }
  for (const route of pathRoutes) {
    const [m, tpl] = route.split(' ') as [string, string];
    for (const n of names) {
      const r = await raw(m, tpl.replace('{}', n), m === 'POST' ? '{}' : undefined);
      assert.ok(r.status < 500, `${m} ${tpl.replace('{}', n).slice(0, 200)} → ${r.status} ${r.text.slice(0, 300)}`);
      count++;
    }
  }
  assert.ok(count > 500, `${count} requests`);
  assert.ok(Date.now() - t0 < 60_000, `fuzzing took ${Date.now() - t0} ms`);
  assert.equal((await raw('GET', '/_ping')).text, 'OK');
  assert.equal(d.proc.exitCode, null, 'berthd is still running');
  assert.equal(await state(), before, 'nothing was created, changed or removed');
  const log = readFileSync(d.logFile, 'utf8');
  assert.doesNotMatch(log, /handler failed/, 'no request ended in a server error');
});
