// Unit tests: the Go-template engine, tabwriter alignment, sizes/durations, ports and ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Template, context, sprintf } from '../../src/cli/format/template.js';
import { tabwrite } from '../../src/cli/format/tabwriter.js';
import { humanSize, bytesSize, humanDuration, formatG, ramInBytes, parseGoDuration } from '../../src/cli/format/units.js';
import { displayablePorts, containerContext } from '../../src/cli/format/containers.js';
import { imageRows } from '../../src/cli/format/images.js';
import { ellipsis, truncateId } from '../../src/cli/format/ids.js';
import { renderList } from '../../src/cli/format/output.js';
import { CONTAINER_FORMAT } from '../../src/cli/format/containers.js';
import { cannedContainers, cannedImages } from './fixtures.js';

const run = (t: string, data: unknown) => new Template(t).execute(data);

test('template: fields, nested fields and missing keys print like Go', () => {
  const d = { State: { Status: 'running', Health: null }, Config: { Labels: { a: '1' } } };
  assert.equal(run('{{.State.Status}}', d), 'running');
  assert.equal(run('{{.State.Health}}', d), '<nil>');
  assert.equal(run('{{.Nope}}', d), '<no value>');
  assert.equal(run('{{.Config.Labels}}', d), 'map[a:1]');
  assert.equal(run('{{json .Config}}', d), '{"Labels":{"a":"1"}}');
});

test('template: range with variables, else, if/else if, with, $', () => {
  const d = { Names: ['a', 'b'], Empty: [], N: 2, M: { z: 1, a: 2 } };
  assert.equal(run('{{range $i, $n := .Names}}{{$i}}:{{$n}} {{end}}', d), '0:a 1:b ');
  assert.equal(run('{{range .Empty}}x{{else}}none{{end}}', d), 'none');
  assert.equal(run('{{range $k, $v := .M}}{{$k}}={{$v}};{{end}}', d), 'a=2;z=1;');
  assert.equal(run('{{if eq .N 1}}one{{else if eq .N 2}}two{{else}}many{{end}}', d), 'two');
  assert.equal(run('{{with .Names}}{{index . 1}}{{end}}{{range .Names}}{{$.N}}{{end}}', d), 'b22');
});

test('template: functions and pipelines of the docker CLI', () => {
  const d = { L: { 'com.x': 'v' }, S: 'a,b', Names: ['x', 'y'] };
  assert.equal(run('{{index .L "com.x"}}', d), 'v');
  assert.equal(run('{{join .Names ","}} {{split .S ","}} {{len .Names}}', d), 'x,y [a b] 2');
  assert.equal(run('{{upper "ab"}} {{lower "AB"}} {{title "hello world"}}', d), 'AB ab Hello World');
  assert.equal(run('{{.S | printf "%s!"}} {{printf "%-4s|%3d" "a" 7}}', d), 'a,b! a   |  7');
  assert.equal(run('{{println "a" 1}}', d), 'a 1\n');
  assert.equal(run('{{$x := .Names}}{{len $x}} {{(index .Names 0) | upper}}', d), '2 X');
  assert.equal(run('{{- "a" }}  {{- "b" -}}  c', d), 'abc');
  assert.equal(run('{{/* comment */}}ok', d), 'ok');
  assert.equal(run('{{json "<a&b>"}}', d), '"<a&b>"');
  assert.equal(run('{{json .}}', context({ X: () => '<' })), '{"X":"\\u003c"}');
  assert.throws(() => new Template('{{nosuch .X}}'), /function "nosuch" not defined/);
  assert.throws(() => new Template('{{if .X}}'), /unexpected EOF/);
});

test('template: context methods with arguments, json of a context', () => {
  const c = context({ ID: () => 'abc', Label: (k: string) => `L${k}` });
  assert.equal(run('{{.ID}} {{.Label "x"}}', c), 'abc Lx');
  assert.equal(run('{{json .}}', c), '{"ID":"abc"}');
  assert.equal(sprintf('%5.1f%%', [3.14159]), '  3.1%');
});

test('tabwriter: Go text/tabwriter columns (minwidth 10, padding 3), last cell unpadded', () => {
  assert.equal(tabwrite('A\tBB\tC\nxxxxxxxxxxxx\ty\tz\n'), 'A              BB        C\nxxxxxxxxxxxx   y         z\n');
  assert.equal(tabwrite('TITLE\nonly one cell\n'), 'TITLE\nonly one cell\n');
  assert.equal(tabwrite('é\tx\n'), 'é         x\n');
});

test('units: HumanSize, BytesSize, %g and durations like go-units', () => {
  assert.equal(humanSize(4261234), '4.26MB');
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(1000), '1kB');
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(187654321, 4), '187.7MB');
  assert.equal(bytesSize(2048000), '1.953MiB');
  assert.equal(formatG(999.5, 3), '1e+03');
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(3000), '3 seconds');
  assert.equal(humanDuration(90_000), 'About a minute');
  assert.equal(humanDuration(120_000), '2 minutes');
  assert.equal(humanDuration(3_600_000), 'About an hour');
  assert.equal(humanDuration(2 * 3_600_000), '2 hours');
  assert.equal(humanDuration(3 * 86_400_000), '3 days');
  assert.equal(ramInBytes('512m'), 536870912);
  assert.equal(parseGoDuration('1m30s'), 90_000);
  assert.throws(() => parseGoDuration('5x'), /unknown unit "x"/);
  assert.throws(() => parseGoDuration('5'), /missing unit/);
});

test('ports, ids and names as the ps columns show them', () => {
  const c = cannedContainers()[0]!;
  assert.equal(displayablePorts(c.Ports), '443/tcp, 127.0.0.1:9000-9001->9000-9001/udp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp');
  assert.equal(truncateId('sha256:' + 'ab'.repeat(32)), 'abababababab');
  assert.equal(ellipsis("sh -c 'echo hello; sleep 1000'", 20), "sh -c 'echo hello; …");
  const ctx = containerContext(cannedContainers()[1]! as never, true);
  assert.equal(ctx.Names(), 'db');
  assert.equal(ctx.Image(), 'cdcdcdcdcdcd');
  assert.equal(ctx.Command(), '"true"');
});

test('ps table: header and rows aligned like the docker CLI', () => {
  const now = Date.now();
  const rows = cannedContainers(Math.floor(now / 1000)).map((c) => containerContext(c as never, true, now));
  const lines = renderList(rows, '', false, CONTAINER_FORMAT).split('\n');
  assert.match(lines[0]!, /^CONTAINER ID   IMAGE          COMMAND                  CREATED              STATUS                          PORTS {3,}NAMES$/);
  const namesAt = lines[0]!.indexOf('NAMES');
  assert.equal(lines[1]!.indexOf('   web') + 3, namesAt);
  assert.equal(lines[2]!.lastIndexOf('db'), namesAt);
  assert.match(lines[1]!, /^3f4e8a1b2c9d   nginx:latest   "sh -c 'echo hello; …"   3 hours ago          Up 3 hours                      443\/tcp, /);
  assert.match(lines[2]!, /^9c8b7a6f5e4d   cdcdcdcdcdcd   "true"                   About a minute ago   Exited \(0\) About a minute ago {3,}db$/);
});

test('images: one row per tag, <none> for untagged, digests on request', () => {
  const [tagged, untagged] = cannedImages();
  assert.deepEqual(imageRows(tagged as never, false).map((r) => `${r.repo}:${r.tag}`), ['nginx:latest', 'nginx:1.25', 'localhost:5000/web:v1']);
  assert.equal(imageRows(tagged as never, true)[0]!.digest, 'sha256:' + '12'.repeat(32));
  assert.deepEqual(imageRows(untagged as never, false), [{ repo: '<none>', tag: '<none>', digest: '<none>' }]);
});
