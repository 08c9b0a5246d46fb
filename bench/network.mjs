#!/usr/bin/env node
// Network setup + teardown cost per container: berth's own plumbing (ip batch
// + nft + aardvark-dns) against netavark 1.4, run interleaved so both see the
// same machine load. Needs root and a build (`npx tsc -p tsconfig.json`).
//
//   node bench/network.mjs [rounds=20]
//
// Scenarios, each a full setup then teardown, timed from Node as berthd would:
//   none          netns with loopback only (what --network none costs berth)
//   bridge        default bridge, no ports
//   user+dns+port user-defined network (aardvark-dns entry) with one published port
//   netavark      the same user+dns+port container through `netavark setup/teardown`
import { mkdtempSync, mkdirSync, closeSync, openSync, rmSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const dist = new URL('../dist/src/', import.meta.url);
const { NetworkManager } = await import(new URL('network/index.js', dist).href);
const { openDb, silentLogger, newId } = await import(new URL('util/index.js', dist).href);
const { umount2, MNT_DETACH } = await import(new URL('sys/index.js', dist).href);

const NETAVARK = '/usr/lib/podman/netavark';
const AARDVARK = '/usr/lib/podman/aardvark-dns';
const rounds = Number(process.argv[2] ?? 20);
const tag = randomBytes(2).toString('hex');
const root = mkdtempSync(join(tmpdir(), 'berth-netbench-'));

function run(cmd, args, input) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err}`))));
    if (input !== undefined) c.stdin.end(input);
  });
}

const iptablesBefore = spawnSync('iptables-save').stdout?.toString() ?? '';

const db = openDb(join(root, 'berth.db'));
const nm = new NetworkManager({
  db, execRoot: join(root, 'run'), dataRoot: root, log: silentLogger,
  config: { bridgeName: `bb${tag}`, nftTable: `berth_bench${tag}`, defaultAddressPools: [{ base: '10.197.0.0/16', size: 24 }] },
});
await nm.init();
const net = `bench-${tag}`;
await nm.create({ Name: net });

// netavark's view of an equivalent network.
const nvDir = join(root, 'netavark');
mkdirSync(nvDir);
const nvNet = {
  name: `nv-${tag}`, id: 'b'.repeat(64), driver: 'bridge', network_interface: `nv${tag}`,
  subnets: [{ subnet: '10.196.0.0/24', gateway: '10.196.0.1' }],
  ipv6_enabled: false, internal: false, dns_enabled: true, ipam_options: { driver: 'host-local' },
};
const nvOpts = (id, i) => JSON.stringify({
  container_id: id, container_name: `c${i}`,
  port_mappings: [{ host_ip: '', container_port: 80, host_port: 20000 + i, range: 1, protocol: 'tcp' }],
  networks: { [nvNet.name]: { interface_name: 'eth0', static_ips: [`10.196.0.${10 + (i % 200)}`], aliases: [`c${i}`] } },
  network_info: { [nvNet.name]: nvNet },
});

const scenarios = {
  async none() {
    const id = newId();
    const t0 = performance.now();
    await nm.prepare(id, { mode: 'none' });
    const t1 = performance.now();
    await nm.release(id);
    return [t1 - t0, performance.now() - t1];
  },
  async bridge() {
    const id = newId();
    const t0 = performance.now();
    await nm.connect(id, 'bridge', { containerName: id.slice(0, 12) });
    await nm.prepare(id, { mode: 'bridge' });
    const t1 = performance.now();
    await nm.release(id);
    return [t1 - t0, performance.now() - t1];
  },
  async 'user+dns+port'() {
    const id = newId();
    const t0 = performance.now();
    await nm.connect(id, net, { containerName: id.slice(0, 12), aliases: ['web'] });
    await nm.publish(id, [{ containerPort: 80, proto: 'tcp', hostPort: '' }]);
    await nm.prepare(id, { mode: net });
    const t1 = performance.now();
    await nm.release(id);
    return [t1 - t0, performance.now() - t1];
  },
  async netavark(i) {
    const id = newId();
    const ns = join(root, 'nvns', id);
    mkdirSync(join(root, 'nvns'), { recursive: true });
    const opts = nvOpts(id, i);
    const t0 = performance.now();
    closeSync(openSync(ns, 'a'));
    await run('unshare', [`--net=${ns}`, 'true']);
    await run(NETAVARK, ['--config', nvDir, '--aardvark-binary', AARDVARK, 'setup', ns], opts);
    const t1 = performance.now();
    await run(NETAVARK, ['--config', nvDir, '--aardvark-binary', AARDVARK, 'teardown', ns], opts);
    umount2(ns, MNT_DETACH);
    rmSync(ns);
    return [t1 - t0, performance.now() - t1];
  },
};

// Keep one long-lived container on each network so no scenario pays for
// creating a bridge or starting aardvark-dns (both are once per network).
const anchor = newId();
await nm.connect(anchor, net, { containerName: 'anchor' });
await nm.prepare(anchor, { mode: net });
const nvAnchorId = 'a'.repeat(64);
const nvAnchorNs = join(root, 'nv-anchor');
closeSync(openSync(nvAnchorNs, 'a'));
await run('unshare', [`--net=${nvAnchorNs}`, 'true']);
await run(NETAVARK, ['--config', nvDir, '--aardvark-binary', AARDVARK, 'setup', nvAnchorNs], nvOpts(nvAnchorId, 250));

// CPU time (ours + waited-for children), which the machine's load does not inflate the way it does wall time.
const TICK_MS = 1000 / Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim() || 100);
function cpuMs() {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  // fields after "(comm) ": state=0 … utime=11 stime=12 cutime=13 cstime=14
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_MS;
}

const results = Object.fromEntries(Object.keys(scenarios).map((k) => [k, { setup: [], teardown: [], cpu: 0 }]));
try {
  for (let i = 0; i < rounds; i++) {
    for (const [name, fn] of Object.entries(scenarios)) {
      const c0 = cpuMs();
      const [s, t] = await fn(i);
      results[name].cpu += cpuMs() - c0;
      results[name].setup.push(s);
      results[name].teardown.push(t);
    }
  }
} finally {
  await run(NETAVARK, ['--config', nvDir, '--aardvark-binary', AARDVARK, 'teardown', nvAnchorNs], nvOpts(nvAnchorId, 250)).catch((e) => console.error(e.message));
  umount2(nvAnchorNs, MNT_DETACH);
  await nm.release(anchor);
  await nm.remove(net);
  await nm.reconcile([], { known: [] });
  nm.close();
  spawnSync('nft', ['delete', 'table', 'ip', `berth_bench${tag}`]);
  spawnSync('ip', ['link', 'del', `bb${tag}`]);
  spawnSync('ip', ['link', 'del', `nv${tag}`]);
  db.close();
  rmSync(root, { recursive: true, force: true });
  cleanupNetavarkChains();
}

const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const f = (x) => x.toFixed(1).padStart(7);
console.log(`load average: ${spawnSync('cat', ['/proc/loadavg']).stdout.toString().trim()}`);
console.log(`${rounds} rounds, interleaved; milliseconds (median / p90)`);
console.log('scenario          setup median  p90   teardown median  p90   total median   CPU/container');
for (const [name, r] of Object.entries(results)) {
  const total = r.setup.map((s, i) => s + r.teardown[i]);
  console.log(`${name.padEnd(16)} ${f(q(r.setup, 0.5))} ${f(q(r.setup, 0.9))}      ${f(q(r.teardown, 0.5))} ${f(q(r.teardown, 0.9))}   ${f(q(total, 0.5))}      ${f(r.cpu / rounds)}`);
}

// netavark leaves its base chains (NETAVARK-*) behind by design; remove the
// ones this run created so the host is as we found it.
function cleanupNetavarkChains() {
  if (/NETAVARK/.test(iptablesBefore)) return;
  const sh = (args) => spawnSync('iptables', args, { stdio: 'ignore' });
  sh(['-t', 'nat', '-D', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'NETAVARK-HOSTPORT-DNAT']);
  sh(['-t', 'nat', '-D', 'OUTPUT', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'NETAVARK-HOSTPORT-DNAT']);
  sh(['-t', 'nat', '-D', 'POSTROUTING', '-j', 'NETAVARK-HOSTPORT-MASQ']);
  sh(['-D', 'FORWARD', '-m', 'comment', '--comment', 'netavark firewall plugin rules', '-j', 'NETAVARK_FORWARD']);
  for (const c of ['NETAVARK-HOSTPORT-DNAT', 'NETAVARK-HOSTPORT-MASQ', 'NETAVARK-HOSTPORT-SETMARK']) sh(['-t', 'nat', '-F', c]);
  for (const c of ['NETAVARK-HOSTPORT-DNAT', 'NETAVARK-HOSTPORT-MASQ', 'NETAVARK-HOSTPORT-SETMARK']) sh(['-t', 'nat', '-X', c]);
  sh(['-F', 'NETAVARK_FORWARD']);
  sh(['-X', 'NETAVARK_FORWARD']);
  // iptables-nft created these tables for netavark; drop them if now empty of rules.
  for (const t of ['nat', 'filter']) {
    const listing = spawnSync('nft', ['list', 'table', 'ip', t]).stdout?.toString() ?? '';
    if (listing && !/\n\s+(?!type )[a-z].*(jump|accept|drop|masquerade|dnat|snat|counter)/.test(listing) && !iptablesBefore.includes(`*${t}`)) {
      spawnSync('nft', ['delete', 'table', 'ip', t]);
    }
  }
}
