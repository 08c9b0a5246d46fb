// The docker CLI's everyday commands (other than run/create flags) against berthd:
// filters, formats, prune reports and events, logs, stats, lifecycle errors, volumes, info.
// Expected words are dockerd 28's (moby daemon/*.go), the output the docker CLI prints from them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
before(async () => { d = await startDaemon(); await importBusybox(d); });
after(async () => { if (d) await destroyDaemon(d); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lines = (s: string) => s.split('\n').filter(Boolean);
/** Each test starts from busybox alone: no containers, volumes, user networks or other images. */
async function reset(): Promise<void> {
  const ids = lines((await d.docker(['ps', '-aq'])).stdout);
  if (ids.length) await d.docker(['rm', '-f', '-v', ...ids]);
  const vols = lines((await d.docker(['volume', 'ls', '-q'])).stdout);
  if (vols.length) await d.docker(['volume', 'rm', '-f', ...vols]);
  await d.docker(['network', 'prune', '-f']);
  const imgs = lines((await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout).filter((i) => i !== 'busybox:latest');
  if (imgs.length) await d.docker(['rmi', '-f', ...imgs]);
  if ((await d.docker(['image', 'inspect', 'busybox'])).code !== 0) await importBusybox(d);
}

async function ok(args: string[]): Promise<string> {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('ps filters: before/since, volume, network (name or id prefix), is-task, health, label, status; bad values', async () => {
  await reset();
  await ok(['volume', 'create', 'psvol']);
  await ok(['network', 'create', 'psnet']);
  await ok(['run', '-d', '--name', 'p1', '-l', 'k=v', '-l', 'a=b', 'busybox', 'sleep', '300']);
  await ok(['run', '-d', '--name', 'p2', '-v', 'psvol:/data', '--network', 'psnet', 'busybox', 'sleep', '300']);
  await ok(['run', '-d', '--name', 'p3', '-v', '/anon', 'busybox', 'sleep', '300']);
  await ok(['run', '--name', 'p4', 'busybox', 'true']);
  const names = async (...f: string[]) => lines(await ok(['ps', '-a', ...f.flatMap((x) => ['--filter', x]), '--format', '{{.Names}}']));
  assert.deepEqual(await names('before=p2'), ['p1']);
  assert.deepEqual(await names('since=p2'), ['p4', 'p3']);
  assert.deepEqual(await names('volume=psvol'), ['p2']);
  assert.deepEqual(await names('volume=/data'), ['p2']);
  // A named volume is matched by its name, not by its directory on the host.
  const vdir = (await ok(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'psvol'])).trim();
  assert.deepEqual(await names(`volume=${vdir}`), []);
  assert.deepEqual(await names('network=psnet'), ['p2']);
  const netId = (await ok(['network', 'inspect', '-f', '{{.Id}}', 'psnet'])).trim();
  assert.deepEqual(await names(`network=${netId.slice(0, 8)}`), ['p2']);
  assert.deepEqual(await names('is-task=false'), ['p4', 'p3', 'p2', 'p1']);
  assert.deepEqual(await names('is-task=true'), []);
  assert.deepEqual(await names('health=none'), ['p4', 'p3', 'p2', 'p1']);
  assert.deepEqual(await names('label=k=v'), ['p1']);
  assert.deepEqual(await names('label=k'), ['p1']);
  // dockerd has no label negation in ps: "k!=v" asks for a label named "k!".
  assert.deepEqual(await names('label=k!=v'), []);
  // Without -a, since= still lists only running ones.
  assert.deepEqual(lines(await ok(['ps', '--filter', 'since=p2', '--format', '{{.Names}}'])), ['p3']);

  const missing = await d.docker(['ps', '--filter', 'before=nope']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trim(), 'Error response from daemon: No such container: nope');
  const task = await d.docker(['ps', '--filter', 'is-task=maybe']);
  assert.equal(task.stderr.trim(), "Error response from daemon: invalid filter 'is-task=[maybe]'");
  const st = await d.docker(['ps', '--filter', 'status=bogus']);
  assert.equal(st.code, 1);
  assert.equal(st.stderr.trim(), "Error response from daemon: invalid filter 'status=bogus': invalid value for state (bogus): must be one of created, running, paused, restarting, removing, exited, dead");

  assert.deepEqual(await names('exited=0'), ['p4']);
  // exited= does not imply -a (status= does).
  assert.equal(await ok(['ps', '--filter', 'exited=0', '-q']), '');
  const ex = await d.docker(['ps', '--filter', 'exited=abc']);
  assert.equal(ex.stderr.trim(), 'Error response from daemon: invalid filter \'exited=abc\': strconv.Atoi: parsing "abc": invalid syntax');
  // Every status value; status implies -a.
  await ok(['create', '--name', 'p5', 'busybox', 'true']);
  await ok(['pause', 'p3']);
  const byStatus = async (s: string) => lines(await ok(['container', 'ls', '--filter', `status=${s}`, '--format', '{{.Names}}']));
  assert.deepEqual(await byStatus('created'), ['p5']);
  assert.deepEqual(await byStatus('running'), ['p2', 'p1']);
  assert.deepEqual(await byStatus('paused'), ['p3']);
  assert.deepEqual(await byStatus('exited'), ['p4']);
  assert.deepEqual(await byStatus('restarting'), []);
  assert.deepEqual(await byStatus('removing'), []);
  assert.deepEqual(await byStatus('dead'), []);
  await ok(['unpause', 'p3']);

  // Formats the CLI computes from the list fields.
  const fmt = lines(await ok(['ps', '-a', '--filter', 'name=^p[1-3]$', '--format', '{{.Names}}|{{.Label "k"}}|{{.Mounts}}|{{.Networks}}|{{.LocalVolumes}}|{{.RunningFor}}|{{.Size}}']));
  assert.equal(fmt.length, 3);
  assert.match(fmt[0]!, /^p3\|\|[0-9a-f]{14}…\|bridge\|1\|(Less than a second|\d+ seconds) ago\|0B \(virtual 2\.\d+MB\)$/);
  assert.match(fmt[1]!, /^p2\|\|psvol\|psnet\|1\|/);
  assert.match(fmt[2]!, /^p1\|v\|\|bridge\|0\|/);
  assert.deepEqual(lines(await ok(['ps', '-a', '--last', '2', '--format', '{{.Names}}'])), ['p5', 'p4']);

  // inspect -s fills the sizes.
  const sz = (await ok(['container', 'inspect', '-s', '-f', '{{.SizeRw}} {{.SizeRootFs}}', 'p1'])).trim().split(' ').map(Number);
  assert.equal(sz[0], 0);
  assert.ok(sz[1]! > 2_000_000, String(sz));
  await ok(['rm', '-f', 'p1', 'p2', 'p3', 'p4', 'p5']);
  await ok(['volume', 'rm', 'psvol']);
  await ok(['network', 'rm', 'psnet']);
});

test('images: filters, positional repository, --digests, history of an imported image, inspect of several refs, --type', async () => {
  await reset();
  await sleep(20);
  await importBusybox(d, 'bu2:v1', ['LABEL team=x']);
  await sleep(20);
  await importBusybox(d, 'other:latest', []);
  await ok(['tag', 'busybox', 'busybox:two']);
  const imgs = async (...f: string[]) => lines(await ok(['images', ...f.flatMap((x) => ['--filter', x]), '--format', '{{.Repository}}:{{.Tag}}'])).sort();
  assert.deepEqual(await imgs('before=bu2:v1'), ['busybox:latest', 'busybox:two']);
  assert.deepEqual(await imgs('since=bu2:v1'), ['other:latest']);
  assert.deepEqual(await imgs('reference=bu*'), ['bu2:v1', 'busybox:latest', 'busybox:two']);
  assert.deepEqual(await imgs('reference=*:latest'), ['busybox:latest', 'other:latest']);
  assert.deepEqual(await imgs('label=team'), ['bu2:v1']);
  assert.deepEqual(await imgs('label=team=y'), []);
  const dg = await d.docker(['images', '--filter', 'dangling=maybe']);
  assert.equal(dg.stderr.trim(), "Error response from daemon: invalid filter 'dangling=[maybe]'");
  // image prune: the CLI adds dangling=true itself, and with "true" among the values dockerd takes it.
  assert.equal(await ok(['image', 'prune', '-f', '--filter', 'dangling=maybe']), 'Total reclaimed space: 0B\n');
  const pdg = await d.api('POST', '/images/prune?filters=' + encodeURIComponent('{"dangling":["maybe"]}'));
  assert.equal(pdg.body.message, "invalid filter 'dangling=[maybe]'");
  const ndg = await d.docker(['network', 'ls', '--filter', 'dangling=maybe']);
  assert.equal(ndg.stderr.trim(), 'Error response from daemon: invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")');
  const nob = await d.docker(['images', '--filter', 'before=nope']);
  assert.equal(nob.code, 1);
  assert.match(nob.stderr, /No such image: nope:latest/);
  assert.deepEqual(lines(await ok(['image', 'ls', 'busybox', '--format', '{{.Repository}}:{{.Tag}}'])).sort(), ['busybox:latest', 'busybox:two']);
  // An imported image has no repo digest.
  assert.match(await ok(['images', '--digests', 'bu2']), /^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE\nbu2\s+v1\s+<none>\s+[0-9a-f]{12}\s/);
  assert.equal(await ok(['images', '--format', '{{.Repository}}:{{.Tag}} {{.Digest}}', 'bu2']), 'bu2:v1 <none>\n');
  assert.match(await ok(['images', '-a', '--no-trunc', '--format', '{{.ID}}', 'bu2']), /^sha256:[0-9a-f]{64}\n$/);

  // dockerd's import: no CREATED BY, the comment says where it came from.
  const id = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'bu2:v1'])).trim();
  assert.equal(await ok(['image', 'history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Comment}}', 'bu2:v1']), `${id}||Imported from -\n`);
  assert.equal(await ok(['image', 'inspect', '-f', '{{.Comment}}', 'bu2:v1']), 'Imported from -\n');
  const many = await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox', 'nope', 'bu2:v1']);
  assert.equal(many.code, 1);
  assert.equal(lines(many.stdout).length, 2);
  assert.equal(lines(many.stdout)[1], id);
  assert.equal(many.stderr.trim(), 'Error response from daemon: No such image: nope:latest');

  await ok(['run', '-d', '--name', 'both', 'busybox', 'sleep', '300']);
  await ok(['tag', 'busybox', 'both']);
  await ok(['volume', 'create', 'both']);
  const cid = (await ok(['inspect', '--type', 'container', '-f', '{{.Id}}', 'both'])).trim();
  // Without --type the container wins, as in the docker CLI.
  assert.equal((await ok(['inspect', '-f', '{{.Id}}', 'both'])).trim(), cid);
  assert.equal((await ok(['inspect', '--type', 'image', '-f', '{{.Id}}', 'both'])).trim(), (await ok(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).trim());
  assert.equal((await ok(['inspect', '--type', 'volume', '-f', '{{.Name}} {{.Driver}}', 'both'])).trim(), 'both local');
  assert.equal((await ok(['inspect', '--type', 'network', '-f', '{{.Name}}', 'bridge'])).trim(), 'bridge');
  const nonet = await d.docker(['inspect', '--type', 'network', 'both']);
  assert.equal(nonet.code, 1);
  assert.match(nonet.stderr, /network both not found/);
  const noobj = await d.docker(['inspect', 'busybox', 'nope']);
  assert.equal(noobj.code, 1);
  assert.match(noobj.stderr, /Error: No such object: nope/);
  await ok(['rm', '-f', 'both']);
  await ok(['volume', 'rm', 'both']);
  await ok(['rmi', 'both', 'busybox:two', 'other', 'bu2:v1']);
});

test('prune: reports, filters, and the events dockerd emits (destroy/delete and prune with reclaimed)', async () => {
  await reset();
  await sleep(1100);
  const t0 = Math.floor(Date.now() / 1000);
  await ok(['run', '--name', 'pr1', '-l', 'keep=1', 'busybox', 'true']);
  await ok(['run', '--name', 'pr2', 'busybox', 'sh', '-c', 'head -c 1000 /dev/zero > /f']);
  const until = await ok(['container', 'prune', '-f', '--filter', 'until=1h']);
  assert.equal(until, 'Total reclaimed space: 0B\n');
  const pr2 = (await ok(['inspect', '-f', '{{.Id}}', 'pr2'])).trim();
  const cp = await ok(['container', 'prune', '-f', '--filter', 'label!=keep']);
  assert.match(cp, new RegExp(`^Deleted Containers:\n${pr2}\n\nTotal reclaimed space: \\d+(\\.\\d+)?kB\n$`));
  await ok(['rm', 'pr1']);

  await importBusybox(d, 'lab-img:1', ['LABEL tier=test']);
  const labId = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'lab-img:1'])).trim();
  const ip = await ok(['image', 'prune', '-a', '-f', '--filter', 'label=tier=test']);
  assert.equal(ip.split('\n\nTotal')[0], `Deleted Images:\nuntagged: lab-img:1\ndeleted: ${labId}`);
  assert.match(ip, /\nTotal reclaimed space: \d+B\n$/); // the layer is busybox's too: only the config goes
  assert.match(await ok(['images', '-q']), /^[0-9a-f]{12}\n$/); // busybox stays

  // Docker 23+: volume prune takes only anonymous volumes unless -a (all=true).
  await ok(['volume', 'create', 'named-vol']);
  await ok(['run', '--name', 'anonv', '-v', '/anon', 'busybox', 'true']);
  const anon = (await ok(['inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', 'anonv'])).trim();
  await ok(['rm', 'anonv']);
  assert.equal(await ok(['volume', 'prune', '-f']), `Deleted Volumes:\n${anon}\n\nTotal reclaimed space: 0B\n`);
  assert.equal(await ok(['volume', 'prune', '-f', '--filter', 'all=true']), 'Deleted Volumes:\nnamed-vol\n\nTotal reclaimed space: 0B\n');

  await ok(['network', 'create', 'prnet']);
  // until= takes any Go duration: a network made just now is younger than 1.5h and stays.
  assert.equal(await ok(['network', 'prune', '-f', '--filter', 'until=1.5h']), '');
  assert.equal(await ok(['network', 'prune', '-f']), 'Deleted Networks:\nprnet\n\n');

  await ok(['run', '--name', 'sysp', 'busybox', 'true']);
  await ok(['network', 'create', 'sysnet']);
  await ok(['volume', 'create', 'sysvol']);
  const sp = await ok(['system', 'prune', '-f']);
  assert.match(sp, /^Deleted Containers:\n[0-9a-f]{64}\n\nDeleted Networks:\nsysnet\n\nTotal reclaimed space: 0B\n$/);
  assert.match(await ok(['volume', 'ls', '-q']), /sysvol/); // not without --volumes
  await importBusybox(d, 'sys-img:1', []);
  const anonSys = (await ok(['volume', 'create'])).trim(); // no name: an anonymous volume
  const spa = await ok(['system', 'prune', '-a', '-f', '--volumes']);
  // Docker 23+: --volumes takes anonymous volumes only; named ones stay.
  assert.match(spa, new RegExp(`Deleted Volumes:\\n${anonSys}\\n\\n`));
  assert.equal(await ok(['volume', 'ls', '-q']), 'sysvol\n');
  assert.match(spa, /Deleted Images:\n(untagged: \S+\ndeleted: sha256:[0-9a-f]{64}\n){2}\n/);
  assert.match(spa, /untagged: busybox:latest\n/);
  assert.match(spa, /untagged: sys-img:1\n/);
  assert.match(spa, /\nTotal reclaimed space: \d+(\.\d+)?[kM]B\n$/);
  await importBusybox(d);

  await sleep(1100);
  const ev = lines(await ok(['events', '--since', String(t0), '--until', '0s', '--filter', 'event=prune', '--filter', 'event=destroy', '--filter', 'event=delete',
    '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.reclaimed}} {{.Actor.Attributes.name}}']));
  const prunes = ev.filter((l) => / prune /.test(l)).map((l) => l.split(' ').slice(0, 3).join(' '));
  const containerReclaimed = Number(prunes[1]!.split(' ')[2]);
  const imageReclaimed = Number(prunes[2]!.split(' ')[2]);
  assert.ok(containerReclaimed >= 1000 && containerReclaimed < 20000, prunes[1]);
  assert.ok(imageReclaimed > 0, prunes[2]);
  assert.deepEqual(prunes.slice(0, 7), ['container prune 0', `container prune ${containerReclaimed}`, `image prune ${imageReclaimed}`, 'volume prune 0', 'volume prune 0', 'network prune 0', 'network prune 0']);
  // system prune: containers, networks, (volumes with --volumes,) images, build cache; each ends with its prune event.
  assert.deepEqual(prunes.slice(7).map((l) => l.split(' ').slice(0, 2).join(' ')),
    ['container prune', 'network prune', 'image prune', 'builder prune', 'container prune', 'network prune', 'volume prune', 'image prune', 'builder prune']);
  assert.ok(ev.includes('container destroy <no value> pr2'), ev.join('\n'));
  assert.ok(ev.includes(`image delete <no value> ${labId}`));
  assert.equal(ev.filter((l) => l.startsWith('volume destroy')).length, 3);
  await ok(['volume', 'rm', 'sysvol']);
  assert.ok(ev.includes('network destroy <no value> prnet'));
});

test('events: type/event/container filters, JSON format, relative --since/--until', async () => {
  await reset();
  await ok(['run', '-d', '--name', 'evc', 'busybox', 'sleep', '300']);
  await ok(['run', '--name', 'evo', 'busybox', 'true']);
  await sleep(1100);
  const js = lines(await ok(['events', '--since', '10s', '--until', '0s', '--filter', 'type=container', '--filter', 'event=start', '--filter', 'container=evc', '--filter', 'container=evo', '--format', '{{json .}}']));
  assert.equal(js.length, 2);
  const e = JSON.parse(js[0]!);
  assert.equal(e.Type, 'container');
  assert.equal(e.Action, 'start');
  assert.equal(e.status, 'start');
  assert.equal(e.from, 'busybox');
  assert.equal(e.Actor.Attributes.name, 'evc');
  assert.equal(e.scope, 'local');
  assert.ok(Number.isInteger(e.time) && typeof e.timeNano === 'number');
  assert.deepEqual(lines(await ok(['events', '--since', '10s', '--until', '0s', '--filter', 'container=evo', '--format', '{{.Action}}'])), ['create', 'attach', 'start', 'die']);
  // Two event= values are an OR; type= narrows.
  assert.deepEqual(lines(await ok(['events', '--since', '10s', '--until', '0s', '--filter', 'container=evo', '--filter', 'event=create', '--filter', 'event=die', '--format', '{{.Action}}'])), ['create', 'die']);
  // container= matches an event's actor id or name: network events (the network is the actor) never match it.
  assert.deepEqual(lines(await ok(['events', '--since', '10s', '--until', '0s', '--filter', 'type=network', '--filter', 'container=evo', '--format', '{{.Type}} {{.Action}}'])), []);
  assert.ok(lines(await ok(['events', '--since', '10s', '--until', '0s', '--filter', 'type=network', '--format', '{{.Action}}'])).includes('connect'));
  // Nothing in the future.
  assert.equal(await ok(['events', '--since', '0s', '--until', '0s']), '');
  await ok(['rm', '-f', 'evc', 'evo']);
});

test('logs: --details, --tail 0, -n 3 -t, --since/--until, TTY output raw, log driver none, missing container', async () => {
  await reset();
  await ok(['run', '-d', '--name', 'lg', '--log-opt', 'labels=team', '-l', 'team=a b', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2; sleep 300']);
  for (let i = 0; i < 50 && !(await d.docker(['logs', 'lg'])).stderr.includes('oops'); i++) await sleep(100);
  const det = await d.docker(['logs', '--details', 'lg']);
  assert.equal(det.stdout.split('\n')[0], 'team=a+b line1');
  assert.equal(det.stderr, 'team=a+b oops\n');
  assert.deepEqual(await d.docker(['logs', '--tail', '0', 'lg']), { code: 0, stdout: '', stderr: '' });
  const t = await d.docker(['logs', '-n', '3', '-t', 'lg']);
  assert.match(t.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line4\n\S+ line5\n$/);
  assert.match(t.stderr, /^\S+Z oops\n$/);
  await sleep(2100); // a relative --since/--until is whole seconds (the CLI sends Unix seconds)
  const sn = await d.docker(['logs', '--since', '1s', 'lg']);
  assert.equal(sn.stdout, '', `${new Date().toISOString()} ${(await d.docker(['logs', '-t', 'lg'])).stdout}`);
  assert.equal((await d.docker(['logs', '--until', '1s', 'lg'])).stdout, 'line1\nline2\nline3\nline4\nline5\n');
  // tail picks the last lines first, then since/until filter them (the last line is on stderr).
  const tl = await d.docker(['logs', '--since', '30s', '--until', '1s', '--tail', '2', 'lg']);
  assert.deepEqual([tl.stdout, tl.stderr], ['line5\n', 'oops\n']);

  await ok(['run', '-d', '-t', '--name', 'lgt', 'busybox', 'sh', '-c', 'echo tty-out; sleep 300']);
  let raw = '';
  for (let i = 0; i < 50 && !raw.includes('tty-out'); i++) { raw = (await d.docker(['logs', 'lgt'])).stdout; await sleep(100); }
  assert.equal(raw, 'tty-out\r\n'); // the terminal's CRLF, no multiplexing header
  const api = await d.api('GET', '/containers/lgt/logs?stdout=1');
  assert.equal(api.body, 'tty-out\r\n');
  assert.equal(api.headers['content-type'], 'application/vnd.docker.raw-stream');

  const miss = await d.docker(['logs', 'nope']);
  assert.equal(miss.code, 1);
  assert.equal(miss.stderr, 'Error response from daemon: No such container: nope\n');
  await ok(['rm', '-f', 'lg', 'lgt']);
});

test('stats --no-stream: several containers, --all with a stopped one, a missing one', async () => {
  await reset();
  await ok(['run', '-d', '--name', 'sa', 'busybox', 'sleep', '300']);
  await ok(['run', '-d', '--name', 'sb', 'busybox', 'sleep', '300']);
  await ok(['create', '--name', 'sc', 'busybox', 'true']);
  const two = lines(await ok(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', 'sa', 'sb']));
  assert.equal(two.length, 2);
  assert.match(two[0]!, /^sa \d+(\.\d+)?KiB \/ \d+(\.\d+)?[MG]iB$/);
  assert.match(two[1]!, /^sb /);
  const all = lines(await ok(['stats', '--no-stream', '--all', '--format', '{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}']));
  assert.deepEqual(all.map((l) => l.split(' ')[0]).sort(), ['sa', 'sb', 'sc']);
  assert.ok(all.includes('sc 0.00% 0B / 0B 0'), all.join('\n'));
  assert.deepEqual(lines(await ok(['stats', '--no-stream', '--format', '{{.Name}}'])).sort(), ['sa', 'sb']);
  const both = await d.api('GET', '/containers/sa/stats?stream=true&one-shot=true');
  assert.equal(both.status, 400);
  assert.equal(both.body.message, 'cannot have stream=true and one-shot=true');
  // A stopped container gives dockerd's empty sample (zero read time) rather than an error.
  const empty = await d.api('GET', '/containers/sc/stats?stream=false');
  assert.equal(empty.status, 200);
  assert.equal(empty.body.read, '0001-01-01T00:00:00Z');
  assert.equal(empty.body.name, '/sc');
  const miss = await d.docker(['container', 'stats', '--no-stream', 'nope']);
  assert.equal(miss.code, 1);
  assert.match(miss.stderr, /No such container: nope/);
  await ok(['rm', '-f', 'sa', 'sb', 'sc']);
});

test('lifecycle: wait two, kill -s, stop -t/--signal, restart -t 0, start/pause/unpause/rm/rename errors, port, rm -v', async () => {
  await reset();
  await ok(['run', '-d', '--name', 'w1', 'busybox', 'sh', '-c', 'exit 3']);
  await ok(['run', '-d', '--name', 'w2', 'busybox', 'sh', '-c', 'sleep 1; exit 5']);
  assert.equal(await ok(['wait', 'w1', 'w2']), '3\n5\n');
  const wm = await d.docker(['wait', 'w1', 'nope']);
  assert.equal(wm.code, 1);
  assert.equal(wm.stdout, '3\n');
  assert.match(wm.stderr, /No such container: nope/);

  await ok(['run', '-d', '--name', 'k1', 'busybox', 'sh', '-c', 'trap "echo got-usr1" USR1; while true; do sleep 0.1; done']);
  await sleep(300);
  assert.equal(await ok(['kill', '-s', 'SIGUSR1', 'k1']), 'k1\n');
  let out = '';
  for (let i = 0; i < 30 && !out.includes('got-usr1'); i++) { out = await ok(['logs', 'k1']); await sleep(100); }
  assert.equal(out, 'got-usr1\n');
  assert.equal(await ok(['kill', '-s', '9', 'k1']), 'k1\n');
  assert.equal((await ok(['wait', 'k1'])).trim(), '137');
  const bad = await d.docker(['kill', '-s', 'BOGUS', 'w1']);
  assert.match(bad.stderr, /Invalid signal: BOGUS/);
  const notRunning = await d.docker(['kill', 'k1']);
  assert.equal(notRunning.code, 1);
  assert.match(notRunning.stderr, /cannot kill container: k1: container [0-9a-f]{64} is not running/);

  await ok(['run', '-d', '--name', 's1', 'busybox', 'sleep', '300']);
  const t = Date.now();
  assert.equal(await ok(['stop', '-t', '1', 's1']), 's1\n');
  assert.ok(Date.now() - t < 5000);
  assert.equal((await ok(['inspect', '-f', '{{.State.ExitCode}}', 's1'])).trim(), '137'); // sleep ignores TERM as pid 1
  await ok(['start', 's1']);
  assert.equal(await ok(['stop', '--signal', 'SIGKILL', 's1']), 's1\n');
  assert.equal(await ok(['restart', '-t', '0', 's1']), 's1\n');
  assert.equal((await ok(['inspect', '-f', '{{.State.Status}}', 's1'])).trim(), 'running');
  // start of a running container: silent success (the name is echoed).
  assert.deepEqual(await d.docker(['start', 's1']), { code: 0, stdout: 's1\n', stderr: '' });
  const id = (await ok(['inspect', '-f', '{{.Id}}', 's1'])).trim();
  const rm = await d.docker(['rm', 's1']);
  assert.equal(rm.code, 1);
  assert.equal(rm.stderr.trim(), 'Error response from daemon: cannot remove container "s1": container is running: stop the container before removing or force remove');
  const rn = await d.docker(['rename', 's1', 'w1']);
  assert.equal(rn.code, 1);
  const w1 = (await ok(['inspect', '-f', '{{.Id}}', 'w1'])).trim();
  assert.match(rn.stderr, new RegExp(`^Error response from daemon: Error when allocating new name: Conflict\\. The container name "/w1" is already in use by container "${w1}"\\. You have to remove \\(or rename\\) that container to be able to reuse that name\\.\\n`));
  await ok(['pause', 's1']);
  const pp = await d.docker(['pause', 's1']);
  assert.equal(pp.code, 1);
  assert.match(pp.stderr, new RegExp(`Error response from daemon: Container ${id} is already paused`));
  await ok(['unpause', 's1']);
  const up = await d.docker(['unpause', 's1']);
  assert.equal(up.code, 1);
  assert.match(up.stderr, new RegExp(`Error response from daemon: Container ${id} is not paused`));

  // kill of a paused container: dockerd thaws it after the signal, so it dies (137) with kill, unpause, die events.
  await ok(['run', '-d', '--name', 'pk', 'busybox', 'sleep', '300']);
  await ok(['pause', 'pk']);
  assert.equal(await ok(['kill', 'pk']), 'pk\n');
  assert.equal((await ok(['wait', 'pk'])).trim(), '137');
  await sleep(1100);
  assert.deepEqual(lines(await ok(['events', '--since', '10s', '--until', '0s', '--filter', 'container=pk', '--format', '{{.Action}}'])).slice(2),
    ['pause', 'kill', 'unpause', 'die']);
  await ok(['rm', 'pk']);

  await ok(['run', '-d', '--name', 'pt', '-p', '127.0.0.1::80', '-p', '127.0.0.1::81/udp', 'busybox', 'sleep', '300']);
  assert.match(await ok(['port', 'pt', '80/tcp']), /^127\.0\.0\.1:\d+\n$/);
  assert.match(await ok(['port', 'pt', '81/udp']), /^127\.0\.0\.1:\d+\n$/);
  const np = await d.docker(['port', 'pt', '82']);
  assert.equal(np.code, 1);
  assert.match(np.stderr, /Error: No public port '82\/tcp' published for pt|No public port '82' published for pt/);

  await ok(['run', '--name', 'rv', '-v', '/anon', '-v', 'keepme:/named', 'busybox', 'true']);
  const anon = (await ok(['inspect', '-f', '{{range .Mounts}}{{if eq .Destination "/anon"}}{{.Name}}{{end}}{{end}}', 'rv'])).trim();
  assert.equal(await ok(['rm', '-v', 'rv']), 'rv\n');
  assert.equal((await d.docker(['volume', 'inspect', anon])).code, 1); // the anonymous volume went with it
  assert.equal((await d.docker(['volume', 'inspect', 'keepme'])).code, 0); // a named one stays
  await ok(['rm', '-f', 's1', 'w1', 'w2', 'k1', 'pt']);
  await ok(['volume', 'rm', 'keepme']);
});

test('volumes: ls filters and -q, inspect --format, create --label, removing one in use', async () => {
  await reset();
  await ok(['volume', 'create', '--label', 'a=1', '--label', 'b=2', 'lab']);
  await ok(['volume', 'create', 'plain']);
  await ok(['run', '-d', '--name', 'vu', '-v', 'lab:/x', 'busybox', 'sleep', '300']);
  const vols = async (f: string) => lines(await ok(['volume', 'ls', '-f', f, '--format', '{{.Name}}']));
  assert.deepEqual(await vols('dangling=true'), ['plain']);
  assert.deepEqual(await vols('dangling=false'), ['lab']);
  assert.deepEqual(await vols('driver=local'), ['lab', 'plain']);
  assert.deepEqual(await vols('name=la'), ['lab', 'plain']);
  assert.deepEqual(await vols('label=a=1'), ['lab']);
  assert.deepEqual(await vols('label=b'), ['lab']);
  assert.deepEqual(lines(await ok(['volume', 'ls', '-q'])), ['lab', 'plain']);
  const bad = await d.docker(['volume', 'ls', '-f', 'dangling=maybe']);
  assert.equal(bad.stderr.trim(), "Error response from daemon: invalid filter 'dangling=[maybe]'");
  assert.equal(await ok(['volume', 'inspect', '--format', '{{.Mountpoint}} {{json .Labels}} {{.Scope}} {{.Driver}}', 'lab']), `${d.dataRoot}/volumes/lab/_data {"a":"1","b":"2"} local local\n`);
  const cid = (await ok(['inspect', '-f', '{{.Id}}', 'vu'])).trim();
  const inUse = await d.docker(['volume', 'rm', 'lab']);
  assert.equal(inUse.code, 1);
  assert.equal(inUse.stderr.trim(), `Error response from daemon: remove lab: volume is in use - [${cid}]`);
  const missing = await d.docker(['volume', 'rm', 'nope']);
  assert.equal(missing.stderr.trim(), 'Error response from daemon: get nope: no such volume');
  await ok(['rm', '-f', 'vu']);
  await ok(['volume', 'rm', 'lab', 'plain']);
});

test('system info --format json, version --format, system df -v', async () => {
  await reset();
  const info = JSON.parse(await ok(['system', 'info', '--format', '{{json .}}']));
  assert.match(info.ServerVersion, /^\d+\.\d+\.\d+$/);
  assert.equal(info.Driver, 'overlay2');
  assert.ok(['cgroupfs', 'systemd'].includes(info.CgroupDriver));
  assert.ok(['1', '2'].includes(info.CgroupVersion));
  assert.equal(typeof info.OperatingSystem, 'string');
  assert.ok(info.NCPU >= 1 && info.MemTotal > 0);
  assert.equal(info.DockerRootDir, d.dataRoot);
  assert.ok(info.Runtimes[info.DefaultRuntime]?.path, JSON.stringify(info.Runtimes));
  assert.ok(info.SecurityOptions.includes('name=seccomp,profile=builtin'));
  assert.equal(typeof info.Name, 'string');
  // The engine ID is a UUID kept across restarts, as dockerd's.
  assert.match(info.ID, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(info.ServerErrors, undefined);
  assert.equal((await ok(['version', '--format', '{{.Server.Version}}'])).trim(), info.ServerVersion);

  await ok(['volume', 'create', 'dfv']);
  await ok(['run', '-d', '--name', 'dfc', '-v', 'dfv:/v', 'busybox', 'sleep', '300']);
  const df = await ok(['system', 'df', '-v']);
  // Containers are listed as ps lists them: human status, local volumes counted.
  assert.match(df, /\n[0-9a-f]{12}\s+busybox\s+"sleep 300"\s+1\s+0B\s+.+ ago\s+Up .+\s+dfc\n/);
  assert.match(df, /\ndfv\s+1\s+0B\n/);
  await ok(['rm', '-f', 'dfc']);
  await ok(['volume', 'rm', 'dfv']);
  await d.restart();
  assert.equal(JSON.parse(await ok(['info', '--format', '{{json .}}'])).ID, info.ID);
});
