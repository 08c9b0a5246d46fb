// Network plumbing against the real kernel: netns, veths, bridges, the nft
// table and aardvark-dns. Busybox processes run directly in the namespaces
// (nsenter), standing in for containers. Traffic goes only to 127.0.0.1 and
// to the test namespaces' own addresses. Every test cleans up what it made;
// after() checks nothing is left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { NetworkManager, containerPlumbing } from '../../src/network/index.js';
import { openDb, silentLogger, errorKind, newId, type DB } from '../../src/util/index.js';

const BB = '/bin/busybox';
const tag = randomBytes(3).toString('hex');
const bridgeName = `bt${tag}`;
const table = `berth_t${tag}`;
// A private pool so a berthd running on this host keeps its own subnets.
const poolOctet = 200 + (randomBytes(1)[0]! % 50);
const pools = [{ base: `10.${poolOctet}.0.0/16`, size: 24 }];

let root: string;
let db: DB;
let nm: NetworkManager;
let www: string;
const children = new Set<ChildProcess>();

function manager(): NetworkManager {
  return new NetworkManager({
    db, execRoot: join(root, 'run'), dataRoot: join(root, 'data'), log: silentLogger,
    config: { bridgeName, nftTable: table, defaultAddressPools: pools },
  });
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'berth-net-'));
  mkdirSync(join(root, 'data'));
  db = openDb(join(root, 'data', 'berth.db'));
  www = join(root, 'www');
  mkdirSync(www);
  writeFileSync(join(www, 'index.html'), 'hello from the container\n');
  nm = manager();
  await nm.init();
});

after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await nm.reconcile([], { known: [] });
  for (const n of nm.list({ type: ['custom'] })) await nm.remove(n.Id);
  const leftover = vethsOn(bridgeName);
  spawnSync('nft', ['delete', 'table', 'ip', table]);
  spawnSync('ip', ['link', 'del', bridgeName]);
  const aardvark = readOr(join(root, 'run', 'aardvark-dns', 'aardvark.pid'));
  nm.close();
  db.close();
  rmSync(root, { recursive: true, force: true });
  // Nothing of ours may be left behind.
  assert.equal(aardvark, undefined, 'aardvark-dns still configured');
  assert.deepEqual(leftover, []);
});

function readOr(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

function inNs(netns: string, args: string[], timeoutMs = 5000): { code: number; out: string } {
  const r = spawnSync('nsenter', [`--net=${netns}`, ...args], { timeout: timeoutMs });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** Start busybox httpd inside a netns; resolves once it accepts connections. */
async function httpd(netns: string, port = 80): Promise<ChildProcess> {
  const child = spawn('nsenter', [`--net=${netns}`, BB, 'httpd', '-f', '-p', String(port), '-h', www], { stdio: 'ignore' });
  children.add(child);
  for (let i = 0; i < 50; i++) {
    if (inNs(netns, [BB, 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${port}/`]).code === 0) return child;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('httpd did not start');
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const done = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await done;
  }
  children.delete(child);
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.setTimeout(3000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
  });
}

function ipOf(netns: string, ifname: string): string | undefined {
  const out = inNs(netns, ['ip', '-j', '-4', 'addr', 'show', 'dev', ifname]).out;
  try {
    return (JSON.parse(out) as { addr_info: { local: string; prefixlen: number }[] }[])[0]?.addr_info.map((a) => `${a.local}/${a.prefixlen}`)[0];
  } catch {
    return undefined;
  }
}

const nftTable = (): string => execFileSync('nft', ['list', 'table', 'ip', table]).toString();
/** The published-port elements in berth's nft maps. */
const nftPorts = (): string =>
  ['ports_any', 'ports_ip'].map((m) => execFileSync('nft', ['list', 'map', 'ip', table, m]).toString()).filter((t) => /elements/.test(t)).join('');
const vethsOn = (br: string): string[] =>
  (JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'master', br]).toString() || '[]') as { ifname: string }[]).map((l) => l.ifname);
const netnsFiles = (): string[] => readdirSync(join(root, 'run', 'netns'));

function kindOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return `${errorKind(err)}: ${(err as Error).message}`;
  }
  return undefined;
}

async function kindOfAsync(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return `${errorKind(err)}: ${(err as Error).message}`;
  }
  return undefined;
}

test('predefined networks, create/inspect/list/remove and Docker errors', async () => {
  const names = nm.list().map((n) => n.Name);
  for (const n of ['bridge', 'host', 'none']) assert.ok(names.includes(n), `${n} listed`);
  const br = nm.inspect('bridge');
  assert.equal(br.Driver, 'bridge');
  assert.equal(br.Scope, 'local');
  assert.equal(br.Options['com.docker.network.bridge.name'], bridgeName);
  assert.match(br.IPAM.Config[0]!.Subnet!, new RegExp(`^10\\.${poolOctet}\\.\\d+\\.0/24$`));
  assert.equal(nm.inspect('none').Driver, 'null');
  // the default bridge's gateway is on the host bridge
  assert.match(execFileSync('ip', ['-4', 'addr', 'show', 'dev', bridgeName]).toString(), new RegExp(`inet ${br.IPAM.Config[0]!.Gateway}/24`));

  const { Id, Warning } = await nm.create({ Name: `t1-${tag}`, Labels: { team: 'a' }, Options: {} });
  assert.equal(Warning, '');
  const t1 = nm.inspect(`t1-${tag}`);
  assert.equal(t1.Id, Id);
  assert.equal(nm.inspect(Id.slice(0, 10)).Name, `t1-${tag}`);
  assert.notEqual(t1.IPAM.Config[0]!.Subnet, br.IPAM.Config[0]!.Subnet);
  assert.deepEqual(t1.Labels, { team: 'a' });

  assert.equal(await kindOfAsync(nm.create({ Name: `t1-${tag}` })), `Conflict: network with name t1-${tag} already exists`);
  assert.equal(
    await kindOfAsync(nm.create({ Name: `t2-${tag}`, IPAM: { Config: [{ Subnet: t1.IPAM.Config[0]!.Subnet }] } })),
    'Forbidden: invalid pool request: Pool overlaps with other one on this address space',
  );
  assert.equal(await kindOfAsync(nm.remove('bridge')), 'Forbidden: bridge is a pre-defined network and cannot be removed');
  assert.equal(kindOf(() => nm.inspect('nope')), 'NotFound: network nope not found');
  assert.equal(await kindOfAsync(nm.create({ Name: `t3-${tag}`, Driver: 'overlay' })), 'NotImplemented: network driver "overlay" is not supported by berth');
  assert.match((await nm.create({ Name: `t4-${tag}`, EnableIPv6: true })).Warning, /IPv6/);

  assert.deepEqual(nm.list({ type: ['custom'], label: ['team=a'] }).map((n) => n.Name), [`t1-${tag}`]);
  assert.deepEqual(nm.list({ type: ['builtin'] }).map((n) => n.Name).sort(), ['bridge', 'host', 'none']);
  assert.deepEqual(nm.list({ name: [`t4-${tag}`] }).map((n) => n.Name), [`t4-${tag}`]);

  const t1Bridge = `br-${Id.slice(0, 12)}`;
  assert.ok(existsSync(`/sys/class/net/${t1Bridge}`), 'bridge device created');
  const pruned = await nm.prune({ label: ['team=a'] });
  assert.deepEqual(pruned.NetworksDeleted, [`t1-${tag}`]);
  assert.ok(!existsSync(`/sys/class/net/${t1Bridge}`), 'bridge device removed');
  await nm.remove(`t4-${tag}`);
  assert.equal(nm.list({ type: ['custom'] }).length, 0);
});

test('default bridge: addresses, published ports on 127.0.0.1 and between containers, clean teardown', async () => {
  const a = newId();
  const b = newId();
  await nm.connect(a, 'bridge', { containerName: '/web' });
  await nm.publish(a, [{ containerPort: 80, proto: 'tcp', hostPort: '' }]);
  const { netnsPath: nsA } = await nm.prepare(a, { mode: 'bridge' });
  const { netnsPath: nsB } = await nm.prepare(b, { mode: 'bridge', containerName: 'client' });
  assert.ok(nsA && nsB);
  try {
    const epA = nm.endpoints(a).bridge!;
    const epB = nm.endpoints(b).bridge!;
    assert.ok(epA.IPAddress && epB.IPAddress);
    assert.notEqual(epA.IPAddress, epB.IPAddress, 'two containers never share an IP');
    assert.equal(ipOf(nsA, 'eth0'), `${epA.IPAddress}/${epA.IPPrefixLen}`);
    assert.equal(ipOf(nsB, 'eth0'), `${epB.IPAddress}/${epB.IPPrefixLen}`);
    assert.equal(epA.Gateway, nm.inspect('bridge').IPAM.Config[0]!.Gateway);
    assert.equal(nm.inspect('bridge').Containers[a]!.IPv4Address, `${epA.IPAddress}/24`);
    assert.equal(nm.inspect('bridge').Containers[a]!.Name, 'web');

    const ports = nm.portMap(a)['80/tcp']!;
    assert.equal(ports[0]!.HostIp, '0.0.0.0');
    const hostPort = Number(ports[0]!.HostPort);
    assert.ok(hostPort >= 1024, `ephemeral port ${hostPort}`);

    const web = await httpd(nsA);
    assert.equal(await get(`http://127.0.0.1:${hostPort}/`), 'hello from the container\n');
    // another container reaches it through the gateway address and directly
    const viaGw = inNs(nsB, [BB, 'wget', '-q', '-O', '-', `http://${epB.Gateway}:${hostPort}/`]);
    assert.equal(viaGw.out, 'hello from the container\n');
    assert.equal(inNs(nsB, [BB, 'ping', '-c1', '-W2', epA.IPAddress]).code, 0);

    // the same host port cannot be given twice
    const c = newId();
    await nm.connect(c, 'bridge', { containerName: 'c' });
    await nm.publish(c, [{ containerPort: 80, proto: 'tcp', hostPort: String(hostPort) }]);
    assert.equal(
      await kindOfAsync(nm.prepare(c, { mode: 'bridge' })),
      `Conflict: Bind for 0.0.0.0:${hostPort} failed: port is already allocated`,
    );
    assert.ok(!netnsFiles().includes(c), 'a failed prepare leaves no netns');
    await nm.release(c);
    await stop(web);
  } finally {
    await nm.teardown(a);
    await nm.teardown(b);
  }
  assert.deepEqual(netnsFiles(), []);
  assert.deepEqual(vethsOn(bridgeName), []);
  assert.equal(nftPorts(), '');
  assert.equal(nm.endpoints(a).bridge!.IPAddress, '', 'the lease is released at stop');
  assert.deepEqual(nm.inspect('bridge').Containers, {});
  // the record stays until rm
  assert.deepEqual(Object.keys(nm.endpoints(a)), ['bridge']);
  await nm.release(a);
  await nm.release(b);
  assert.deepEqual(nm.endpoints(a), {});
});

test('user network: containers resolve each other through aardvark-dns', async () => {
  const net = `app-${tag}`;
  await nm.create({ Name: net });
  const gw = nm.inspect(net).IPAM.Config[0]!.Gateway!;
  const a = newId();
  const b = newId();
  await nm.connect(a, net, { containerName: '/alpha', aliases: ['db'] });
  await nm.connect(b, net, { containerName: '/beta' });
  const { netnsPath: nsA } = await nm.prepare(a, { mode: net });
  const { netnsPath: nsB } = await nm.prepare(b, { mode: net });
  try {
    const ipA = nm.endpoints(a)[net]!.IPAddress;
    const ipB = nm.endpoints(b)[net]!.IPAddress;
    assert.deepEqual(nm.endpoints(a)[net]!.DNSNames, ['alpha', 'db', a.slice(0, 12)]);
    const lookup = (ns: string, name: string) => inNs(ns!, [BB, 'nslookup', name, gw]).out;
    assert.match(lookup(nsA!, 'beta'), new RegExp(`Address:\\s+${ipB.replace(/\./g, '\\.')}`));
    assert.match(lookup(nsB!, 'alpha'), new RegExp(`Address:\\s+${ipA.replace(/\./g, '\\.')}`));
    assert.match(lookup(nsB!, 'db'), new RegExp(`Address:\\s+${ipA.replace(/\./g, '\\.')}`));
    assert.match(lookup(nsB!, a.slice(0, 12)), new RegExp(`Address:\\s+${ipA.replace(/\./g, '\\.')}`));
    assert.match(lookup(nsB!, 'gamma'), /NXDOMAIN|can't find/);
    assert.equal(inNs(nsB!, [BB, 'ping', '-c1', '-W2', ipA]).code, 0);

    // the container's files point at aardvark-dns and name the container
    const dir = join(root, 'files-a');
    mkdirSync(dir);
    const files = await nm.writeContainerFiles(dir, { containerId: a, hostname: 'alpha-host', networkMode: net, extraHosts: ['gw:host-gateway'] });
    assert.match(readFileSync(files.resolvConfPath, 'utf8'), new RegExp(`\\n\\nnameserver ${gw.replace(/\./g, '\\.')}\\n`));
    const hosts = readFileSync(files.hostsPath, 'utf8');
    assert.match(hosts, /^127\.0\.0\.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n/);
    assert.ok(hosts.includes(`\n${ipA}\talpha-host\n`));
    assert.ok(hosts.includes(`\n${nm.inspect('bridge').IPAM.Config[0]!.Gateway}\tgw\n`));
    assert.equal(readFileSync(files.hostnamePath, 'utf8'), 'alpha-host\n');

    assert.match((await kindOfAsync(nm.remove(net))) ?? "", new RegExp(`^Forbidden: error while removing network: network ${net} has active endpoints \\(name:"`));
  } finally {
    await nm.teardown(a);
    await nm.teardown(b);
  }
  assert.equal(readOr(join(root, 'run', 'aardvark-dns', net)), undefined, 'DNS entries removed');
  await nm.release(a);
  await nm.release(b);
  await nm.remove(net);
});

test('internal network: no route out, no NAT, host addresses unreachable', async () => {
  const net = `int-${tag}`;
  await nm.create({ Name: net, Internal: true });
  const gw = nm.inspect(net).IPAM.Config[0]!.Gateway!;
  const i = newId();
  const { netnsPath } = await nm.prepare(i, { mode: net, containerName: 'isolated' });
  const hostAddrs = (JSON.parse(execFileSync('ip', ['-j', '-4', 'addr', 'show', 'scope', 'global']).toString()) as { ifname: string; addr_info: { local: string }[] }[])
    .filter((l) => l.ifname !== bridgeName && !l.ifname.startsWith('br-'))
    .flatMap((l) => l.addr_info.map((a) => a.local));
  try {
    assert.ok(hostAddrs.length > 0, 'the host has an address of its own to try');
    assert.ok(ipOf(netnsPath!, 'eth0'));
    assert.doesNotMatch(inNs(netnsPath!, ['ip', 'route']).out, /default/);
    assert.equal(inNs(netnsPath!, [BB, 'ping', '-c1', '-W1', gw]).code, 0, 'the gateway (DNS) answers');
    assert.notEqual(inNs(netnsPath!, [BB, 'ping', '-c1', '-W1', hostAddrs[0]!]).code, 0);
    // even a container that adds a default route itself gets nowhere
    inNs(netnsPath!, ['ip', 'route', 'add', 'default', 'via', gw]);
    assert.notEqual(inNs(netnsPath!, [BB, 'ping', '-c1', '-W1', hostAddrs[0]!]).code, 0);
    assert.doesNotMatch(nftTable(), new RegExp(`ip saddr ${nm.inspect(net).IPAM.Config[0]!.Subnet!.replace(/\./g, '\\.')} oifname != .* masquerade`));
  } finally {
    await nm.release(i);
    await nm.remove(net);
  }
});

test('connect and disconnect a running container', async () => {
  const net = `side-${tag}`;
  await nm.create({ Name: net, IPAM: { Config: [{ Subnet: `10.${poolOctet}.250.0/24`, IPRange: `10.${poolOctet}.250.128/25` }] } });
  const c = newId();
  const other = newId();
  const { netnsPath } = await nm.prepare(c, { mode: 'bridge', containerName: 'multi' });
  try {
    const ep = await nm.connect(c, net, { containerName: 'multi', ipv4Address: `10.${poolOctet}.250.200` });
    assert.equal(ep.IPAddress, `10.${poolOctet}.250.200`);
    assert.equal(ipOf(netnsPath!, 'eth1'), `10.${poolOctet}.250.200/24`);
    assert.ok(nm.inspect(net).Containers[c]);
    await nm.connect(other, net, { containerName: 'other' });
    await nm.prepare(other, { mode: net });
    assert.match(nm.endpoints(other)[net]!.IPAddress, new RegExp(`^10\\.${poolOctet}\\.250\\.(12[89]|1[3-9]\\d|2\\d\\d)$`), 'inside IPRange');
    assert.equal(inNs(netnsPath!, [BB, 'ping', '-c1', '-W2', nm.endpoints(other)[net]!.IPAddress]).code, 0);
    await nm.release(other);

    const veths = vethsOn(nm.inspect(net).Options['com.docker.network.bridge.name'] ?? `br-${nm.inspect(net).Id.slice(0, 12)}`);
    assert.equal(veths.length, 1);
    await nm.disconnect(c, net);
    assert.equal(ipOf(netnsPath!, 'eth1'), undefined, 'eth1 gone');
    assert.ok(!existsSync(`/sys/class/net/${veths[0]}`), 'host side of the veth gone');
    assert.deepEqual(nm.inspect(net).Containers, {});
    assert.deepEqual(Object.keys(nm.endpoints(c)), ['bridge']);
    assert.ok(ipOf(netnsPath!, 'eth0'), 'eth0 untouched');
    assert.match(String(await kindOfAsync(nm.disconnect(c, net))), /^Forbidden: container .* is not connected to network/);
  } finally {
    await nm.release(c);
    await nm.release(other);
    await nm.remove(net);
  }
});

test('restart and reconcile: allocations survive, leaks of dead containers are removed', async () => {
  const net = `rc-${tag}`;
  await nm.create({ Name: net });
  const alive = newId();
  const dead = newId();
  await nm.connect(alive, net, { containerName: 'alive' });
  await nm.connect(dead, net, { containerName: 'dead' });
  await nm.publish(dead, [{ containerPort: 80, proto: 'tcp', hostIp: '127.0.0.1', hostPort: '' }]);
  await nm.prepare(alive, { mode: net });
  await nm.prepare(dead, { mode: net });
  const ipAlive = nm.endpoints(alive)[net]!.IPAddress;
  assert.match(nftPorts(), /127\.0\.0\.1 \. tcp \. \d+ :/);

  // berthd "crashes" and starts again on the same database
  const again = manager();
  await again.init();
  assert.equal(again.endpoints(alive)[net]!.IPAddress, ipAlive, 'leases survive a restart');
  await again.reconcile([alive]);
  assert.deepEqual(netnsFiles(), [alive]);
  assert.equal(again.endpoints(dead)[net]!.IPAddress, '');
  assert.equal(again.endpoints(alive)[net]!.IPAddress, ipAlive);
  assert.equal(nftPorts(), '', 'the dead container\'s port is unpublished');
  const bridge = `br-${again.inspect(net).Id.slice(0, 12)}`;
  assert.equal(vethsOn(bridge).length, 1);
  assert.match(readOr(join(root, 'run', 'aardvark-dns', net)) ?? '', new RegExp(`${alive} ${ipAlive}  alive`));
  assert.doesNotMatch(readOr(join(root, 'run', 'aardvark-dns', net)) ?? '', /dead/);

  // the container that was alive is gone too, and the dead one was removed meanwhile
  await again.reconcile([], { known: [alive] });
  assert.deepEqual(netnsFiles(), []);
  assert.deepEqual(vethsOn(bridge), []);
  assert.deepEqual(again.endpoints(dead), {});
  assert.equal(again.endpoints(alive)[net]!.IPAddress, '');
  const leases = db.prepare("SELECT COUNT(*) AS n FROM network_endpoints WHERE ip != ''").get() as { n: number };
  assert.equal(leases.n, 0);
  await again.release(alive);
  await again.remove(net);
  again.close();
  assert.equal(readOr(join(root, 'run', 'aardvark-dns', 'aardvark.pid')), undefined, 'aardvark-dns stopped once no network needs it');
});

test('network mode none gets a netns with loopback only; host gets none', async () => {
  const c = newId();
  const { netnsPath } = await nm.prepare(c, { mode: 'none' });
  try {
    const links = JSON.parse(inNs(netnsPath!, ['ip', '-j', 'link']).out) as { ifname: string; operstate: string }[];
    assert.deepEqual(links.map((l) => l.ifname), ['lo']);
    assert.deepEqual(await nm.prepare(newId(), { mode: 'host' }), {});
  } finally {
    await nm.teardown(c);
  }
  assert.deepEqual(netnsFiles(), []);
});

test('containerPlumbing: the containers service\'s start, restart and rm sequence', async () => {
  const net = `svc-${tag}`;
  await nm.create({ Name: net });
  const p = containerPlumbing(nm);
  const id = newId();
  const dir = join(root, `ctr-${id.slice(0, 6)}`);
  mkdirSync(dir);
  const attach = () =>
    p.attach(id, {
      containerName: '/svc', hostname: 'svc-host', mode: 'default', endpoints: { [net]: { Aliases: ['api'] } },
      portBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] }, exposedPorts: ['80/tcp'], publishAll: false,
    });
  try {
    for (let start = 0; start < 2; start++) {
      const { netnsPath } = await p.prepare(id, 'default');
      assert.equal(netnsPath, nm.netnsPath(id));
      const { networks, ports } = await attach();
      assert.deepEqual(Object.keys(networks).sort(), ['bridge', net].sort());
      assert.equal(ipOf(netnsPath!, 'eth0'), `${networks.bridge!.IPAddress}/24`);
      assert.equal(ipOf(netnsPath!, 'eth1'), `${networks[net]!.IPAddress}/24`);
      assert.deepEqual(networks[net]!.Aliases, ['api']);
      assert.equal(ports['80/tcp']![0]!.HostIp, '127.0.0.1');
      const web = await httpd(netnsPath!);
      assert.equal(await get(`http://127.0.0.1:${ports['80/tcp']![0]!.HostPort}/`), 'hello from the container\n');
      await stop(web);
      const files = await p.writeFiles(dir, {
        hostname: 'svc-host', domainname: '', extraHosts: [], dns: [], dnsSearch: [], dnsOptions: [], mode: 'default', containerId: id,
      });
      // the default bridge comes first, but an endpoint on a user-defined network still turns the
      // embedded DNS on (Docker's sandbox starts its resolver for any endpoint that needs one)
      assert.match(readFileSync(files.resolvConfPath, 'utf8'), new RegExp(`nameserver ${nm.inspect(net).IPAM.Config[0]!.Gateway}`));
      await p.teardown(id);
      assert.deepEqual(netnsFiles(), []);
    }
  } finally {
    await p.release(id);
    await nm.remove(net);
  }
  assert.deepEqual(p.endpoints(id), {});
});
