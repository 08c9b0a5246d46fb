// Networking through the real docker CLI (v28) against berthd: the default
// bridge, published ports, none/host/container modes, user-defined networks
// where containers find each other by name, and no leftovers after rm or a
// kill -9 of the daemon. Traffic goes only to 127.0.0.1 and the test
// containers' own addresses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import http from 'node:http';
import Database from 'better-sqlite3';
import { startDaemon, importBusybox, destroyDaemon, type TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
let bridgeDev: string;

before(async () => {
  d = await startDaemon();
  bridgeDev = JSON.parse(readFileSync(join(d.dataRoot, '..', 'daemon.json'), 'utf8')).bridge;
  await importBusybox(d);
});

after(async () => {
  if (d) await destroyDaemon(d);
});

// ------------------------------------------------------------------ helpers

function execQuiet(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

async function ok(args: string[]): Promise<string> {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A private /24 that no route on the host uses (other daemons may be running here). */
function freeSubnet(): { subnet: string; prefix: string } {
  const routes = execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  for (;;) {
    const prefix = `10.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}`;
    if (!routes.includes(`${prefix}.`)) return { subnet: `${prefix}.0/24`, prefix };
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function httpGet(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function waitFor<T>(fn: () => Promise<T | undefined | false>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** busybox httpd serving `text` at / on port 80. */
const HTTPD = (text: string) => ['sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`];

const inspect = async (name: string, fmt: string) => (await ok(['inspect', '-f', fmt, name])).trim();
const inContainer = (name: string, script: string) => d.docker(['exec', name, 'sh', '-c', script]);

interface NftState { elements: string[]; bridges: string[] }
function nftState(): NftState {
  const out = JSON.parse(execFileSync('nft', ['-j', 'list', 'table', 'ip', bridgeDev], { encoding: 'utf8' })) as { nftables: any[] };
  const elements: string[] = [];
  let bridges: string[] = [];
  for (const o of out.nftables) {
    if (o.map) elements.push(...(o.map.elem ?? []).map((e: unknown) => JSON.stringify(e)));
    if (o.set?.name === 'bridges') bridges = (o.set.elem ?? []) as string[];
  }
  return { elements, bridges };
}

/** Everything a container leaves behind on the host while it runs, for this daemon. */
function leftovers(): { veths: string[]; netns: string[]; portMaps: string[]; leases: number; ports: number } {
  const ours = new Set([bridgeDev, ...nftState().bridges]);
  const links = JSON.parse(execFileSync('ip', ['-j', '-d', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string; master?: string; linkinfo?: { info_kind?: string } }[];
  const veths = links.filter((l) => l.linkinfo?.info_kind === 'veth' && l.master && ours.has(l.master)).map((l) => l.ifname);
  const nsDir = join(d.execRoot, 'netns');
  const netns = existsSync(nsDir) ? readdirSync(nsDir) : [];
  const db = new Database(join(d.dataRoot, 'berth.db'), { readonly: true, fileMustExist: true });
  try {
    const leases = (db.prepare("SELECT COUNT(*) AS n FROM network_endpoints WHERE ip != '' OR host_if != ''").get() as { n: number }).n;
    const ports = (db.prepare('SELECT COUNT(*) AS n FROM network_ports').get() as { n: number }).n;
    return { veths, netns, portMaps: nftState().elements, leases, ports };
  } finally {
    db.close();
  }
}

function assertClean(what: string): void {
  const l = leftovers();
  assert.deepEqual(l, { veths: [], netns: [], portMaps: [], leases: 0, ports: 0 }, `leftovers ${what}`);
}

// -------------------------------------------------------------------- tests

test('default bridge: eth0, default route, /etc files and inspect as Docker fills them', async () => {
  const id = (await ok(['run', '-d', '--name', 'plain', 'busybox', 'sleep', '300'])).trim();
  try {
    const short = id.slice(0, 12);
    const net = JSON.parse(await ok(['network', 'inspect', 'bridge']))[0];
    const { Subnet: subnet, Gateway: gateway } = net.IPAM.Config[0];
    const bits = Number(subnet.split('/')[1]);
    const ns = JSON.parse(await ok(['inspect', 'plain']))[0].NetworkSettings;

    // inspect: the top-level fields mirror the default bridge endpoint
    assert.equal(ns.Gateway, gateway);
    assert.equal(ns.IPPrefixLen, bits);
    assert.match(ns.IPAddress, /^\d+\.\d+\.\d+\.\d+$/);
    assert.ok(inSubnet(ns.IPAddress, subnet), `${ns.IPAddress} in ${subnet}`);
    assert.match(ns.MacAddress, /^02:42(:[0-9a-f]{2}){4}$/);
    assert.match(ns.EndpointID, /^[0-9a-f]{64}$/);
    assert.deepEqual(ns.Ports, {});
    assert.deepEqual(Object.keys(ns.Networks), ['bridge']);
    const ep = ns.Networks.bridge;
    assert.equal(ep.NetworkID, net.Id);
    assert.equal(ep.IPAddress, ns.IPAddress);
    assert.equal(ep.Gateway, gateway);
    assert.equal(ep.MacAddress, ns.MacAddress);
    assert.equal(ep.EndpointID, ns.EndpointID);
    assert.equal(ep.Aliases, null);
    assert.equal(ep.DNSNames, null);
    assert.equal(net.Containers[id].Name, 'plain');
    assert.equal(net.Containers[id].IPv4Address, `${ns.IPAddress}/${bits}`);

    // inside: eth0 with that address and MAC, a default route through the gateway
    const addr = await inContainer('plain', 'ip -o -4 addr show eth0; cat /sys/class/net/eth0/address; ip route; ls /sys/class/net');
    assert.equal(addr.code, 0, addr.stderr);
    assert.match(addr.stdout, new RegExp(`inet ${re(ns.IPAddress)}/${bits} `));
    assert.ok(addr.stdout.includes(`\n${ns.MacAddress}\n`));
    assert.match(addr.stdout, new RegExp(`^default via ${re(gateway)} dev eth0`, 'm'));
    assert.match(addr.stdout, /\neth0\nlo\n$/);

    const hosts = (await inContainer('plain', 'cat /etc/hosts')).stdout;
    assert.equal(hosts, [
      '127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet', 'ff00::0\tip6-mcastprefix',
      'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters', `${ns.IPAddress}\t${short}`, '',
    ].join('\n'));
    assert.equal((await inContainer('plain', 'cat /etc/hostname; hostname')).stdout, `${short}\n${short}\n`);
    assert.equal((await inContainer('plain', 'cat /etc/resolv.conf')).stdout, expectedLegacyResolvConf());

    // SandboxKey is the namespace itself: nsenter --net=<key> sees the container's eth0
    assert.ok(ns.SandboxKey, 'SandboxKey is set');
    assert.match(execFileSync('nsenter', [`--net=${ns.SandboxKey}`, 'ip', '-o', '-4', 'addr', 'show', 'eth0'], { encoding: 'utf8' }), new RegExp(`inet ${re(ns.IPAddress)}/`));
  } finally {
    await d.docker(['rm', '-f', 'plain']);
  }
});

test('-p 127.0.0.1:PORT:80 answers from the host; docker port, ps and inspect show it', async () => {
  const port = await freePort();
  await ok(['run', '-d', '--name', 'web', '-p', `127.0.0.1:${port}:80`, 'busybox', ...HTTPD('hello-from-web')]);
  try {
    const res = await waitFor(() => httpGet(port).catch(() => undefined), `http on 127.0.0.1:${port}`);
    assert.equal(res.status, 200);
    assert.equal(res.body, 'hello-from-web\n');
    assert.equal(await ok(['port', 'web']), `80/tcp -> 127.0.0.1:${port}\n`);
    assert.equal(await ok(['port', 'web', '80']), `127.0.0.1:${port}\n`);
    assert.equal(await ok(['ps', '--filter', 'name=web', '--format', '{{.Ports}}']), `127.0.0.1:${port}->80/tcp\n`);
    const table = await ok(['ps', '--filter', 'name=web']);
    assert.match(table, new RegExp(`\\s127\\.0\\.0\\.1:${port}->80/tcp\\s+web\\n$`));
    assert.deepEqual(JSON.parse(await inspect('web', '{{json .NetworkSettings.Ports}}')), { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] });
    assert.deepEqual(JSON.parse(await inspect('web', '{{json .HostConfig.PortBindings}}')), { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] });
    // the same port twice is refused with Docker's words, and the first container keeps it
    const dup = await d.docker(['run', '-d', '--name', 'web-dup', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sleep', '60']);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, new RegExp(`Bind for 127\\.0\\.0\\.1:${port} failed: port is already allocated`));
    assert.equal((await httpGet(port)).body, 'hello-from-web\n');
  } finally {
    await d.docker(['rm', '-f', 'web', 'web-dup']);
  }
  await assert.rejects(httpGet(port), 'nothing answers once the container is gone');
});

test('--expose 80 -P publishes an ephemeral port', async () => {
  await ok(['run', '-d', '--name', 'webp', '--expose', '80', '-P', 'busybox', ...HTTPD('published-all')]);
  try {
    const line = await ok(['port', 'webp', '80/tcp']);
    const m = /^0\.0\.0\.0:(\d+)\n/.exec(line);
    assert.ok(m, line);
    const port = Number(m[1]);
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    assert.ok(port >= lo! && port <= hi!, `${port} in the ephemeral range`);
    const res = await waitFor(() => httpGet(port).catch(() => undefined), `http on ${port}`);
    assert.equal(res.body, 'published-all\n');
    assert.equal(await ok(['ps', '--filter', 'name=webp', '--format', '{{.Ports}}']), `0.0.0.0:${port}->80/tcp\n`);
    assert.deepEqual(JSON.parse(await inspect('webp', '{{json .Config.ExposedPorts}}')), { '80/tcp': {} });
  } finally {
    await d.docker(['rm', '-f', 'webp']);
  }
});

test('--network none has only lo; --network host shares the host\'s links and name', async () => {
  const none = await d.docker(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ls /sys/class/net; ip route']);
  assert.equal(none.code, 0, none.stderr);
  assert.equal(none.stdout, 'lo\n');

  await ok(['run', '-d', '--name', 'nonet', '--network', 'none', 'busybox', 'sleep', '300']);
  try {
    const ns = JSON.parse(await inspect('nonet', '{{json .NetworkSettings}}'));
    assert.deepEqual(Object.keys(ns.Networks), ['none']);
    assert.equal(ns.Networks.none.NetworkID, (await ok(['network', 'inspect', '-f', '{{.Id}}', 'none'])).trim());
    assert.equal(ns.IPAddress, '');
    assert.match(await ok(['network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{end}}', 'none']), /^nonet \n$/);
    assert.match(execFileSync('nsenter', [`--net=${ns.SandboxKey}`, 'ip', '-o', 'link'], { encoding: 'utf8' }), /^1: lo: [^\n]*\n$/);
  } finally {
    await d.docker(['rm', '-f', 'nonet']);
  }

  // (other daemons on this host add and remove links meanwhile: compare with the host before and after)
  const hostBefore = readdirSync('/sys/class/net');
  const host = await d.docker(['run', '--rm', '--network', 'host', 'busybox', 'sh', '-c', 'hostname; ls /sys/class/net']);
  const hostAfter = readdirSync('/sys/class/net');
  assert.equal(host.code, 0, host.stderr);
  const [name, ...links] = host.stdout.trim().split('\n');
  assert.equal(name, hostname());
  assert.ok(links.includes(bridgeDev), `the host's ${bridgeDev} is visible`);
  for (const l of hostBefore.filter((x) => hostAfter.includes(x))) assert.ok(links.includes(l), `host link ${l} is visible`);
  for (const l of links) assert.ok(hostBefore.includes(l) || hostAfter.includes(l), `${l} is a host link`);
  // published ports mean nothing in host mode; the docker CLI warns and berthd ignores them
  const hp = await d.docker(['run', '--rm', '--network', 'host', '-p', '127.0.0.1:1:80', 'busybox', 'true']);
  assert.equal(hp.code, 0, hp.stderr);
});

test('--network container:<name> shares the other container\'s namespace', async () => {
  await ok(['run', '-d', '--name', 'owner', 'busybox', ...HTTPD('shared-ns')]);
  try {
    const ip = await inspect('owner', '{{.NetworkSettings.IPAddress}}');
    const r = await d.docker(['run', '--rm', '--network', 'container:owner', 'busybox', 'sh', '-c',
      'ip -o -4 addr show eth0; for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://127.0.0.1/ && exit 0; sleep 0.2; done; exit 1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`inet ${re(ip)}/`));
    assert.match(r.stdout, /shared-ns\n$/);
    const joined = (await ok(['create', '--network', 'container:owner', 'busybox', 'true'])).trim();
    assert.equal(await inspect(joined, '{{.HostConfig.NetworkMode}}'), 'container:owner');
    await ok(['rm', joined]);
    const bad = await d.docker(['run', '--rm', '--network', 'container:no-such-ctr', 'busybox', 'true']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /No such container: no-such-ctr/);
  } finally {
    await d.docker(['rm', '-f', 'owner']);
  }
});

test('user network: containers reach each other by name, alias and short id', async () => {
  const { subnet, prefix } = freeSubnet();
  const netId = (await ok(['network', 'create', '--subnet', subnet, 'net1'])).trim();
  assert.match(netId, /^[0-9a-f]{64}$/);
  try {
    const webId = (await ok(['run', '-d', '--name', 'web1', '--network', 'net1', '--network-alias', 'webalias', 'busybox', ...HTTPD('user-net-web')])).trim();
    await ok(['run', '-d', '--name', 'client1', '--network', 'net1', 'busybox', 'sleep', '300']);
    const short = webId.slice(0, 12);
    const ep = JSON.parse(await inspect('web1', '{{json .NetworkSettings.Networks}}')).net1;
    assert.ok(ep.IPAddress.startsWith(`${prefix}.`), ep.IPAddress);
    assert.equal(ep.Gateway, `${prefix}.1`);
    assert.equal(ep.NetworkID, netId);
    assert.deepEqual(ep.Aliases, ['webalias']);
    assert.deepEqual(ep.DNSNames, ['web1', 'webalias', short]);
    // the top-level fields belong to the default bridge only
    assert.equal(await inspect('web1', '{{.NetworkSettings.IPAddress}}'), '');

    for (const name of ['web1', 'webalias', short]) {
      const r = await inContainer('client1', `for i in $(seq 1 30); do wget -qO- http://${name}/ && exit 0; sleep 0.2; done; exit 1`);
      assert.equal(r.code, 0, `wget http://${name}/: ${r.stderr}`);
      assert.equal(r.stdout, 'user-net-web\n');
      const ns = await inContainer('client1', `nslookup ${name}`);
      assert.match(ns.stdout, new RegExp(`Address:\\s+${re(ep.IPAddress)}\\b`));
    }
    const missing = await inContainer('client1', 'nslookup no-such-peer');
    assert.notEqual(missing.code, 0);
    // the container's resolver is the network's DNS server
    const resolv = (await inContainer('client1', 'cat /etc/resolv.conf')).stdout;
    assert.match(resolv, new RegExp(`\\n\\nnameserver ${re(`${prefix}.1`)}\\noptions ndots:0\\n\\n# Based on host file: '/etc/resolv.conf' \\(internal resolver\\)\\n`));
    // a container on the default bridge cannot reach it: networks are isolated
    const outsider = await d.docker(['run', '--rm', 'busybox', 'wget', '-T', '2', '-qO-', `http://${ep.IPAddress}/`]);
    assert.notEqual(outsider.code, 0);
  } finally {
    await d.docker(['rm', '-f', 'web1', 'client1']);
    await d.docker(['network', 'rm', 'net1']);
  }
});

test('--internal network: peers reach each other, nothing reaches out', async () => {
  const { subnet } = freeSubnet();
  await ok(['network', 'create', '--internal', '--subnet', subnet, 'inside']);
  await ok(['run', '-d', '--name', 'outer', 'busybox', ...HTTPD('outer')]);
  try {
    assert.equal(await ok(['network', 'inspect', '-f', '{{.Internal}}', 'inside']), 'true\n');
    await ok(['run', '-d', '--name', 'in1', '--network', 'inside', 'busybox', ...HTTPD('in1')]);
    const outerIp = await inspect('outer', '{{.NetworkSettings.IPAddress}}');
    const r = await d.docker(['run', '--rm', '--network', 'inside', 'busybox', 'sh', '-c',
      `ip route; for i in $(seq 1 30); do wget -qO- http://in1/ && break; sleep 0.2; done; wget -T 2 -qO- http://${outerIp}/ && echo LEAKED; true`]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /^default/m, 'no default route');
    assert.match(r.stdout, /^in1\n/m);
    assert.doesNotMatch(r.stdout, /LEAKED|outer/);
  } finally {
    await d.docker(['rm', '-f', 'outer', 'in1']);
    await d.docker(['network', 'rm', 'inside']);
  }
});

test('network connect and disconnect of a running container', async () => {
  const { subnet, prefix } = freeSubnet();
  const netId = (await ok(['network', 'create', '--subnet', subnet, 'net2'])).trim();
  // The gateway's MAC must not follow the ports that come and go, or containers' ARP caches go stale.
  const bridgeMac = () => readFileSync(`/sys/class/net/br-${netId.slice(0, 12)}/address`, 'utf8');
  const mac = bridgeMac();
  await ok(['run', '-d', '--name', 'peer', '--network', 'net2', 'busybox', 'sleep', '300']);
  await ok(['run', '-d', '--name', 'roam', 'busybox', ...HTTPD('roaming')]);
  try {
    assert.equal((await inContainer('roam', 'ls /sys/class/net')).stdout, 'eth0\nlo\n');
    await ok(['network', 'connect', '--alias', 'roamer', 'net2', 'roam']);
    const ip = await inspect('roam', '{{(index .NetworkSettings.Networks "net2").IPAddress}}');
    assert.ok(ip.startsWith(`${prefix}.`), ip);
    const eth1 = await inContainer('roam', 'ip -o -4 addr show eth1');
    assert.match(eth1.stdout, new RegExp(`inet ${re(ip)}/24 `));
    for (const name of ['roam', 'roamer']) {
      const w = await inContainer('peer', `for i in $(seq 1 30); do wget -qO- http://${name}/ && exit 0; sleep 0.2; done; exit 1`);
      assert.equal(w.stdout, 'roaming\n', `${name}: ${w.stderr}`);
    }
    assert.match(await ok(['network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{end}}', 'net2']), /\broam\b/);
    // As Docker: the container now resolves through the user network's DNS and lists the new address.
    const files = await inContainer('roam', 'grep ^nameserver /etc/resolv.conf; cat /etc/hosts; nslookup peer');
    assert.match(files.stdout, new RegExp(`^nameserver ${re(`${prefix}.1`)}\n`));
    assert.match(files.stdout, new RegExp(`\n${re(ip)}\t`));
    assert.equal(files.code, 0, `peer resolves by name: ${files.stdout}${files.stderr}`);
    const again = await d.docker(['network', 'connect', 'net2', 'roam']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /endpoint with name roam already exists in network net2/);

    await ok(['network', 'disconnect', 'net2', 'roam']);
    // One event per connect and disconnect, naming the network by id and name, as dockerd's.
    const roamId = await inspect('roam', '{{.Id}}');
    const ev = await ok(['events', '--since', String(Math.floor(Date.now() / 1000) - 60), '--until', String(Math.floor(Date.now() / 1000) + 1),
      '--filter', 'type=network', '--filter', `network=${netId}`, '--format', '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}} {{.Actor.Attributes.container}}']);
    assert.deepEqual(ev.split('\n').filter((l) => l.endsWith(roamId)), [`connect ${netId} net2 ${roamId}`, `disconnect ${netId} net2 ${roamId}`]);
    assert.equal((await inContainer('roam', 'ls /sys/class/net')).stdout, 'eth0\nlo\n');
    assert.deepEqual(Object.keys(JSON.parse(await inspect('roam', '{{json .NetworkSettings.Networks}}'))), ['bridge']);
    assert.notEqual((await inContainer('peer', 'nslookup roam')).code, 0, 'the name is gone with the endpoint');
    assert.doesNotMatch((await inContainer('roam', 'cat /etc/resolv.conf /etc/hosts')).stdout, new RegExp(re(`${prefix}.`)));
    assert.doesNotMatch(await ok(['network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{end}}', 'net2']), /\broam\b/);
    const notOn = await d.docker(['network', 'disconnect', 'net2', 'roam']);
    assert.notEqual(notOn.code, 0);
    await ok(['run', '--rm', '--network', 'net2', 'busybox', 'true']);
    assert.equal(bridgeMac(), mac);
  } finally {
    await d.docker(['rm', '-f', 'peer', 'roam']);
    await d.docker(['network', 'rm', 'net2']);
  }
});

test('network ls, inspect, rm and prune say what Docker says', async () => {
  const { subnet, prefix } = freeSubnet();
  const id = (await ok(['network', 'create', '--subnet', subnet, '--gateway', `${prefix}.254`, '--label', 'team=berth', 'lsnet'])).trim();
  await ok(['network', 'create', '--subnet', freeSubnet().subnet, 'prunable']);
  try {
    const ls = await ok(['network', 'ls']);
    assert.match(ls, /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE\n/);
    assert.match(ls, new RegExp(`^${id.slice(0, 12)}\\s+lsnet\\s+bridge\\s+local$`, 'm'));
    for (const [name, driver] of [['bridge', 'bridge'], ['host', 'host'], ['none', 'null']]) {
      assert.match(ls, new RegExp(`^[0-9a-f]{12}\\s+${name}\\s+${driver}\\s+local$`, 'm'));
    }
    assert.equal(await ok(['network', 'ls', '--filter', 'label=team=berth', '--format', '{{.Name}}']), 'lsnet\n');
    assert.equal(await ok(['network', 'ls', '-q', '--filter', 'name=lsnet', '--no-trunc']), `${id}\n`);
    const net = JSON.parse(await ok(['network', 'inspect', 'lsnet']))[0];
    assert.equal(net.Name, 'lsnet');
    assert.equal(net.Id, id);
    assert.equal(net.Driver, 'bridge');
    assert.equal(net.Scope, 'local');
    assert.deepEqual(net.IPAM.Config, [{ Subnet: subnet, Gateway: `${prefix}.254` }]);
    assert.deepEqual(net.Labels, { team: 'berth' });
    assert.equal(net.Internal, false);

    await ok(['run', '-d', '--name', 'user', '--network', 'lsnet', 'busybox', 'sleep', '300']);
    assert.equal(await inspect('user', '{{(index .NetworkSettings.Networks "lsnet").Gateway}}'), `${prefix}.254`);
    const busy = await d.docker(['network', 'rm', 'lsnet']);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /error while removing network: network lsnet has active endpoints \(name:"user" id:"[0-9a-f]{12}"\)/);
    const dupe = await d.docker(['network', 'create', 'lsnet']);
    assert.notEqual(dupe.code, 0);
    assert.match(dupe.stderr, /network with name lsnet already exists/);
    const overlap = await d.docker(['network', 'create', '--subnet', subnet, 'overlapping']);
    assert.notEqual(overlap.code, 0);
    assert.match(overlap.stderr, /Pool overlaps with other one on this address space/);

    const pruned = await d.docker(['network', 'prune', '-f']);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.equal(pruned.stdout, 'Deleted Networks:\nprunable\n\n');
    await ok(['rm', '-f', 'user']);
    assert.equal(await ok(['network', 'rm', 'lsnet']), 'lsnet\n');
    const gone = await d.docker(['network', 'inspect', 'lsnet']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /network lsnet not found/);
    assert.equal(existsSync(`/sys/class/net/br-${id.slice(0, 12)}`), false, 'the bridge device went with the network');
    const builtin = await d.docker(['network', 'rm', 'bridge']);
    assert.notEqual(builtin.code, 0);
    assert.match(builtin.stderr, /bridge is a pre-defined network and cannot be removed/);
  } finally {
    await d.docker(['rm', '-f', 'user']);
    await d.docker(['network', 'rm', 'lsnet', 'prunable']);
  }
});

test('--ip, --add-host (with host-gateway), --dns, --dns-search, --hostname, --domainname', async () => {
  const { subnet, prefix } = freeSubnet();
  await ok(['network', 'create', '--subnet', subnet, 'ipnet']);
  try {
    const r = await d.docker(['run', '--rm', '--network', 'ipnet', '--ip', `${prefix}.77`, '--hostname', 'box', '--add-host', 'x:1.2.3.4',
      '--add-host', 'gw:host-gateway', 'busybox', 'sh', '-c', 'ip -o -4 addr show eth0; cat /etc/hosts; hostname']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`inet ${re(prefix)}\\.77/24 `));
    const bridgeGw = (await ok(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', 'bridge'])).trim();
    assert.ok(r.stdout.includes(`ff02::2\tip6-allrouters\n1.2.3.4\tx\n${bridgeGw}\tgw\n${prefix}.77\tbox\nbox\n`), r.stdout);

    await ok(['run', '-d', '--name', 'fixed', '--network', 'ipnet', '--ip', `${prefix}.78`, 'busybox', 'sleep', '300']);
    assert.deepEqual(JSON.parse(await inspect('fixed', '{{json (index .NetworkSettings.Networks "ipnet").IPAMConfig}}')), { IPv4Address: `${prefix}.78` });
    const taken = await d.docker(['run', '--rm', '--network', 'ipnet', '--ip', `${prefix}.78`, 'busybox', 'true']);
    assert.notEqual(taken.code, 0);
    assert.match(taken.stderr, new RegExp(`Address already in use: ${re(prefix)}\\.78`));
    const onDefault = await d.docker(['run', '--rm', '--ip', '172.17.9.9', 'busybox', 'true']);
    assert.notEqual(onDefault.code, 0);
    assert.match(onDefault.stderr, /user specified IP address is supported on user defined networks only/);
  } finally {
    await d.docker(['rm', '-f', 'fixed']);
    await d.docker(['network', 'rm', 'ipnet']);
  }

  const dns = await d.docker(['run', '--rm', '--dns', '10.11.12.13', '--dns-search', 'example.com', '--dns-option', 'timeout:2',
    '--hostname', 'web', '--domainname', 'example.org', 'busybox', 'sh', '-c', 'cat /etc/resolv.conf; tail -1 /etc/hosts; hostname']);
  assert.equal(dns.code, 0, dns.stderr);
  const [resolv, rest] = splitOnce(dns.stdout, '# Overrides: [nameservers search options]\n');
  assert.equal(resolv, `${RESOLV_HEADER}nameserver 10.11.12.13\nsearch example.com\noptions timeout:2\n\n# Based on host file: '/etc/resolv.conf' (legacy)\n`);
  assert.match(rest!, /^\d+\.\d+\.\d+\.\d+\tweb\.example\.org web\nweb\n$/);
});

test('--dns on a user network: the network DNS server forwards other names there', async () => {
  const { subnet, prefix } = freeSubnet();
  await ok(['network', 'create', '--subnet', subnet, 'dnsnet']);
  let server: ChildProcess | undefined;
  try {
    // The upstream server the client names with --dns: a tiny DNS server run in a test container's netns
    // (busybox here has no dnsd), answering outside.example with 10.99.99.99.
    await ok(['run', '-d', '--name', 'upstream', '--network', 'dnsnet', '--ip', `${prefix}.53`, 'busybox', 'sleep', '300']);
    const pid = await inspect('upstream', '{{.State.Pid}}');
    server = spawn('nsenter', [`--net=/proc/${pid}/ns/net`, process.execPath, '-e', DNS_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      server!.stdout!.once('data', () => resolve());
      server!.once('exit', (code) => reject(new Error(`dns server exited: ${code}`)));
    });
    await ok(['run', '-d', '--name', 'asker', '--network', 'dnsnet', '--dns', `${prefix}.53`, 'busybox', 'sleep', '300']);
    const resolv = (await inContainer('asker', 'cat /etc/resolv.conf')).stdout;
    assert.match(resolv, new RegExp(`\\nnameserver ${re(prefix)}\\.1\\n[^]*# ExtServers: \\[${re(prefix)}\\.53\\]\\n# Overrides: \\[nameservers\\]\\n`));
    const r = await inContainer('asker', 'for i in $(seq 1 20); do nslookup outside.example && exit 0; sleep 0.2; done; exit 1');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Address:\s+10\.99\.99\.99/);
    // container names still come from the network's own records
    assert.match((await inContainer('asker', 'nslookup upstream')).stdout, new RegExp(`Address:\\s+${re(prefix)}\\.53`));
  } finally {
    server?.kill();
    await d.docker(['rm', '-f', 'upstream', 'asker']);
    await d.docker(['network', 'rm', 'dnsnet']);
  }
});

/** A DNS server on UDP 53: outside.example has the A record 10.99.99.99 (and no other); other names do not exist. */
const DNS_SERVER = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (q, rinfo) => {
  let i = 12; const labels = [];
  while (q[i]) { labels.push(q.subarray(i + 1, i + 1 + q[i]).toString()); i += q[i] + 1; }
  const qEnd = i + 5;
  const known = labels.join('.').toLowerCase() === 'outside.example';
  const hit = known && q.readUInt16BE(i + 1) === 1;
  const head = Buffer.from(q.subarray(0, 12));
  head.writeUInt16BE(0x8180 | (known ? 0 : 3), 2); head.writeUInt16BE(1, 4); head.writeUInt16BE(hit ? 1 : 0, 6);
  head.writeUInt32BE(0, 8);
  const answer = hit ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 99, 99, 99]) : Buffer.alloc(0);
  s.send(Buffer.concat([head, q.subarray(12, qEnd), answer]), rinfo.port, rinfo.address);
});
s.bind(53, '0.0.0.0', () => process.stdout.write('ready\\n'));
`;

test('nothing leaks: after rm, and after kill -9 of berthd plus a restart', async () => {
  const { subnet } = freeSubnet();
  const netId = (await ok(['network', 'create', '--subnet', subnet, 'leaknet'])).trim();
  const port = await freePort();
  await ok(['run', '-d', '--name', 'l1', '--network', 'leaknet', '-p', `127.0.0.1:${port}:80`, 'busybox', ...HTTPD('l1')]);
  await ok(['run', '-d', '--name', 'l2', '-P', '--expose', '81', 'busybox', 'sleep', '300']);
  await ok(['rm', '-f', 'l1', 'l2']);
  assertClean('after rm -f of running containers');

  // Containers outlive a kill -9 of the daemon; one of them exits while it is down.
  await ok(['run', '-d', '--name', 'k1', '--network', 'leaknet', '-p', `127.0.0.1:${port}:80`, 'busybox', ...HTTPD('k1')]);
  await ok(['run', '-d', '--name', 'k2', '--expose', '80', '-P', 'busybox', 'sh', '-c', 'sleep 2']);
  await ok(['run', '-d', '--name', 'k3', '--rm', '--network', 'leaknet', 'busybox', 'sh', '-c', 'sleep 2']);
  await ok(['run', '-d', '--name', 'k4', 'busybox', 'sleep', '300']);
  const before = leftovers();
  assert.equal(before.netns.length, 4);
  assert.equal(before.veths.length, 4);
  await d.stop('SIGKILL');
  await new Promise((r) => setTimeout(r, 3000));
  await d.restart();

  const ps = await ok(['ps', '-a', '--format', '{{.Names}} {{.State}}']);
  assert.deepEqual(ps.trim().split('\n').sort(), ['k1 running', 'k2 exited', 'k4 running']);
  // the survivor still serves its port and its name
  assert.equal((await waitFor(() => httpGet(port).catch(() => undefined), 'k1 after restart')).body, 'k1\n');
  const after = leftovers();
  assert.equal(after.netns.length, 2, 'the exited containers lost their netns');
  assert.equal(after.veths.length, 2);
  assert.equal(after.leases, 2);

  await ok(['rm', '-f', 'k1', 'k2', 'k4']);
  assertClean('after kill -9, restart and rm');
  await ok(['network', 'rm', 'leaknet']);
  assert.equal(existsSync(`/sys/class/net/br-${netId.slice(0, 12)}`), false);
  assert.deepEqual(nftState().bridges, [bridgeDev]);
  assert.deepEqual(readdirSync(join(d.execRoot, 'aardvark-dns')).filter((f) => !f.startsWith('.')), [], 'no DNS records, no aardvark-dns');
});

// ------------------------------------------------------------------ details

const RESOLV_HEADER = '# Generated by Docker Engine.\n# This file can be edited; Docker Engine will not make further changes once it\n# has been modified.\n\n';

/** What Docker writes on the default bridge for this host's /etc/resolv.conf. */
function expectedLegacyResolvConf(): string {
  const host = readFileSync('/etc/resolv.conf', 'utf8');
  const servers: string[] = [];
  let search: string[] = [];
  const options: string[] = [];
  for (const raw of host.split('\n')) {
    const [k, ...v] = raw.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (k === 'nameserver' && v[0] && !v[0].startsWith('127.') && !v[0].includes(':')) servers.push(v[0]);
    if (k === 'search' || k === 'domain') search = v;
    if (k === 'options') options.push(...v);
  }
  const lines = servers.length ? servers.map((s) => `nameserver ${s}`) : ['nameserver 8.8.8.8', 'nameserver 8.8.4.4'];
  if (search.length) lines.push(`search ${search.join(' ')}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  lines.push('', "# Based on host file: '/etc/resolv.conf' (legacy)");
  if (!servers.length) lines.push('# Used default nameservers.');
  lines.push('# Overrides: []');
  if (options.some((o) => o.startsWith('ndots:'))) lines.push('# Option ndots from: host');
  return RESOLV_HEADER + lines.join('\n') + '\n';
}

function inSubnet(ip: string, subnet: string): boolean {
  const toN = (s: string) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
  const [base, bits] = subnet.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toN(ip) / size) === Math.floor(toN(base!) / size);
}

const re = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + sep.length)];
}
