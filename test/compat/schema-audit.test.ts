// Schema audit: berthd's JSON responses walked against the Engine API 1.50 swagger.
// Real clients (docker CLI, docker-py, dockerode, compose, testcontainers) read fields straight out
// of these bodies; a key dockerd always sends and berthd leaves out is a KeyError / "<no value>" /
// undefined in someone's code. The walker is generic: it resolves $ref and allOf from the swagger and
// checks every property is present and has the swagger's type, recursively. Properties dockerd itself
// leaves out (Go `omitempty`, or fields it only sets in some cases) are in OMITTED below, each with the
// moby source that says so (moby v28.2.2, the release the swagger was cut from).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import http from 'node:http';
import { startDaemon, importBusybox, destroyDaemon, REPO, type TestDaemon } from '../helpers/daemon.js';

const SWAGGER = join(REPO, 'test', 'fixtures', 'docker-engine-api', 'swagger-v1.50.yaml');

type Schema = Record<string, any>;
let spec: { definitions: Record<string, Schema>; paths: Record<string, any> };

/**
 * `Type.Property` → why dockerd may leave it out. Type is the swagger definition name (or an inline
 * schema's title/x-go-name; else the parent's key). The reason names the moby v28.2.2 source.
 */
const OMITTED: Record<string, string> = {
  // api/types/system/info.go (Info) and system_routes.go getInfo
  'SystemInfo.BridgeNfIptables': 'getInfo sends it (false) only below API 1.50; berth too (audited at /v1.41 below)',
  'SystemInfo.BridgeNfIp6tables': 'as BridgeNfIptables',
  'SystemInfo.ProductLicense': 'omitempty; empty in moby builds',
  'SystemInfo.DefaultAddressPools': 'omitempty; only when default-address-pools is configured (fillDefaultAddressPools)',
  'SystemInfo.DiscoveredDevices': 'omitempty; CDI devices, none without CDI specs',
  'SystemInfo.Containerd': 'omitempty; *ContainerdInfo set only when dockerd runs on containerd (berth has none)',
  'Runtime.runtimeArgs': 'system/runtime.go: Args []string `json:"runtimeArgs,omitempty"`',
  'Runtime.status': 'system/runtime.go: Status map `json:"status,omitempty"`',
  'SwarmInfo.Nodes': 'swarm/swarm.go Info: Nodes int omitempty (0 outside swarm)',
  'SwarmInfo.Managers': 'swarm/swarm.go Info: Managers int omitempty',
  'SwarmInfo.Cluster': 'swarm/swarm.go Info: Cluster *ClusterInfo omitempty (nil outside swarm)',
  // api/types/types.go (Version)
  'SystemVersion.Experimental': 'types.go Version: Experimental bool omitempty',
  // api/types/image/summary.go, image_inspect.go; daemon/images (the graphdriver image store, as berth's)
  'ImageSummary.VirtualSize': 'omitempty; getImagesJSON sets it only below API 1.44',
  'ImageSummary.Manifests': 'omitempty; containerd image store with manifests=1 only',
  'ImageSummary.Descriptor': 'omitempty; set by the containerd image store only',
  'ImageInspect.Descriptor': 'omitempty; set by the containerd image store only',
  'ImageInspect.Manifests': 'omitempty; containerd image store with manifests=1 only',
  'ImageInspect.Variant': 'omitempty; empty for amd64 images',
  'ImageInspect.OsVersion': 'omitempty; Windows images only',
  'ImageInspect.VirtualSize': 'omitempty; getImagesByName sets it only below API 1.44',
  // From API 1.50 Config is dockerspec.DockerOCIImageConfig: every ocispec.ImageConfig field is omitempty
  // (vendor/github.com/opencontainers/image-spec/specs-go/v1/config.go), as are Healthcheck, OnBuild, Shell.
  ...Object.fromEntries(['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Healthcheck', 'ArgsEscaped', 'Volumes', 'WorkingDir',
    'OnBuild', 'StopSignal', 'Shell', 'Labels'].map((k) => [`ImageConfig.${k}`, 'ocispec.ImageConfig / DockerOCIImageConfig: omitempty'])),
  // docker-image-spec HealthcheckConfig: every field omitempty
  ...Object.fromEntries(['Test', 'Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'].map((k) => [`HealthConfig.${k}`, 'dockerspec.HealthcheckConfig: omitempty'])),
  // api/types/container/container.go
  'ContainerSummary.ImageManifestDescriptor': 'omitempty; containerd image store only',
  'ContainerSummary.SizeRw': 'omitempty; only with size=1',
  'ContainerSummary.SizeRootFs': 'omitempty; only with size=1',
  'ContainerSummary.HostConfig.Annotations': 'Summary.HostConfig: Annotations map omitempty',
  'ContainerInspectResponse.ImageManifestDescriptor': 'omitempty; containerd image store only',
  'ContainerInspectResponse.SizeRw': '*int64 omitempty; only with size=1',
  'ContainerInspectResponse.SizeRootFs': '*int64 omitempty; only with size=1',
  'ContainerState.Health': '*Health omitempty; only for a container with a healthcheck',
  'MountPoint.Name': 'omitempty; volumes only',
  'MountPoint.Driver': 'omitempty; volumes only',
  'Port.IP': 'container/port.go: IP omitempty; unpublished ports have none',
  'Port.PublicPort': 'container/port.go: PublicPort omitempty; unpublished ports have none',
  // api/types/container/config.go Config: fields documented "must be omitempty"
  ...Object.fromEntries(['ExposedPorts', 'Healthcheck', 'ArgsEscaped', 'NetworkDisabled', 'MacAddress', 'StopSignal', 'StopTimeout', 'Shell']
    .map((k) => [`ContainerConfig.${k}`, 'container/config.go Config: omitempty'])),
  // api/types/container/hostconfig.go
  ...Object.fromEntries(['KernelMemoryTCP', 'Annotations', 'StorageOpt', 'Tmpfs', 'Sysctls', 'Runtime', 'Mounts', 'Init']
    .map((k) => [`HostConfig.${k}`, 'container/hostconfig.go: omitempty'])),
  // api/types/container/stats.go: a stopped container gets a zero StatsResponse (daemon/stats.go)
  'ContainerPidsStats.current': 'PidsStats.Current omitempty (0 for a stopped container)',
  'ContainerPidsStats.limit': 'PidsStats.Limit omitempty (0 = no limit)',
  ...Object.fromEntries(['read_count_normalized', 'read_size_bytes', 'write_count_normalized', 'write_size_bytes']
    .map((k) => [`ContainerStorageStats.${k}`, 'StorageStats: omitempty (Windows only)'])),
  ...Object.fromEntries(['commitbytes', 'commitpeakbytes', 'privateworkingset']
    .map((k) => [`ContainerMemoryStats.${k}`, 'MemoryStats: omitempty (Windows only)'])),
  ...Object.fromEntries(['usage', 'max_usage', 'stats', 'failcnt', 'limit']
    .map((k) => [`ContainerMemoryStats.${k}`, 'MemoryStats: omitempty (zero for a stopped container)'])),
  'ContainerCPUUsage.percpu_usage': 'CPUUsage.PercpuUsage omitempty (cgroup v2 has none)',
  'ContainerCPUStats.system_cpu_usage': 'CPUStats.SystemUsage omitempty (zero for a stopped container)',
  'ContainerCPUStats.online_cpus': 'CPUStats.OnlineCPUs omitempty (zero for a stopped container)',
  'ContainerStatsResponse.networks': 'Networks map omitempty (none for a stopped container or --network none/host)',
  // api/types/network
  'FirewallInfo.Info': 'system/info.go FirewallInfo: Info [][2]string omitempty',
  'Network.Peers': 'network.go Inspect: Peers omitempty (overlay networks only)',
  'IPAMConfig.IPRange': 'ipam.go IPAMConfig: omitempty',
  'IPAMConfig.AuxiliaryAddresses': 'ipam.go IPAMConfig: omitempty',
  // api/types/volume/volume.go
  'Volume.Status': 'omitempty; the local driver returns nil (volume/local/local.go Status)',
  'Volume.ClusterVolume': 'omitempty; swarm cluster volumes only',
  'Volume.UsageData': 'omitempty; only in /system/df',
};

/** `Type.Property` → why a null is right although the swagger gives a scalar type. */
const NULLABLE: Record<string, string> = {
  'ExecInspectResponse.ExitCode': 'api/types/backend ExecInspect.ExitCode is *int: null while the exec runs',
};

interface Problem { path: string; msg: string }

function resolve(s: Schema): { schema: Schema; name?: string } {
  let name: string | undefined;
  while (s.$ref) {
    name = String(s.$ref).replace('#/definitions/', '');
    s = spec.definitions[name]!;
    if (!s) throw new Error(`unresolved $ref ${name}`);
  }
  if (s.allOf) {
    // allOf: the union of the parts' properties (the swagger uses it to extend a base object).
    const merged: Schema = { type: 'object', properties: {}, ...omit(s, 'allOf') };
    for (const part of s.allOf as Schema[]) {
      const r = resolve(part).schema;
      Object.assign(merged.properties, r.properties ?? {});
      if (r.additionalProperties !== undefined) merged.additionalProperties = r.additionalProperties;
      if (r.type && !merged.type) merged.type = r.type;
    }
    return { schema: merged, name: name ?? s.title ?? s['x-go-name'] };
  }
  return { schema: s, name: name ?? s.title ?? s['x-go-name'] };
}
function omit(o: Schema, k: string): Schema { const c = { ...o }; delete c[k]; return c; }

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Walks `value` against `schema`; `where` is the JSON path, `owner` the name of the enclosing type. */
function walk(schema0: Schema, value: unknown, where: string, owner: string, out: Problem[]): void {
  const { schema, name } = resolve(schema0);
  const typeName = name ?? owner;
  const t = schema.type ?? (schema.properties ? 'object' : undefined);
  if (value === null) {
    // Go encodes nil slices, maps and pointers as null: allowed where the swagger says nullable, or for
    // arrays/objects (a nil slice/map; which of null/[] dockerd sends is pinned by NULL_OR_EMPTY below).
    if (schema['x-nullable'] || t === 'array' || t === 'object' || t === undefined || owner in NULLABLE) return;
    out.push({ path: where, msg: `null, swagger says ${t}` });
    return;
  }
  if (t === undefined) return; // free-form
  const got = typeOf(value);
  const ok = t === got || (t === 'number' && got === 'integer');
  if (!ok) { out.push({ path: where, msg: `${got} (${JSON.stringify(value).slice(0, 60)}), swagger says ${t}` }); return; }
  if (t === 'string' && schema.enum && !schema.enum.includes(value)) {
    out.push({ path: where, msg: `${JSON.stringify(value)} not in enum ${JSON.stringify(schema.enum)}` });
  }
  if (t === 'array' && schema.items) {
    (value as unknown[]).forEach((v, i) => walk(schema.items, v, `${where}[${i}]`, typeName, out));
  }
  if (t === 'object') {
    const obj = value as Record<string, unknown>;
    for (const [prop, ps] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
      const key = `${typeName}.${prop}`;
      if (!(prop in obj)) {
        if (!(key in OMITTED)) out.push({ path: `${where}.${prop}`, msg: `missing (${key})` });
        continue;
      }
      // An inline property schema's own name, if any, else the enclosing key names it.
      walk(ps, obj[prop], `${where}.${prop}`, key, out);
    }
    // Keys the swagger does not know are allowed (dockerd has a few too) but listed under AUDIT_EXTRA=1.
    if (process.env.AUDIT_EXTRA && schema.properties && !schema.additionalProperties) {
      for (const k of Object.keys(obj)) if (!(k in schema.properties)) console.log(`extra: ${where}.${k} (${typeName})`);
    }
    if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      for (const [k, v] of Object.entries(obj)) {
        if (schema.properties && k in schema.properties) continue;
        walk(schema.additionalProperties, v, `${where}[${JSON.stringify(k)}]`, `${typeName}.*`, out);
      }
    }
  }
}

function responseSchema(path: string, method = 'get'): Schema {
  const op = spec.paths[path]?.[method];
  if (!op) throw new Error(`no ${method} ${path} in the swagger`);
  return (op.responses['200'] ?? op.responses[200]).schema;
}

/** Checks `body` against the 200 response of `path`; returns the problems. */
function audit(path: string, body: unknown, label = path): Problem[] {
  const out: Problem[] = [];
  walk(responseSchema(path), body, label, path, out);
  return out;
}

let d: TestDaemon;
let dir: string;
const problems: Problem[] = [];
const ids: Record<string, string> = {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ok(args: string[], timeout = 120_000): Promise<string> {
  const r = await d.docker(args, { timeout });
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}
async function get(path: string): Promise<any> {
  const r = await d.api('GET', path);
  assert.equal(r.status, 200, `GET ${path}: ${JSON.stringify(r.body)}`);
  // AUDIT_DUMP=dir keeps every body audited, to compare by eye with a real dockerd's.
  if (process.env.AUDIT_DUMP) writeFileSync(join(process.env.AUDIT_DUMP, `${path.replace(/[^A-Za-z0-9=.-]+/g, '_')}.json`), JSON.stringify(r.body, null, 1));
  return r.body;
}

before(async () => {
  spec = JSON.parse(execFileSync('python3', ['-c', 'import sys,yaml,json; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)', SWAGGER], { maxBuffer: 64 << 20 }).toString());
  d = await startDaemon();
  dir = mkdtempSync(join(tmpdir(), 'berth-audit-'));
  await importBusybox(d);
  // A built image: labels, exposed port, volume, healthcheck, env, workdir, entrypoint — a history with several steps.
  writeFileSync(join(dir, 'Dockerfile'), [
    'FROM busybox', 'LABEL org.example.kind=built', 'ENV APP=audit', 'WORKDIR /app', 'RUN echo hi > /app/hi',
    'EXPOSE 80/tcp', 'VOLUME /cache', 'HEALTHCHECK --interval=1s CMD true', 'CMD ["sleep", "300"]', '',
  ].join('\n'));
  await ok(['build', '-q', '-t', 'audit/built:1', dir], 180_000);
  await ok(['volume', 'create', '--label', 'tier=db', 'auditvol']);
  await ok(['network', 'create', '--subnet', '10.231.7.0/24', '--label', 'tier=net', 'auditnet']);
  const bind = join(dir, 'bind');
  execFileSync('mkdir', ['-p', bind]);
  ids.running = await ok(['run', '-d', '--name', 'auditrun', '--network', 'auditnet', '-p', '18080:80', '-p', '127.0.0.1::81/udp',
    '-v', 'auditvol:/data', '-v', `${bind}:/host:ro`, '--tmpfs', '/scratch', '--label', 'app=audit', '-e', 'X=1',
    '--health-cmd', 'true', '--health-interval', '500ms', '--restart', 'on-failure:2', 'audit/built:1']);
  ids.exited = await ok(['run', '--name', 'auditexit', '-p', '18081:80', '-v', `${bind}:/host`, 'busybox', 'sh', '-c', 'echo out; exit 3']).catch(() => '');
  ids.exited = await ok(['inspect', '-f', '{{.Id}}', 'auditexit']);
  ids.created = await ok(['create', '--name', 'auditcreated', 'busybox', 'true']);
  ids.hostnet = await ok(['run', '-d', '--name', 'audithost', '--network', 'host', '--init', '--privileged', 'busybox', 'sleep', '300']);
  ids.nonet = await ok(['create', '--name', 'auditnone', '--network', 'none', '--user', '1:1', '-w', '/tmp', '--entrypoint', 'sh', 'busybox']);
  // An exec that ran to its end, and one still running.
  const ex = await d.api('POST', `/containers/${ids.running}/exec`, { Cmd: ['sh', '-c', 'exit 2'], AttachStdout: true, AttachStderr: true });
  assert.equal(ex.status, 201);
  ids.exec = ex.body.Id;
  await d.api('POST', `/exec/${ids.exec}/start`, { Detach: false, Tty: false });
  const ex2 = await d.api('POST', `/containers/${ids.running}/exec`, { Cmd: ['sleep', '30'], Tty: true, AttachStdout: true });
  ids.execRunning = ex2.body.Id;
  await d.api('POST', `/exec/${ids.execRunning}/start`, { Detach: true, Tty: true });
  // Let the healthcheck run at least once so State.Health.Log has entries.
  for (let i = 0; i < 50; i++) {
    const s = (await get(`/containers/${ids.running}/json`)).State;
    if (s.Health?.Log?.length) break;
    await sleep(100);
  }
});

after(async () => {
  if (d) await destroyDaemon(d);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Collects an endpoint's problems; `verdict()` fails the test with all of them at once. */
let pending: Problem[] = [];
function report(_label: string, ps: Problem[]): void { pending.push(...ps); }
function verdict(): void {
  const ps = pending; pending = [];
  problems.push(...ps);
  assert.deepEqual(ps.map((p) => `${p.path}: ${p.msg}`), [], 'responses diverge from the swagger');
}

test('GET /info, /version, /system/df', async () => {
  report('/info', audit('/info', await get('/info')));
  report('/version', audit('/version', await get('/version')));
  report('/system/df', audit('/system/df', await get('/system/df')));
  verdict();
});

test('GET /containers/json?all=1&size=1 and /containers/{id}/json?size=1 for running, exited and created containers', async () => {
  const list = await get('/containers/json?all=1&size=1');
  assert.equal(list.length, 5);
  report('/containers/json', audit('/containers/json', list));
  for (const which of ['running', 'exited', 'created', 'hostnet', 'nonet']) {
    const body = await get(`/containers/${ids[which]}/json?size=1`);
    report(`inspect ${which}`, audit('/containers/{id}/json', body, `inspect(${which})`));
  }
  verdict();
});

test('GET /containers/{id}/top, /containers/{id}/stats?stream=0, /exec/{id}/json', async () => {
  report('top', audit('/containers/{id}/top', await get(`/containers/${ids.running}/top`)));
  report('stats', audit('/containers/{id}/stats', await get(`/containers/${ids.running}/stats?stream=0`)));
  report('stats (exited)', audit('/containers/{id}/stats', await get(`/containers/${ids.exited}/stats?stream=0`), 'stats(exited)'));
  report('exec (done)', audit('/exec/{id}/json', await get(`/exec/${ids.exec}/json`), 'exec(done)'));
  report('exec (running)', audit('/exec/{id}/json', await get(`/exec/${ids.execRunning}/json`), 'exec(running)'));
  verdict();
});

test('GET /images/json, /images/{id}/json, /images/{id}/history for imported and built images', async () => {
  report('/images/json', audit('/images/json', await get('/images/json')));
  for (const ref of ['busybox:latest', 'audit/built:1']) {
    report(`image ${ref}`, audit('/images/{name}/json', await get(`/images/${ref}/json`), `image(${ref})`));
    report(`history ${ref}`, audit('/images/{name}/history', await get(`/images/${ref}/history`), `history(${ref})`));
  }
  verdict();
});

test('GET /networks, /networks/{id}, /volumes, /volumes/{name}', async () => {
  report('/networks', audit('/networks', await get('/networks')));
  for (const n of ['bridge', 'auditnet', 'host', 'none']) report(`network ${n}`, audit('/networks/{id}', await get(`/networks/${n}`), `network(${n})`));
  report('/volumes', audit('/volumes', await get('/volumes')));
  report('volume', audit('/volumes/{name}', await get('/volumes/auditvol')));
  verdict();
});

test('GET /events: container, image, network and volume events', async () => {
  const now = Math.floor(Date.now() / 1000) + 1;
  const text: string = await new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, path: `/events?since=0&until=${now}` }, (res) => {
      let s = ''; res.on('data', (c) => { s += c; }); res.on('end', () => resolve(s));
    });
    req.on('error', reject); req.end();
  });
  const events = text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const types = new Set(events.map((e) => e.Type));
  for (const t of ['container', 'image', 'network', 'volume']) assert.ok(types.has(t), `no ${t} event in ${[...types]}`);
  const ps: Problem[] = [];
  events.forEach((e, i) => walk(responseSchema('/events'), e, `event[${i}](${e.Type} ${e.Action})`, '/events', ps));
  report('/events', ps);
  verdict();
});

test('older API versions: /v1.41/info and /v1.41/images/{id}/json have the pre-1.50 shapes', async () => {
  // docker-py and docker-compose 1.29 ask for older versions; below 1.50 image inspect's Config is a
  // container.Config (every non-omitempty field present) and /info has the BridgeNf* booleans.
  const info = await get('/v1.41/info');
  assert.equal(info.BridgeNfIptables, false);
  assert.equal(info.BridgeNfIp6tables, false);
  assert.equal('BridgeNfIptables' in (await get('/info')), false);
  for (const ref of ['busybox:latest', 'audit/built:1']) {
    const img = await get(`/v1.41/images/${ref}/json`);
    const ps: Problem[] = [];
    walk({ $ref: '#/definitions/ContainerConfig' }, img.Config, `v1.41 image(${ref}).Config`, 'ContainerConfig', ps);
    report(ref, ps);
    assert.equal(img.VirtualSize, img.Size);
    assert.equal(img.Container, '');
  }
  verdict();
});

test('null and [] where dockerd sends them', async () => {
  // Go encodes a nil slice as null and an empty one as []; clients iterate some of these unguarded.
  const created = await get(`/containers/${ids.created}/json`);
  assert.equal(created.ExecIDs, null, 'ExecIDs: nil slice until an exec exists (container.go ContainerJSONBase)');
  assert.deepEqual(created.Mounts, [], 'Mounts: GetMountPoints makes an empty slice');
  assert.ok(['host', 'private'].includes(created.HostConfig.CgroupnsMode), 'the effective mode, never ""');
  assert.equal(created.HostConfig.PidsLimit, null, 'no --pids-limit: nil (postContainersCreate drops <= 0)');
  // A created container already lists the network it will join, with zero endpoint fields.
  assert.deepEqual(Object.keys(created.NetworkSettings.Networks), ['bridge']);
  assert.equal(created.NetworkSettings.Networks.bridge.NetworkID, '');
  assert.equal(created.NetworkSettings.Networks.bridge.DNSNames, null);
  assert.deepEqual(Object.keys((await get(`/containers/${ids.nonet}/json`)).NetworkSettings.Networks), ['none']);
  const running = await get(`/containers/${ids.running}/json`);
  // A finished exec leaves ExecIDs (monitor.go deletes it from the container's exec store) but stays inspectable.
  assert.deepEqual(running.ExecIDs, [ids.execRunning]);
  assert.equal(running.State.Health.Status, 'healthy');
  const summary = (await get('/containers/json?all=1')).find((c: any) => c.Id === ids.created);
  assert.deepEqual(summary.Ports, [], 'Summary.Ports: [] (daemon/container/view.go makes it)');
  assert.deepEqual(summary.Mounts, []);
  assert.deepEqual((await get('/info')).CDISpecDirs, [], 'CDISpecDirs: promoteNil in daemon/info.go');
  const stopped = await get(`/containers/${ids.exited}/stats?stream=0`);
  assert.equal(stopped.blkio_stats.io_service_bytes_recursive, null, 'a stopped container: zero BlkioStats, null slices');
  assert.deepEqual(Object.keys(stopped.blkio_stats).length, 8);
  const img = await get('/images/audit/built:1/json');
  assert.deepEqual(img.RepoDigests, [], 'RepoDigests: [] (image_routes.go promotes nil)');
  const hist = await get('/images/audit/built:1/history');
  assert.deepEqual(hist[0].Tags, ['audit/built:1']);
  assert.equal(hist[1].Tags, null, '<missing> history entries have nil Tags');
  assert.equal((await get('/volumes')).Warnings, null, 'ListResponse.Warnings: nil');
  const nets = await get('/networks');
  assert.deepEqual(nets.find((n: any) => n.Name === 'auditnet').Containers, {}, 'the list has no endpoints from API 1.28 on');
  assert.deepEqual(Object.keys((await get('/networks/auditnet')).Containers), [ids.running]);
  assert.equal(Object.keys((await get('/v1.27/networks')).find((n: any) => n.Name === 'auditnet').Containers).length, 1);
});

test('docker CLI: inspect, ps, info, system df -v, network and volume inspect print no template errors', async () => {
  // Go templates print "<no value>" for a missing map key and fail with "map has no entry" under
  // missingkey=error; either means the CLI found a field dockerd sends missing in berth's response.
  const bad = /<no value>|map has no entry|executing "|can't evaluate field/;
  const runs: string[][] = [
    ['inspect', 'auditrun', 'auditexit', 'auditcreated'],
    ['inspect', '--type', 'image', 'busybox', 'audit/built:1'],
    ['ps', '-a', '--no-trunc', '--format', '{{json .}}'],
    ['ps', '-a', '-s', '--format', 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedAt}}\t{{.RunningFor}}\t{{.Ports}}\t{{.Status}}\t{{.Size}}\t{{.Names}}\t{{.Labels}}\t{{.Mounts}}\t{{.Networks}}\t{{.State}}'],
    ['info', '--format', '{{json .}}'],
    ['info'],
    ['version', '--format', '{{json .}}'],
    ['system', 'df', '-v'],
    ['system', 'df', '--format', '{{json .}}'],
    ['network', 'inspect', 'bridge', 'auditnet', 'host', 'none'],
    ['network', 'ls', '--format', '{{json .}}'],
    ['volume', 'inspect', 'auditvol'],
    ['volume', 'ls', '--format', '{{json .}}'],
    ['images', '--format', '{{json .}}'],
    ['history', '--no-trunc', 'audit/built:1'],
    ['stats', '--no-stream', '--format', '{{json .}}', 'auditrun', 'auditexit'],
    ['top', 'auditrun'],
    ['port', 'auditrun'],
    ['inspect', '-f', '{{.State.Health.Status}} {{.NetworkSettings.Networks.auditnet.IPAddress}} {{.HostConfig.CgroupnsMode}} {{.Config.Healthcheck.Test}} {{range .Mounts}}{{.Type}}:{{.Name}}:{{.Destination}} {{end}}', 'auditrun'],
    ['inspect', '-f', '{{.NetworkSettings.IPAddress}} {{.State.ExitCode}} {{json .NetworkSettings.Ports}} {{.ExecIDs}}', 'auditexit'],
    ['image', 'inspect', '-f', '{{.Config.ExposedPorts}} {{.Config.Healthcheck.Test}} {{.RootFS.Layers}} {{.Metadata.LastTagTime}}', 'audit/built:1'],
    ['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{.Labels.tier}} {{len .Containers}}', 'auditnet'],
    ['volume', 'inspect', '-f', '{{.Mountpoint}} {{.Labels.tier}} {{.Scope}}', 'auditvol'],
    ['inspect', '-f', '{{.NetworkSettings.Networks.bridge.IPAddress}} {{.HostConfig.PidsLimit}}', 'auditcreated'],
    ['ps', '-a', '--filter', 'status=created', '--format', '{{.Networks}} {{.Ports}} {{.Mounts}}'],
  ];
  const failures: string[] = [];
  for (const args of runs) {
    const r = await d.docker(args);
    if (r.code !== 0 || bad.test(r.stdout) || bad.test(r.stderr)) failures.push(`docker ${args.join(' ')} → ${r.code}\n${(r.stdout.match(new RegExp(`.*(${bad.source}).*`, 'g')) ?? []).join('\n')}${r.stderr}`);
  }
  assert.deepEqual(failures, []);
  // `docker info` prints every section dockerd's does, with values.
  const info = await ok(['info']);
  for (const line of ['Server Version:', 'Storage Driver: overlay2', 'Cgroup Driver:', 'Runtimes:', 'Default Runtime:', 'Kernel Version:', 'Total Memory:', 'Docker Root Dir:', 'Security Options:']) {
    assert.ok(info.includes(line), `docker info lacks ${line}:\n${info}`);
  }
  const df = await ok(['system', 'df', '-v']);
  for (const section of ['Images space usage:', 'Containers space usage:', 'Local Volumes space usage:', 'Build cache usage:']) assert.ok(df.includes(section), df);
  assert.match(df, /auditvol\s+1\s+/, 'the named volume shows its one link');
});
