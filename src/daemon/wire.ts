// The only place that calls `new` on stores and drivers: it builds the daemon
// from its configuration, adapts each part to the roles the services need,
// reconciles state left by an earlier run, and serves the API.
import { collectWhenIdle } from './idle-gc.js';
import { mkdirSync, rmSync, chmodSync, existsSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join, dirname } from 'node:path';
import type { Socket } from 'node:net';
import type { Server } from 'node:http';
import os from 'node:os';
import { openDb, EventBus, invalidArgument, notFound, type Logger } from '../util/index.js';
import { LocalContentStore } from '../content/index.js';
import { ImageStore } from '../images/index.js';
import { Snapshotter, chainIds } from '../snapshots/index.js';
import { Unpacker } from '../unpack/index.js';
import * as runtime from '../runtime/index.js';
import * as sys from '../sys/index.js';
import { VolumeStore } from '../volumes/index.js';
import { NetworkManager } from '../network/index.js';
import { ContainerService, ContainerArchive, listView, plannedEndpoints, type RootfsProvider, type ImageInfo } from '../containers/index.js';
import { readLogs, parseTimeArg } from '../containers/logs.js';
import {
  Router, createApiServer, containerRoutes, archiveRoutes, systemRoutes, volumeRoutes, networkRoutes, imageRoutes, buildRoutes, goArch,
  SERVER_VERSION, swarmRoutes,
} from '../api/index.js';
import type { DaemonConfig } from './config.js';
import { imagesBackend } from './images-backend.js';
import { buildBackend } from './build-backend.js';
import { BuildCache } from '../build/index.js';
import { networkPlumbing } from './network-plumbing.js';
import { specBuilder } from './spec-builder.js';
import { runtimeUpdater, dirSize, netStats } from './container-extras.js';

export interface Daemon {
  close(): Promise<void>;
  servers: Server[];
}

export async function startDaemon(cfg: DaemonConfig, log: Logger): Promise<Daemon> {
  for (const d of [cfg.dataRoot, cfg.execRoot]) mkdirSync(d, { recursive: true, mode: 0o711 });
  const db = openDb(join(cfg.dataRoot, 'berth.db'));
  const bus = new EventBus();
  const events = bus.emit;

  const content = new LocalContentStore({ root: join(cfg.dataRoot, 'content') });
  const images = new ImageStore({ db, content, log, events });
  // Nothing is being written yet: blobs no image refers to are a crash's leftovers (see reconcile).
  const swept = await content.reconcile(images.referencedBlobs());
  if (swept.ingests || swept.blobs) log.info('removed leftovers of interrupted writes from the content store', swept);
  const snapshots = new Snapshotter({ root: join(cfg.dataRoot, 'snapshots'), db, log });
  await snapshots.reconcile();
  const unpacker = new Unpacker({ content, snapshots });

  // crun refuses hybrid cgroup hosts whose v2 mount holds a controller: move it to its own v1 hierarchy.
  await runtime.prepareHost({ log }).catch((err) => log.warn('could not prepare cgroups for crun', { err }));
  // Every working runtime (and daemon.json's); each container runs under the one it names.
  const rt = await runtime.loadRuntimes({ configured: cfg.runtimes, defaultRuntime: cfg.runtime, log });
  const driver = new runtime.RuntimeDispatcher(rt, { execRoot: join(cfg.execRoot, 'runtime'), log });

  const volumes = new VolumeStore({ db, root: join(cfg.dataRoot, 'volumes'), log, events });
  const network = new NetworkManager({
    db, execRoot: cfg.execRoot, dataRoot: cfg.dataRoot, log, events,
    // A second daemon on one host needs its own bridge and nft table.
    config: { bip: cfg.bip, defaultAddressPools: cfg.defaultAddressPools, bridgeName: cfg.bridge, nftTable: cfg.bridge && cfg.bridge !== 'berth0' ? cfg.bridge.replace(/[^A-Za-z0-9_-]/g, '_') : undefined },
  });

  const rootfs: RootfsProvider = {
    layerDirs: async (image: ImageInfo) => (await unpacker.unpack(image.layers)).dirs,
    prepare: (dir) => snapshots.prepareContainer(dir),
    mount: (o) => snapshots.mountRootfsAsync(o),
    unmount: (t) => snapshots.unmountAsync(t),
    isMounted: (t) => snapshots.isMounted(t),
    mountTmpfs: async (t, data) => {
      mkdirSync(t, { recursive: true });
      await sys.mountAsync('shm', t, 'tmpfs', sys.constants.MS_NOSUID | sys.constants.MS_NODEV | sys.constants.MS_NOEXEC, data);
    },
  };

  // Docker puts a container's labels into the attributes of its events (so
  // `docker events --filter label=…` and compose's project filters work).
  // The record is gone by `destroy`: remember the labels until then.
  const eventLabels = new Map<string, Record<string, string>>();
  const containerEvents: typeof events = (type, action, id, attrs = {}) => {
    if (type !== 'container') return events(type, action, id, attrs);
    let labels = eventLabels.get(id);
    if (!labels) {
      labels = (containers.store.find(id)?.Config.Labels ?? {}) as Record<string, string>;
      eventLabels.set(id, labels);
    }
    if (action === 'destroy') eventLabels.delete(id);
    events(type, action, id, { ...labels, ...attrs });
  };
  const containers: ContainerService = new ContainerService({
    db, root: join(cfg.dataRoot, 'containers'), log, events: containerEvents,
    images: { get: (ref) => images.get(ref) },
    rootfs,
    runtime: driver,
    spec: specBuilder({ defaultUlimits: cfg.defaultUlimits }),
    volumes: {
      ensure: (name, o) => volumes.ensure(name, o),
      populate: (name, from) => volumes.populate(name, from),
      release: (name, id) => volumes.release(name, id),
      remove: (name) => volumes.remove(name, {}),
    },
    network: networkPlumbing(network),
    // `update` goes to the container's own runtime and state root.
    updateResources: runtimeUpdater((id) => driver.runtimeOf(id), cfg.execRoot, (id) => containers.get(id).State.Pid),
  });
  // SizeRw is the container's upper layer; SizeRootFs adds the image's layers.
  const diskUsage = async (id: string) => {
    const rec = containers.get(id);
    const rw = await dirSize(join(containers.dir(rec.Id), 'upper'));
    let imageSize = 0;
    try { imageSize = images.toApiSummary(images.get(rec.ImageId)).Size ?? 0; } catch { /* image gone */ }
    return { rw, rootfs: rw + imageSize };
  };

  // Unpacked layers that no image and no container uses any more: Docker deletes a layer with its last
  // image. A layer a pull or build unpacked before its image was recorded may go too; creating a
  // container unpacks any missing layer again from the content store, which keeps every referenced blob.
  let layerGc: Promise<void> = Promise.resolve();
  const collectLayers = (): Promise<void> => {
    const used = () => {
      const keep = new Set<string>();
      for (const img of images.list()) for (const id of chainIds(img.layers.map((l) => l.diffId))) keep.add(id);
      for (const c of containers.list()) for (const dir of c.LayerDirs ?? []) keep.add(dir);
      // A create in flight has no record yet: an rmi -f meanwhile must not take the layers it is about to mount.
      for (const img of containers.imagesInFlight()) for (const id of chainIds(img.layers.map((l) => l.diffId))) keep.add(id);
      return keep;
    };
    layerGc = layerGc.then(async () => {
      const first = used();
      for (const l of snapshots.list().filter((x) => !first.has(x.chainId) && !first.has(x.dir))) {
        // Checked again right before: the check and the row's deletion (remove's first, synchronous
        // step) happen with no await between, so an image recorded meanwhile keeps its layers.
        const now = used();
        if (now.has(l.chainId) || now.has(l.dir)) continue;
        await snapshots.remove(l.chainId).catch((err) => log.warn('cannot remove an unused layer', { chainId: l.chainId, err }));
      }
    }).catch((err) => log.warn('layer collection failed', { err }));
    return layerGc;
  };

  // A running container connected to or disconnected from a network sees it in /etc/hosts and,
  // for a user-defined network, gets its DNS server in /etc/resolv.conf, as Docker does.
  const refreshNetworkFiles = async (id: string) => {
    const rec = containers.get(id);
    if (rec.State.Status !== 'running' && rec.State.Status !== 'paused') return;
    const mode = rec.HostConfig.NetworkMode || 'bridge';
    if (mode === 'host' || mode.startsWith('container:') || !rec.HostsPath) return;
    const hc = rec.HostConfig;
    await network.writeContainerFiles(containers.dir(id), {
      hostname: rec.Config.Hostname, domainname: rec.Config.Domainname ?? '', extraHosts: hc.ExtraHosts ?? [], dns: hc.Dns ?? [],
      dnsSearch: hc.DnsSearch ?? [], dnsOptions: hc.DnsOptions ?? [], networkMode: mode === 'default' ? 'bridge' : mode, containerId: id, inPlace: true,
    }).catch((err) => log.warn('cannot update the container\'s hosts and resolv.conf', { id, err }));
  };

  await network.init();
  await volumes.reconcile({ containerExists: (id) => !!containers.store.find(id) });
  await containers.reconcile();
  const running = containers.list().filter((c) => c.State.Status === 'running' || c.State.Status === 'paused').map((c) => c.Id);
  await network.reconcile(running, { known: containers.list().map((c) => c.Id) });
  await collectLayers();
  void containers.restartAtBoot(); // restart policies, once the network is back (in the background)

  const router = new Router();
  systemRoutes(router, {
    events: bus,
    parseTime: (s) => parseTimeArg(s),
    info: async () => infoView(cfg, rt, containers, images),
    df: async () => ({
      LayersSize: snapshots.usage().size,
      Images: (() => {
        // SharedSize: bytes of layers (by chain) that another image uses too; the
        // docker CLI needs it to work out what is reclaimable.
        const all = images.list();
        const chainKey = (i: typeof all[number], n: number) => i.layers.slice(0, n + 1).map((l) => l.diffId).join('/');
        const users = new Map<string, number>();
        for (const i of all) i.layers.forEach((_, n) => users.set(chainKey(i, n), (users.get(chainKey(i, n)) ?? 0) + 1));
        return all.map((i) => ({
          ...images.toApiSummary(i),
          SharedSize: i.layers.reduce((sum, l, n) => sum + ((users.get(chainKey(i, n)) ?? 0) > 1 ? (images.layerDiff(l.digest)?.diffSize ?? l.size) : 0), 0),
          Containers: containers.list().filter((c) => c.ImageId === i.id).length,
        }));
      })(),
      Containers: await Promise.all(containers.list().map(async (c) => {
        const u = await diskUsage(c.Id).catch(() => ({ rw: 0, rootfs: 0 }));
        // dockerd lists these as `ps -a --size` does: human Status, the mounts (LOCAL VOLUMES counts them).
        return { ...listView(c, network.endpoints(c.Id), Date.now()), SizeRw: u.rw, SizeRootFs: u.rootfs };
      })),
      Volumes: await volumes.df(),
      BuildCache: [],
    }),
  });
  containerRoutes(router, {
    containers, log, events: containerEvents,
    endpoints: (id) => network.endpoints(id),
    // berth pins a container's netns under the exec root (Docker: /var/run/docker/netns/<id>); one the
    // runtime made itself (--network none) is reachable through the init process while it runs.
    sandboxKey: (rec) => {
      if (rec.State.Status !== 'running' && rec.State.Status !== 'paused') return '';
      const pinned = network.netnsPath(rec.Id);
      if (existsSync(pinned)) return pinned;
      return rec.HostConfig.NetworkMode === 'host' || !rec.State.Pid ? '' : `/proc/${rec.State.Pid}/ns/net`;
    },
    readLogs: (path, o) => readLogs(path, o),
    parseTime: (s) => parseTimeArg(s),
    stats: async (id, prev) => {
      // The previous raw sample gives Docker's precpu_stats.
      const raw = await driver.stats(id);
      const out = runtime.toDockerStats(raw, (prev as { raw?: runtime.CgroupStats } | undefined)?.raw);
      const nets = await netStats(containers.get(id).State.Pid);
      if (nets) (out as unknown as Record<string, unknown>).networks = nets;
      Object.defineProperty(out, 'raw', { value: raw, enumerable: false });
      return out as unknown as Record<string, any>;
    },
    topPids: (id) => driver.top(id),
    diskUsage,
    imageMatches: (ancestor, rec) => {
      try { return images.get(ancestor).id === rec.ImageId; } catch { return rec.Image === ancestor; }
    },
  });
  archiveRoutes(router, new ContainerArchive({ containers, events: containerEvents, log }));
  volumeRoutes(router, {
    create: (b) => volumes.create(b),
    get: (n) => volumes.get(n),
    list: (f) => volumes.list(f),
    remove: async (n, o) => {
      if (o.force) { /* Docker's force only skips missing-volume errors */ }
      await volumes.remove(n, o);
    },
    prune: (f) => volumes.prune(f),
  });
  networkRoutes(router, {
    create: (b) => network.create(b),
    list: (f) => network.list(f),
    inspect: (n) => network.inspect(n),
    remove: (n) => network.remove(n),
    prune: (f) => network.prune(f),
    connect: async (net, body) => {
      const c = containers.get(body.Container);
      await network.connect(c.Id, net, { containerName: c.Name, aliases: body.EndpointConfig?.Aliases, ipv4Address: body.EndpointConfig?.IPAMConfig?.IPv4Address, macAddress: body.EndpointConfig?.MacAddress, hostname: c.Config.Hostname, links: body.EndpointConfig?.Links ?? undefined });
      // An rm that ran while the connect waited its turn may have released the container's endpoints already
      // (it marks the record 'removing' first): drop the one just recorded, or the network would keep an
      // endpoint of a container that is gone.
      const now = containers.store.find(c.Id);
      if (!now || now.State.Status === 'removing') {
        await network.release(c.Id).catch(() => undefined);
        throw notFound(`No such container: ${body.Container}`);
      }
      await refreshNetworkFiles(c.Id);
    },
    disconnect: async (net, body) => {
      const c = containers.get(body.Container);
      // A container that never started shows the networks it will join (as dockerd's does); docker-compose 1.29
      // disconnects it from those before connecting with its aliases. Nothing is plumbed yet, so that is a no-op.
      if (!Object.keys(network.endpoints(c.Id)).length && c.State.StartedAt.startsWith('0001')) {
        if (network.inspect(net).Name in plannedEndpoints(c, {})) return;
      }
      await network.disconnect(c.Id, net, { force: !!body.Force });
      await refreshNetworkFiles(c.Id);
    },
  });
  const buildCache = new BuildCache(db);
  const imagesBe = imagesBackend({ cfg, log, images, content, unpacker, containers, events, hidden: (id) => buildCache.hasChild(id), collectLayers, steps: buildCache });
  imageRoutes(router, imagesBe);
  swarmRoutes(router);
  buildRoutes(router, buildBackend({ images, containers, rootfs, cache: buildCache, tmpDir: join(cfg.dataRoot, 'build'), log, pull: imagesBe.pull, collectLayers, events }));

  const server = createApiServer(router, log);
  const servers: Server[] = [];
  for (const host of cfg.hosts) {
    const s = host === cfg.hosts[0] ? server : createApiServer(router, log);
    await listen(s, host, log);
    servers.push(s);
  }
  const sockets = new Set<Socket>();
  for (const s of servers) {
    s.on('connection', (sock: Socket) => { sockets.add(sock); sock.once('close', () => sockets.delete(sock)); });
  }
  log.info('API listening', { hosts: cfg.hosts.join(','), version: SERVER_VERSION });
  const stopIdleGc = collectWhenIdle(servers, 1500, log);
  return {
    servers,
    close: async () => {
      stopIdleGc();
      // closeAllConnections() only knows HTTP connections: hijacked attach/exec
      // streams would keep close() waiting forever. Drop every socket; the
      // containers keep their stdio (conmon holds it).
      await Promise.all(servers.map((s) => new Promise<void>((r) => {
        s.close(() => r());
        s.closeAllConnections();
        for (const sock of sockets) sock.destroy();
      })));
      containers.health.stopAll(); // no health check results after the db closes
      network.close();
      db.close();
    },
  };
}

async function listen(server: Server, host: string, log: Logger): Promise<void> {
  if (host.startsWith('unix://') || host.startsWith('/')) {
    const path = host.replace(/^unix:\/\//, '');
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path) && statSync(path).isSocket()) rmSync(path);
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(path, () => resolve()); });
    chmodSync(path, 0o660);
    return;
  }
  const m = /^(?:tcp:\/\/)?([^:]*):(\d+)$/.exec(host);
  if (!m) throw invalidArgument(`invalid host: ${host}`);
  if (m[1] !== '127.0.0.1' && m[1] !== 'localhost') log.warn('the API on a TCP port has no authentication; anyone who reaches it is root', { host });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(Number(m[2]), m[1] || '127.0.0.1', () => resolve()); });
}

function infoView(cfg: DaemonConfig, rt: runtime.RuntimeTable, containers: ContainerService, images: ImageStore) {
  const list = containers.list();
  const count = (s: string) => list.filter((c) => c.State.Status === s).length;
  return {
    ID: engineId(cfg.dataRoot), Containers: list.length, ContainersRunning: count('running'), ContainersPaused: count('paused'),
    ContainersStopped: list.length - count('running') - count('paused'), Images: images.list().length,
    Driver: 'overlay2', DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true']],
    Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['json-file', 'k8s-file'] },
    MemoryLimit: true, SwapLimit: true, KernelMemoryTCP: false, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true,
    CPUSet: true, PidsLimit: true, IPv4Forwarding: true, Debug: cfg.logLevel === 'debug', NFd: 0, OomKillDisable: false,
    NGoroutines: 0, SystemTime: new Date().toISOString(), LoggingDriver: 'json-file', CgroupDriver: 'cgroupfs',
    CgroupVersion: String(runtime.cgroupVersion()), NEventsListener: 0, KernelVersion: os.release(), OperatingSystem: 'berth on ' + osName(),
    OSVersion: '', OSType: 'linux', Architecture: os.machine?.() ?? goArch(), IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: {
      InsecureRegistryCIDRs: ['127.0.0.0/8', '::1/128'], IndexConfigs: {}, Mirrors: cfg.registryMirrors,
    },
    NCPU: os.cpus().length, MemTotal: os.totalmem(), GenericResources: null, DockerRootDir: cfg.dataRoot,
    HttpProxy: process.env.HTTP_PROXY ?? '', HttpsProxy: process.env.HTTPS_PROXY ?? '', NoProxy: process.env.NO_PROXY ?? '',
    Name: os.hostname(), Labels: [], ExperimentalBuild: false, ServerVersion: SERVER_VERSION,
    Runtimes: rt.info(), DefaultRuntime: rt.defaultName, Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: true, Isolation: '', InitBinary: 'catatonit', ContainerdCommit: { ID: '' }, RuncCommit: { ID: '' },
    InitCommit: { ID: '' }, SecurityOptions: ['name=seccomp,profile=builtin'],
    // dockerd 28 always sends these (no omitempty): CDISpecDirs as [] when none (promoteNil in daemon/info.go);
    // FirewallBackend names what programs the NAT rules — berth writes nftables tables itself.
    FirewallBackend: { Driver: 'nftables' }, CDISpecDirs: [], Warnings: [],
  };
}

/** dockerd's engine ID: a UUID made once and kept in <data-root>/engine-id (tools use it to tell daemons apart). */
const engineIds = new Map<string, string>();
function engineId(dataRoot: string): string {
  const known = engineIds.get(dataRoot);
  if (known) return known;
  const file = join(dataRoot, 'engine-id');
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f-]{36}$/.test(id)) { engineIds.set(dataRoot, id); return id; }
  } catch { /* first start */ }
  const id = randomUUID();
  try { writeFileSync(file, id + '\n', { mode: 0o600 }); } catch { /* read-only: a fresh id each start */ }
  engineIds.set(dataRoot, id);
  return id;
}

function osName(): string {
  try {
    const txt = readFileSync('/etc/os-release', 'utf8');
    return /PRETTY_NAME="([^"]+)"/.exec(txt)?.[1] ?? 'Linux';
  } catch { return 'Linux'; }
}

