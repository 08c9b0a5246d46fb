// The container lifecycle: create, start, stop, kill, wait, remove, attach,
// exec, and what happens when a process exits. The record lives in SQLite;
// live handles (attach sessions, exit watchers) live here in memory.
import { mkdirSync, rmSync, existsSync, readdirSync, renameSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { cpus as availableCpusList } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import {
  type DB, type Logger, type EventSink, newId, randomName, invalidArgument, conflict, notFound,
  notModified, resolveInRoot,
} from '../util/index.js';
import { ContainerStore } from './store.js';
import type { ContainerRecord, Status } from './types.js';
import type { ContainerFilesystem } from './archive.js';
import { collectMounts } from './mounts.js';
import { checkCreateBody } from './validate.js';
import type {
  ImageLookup, ImageInfo, RootfsProvider, RuntimeDriver, SpecBuilder, VolumePlumbing, NetworkPlumbing, AttachStreams, ExitStatus, ExecHandle,
} from './deps.js';
import { signalNumber } from './signals.js';
import { rotateIfNeeded, rotatedFiles } from './logs.js';
import { HealthMonitor, validateHealthcheck, mergeHealthcheck } from './health.js';
import { mergeUpdate, liveResources, type LiveResources } from './update.js';
import { normalizeLinks, volumesFrom, parseLink, linkEntries, checkNetworkConflicts } from './links.js';

export interface ContainerServiceDeps {
  db: DB;
  root: string; // <data-root>/containers
  log: Logger;
  events: EventSink;
  images: ImageLookup;
  rootfs: RootfsProvider;
  runtime: RuntimeDriver;
  spec: SpecBuilder;
  volumes: VolumePlumbing;
  network: NetworkPlumbing;
  /** Apply new limits to a running container (`docker update`); absent: stored for the next start only. */
  updateResources?: (id: string, r: LiveResources) => Promise<void>;
  /** Volumes in use elsewhere need this to report users. */
}

export interface AttachSession {
  stdin?: NodeJS.ReadableStream;
  stdinOnce: boolean;
  onData(stream: 1 | 2, chunk: Buffer): void;
  onEnd(): void;
  /** Set by the service: drops the connection to the container's stdio. */
  close?: () => void;
}

type WaitCondition = 'not-running' | 'next-exit' | 'removed';
interface Waiter { condition: WaitCondition; resolve: (r: { StatusCode: number; Error: { Message: string } | null }) => void }

export interface ExecRecord {
  ID: string;
  ContainerID: string;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  ProcessConfig: { tty: boolean; entrypoint: string; arguments: string[]; privileged: boolean; user: string };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  CanRemove: boolean;
  DetachKeys: string;
  Config: Record<string, any>;
  handle?: ExecHandle;
}

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class ContainerService {
  readonly store: ContainerStore;
  private pendingAttach = new Map<string, AttachSession[]>();
  private waiters = new Map<string, Waiter[]>();
  private watching = new Set<string>();
  private logTimers = new Map<string, NodeJS.Timeout>();
  private restartTimers = new Map<string, NodeJS.Timeout>();
  private locks = new Map<string, Promise<unknown>>();
  /** Containers an rm is under way for: a second rm gets dockerd's 409 instead of removing twice. */
  private removing = new Set<string>();
  /**
   * Creates in flight: container id → the image it is made from. The record is inserted only at the end of create, so
   * without this an rmi or image prune between the image lookup and the insert would delete the image
   * (and its layers) under a container about to use it.
   */
  private creating = new Map<string, ImageInfo>();
  /**
   * Names taken by creates in flight (name → id), as dockerd's name registrar reserves a name when a
   * create begins: of five `create --name x` at once, four fail at once with the name conflict instead
   * of each preparing a rootfs and volumes first (and leaking anonymous volumes when they lose).
   */
  private reservedNames = new Map<string, string>();
  readonly execs = new Map<string, ExecRecord>();
  readonly health: HealthMonitor;

  constructor(private readonly d: ContainerServiceDeps) {
    this.store = new ContainerStore(d.db);
    this.health = new HealthMonitor({ store: this.store, runtime: d.runtime, spec: d.spec, rootfs: (id) => join(this.dir(id), 'rootfs'), events: d.events, log: d.log });
    mkdirSync(d.root, { recursive: true });
  }

  get(ref: string): ContainerRecord { return this.store.get(ref); }
  list(): ContainerRecord[] { return this.store.all(); }
  dir(id: string): string { return join(this.d.root, id); }

  /** Serialise lifecycle operations per container. */
  private async locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.locks.set(id, next);
    try { return await next; } finally { if (this.locks.get(id) === next) this.locks.delete(id); }
  }

  // ---------------------------------------------------------------- create

  /**
   * HostConfig.VolumesFrom: copies of the named containers' volume and bind mount points (a tmpfs is
   * private to its container). `:ro` makes them read-only; otherwise each keeps its own mode. The copied
   * volumes are not anonymous here: removing this container with -v leaves them to their owner.
   */
  async create(body: Record<string, any>, opts: { name?: string }): Promise<{ Id: string; Warnings: string[] }> {
    if (!body || typeof body !== 'object') throw invalidArgument('invalid container config');
    checkCreateBody(body);
    const hostConfig: Record<string, any> = body.HostConfig ?? {};
    const networkingConfig: Record<string, any> = body.NetworkingConfig ?? {};
    const config: Record<string, any> = { ...body };
    delete config.HostConfig;
    delete config.NetworkingConfig;
    if (!config.Image) throw invalidArgument('config cannot be empty in order to create a container');
    if (typeof config.Image !== 'string') throw invalidArgument(`json: cannot unmarshal ${typeof config.Image} into Go struct field CreateRequest.Image of type string`);
    let name = opts.name;
    if (name !== undefined && name !== '') {
      if (!NAME_RE.test(name)) throw invalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      name = name.replace(/^\//, '');
    } else {
      name = randomName();
      for (let i = 1; this.store.byName(name) && i < 20; i++) name = randomName(i);
    }
    validateHostConfig(hostConfig);
    // 0 and negative pid limits mean "unlimited", which dockerd stores as no limit: inspect shows null
    // (moby container_routes.go postContainersCreate); only `update` stores an explicit 0.
    if (typeof hostConfig.PidsLimit === 'number' && hostConfig.PidsLimit <= 0) hostConfig.PidsLimit = null;
    // --runtime: one the daemon has; inspect shows the effective name (the default when none is named), as dockerd does.
    if (this.d.runtime.resolveRuntime) hostConfig.Runtime = this.d.runtime.resolveRuntime(hostConfig.Runtime || undefined);
    else if (hostConfig.Runtime && !['runc', 'crun', 'io.containerd.runc.v2'].includes(hostConfig.Runtime)) throw invalidArgument(`unknown or invalid runtime name: ${hostConfig.Runtime}`);
    checkNetworkConflicts(config, hostConfig, networkingConfig);
    this.d.spec.validate?.(hostConfig);
    if (typeof config.StopSignal === 'string' && config.StopSignal) signalNumber(config.StopSignal); // "Invalid signal: X"

    validateHealthcheck(config.Healthcheck);
    const image = this.d.images.get(config.Image);
    const ic = (image.config.config ?? {}) as Record<string, any>;
    const id = newId();
    const holder = this.reservedNames.get(name) ?? this.store.byName(name)?.Id;
    if (holder) throw conflict(nameConflict(name, holder));
    this.reservedNames.set(name, id);
    this.creating.set(id, image);
    try {
      return await this.createFrom(id, image, ic, name, config, hostConfig, networkingConfig);
    } finally {
      this.creating.delete(id);
      this.reservedNames.delete(name);
    }
  }

  private async createFrom(
    id: string, image: ImageInfo, ic: Record<string, any>, name: string,
    config: Record<string, any>, hostConfig: Record<string, any>, networkingConfig: Record<string, any>,
  ): Promise<{ Id: string; Warnings: string[] }> {
    const merged = mergeConfig(config, ic, id);
    const args = [...(merged.Entrypoint ?? []), ...(merged.Cmd ?? [])];
    if (args.length === 0) throw invalidArgument('no command specified');
    // --volumes-from: another container's volumes and binds, before the image's VOLUMEs (a shared
    // path is not also a new anonymous volume); the container's own mounts win. A missing container
    // is a 400: a 404 would make the docker CLI try to pull the image.
    const inherited = volumesFrom(hostConfig.VolumesFrom, [], (ref) => {
      const c = this.store.find(ref);
      if (!c) throw invalidArgument(`No such container: ${ref}`);
      return c;
    });
    const mounts = collectMounts(config, hostConfig, ic.Volumes ?? undefined, inherited);
    // --link: checked now, kept in the "/child:/parent/alias" form inspect shows.
    hostConfig.Links = normalizeLinks(hostConfig.Links, name, (ref) => this.store.find(ref));
    const dir = this.dir(id);
    const now = new Date().toISOString();
    const rec: ContainerRecord = {
      Id: id, Name: name, Created: now, Image: config.Image, ImageId: image.id,
      Config: merged, HostConfig: normalizeHostConfig(hostConfig), NetworkingConfig: networkingConfig,
      State: { Status: 'created', Pid: 0, ExitCode: 0, Error: '', StartedAt: '0001-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z', OOMKilled: false },
      Path: args[0]!, Args: args.slice(1), RestartCount: 0, Mounts: mounts, LayerDirs: [], ManualStop: false,
      HostnamePath: '', HostsPath: '', ResolvConfPath: '', LogPath: join(dir, `${id}-json.log`), Ports: {},
    };
    if (this.store.byName(name)) this.store.insert(rec); // throws Docker's name conflict
    // Build on disk first; the DB row commits the container. A crash before it
    // leaves a directory that startup sweeps away.
    mkdirSync(dir, { recursive: true });
    try {
      rec.LayerDirs = await this.d.rootfs.layerDirs(image);
      await this.d.rootfs.prepare(dir);
      mkdirSync(join(dir, 'rootfs'), { recursive: true });
      for (const m of mounts) {
        if (m.Type !== 'volume') continue;
        // --mount volume-opt=/volume-label=: used only when this creates the volume (as in Docker).
        const vo = (hostConfig.Mounts ?? []).find((x: Record<string, any>) => x?.Type === 'volume' && x.Target === m.Destination)?.VolumeOptions;
        const v = await this.d.volumes.ensure(m.Name ?? '', {
          anonymous: !!m.Anonymous, containerId: id, driverOpts: vo?.DriverConfig?.Options ?? undefined, labels: vo?.Labels ?? undefined,
        });
        m.Name = v.name;
        m.Source = v.mountpoint;
      }
      this.store.insert(rec);
    } catch (err) {
      for (const m of mounts) {
        if (m.Type !== 'volume' || !m.Name) continue;
        this.d.volumes.release(m.Name, id);
        // An anonymous volume made for this create belongs to nobody else: it goes with the failed create.
        if (m.Anonymous) await this.d.volumes.remove(m.Name).catch(() => undefined);
      }
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    this.d.events('container', 'create', id, { image: rec.Image, name });
    return { Id: id, Warnings: [] };
  }

  // ---------------------------------------------------------------- start

  /**
   * Start a container. A start by the user (and the daemon's own start at boot)
   * begins a new restart history: RestartCount goes back to 0, as in dockerd;
   * the restart policy's own restarts pass `policyRestart`.
   */
  async start(ref: string, opts: { policyRestart?: boolean } = {}): Promise<void> {
    const rec = this.store.get(ref);
    return this.locked(rec.Id, () => this.startLocked(rec, opts));
  }

  private async startLocked(rec: ContainerRecord, opts: { policyRestart?: boolean } = {}): Promise<void> {
    if (rec.State.Status === 'running') throw notModified('container already started');
    if (rec.State.Status === 'paused') throw conflict('cannot start a paused container, try unpause instead');
    if (rec.State.Status === 'removing') throw conflict(`container is marked for removal and cannot be started`);
    const id = rec.Id;
    const dir = this.dir(id);
    const rootfs = join(dir, 'rootfs');
    const hc = rec.HostConfig;
    const cfg = rec.Config;
    const t0 = process.hrtime.bigint();
    const lap = (what: string) => this.d.log.debug('start step', { id: id.slice(0, 12), what, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    try {
      // --gpus: no device driver (NVIDIA container toolkit & co.) here; dockerd fails the start with these words.
      const gpu = (hc.DeviceRequests ?? []).find((r: { Driver?: string; Capabilities?: string[][] }) => r);
      if (gpu) throw invalidArgument(`could not select device driver "${gpu.Driver ?? ''}" with capabilities: [${(gpu.Capabilities ?? []).map((c: string[]) => `[${c.join(' ')}]`).join(' ')}]`);
      // A previous run may have left runtime state behind.
      if (!rec.State.StartedAt.startsWith('0001')) await this.d.runtime.delete(id, { force: true }).catch(() => undefined);
      if (!this.d.rootfs.isMounted(rootfs)) {
        await this.d.rootfs.mount({ lowerDirs: rec.LayerDirs, upperDir: join(dir, 'upper'), workDir: join(dir, 'work'), target: rootfs });
      }
      const cwd = cfg.WorkingDir || '/';
      if (cwd !== '/') {
        const hostCwd = resolveInRoot(rootfs, cwd);
        mkdirSync(hostCwd, { recursive: true });
      }
      // Resolve the user early so a bad one fails before anything runs.
      this.d.spec.resolveUser(rootfs, cfg.User || '');
      lap('rootfs');
      const specMounts: { destination: string; type: string; source: string; options: string[] }[] = [];
      for (const m of rec.Mounts) {
        if (m.Type === 'volume') {
          const v = await this.d.volumes.ensure(m.Name!, { anonymous: !!m.Anonymous, containerId: id });
          m.Source = v.mountpoint;
          const nocopy = m.Options?.includes('nocopy');
          if (v.fresh && !nocopy) {
            const from = resolveInRoot(rootfs, m.Destination);
            if (existsSync(from)) await this.d.volumes.populate(v.name, from);
          }
          specMounts.push({ destination: m.Destination, type: 'bind', source: m.Source, options: ['rbind', m.RW ? 'rw' : 'ro', 'rprivate'] });
        } else if (m.Type === 'bind') {
          if (!existsSync(m.Source)) {
            if (m.Options?.includes('nocreate')) {
              throw invalidArgument(`invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
            }
            mkdirSync(m.Source, { recursive: true });
          }
          specMounts.push({ destination: m.Destination, type: 'bind', source: m.Source, options: ['rbind', m.RW ? 'rw' : 'ro', m.Propagation || 'rprivate'] });
        } else {
          const opts = ['nosuid', 'nodev', 'noexec', ...(m.Options ?? [])];
          if (!m.RW) opts.push('ro');
          specMounts.push({ destination: m.Destination, type: 'tmpfs', source: 'tmpfs', options: opts });
        }
      }
      const shared = this.sharedNamespaces(hc);
      // --ipc shareable: /dev/shm is a tmpfs on the host, so containers joining the IPC namespace can bind it too (as dockerd).
      if (hc.IpcMode === 'shareable' && this.d.rootfs.mountTmpfs) {
        const shmDir = join(dir, 'shm');
        if (!this.d.rootfs.isMounted(shmDir)) await this.d.rootfs.mountTmpfs(shmDir, `mode=1777,size=${hc.ShmSize > 0 ? hc.ShmSize : 64 * 1024 * 1024}`);
        shared.shmSource = shmDir;
      }
      if (shared.shmSource && !specMounts.some((m) => m.destination === '/dev/shm')) {
        specMounts.push({ destination: '/dev/shm', type: 'bind', source: shared.shmSource, options: ['rbind', 'rw', 'rprivate'] });
      }
      let mode = networkMode(hc);
      if (mode.startsWith('container:')) {
        const other = this.store.get(mode.slice('container:'.length));
        if (other.State.Status !== 'running') throw conflict(`cannot join network namespace of a non running container: ${other.Id}`);
        mode = `container:${other.Id}`;
        // Docker: a container sharing another's network stack takes its host and domain name too.
        cfg.Hostname = other.Config.Hostname;
        cfg.Domainname = other.Config.Domainname;
      }
      const endpoints = { ...(rec.NetworkingConfig?.EndpointsConfig ?? {}) };
      // On a user-defined network a link is a name the network's DNS answers (Docker: EndpointSettings.Links);
      // docker-compose 1.29 puts its `links:` only in HostConfig.Links, so they become the primary endpoint's.
      const userDefined = !['', 'default', 'bridge', 'host', 'none'].includes(mode) && !mode.startsWith('container:');
      if (userDefined && Array.isArray(hc.Links) && hc.Links.length && !endpoints[mode]?.Links?.length) {
        endpoints[mode] = { ...(endpoints[mode] ?? {}), Links: hc.Links };
      }
      // The container-wide Config.MacAddress (deprecated in API 1.44; docker-py 5 still sends it) is the
      // MAC of the network-mode endpoint unless that endpoint names its own, as dockerd migrates it.
      if (typeof cfg.MacAddress === 'string' && cfg.MacAddress && !['host', 'none'].includes(mode) && !mode.startsWith('container:')) {
        const key = mode === 'default' ? 'bridge' : mode;
        if (!endpoints[key]?.MacAddress) endpoints[key] = { ...(endpoints[key] ?? {}), MacAddress: cfg.MacAddress };
      }
      // Record endpoints and ports first; prepare() plumbs them into a fresh netns.
      await this.d.network.attach(id, {
        containerName: rec.Name, hostname: cfg.Hostname, mode, endpoints,
        portBindings: zeroPortIsEphemeral(hc.PortBindings ?? {}), exposedPorts: Object.keys(cfg.ExposedPorts ?? {}), publishAll: !!hc.PublishAllPorts,
      });
      // `none` needs no plumbing: the runtime makes a fresh netns with only lo.
      // Joining a container whose netns is unpinned goes through its pid.
      let netnsPath: string | undefined;
      if (mode === 'none') netnsPath = undefined;
      else if (mode.startsWith('container:') && networkMode(this.store.get(mode.slice('container:'.length)).HostConfig) === 'none') {
        netnsPath = `/proc/${this.store.get(mode.slice('container:'.length)).State.Pid}/ns/net`;
      } else ({ netnsPath } = await this.d.network.prepare(id, mode));
      lap('network');
      rec.Ports = this.d.network.ports(id);
      const linked = this.linkEntries(rec, mode);
      let files = await this.d.network.writeFiles(dir, {
        hostname: cfg.Hostname, domainname: cfg.Domainname ?? '', extraHosts: [...linked.hosts, ...(hc.ExtraHosts ?? [])], dns: hc.Dns ?? [],
        dnsSearch: hc.DnsSearch ?? [], dnsOptions: hc.DnsOptions ?? [], mode, containerId: id,
      });
      if (mode.startsWith('container:')) {
        // Docker shares the other container's hosts, hostname and resolv.conf files: the same names
        // resolve through the same DNS server (compose's `network_mode: service:x` sidecars).
        const other = this.store.get(mode.slice('container:'.length));
        if (other.HostsPath && other.ResolvConfPath) {
          files = { hostsPath: other.HostsPath, hostnamePath: other.HostnamePath, resolvConfPath: other.ResolvConfPath };
        }
      }
      rec.HostsPath = files.hostsPath;
      rec.HostnamePath = files.hostnamePath;
      rec.ResolvConfPath = files.resolvConfPath;
      const destinations = new Set(specMounts.map((m) => m.destination));
      for (const [dst, src] of [['/etc/resolv.conf', files.resolvConfPath], ['/etc/hostname', files.hostnamePath], ['/etc/hosts', files.hostsPath]] as const) {
        if (src && !destinations.has(dst)) specMounts.push({ destination: dst, type: 'bind', source: src, options: ['rbind', 'rprivate', hc.ReadonlyRootfs ? 'ro' : 'rw'] });
      }
      // Link variables come first: the container's own env wins (as in dockerd).
      const env = mergeEnv(linked.env, cfg.Env ?? []);
      const spec = this.d.spec.build({
        id, rootfs, readonlyRootfs: !!hc.ReadonlyRootfs, args: [rec.Path, ...rec.Args], env,
        cwd, user: cfg.User || '', hostname: cfg.Hostname, domainname: cfg.Domainname ?? '', tty: !!cfg.Tty,
        consoleSize: Array.isArray(hc.ConsoleSize) && hc.ConsoleSize[0] ? [hc.ConsoleSize[0], hc.ConsoleSize[1]] : undefined,
        hostConfig: hc, mounts: specMounts, netnsPath, networkMode: mode, init: !!hc.Init,
        pidnsPath: shared.pidnsPath, ipcnsPath: shared.ipcnsPath,
      });
      const { maxSize, maxFile } = logLimits(hc);
      // conmon truncates at --log-size-max; that is json-file's max-file=1. With
      // more files berth rotates itself and asks conmon to reopen the log.
      const logMax = maxSize && maxFile <= 1 ? maxSize : undefined;
      lap('spec');
      rec.StartPending = true;
      this.store.save(rec); // see reconcile
      // conmon closes the container's stdin when an attach connection ends,
      // unless told to leave it open: Docker closes it only for StdinOnce
      // without a TTY (moby container/stream/attach.go).
      const { pid } = await this.d.runtime.create(id, {
        bundleDir: dir, spec, logPath: rec.LogPath, tty: !!cfg.Tty, openStdin: !!cfg.OpenStdin, stdinOnce: !!cfg.StdinOnce && !cfg.Tty,
        logSizeMax: logMax, runtime: hc.Runtime || undefined,
      });
      // Attach everyone who asked before start, so no early output is lost.
      const sessions = this.pendingAttach.get(id) ?? [];
      this.pendingAttach.delete(id);
      for (const s of sessions) await this.connectSession(id, s).catch((err) => { this.d.log.warn('attach failed', { id, err }); s.onEnd(); });
      lap('create');
      await this.d.runtime.start(id);
      lap('started');
      rec.State = { ...rec.State, Status: 'running', Pid: pid, ExitCode: 0, Error: '', StartedAt: new Date().toISOString(), OOMKilled: false };
      rec.ManualStop = false;
      delete rec.StartPending;
      if (!opts.policyRestart) rec.RestartCount = 0;
      this.store.save(rec);
      this.watchExit(rec.Id);
      this.watchLogSize(rec);
      this.health.start(rec); // health hook: probe while running
      this.d.events('container', 'start', id, { image: rec.Image, name: rec.Name });
    } catch (err) {
      const raw = (err as Error).message;
      // Only a failed exec of the program is 127/126; a missing cgroup file is not "command not found".
      const execErr = /exec|executable/i.test(raw);
      const code = /executable file not found|not found in \$PATH/i.test(raw) || (execErr && /no such file or directory/i.test(raw)) ? 127
        : execErr && /permission denied|is a directory/i.test(raw) ? 126 : 128;
      rec.State = { ...rec.State, Error: raw, ExitCode: code };
      delete rec.StartPending;
      this.store.save(rec);
      for (const s of this.pendingAttach.get(id) ?? []) s.onEnd();
      this.pendingAttach.delete(id);
      await this.d.runtime.delete(id, { force: true }).catch(() => undefined);
      await this.d.network.teardown(id).catch(() => undefined);
      // Like dockerd, a failed start ends the waits for the next exit, and
      // an --rm container is removed (the docker CLI waits for that).
      this.notify(id, ['next-exit'], code);
      if (rec.HostConfig.AutoRemove) {
        setImmediate(() => { void this.remove(id, { force: true, volumes: true }).catch(() => undefined); });
      }
      throw startError(err, rec.Path, code);
    }
  }

  private async unmountShm(id: string): Promise<void> {
    const shmDir = join(this.dir(id), 'shm');
    if (this.d.rootfs.isMounted(shmDir)) await this.d.rootfs.unmount(shmDir).catch((err) => this.d.log.warn('unmounting shm failed', { id, err }));
  }

  /** `--pid container:x` / `--ipc container:x`: join a running container's namespaces (dockerd's checks and texts). */
  private sharedNamespaces(hc: Record<string, any>): { pidnsPath?: string; ipcnsPath?: string; shmSource?: string } {
    const out: { pidnsPath?: string; ipcnsPath?: string; shmSource?: string } = {};
    const donor = (mode: unknown, what: string): ContainerRecord | undefined => {
      if (typeof mode !== 'string' || !mode.startsWith('container:')) return undefined;
      const ref = mode.slice('container:'.length);
      const c = this.store.find(ref);
      if (!c) throw notFound(`No such container: ${ref}`);
      if (c.State.Status !== 'running' || !c.State.Pid) throw conflict(`cannot join ${what} of a non running container: ${c.Id}`);
      return c;
    };
    const p = donor(hc.PidMode, 'PID');
    if (p) out.pidnsPath = `/proc/${p.State.Pid}/ns/pid`;
    const i = donor(hc.IpcMode, 'IPC');
    if (i) {
      const im = i.HostConfig.IpcMode;
      if (im !== 'shareable' && im !== 'host') throw invalidArgument('non-shareable IPC (hint: use IpcMode:shareable for the donor container)');
      out.ipcnsPath = `/proc/${i.State.Pid}/ns/ipc`;
      // POSIX shared memory: the donor's host-side /dev/shm (a host-IPC donor uses the host's).
      const shmDir = join(this.dir(i.Id), 'shm');
      if (im === 'host') out.shmSource = '/dev/shm';
      else if (this.d.rootfs.isMounted(shmDir)) out.shmSource = shmDir;
    }
    return out;
  }

  /**
   * `--link`: each child's address on the network this container joins (the
   * default bridge, or a user network where a link is an alias only this
   * container sees) goes into /etc/hosts, plus the legacy env vars.
   */
  private linkEntries(rec: ContainerRecord, mode: string): { hosts: string[]; env: string[] } {
    const hosts: string[] = [];
    const env: string[] = [];
    // Compose puts links of user networks in the endpoint config too (same "name:alias" form).
    const endpointLinks = Object.values((rec.NetworkingConfig?.EndpointsConfig ?? {}) as Record<string, { Links?: string[] | null }>)
      .flatMap((e) => (Array.isArray(e?.Links) ? e.Links : []));
    const seen = new Set<string>();
    for (const raw of [...((rec.HostConfig.Links ?? []) as string[]), ...endpointLinks]) {
      const { child, alias } = parseLink(raw);
      if (seen.has(`${child}:${alias}`)) continue;
      seen.add(`${child}:${alias}`);
      const c = this.store.find(child);
      if (!c) throw invalidArgument(`could not get container for ${child}: No such container: ${child}`);
      const eps = this.d.network.endpoints(c.Id) as Record<string, { IPAddress?: string }>;
      if (mode === 'bridge' && c.State.Status === 'running' && !eps.bridge) {
        throw invalidArgument(`Cannot link to /${c.Name}, as it does not belong to the default network`);
      }
      const ip = eps[mode]?.IPAddress || Object.values(eps).find((e) => e?.IPAddress)?.IPAddress || '';
      const e = linkEntries(rec, c, alias, ip);
      if (!ip) continue; // a child without an address (none/host mode): nothing to point at
      hosts.push(e.host);
      // The legacy env vars come only with the default bridge (dockerd's setupLinkedContainers).
      if (mode === 'bridge') env.push(...e.env);
    }
    return { hosts, env };
  }

  // ---------------------------------------------------------------- exits

  /** Follow a running container until it exits; works across daemon restarts. */
  watchExit(id: string): void {
    if (this.watching.has(id)) return;
    this.watching.add(id);
    void this.d.runtime.waitExit(id).then(
      (st) => this.onExit(id, st),
      (err) => { this.d.log.error('waiting for container exit failed', { id, err }); this.watching.delete(id); },
    );
  }

  /** With max-file ≥ 2, rotate the log as json-file does; conmon reopens it. */
  private watchLogSize(rec: ContainerRecord): void {
    const { maxSize, maxFile } = logLimits(rec.HostConfig);
    if (!maxSize || maxFile <= 1 || this.logTimers.has(rec.Id)) return;
    const timer = setInterval(() => {
      void rotateIfNeeded(rec.LogPath, { maxSize, maxFile, reopen: () => this.d.runtime.reopenLog(rec.Id) })
        .catch((err) => this.d.log.debug('log rotation failed', { id: rec.Id, err }));
    }, 1000);
    timer.unref();
    this.logTimers.set(rec.Id, timer);
  }

  /** Older log files of a container, oldest first (for `docker logs`). */
  async rotatedLogs(rec: ContainerRecord): Promise<string[]> {
    const { maxFile } = logLimits(rec.HostConfig);
    return maxFile > 1 ? rotatedFiles(rec.LogPath, maxFile) : [];
  }

  private async onExit(id: string, st: ExitStatus, opts: { atBoot?: boolean } = {}): Promise<void> {
    this.d.log.debug('exit seen', { id: id.slice(0, 12) });
    this.watching.delete(id);
    this.health.stop(id); // health hook: no probes once it exited
    const timer = this.logTimers.get(id);
    if (timer) { clearInterval(timer); this.logTimers.delete(id); }
    const rec = this.store.find(id);
    if (!rec) return;
    await this.locked(id, async () => {
      const t0 = process.hrtime.bigint();
      rec.State = { ...rec.State, Status: 'exited', Pid: 0, ExitCode: st.exitCode, OOMKilled: st.oomKilled, FinishedAt: st.finishedAt.toISOString() };
      this.store.save(rec);
      // The runtime's record and the network go away independently: do both at once.
      await Promise.all([
        this.d.runtime.delete(id, { force: true }).catch((err) => this.d.log.warn('runtime delete failed', { id, err })),
        this.d.network.teardown(id).catch((err) => this.d.log.warn('network teardown failed', { id, err })),
      ]);
      await this.d.runtime.cleanup(id).catch(() => undefined);
      await this.unmountShm(id);
      this.d.log.debug('exit handled', { id: id.slice(0, 12), ms: Number(process.hrtime.bigint() - t0) / 1e6 });
      if (st.oomKilled) this.d.events('container', 'oom', id, { image: rec.Image, name: rec.Name });
      // As dockerd: how long the process ran, in whole seconds.
      const ran = Math.max(0, Math.floor((st.finishedAt.getTime() - Date.parse(rec.State.StartedAt)) / 1000));
      this.d.events('container', 'die', id, { exitCode: String(st.exitCode), execDuration: String(Number.isFinite(ran) ? ran : 0), image: rec.Image, name: rec.Name });
    });
    this.notify(id, ['next-exit', 'not-running'], st.exitCode);
    const policy = rec.HostConfig.RestartPolicy ?? {};
    // An exit learnt at boot is not restarted here: restartAtBoot() does it, after the network is back.
    const wantRestart = !opts.atBoot && !rec.ManualStop && !rec.HostConfig.AutoRemove && (
      policy.Name === 'always' || policy.Name === 'unless-stopped' ||
      (policy.Name === 'on-failure' && st.exitCode !== 0 && (!policy.MaximumRetryCount || rec.RestartCount < policy.MaximumRetryCount)));
    if (wantRestart) {
      rec.RestartCount++;
      const delay = Math.min(100 * 2 ** Math.min(rec.RestartCount, 10), 60_000);
      // Until it runs again the container is "restarting", as in dockerd: ps lists it
      // as "Restarting (code) … ago", and stop/kill/rm -f cancel the restart.
      rec.State = { ...rec.State, Status: 'restarting' };
      this.store.save(rec);
      const timer = setTimeout(() => {
        this.restartTimers.delete(id);
        if (this.store.find(id)?.State.Status !== 'restarting') return;
        void this.start(id, { policyRestart: true }).catch((err) => this.d.log.warn('restart failed', { id, err }));
      }, delay);
      timer.unref();
      this.restartTimers.set(id, timer);
      return;
    }
    if (rec.HostConfig.AutoRemove) {
      await this.remove(id, { force: true, volumes: true }).catch((err) => this.d.log.warn('auto-remove failed', { id, err }));
    }
  }

  private notify(id: string, conditions: WaitCondition[], code: number): void {
    const list = this.waiters.get(id) ?? [];
    const keep: Waiter[] = [];
    for (const w of list) {
      if (conditions.includes(w.condition)) w.resolve({ StatusCode: code, Error: null });
      else keep.push(w);
    }
    if (keep.length) this.waiters.set(id, keep); else this.waiters.delete(id);
  }

  /** Resolves once the container's exit is recorded (at once if it is not running), or after `ms`. */
  private exitRecorded(id: string, ms = 2000): Promise<void> {
    const status = this.store.find(id)?.State.Status;
    if (status !== 'running' && status !== 'paused') return Promise.resolve();
    return new Promise((resolve) => {
      const w: Waiter = { condition: 'next-exit', resolve: () => { clearTimeout(timer); resolve(); } };
      const timer = setTimeout(() => {
        const list = this.waiters.get(id) ?? [];
        const i = list.indexOf(w);
        if (i >= 0) list.splice(i, 1);
        if (!list.length) this.waiters.delete(id);
        resolve();
      }, ms);
      timer.unref();
      const list = this.waiters.get(id) ?? [];
      list.push(w);
      this.waiters.set(id, list);
    });
  }

  async wait(ref: string, condition: WaitCondition = 'not-running'): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    const rec = this.store.get(ref);
    if (condition === 'not-running' && rec.State.Status !== 'running' && rec.State.Status !== 'paused' && rec.State.Status !== 'restarting') {
      return { StatusCode: rec.State.ExitCode, Error: null };
    }
    return new Promise((resolve) => {
      const list = this.waiters.get(rec.Id) ?? [];
      list.push({ condition, resolve });
      this.waiters.set(rec.Id, list);
    });
  }

  // ---------------------------------------------------------------- stop / kill

  /** A container waiting to be restarted stops waiting: it is exited (true when it was restarting). */
  private async cancelRestart(rec: ContainerRecord): Promise<boolean> {
    if (rec.State.Status !== 'restarting') return false;
    const t = this.restartTimers.get(rec.Id);
    if (!t) {
      // The restart is under way: let it finish, then the caller deals with a running container.
      await this.locked(rec.Id, async () => undefined);
      Object.assign(rec, this.store.find(rec.Id) ?? {});
      return false;
    }
    clearTimeout(t);
    this.restartTimers.delete(rec.Id);
    rec.State = { ...rec.State, Status: 'exited' };
    rec.ManualStop = true;
    this.store.save(rec);
    return true;
  }

  async kill(ref: string, signal?: string): Promise<void> {
    const rec = this.store.get(ref);
    const sig = signal ? signalNumber(signal) : 9;
    if (await this.cancelRestart(rec)) { this.d.events('container', 'kill', rec.Id, { image: rec.Image, name: rec.Name, signal: String(sig) }); return; }
    if (rec.State.Status !== 'running' && rec.State.Status !== 'paused') {
      throw conflict(`cannot kill container: ${ref}: container ${rec.Id} is not running`);
    }
    if (sig === 9 || sig === 15) rec.ManualStop = true;
    this.store.save(rec);
    await this.d.runtime.kill(rec.Id, sig).catch((err) => {
      // The process may have exited before its exit was recorded: Docker answers 409 then, not 500.
      // (The runtime calls a vanished container NotFound, but its record is still here.)
      if ((err as { kind?: string }).kind === 'NotFound' || /no such process|not running|does not exist|container stopped/i.test((err as Error).message)) {
        throw conflict(`cannot kill container: ${ref}: container ${rec.Id} is not running`, err);
      }
      throw err;
    });
    this.d.events('container', 'kill', rec.Id, { image: rec.Image, name: rec.Name, signal: String(sig) });
    // dockerd thaws a paused container after sending SIGKILL or its stop signal (any signal when none
    // is configured), so the signal takes effect: `docker kill` of a paused container kills it.
    if (rec.State.Status === 'paused' && (sig === 9 || !rec.Config.StopSignal || signalNumber(rec.Config.StopSignal) === sig)) {
      await this.unpause(rec.Id).catch(() => undefined);
    }
  }

  async stop(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const rec = this.store.get(ref);
    if (await this.cancelRestart(rec)) { this.d.events('container', 'stop', rec.Id, { image: rec.Image, name: rec.Name }); return; }
    if (rec.State.Status !== 'running' && rec.State.Status !== 'paused') throw notModified('container already stopped');
    rec.ManualStop = true;
    this.store.save(rec);
    const sig = signalNumber(opts.signal || rec.Config.StopSignal || 'SIGTERM');
    const timeout = opts.timeout ?? (typeof rec.Config.StopTimeout === 'number' ? rec.Config.StopTimeout : 10);
    const exited = this.wait(rec.Id, 'not-running');
    if (rec.State.Status === 'paused') await this.d.runtime.resume(rec.Id).catch(() => undefined);
    await this.d.runtime.kill(rec.Id, sig).catch(() => undefined);
    this.d.events('container', 'kill', rec.Id, { image: rec.Image, name: rec.Name, signal: String(sig) });
    // A timeout past setTimeout's range (~24.8 days) would fire at once and SIGKILL: wait like t=-1 instead.
    if (timeout < 0 || timeout * 1000 > 2_147_483_647) await exited;
    else {
      const t = await Promise.race([exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), timeout * 1000).unref())]);
      if (!t) {
        await this.d.runtime.kill(rec.Id, 9, { all: true }).catch(() => undefined);
        this.d.events('container', 'kill', rec.Id, { image: rec.Image, name: rec.Name, signal: '9' });
        await exited;
      }
    }
    this.d.events('container', 'stop', rec.Id, { image: rec.Image, name: rec.Name });
  }

  async restart(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const rec = this.store.get(ref);
    if (rec.State.Status === 'running' || rec.State.Status === 'paused') await this.stop(rec.Id, opts);
    await this.start(rec.Id);
    this.d.events('container', 'restart', rec.Id, { image: rec.Image, name: rec.Name });
  }

  /** `transient`: the daemon's own pause (commit), undone by unpause or, after a crash, by reconcile. */
  async pause(ref: string, opts: { transient?: boolean } = {}): Promise<void> {
    const rec = this.store.get(ref);
    if (rec.State.Status === 'paused') throw conflict(`Container ${rec.Id} is already paused`); // dockerd 28's capital C
    if (rec.State.Status !== 'running') throw conflict(`container ${rec.Id} is not running`);
    if (opts.transient) { rec.TransientPause = true; this.store.save(rec); } // before the freeze: see reconcile
    await this.d.runtime.pause(rec.Id).catch((err) => { throw this.goneOrStopped(ref, rec, err); });
    rec.State.Status = 'paused';
    this.store.save(rec);
    this.health.stop(rec.Id); // health hook: Docker skips checks while paused
    this.d.events('container', 'pause', rec.Id, { image: rec.Image, name: rec.Name });
  }

  async unpause(ref: string): Promise<void> {
    const rec = this.store.get(ref);
    if (rec.State.Status !== 'paused') throw conflict(`Container ${rec.Id} is not paused`); // dockerd's capital C
    await this.d.runtime.resume(rec.Id).catch((err) => { throw this.goneOrStopped(ref, rec, err); });
    rec.State.Status = 'running';
    delete rec.TransientPause;
    this.store.save(rec);
    this.health.resume(rec); // health hook: checks go on, status kept
    this.d.events('container', 'unpause', rec.Id, { image: rec.Image, name: rec.Name });
  }

  /**
   * A runtime call on a container that a concurrent stop/kill/rm ended under it: the answer is dockerd's
   * for the state it is now in (404 once removed, 409 "is not running"), not the runtime's own words.
   */
  private goneOrStopped(ref: string, rec: ContainerRecord, err: unknown): unknown {
    const kind = (err as { kind?: string }).kind;
    if (kind !== 'NotFound' && kind !== 'Conflict') return err;
    if (!this.store.find(rec.Id)) return notFound(`No such container: ${ref}`, err);
    return conflict(`container ${rec.Id} is not running`, err);
  }

  rename(ref: string, newName: string): void {
    const rec = this.store.get(ref);
    if (!newName || !NAME_RE.test(newName)) throw invalidArgument(`Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    const name = newName.replace(/^\//, '');
    if (name === rec.Name) throw invalidArgument('Renaming a container with the same name as its current name');
    const other = this.store.byName(name) ?? (this.reservedNames.has(name) ? { Id: this.reservedNames.get(name)! } : undefined);
    if (other) throw conflict(`Error when allocating new name: Conflict. The container name "/${name}" is already in use by container "${other.Id}". You have to remove (or rename) that container to be able to reuse that name.`);
    const old = rec.Name;
    rec.Name = name;
    this.store.save(rec);
    this.d.events('container', 'rename', rec.Id, { oldName: `/${old}`, name, image: rec.Image });
  }

  // ---------------------------------------------------------------- update

  /** `docker update`: new resources and restart policy; live ones first, then the record. */
  async update(ref: string, body: Record<string, any>): Promise<{ Warnings: string[] }> {
    const rec = this.store.get(ref);
    return this.locked(rec.Id, async () => {
      const cur = this.store.get(rec.Id);
      const { hostConfig, warnings } = mergeUpdate(cur, body);
      if ((cur.State.Status === 'running' || cur.State.Status === 'paused') && this.d.updateResources) {
        await this.d.updateResources(cur.Id, liveResources(hostConfig)).catch((err) => {
          throw invalidArgument(`Cannot update container ${cur.Id}: ${(err as Error).message}`, err);
        });
      }
      cur.HostConfig = hostConfig;
      this.store.save(cur);
      this.d.events('container', 'update', cur.Id, { image: cur.Image, name: cur.Name });
      return { Warnings: warnings };
    });
  }

  // ---------------------------------------------------------------- remove

  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const rec = this.store.get(ref);
    // Concurrent rm of one container (compose down racing a CI cleanup): dockerd's SetRemovalInProgress
    // answers the later ones 409 in these words; the first one does the work (and the one destroy event).
    if (this.removing.has(rec.Id)) throw conflict(`removal of container ${ref} is already in progress`);
    this.removing.add(rec.Id);
    try {
      await this.removeOnce(ref, rec, opts);
    } finally {
      this.removing.delete(rec.Id);
    }
  }

  private async removeOnce(ref: string, rec: ContainerRecord, opts: { force?: boolean; volumes?: boolean }): Promise<void> {
    if (rec.State.Status === 'running' || rec.State.Status === 'paused' || rec.State.Status === 'restarting') {
      if (rec.State.Status === 'restarting' && opts.force) await this.cancelRestart(rec);
    }
    if (rec.State.Status === 'running' || rec.State.Status === 'paused' || rec.State.Status === 'restarting') {
      if (!opts.force) {
        throw conflict(`cannot remove container "${ref}": container is ${rec.State.Status}: stop the container before removing or force remove`);
      }
      rec.ManualStop = true;
      this.store.save(rec);
      const exited = this.wait(rec.Id, 'not-running');
      if (rec.State.Status === 'paused') await this.d.runtime.resume(rec.Id).catch(() => undefined);
      // dockerd's rm -f reports the kill (before the die it causes).
      this.d.events('container', 'kill', rec.Id, { image: rec.Image, name: rec.Name, signal: '9' });
      await this.d.runtime.kill(rec.Id, 9, { all: true }).catch(() => undefined);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
    }
    this.health.stop(rec.Id); // health hook
    const removed = await this.locked(rec.Id, async () => {
      if (!this.store.find(rec.Id)) return false;
      // A start queued on the lock before this rm may have run meanwhile (prune racing a start): an rm
      // without force must not take a running container down. With force, the runtime delete kills it.
      const st = rec.State.Status;
      if (!opts.force && (st === 'running' || st === 'paused' || st === 'restarting')) {
        throw conflict(`cannot remove container "${ref}": container is ${st}: stop the container before removing or force remove`);
      }
      const wasStarted = !rec.State.StartedAt.startsWith('0001');
      const cleaned = rec.State.Status === 'exited' || !wasStarted;
      rec.State.Status = 'removing';
      // An exited container was already deleted from the runtime and unplumbed by onExit.
      if (!cleaned) {
        await this.d.runtime.delete(rec.Id, { force: true }).catch(() => undefined);
        await this.d.network.teardown(rec.Id).catch(() => undefined);
      }
      await this.d.network.release(rec.Id).catch(() => undefined);
      const rootfs = join(this.dir(rec.Id), 'rootfs');
      await this.d.rootfs.unmount(rootfs);
      await this.unmountShm(rec.Id);
      // Row first: a crash after this leaves only a directory for startup to sweep.
      this.store.delete(rec.Id);
      // Attach sessions waiting for a start (an attach that arrived between the exit and this rm) would
      // wait forever: their stream ends now, as dockerd's does when the container goes.
      for (const s of this.pendingAttach.get(rec.Id) ?? []) s.onEnd();
      this.pendingAttach.delete(rec.Id);
      for (const m of rec.Mounts) {
        if (m.Type !== 'volume' || !m.Name) continue;
        this.d.volumes.release(m.Name, rec.Id);
        if (opts.volumes && m.Anonymous) await this.d.volumes.remove(m.Name).catch(() => undefined);
      }
      if (!cleaned) await this.d.runtime.cleanup(rec.Id).catch(() => undefined);
      // Move the directory aside so the name is free at once; delete it in the background.
      const trash = join(this.d.root, `.removing-${rec.Id}`);
      try { renameSync(this.dir(rec.Id), trash); } catch { /* already gone */ }
      setImmediate(() => rm(trash, { recursive: true, force: true }).catch(() => undefined));
      return true;
    });
    if (!removed) throw notFound(`No such container: ${ref}`);
    this.d.log.debug('removed', { id: rec.Id.slice(0, 12) });
    this.d.events('container', 'destroy', rec.Id, { image: rec.Image, name: rec.Name });
    this.notify(rec.Id, ['removed', 'next-exit', 'not-running'], rec.State.ExitCode);
  }

  // ---------------------------------------------------------------- attach

  /** Attach to a container's stdio; before start the session waits for it. */
  async attach(ref: string, session: AttachSession): Promise<void> {
    const rec = this.store.get(ref);
    if (rec.State.Status === 'running' || rec.State.Status === 'paused') {
      await this.connectSession(rec.Id, session);
      return;
    }
    if (rec.State.Status === 'exited' || rec.State.Status === 'dead' || rec.State.Status === 'created') {
      const list = this.pendingAttach.get(rec.Id) ?? [];
      list.push(session);
      this.pendingAttach.set(rec.Id, list);
      return;
    }
    throw conflict(`You cannot attach to a stopped container, start it first`);
  }

  detachPending(id: string, session: AttachSession): void {
    const list = this.pendingAttach.get(id);
    if (!list) return;
    const i = list.indexOf(session);
    if (i >= 0) list.splice(i, 1);
  }

  private async connectSession(id: string, s: AttachSession): Promise<void> {
    const streams: AttachStreams = await this.d.runtime.attach(id);
    let detached = false;
    s.close = () => { detached = true; streams.close(); };
    streams.onData((stream, chunk) => s.onData(stream, chunk));
    // When the container's stdio ends, end the client's stream only once the exit is recorded, as
    // dockerd does: docker-py's `for l in c.attach(stream=True): …` then `c.remove()` finds it stopped.
    streams.onEnd(() => { if (detached) s.onEnd(); else void this.exitRecorded(id).then(() => s.onEnd()); });
    if (s.stdin && streams.stdin) {
      const stdin: Writable = streams.stdin;
      s.stdin.on('data', (chunk: Buffer) => stdin.write(chunk));
      s.stdin.on('end', () => { if (s.stdinOnce) stdin.end(); });
      s.stdin.on('error', () => undefined);
    }
  }

  async resize(ref: string, h: number, w: number): Promise<void> {
    const rec = this.store.get(ref);
    if (rec.State.Status !== 'running') throw conflict(`Container ${rec.Id} is not running`);
    await this.d.runtime.resize(rec.Id, { height: h, width: w });
  }

  // ---------------------------------------------------------------- exec

  execCreate(ref: string, body: Record<string, any>): { Id: string } {
    const rec = this.store.get(ref);
    if (rec.State.Status === 'paused') throw conflict(`Container ${rec.Id} is paused, unpause the container before exec`);
    if (rec.State.Status !== 'running') throw conflict(`Container ${rec.Id} is not running`);
    const cmd: string[] = Array.isArray(body.Cmd) ? body.Cmd : typeof body.Cmd === 'string' ? [body.Cmd] : [];
    if (cmd.length === 0) throw invalidArgument('No exec command specified');
    const id = newId();
    this.execs.set(id, {
      ID: id, ContainerID: rec.Id, Running: false, ExitCode: null, Pid: 0,
      ProcessConfig: { tty: !!body.Tty, entrypoint: cmd[0]!, arguments: cmd.slice(1), privileged: !!body.Privileged, user: body.User ?? '' },
      OpenStdin: !!body.AttachStdin, OpenStdout: !!body.AttachStdout, OpenStderr: !!body.AttachStderr,
      CanRemove: false, DetachKeys: body.DetachKeys ?? '', Config: body,
    });
    this.d.events('container', `exec_create: ${cmd.join(' ')}`, rec.Id, { execID: id, image: rec.Image, name: rec.Name });
    return { Id: id };
  }

  execGet(id: string): ExecRecord {
    const e = this.execs.get(id);
    if (!e) throw notFound(`No such exec instance: ${id}`);
    return e;
  }

  /** Start an exec. With a session, output flows to it before the process runs. */
  async execStart(id: string, session?: AttachSession): Promise<void> {
    const e = this.execGet(id);
    if (e.Running || e.ExitCode !== null) throw conflict(`Exec command ${id} has already run`);
    const rec = this.store.get(e.ContainerID);
    if (rec.State.Status !== 'running') throw conflict(`Container ${rec.Id} is not running`);
    const c = e.Config;
    const rootfs = join(this.dir(rec.Id), 'rootfs');
    const user = this.d.spec.resolveUser(rootfs, c.User || rec.Config.User || '');
    let env = mergeEnv(rec.Config.Env ?? [], c.Env ?? []);
    // HOME as runc's exec sets it (passwd home, else /): crun leaves it unset for a uid without a passwd entry.
    if (!env.some((v) => v.startsWith('HOME='))) env = [...env, `HOME=${user.home || '/'}`];
    const process = {
      terminal: !!c.Tty,
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      args: [e.ProcessConfig.entrypoint, ...e.ProcessConfig.arguments],
      env,
      cwd: c.WorkingDir || rec.Config.WorkingDir || '/',
      capabilities: undefined as unknown,
      noNewPrivileges: false,
      consoleSize: Array.isArray(c.ConsoleSize) && c.ConsoleSize[0] ? { height: c.ConsoleSize[0], width: c.ConsoleSize[1] } : undefined,
      privileged: !!c.Privileged,
    };
    // The container may end (rm -f, stop, kill) between the check above and the runtime's exec: then the
    // answer is Docker's 404/409, not the runtime's "cannot open status file" as a 500.
    const ended = (err: unknown): unknown => {
      if (!this.store.find(rec.Id)) return notFound(`No such container: ${rec.Id}`, err);
      if (this.removing.has(rec.Id) || rec.State.Status !== 'running') {
        return conflict(`Container ${rec.Id} is not running`, err);
      }
      return err;
    };
    const handle = await this.d.runtime.exec(rec.Id, { process, tty: !!c.Tty, openStdin: !!c.AttachStdin && !!session, detach: !session })
      .catch((err) => { throw ended(err); });
    e.handle = handle;
    if (session) {
      const streams = await handle.attach();
      session.close = () => streams.close();
      streams.onData((stream, chunk) => session.onData(stream, chunk));
      // The docker CLI reads ExitCode right after the stream ends: record it first.
      streams.onEnd(() => {
        void handle.wait().then((code) => { e.Running = false; e.ExitCode = code; e.Pid = 0; }, () => undefined).finally(() => session.onEnd());
      });
      if (session.stdin && streams.stdin) {
        const stdin = streams.stdin;
        session.stdin.on('data', (chunk: Buffer) => stdin.write(chunk));
        session.stdin.on('end', () => stdin.end());
        session.stdin.on('error', () => undefined);
      }
    }
    await handle.start().catch(async (err) => {
      // A stop's exit may be recorded a moment after the runtime lost the container.
      if (ended(err) === err) await this.exitRecorded(rec.Id, 500);
      throw ended(err);
    });
    e.Pid = handle.pid;
    e.Running = true;
    this.d.events('container', `exec_start: ${[e.ProcessConfig.entrypoint, ...e.ProcessConfig.arguments].join(' ')}`, rec.Id, { execID: id, image: rec.Image, name: rec.Name });
    void handle.wait().then((code) => {
      e.Running = false;
      e.ExitCode = code;
      e.Pid = 0;
      this.d.events('container', 'exec_die', rec.Id, { execID: id, exitCode: String(code), image: rec.Image, name: rec.Name });
    }, (err) => {
      e.Running = false;
      e.ExitCode = 126;
      this.d.log.warn('exec wait failed', { id, err });
    });
  }

  async execResize(id: string, h: number, w: number): Promise<void> {
    const e = this.execGet(id);
    if (!e.handle) throw conflict(`Exec ${id} is not running`);
    await e.handle.resize({ height: h, width: w });
  }

  // ---------------------------------------------------------------- filesystem

  /**
   * Run `fn` on the container's filesystem (archive, export, diff). A container
   * that is not running has its overlay mounted for the call and unmounted
   * after; the container lock keeps start and rm out meanwhile.
   */
  async withFilesystem<T>(ref: string, fn: (fs: ContainerFilesystem) => Promise<T>, opts: { mount?: boolean } = {}): Promise<T> {
    const { Id: id } = this.store.get(ref);
    return this.locked(id, async () => {
      const rec = this.store.get(id);
      if (rec.State.Status === 'removing') throw conflict(`container ${id} is being removed`);
      if (rec.State.Status === 'dead') throw conflict(`container ${id} is dead`);
      const dir = this.dir(id);
      const rootfs = join(dir, 'rootfs');
      const upperDir = join(dir, 'upper');
      let mountedHere = false;
      if (opts.mount !== false && !this.d.rootfs.isMounted(rootfs)) {
        await this.d.rootfs.mount({ lowerDirs: rec.LayerDirs, upperDir, workDir: join(dir, 'work'), target: rootfs });
        mountedHere = true;
      }
      try {
        return await fn({
          id, name: rec.Name, image: rec.Image, rootfs, upperDir, lowerDirs: rec.LayerDirs, readonlyRootfs: !!rec.HostConfig.ReadonlyRootfs,
          // Anonymous and named volumes get their Source at create; tmpfs mounts exist only inside the container.
          mounts: rec.Mounts.filter((m) => m.Type !== 'tmpfs' && m.Source).map((m) => ({ destination: m.Destination, source: m.Source, rw: m.RW })),
          user: () => {
            if (!rec.Config.User) return undefined;
            const u = this.d.spec.resolveUser(rootfs, rec.Config.User);
            return { uid: u.uid, gid: u.gid };
          },
        });
      } finally {
        if (mountedHere) await this.d.rootfs.unmount(rootfs).catch((err) => this.d.log.warn('unmounting rootfs failed', { id, err }));
      }
    });
  }

  // ---------------------------------------------------------------- startup

  /** After a daemon (re)start: learn what happened to containers while we were away. */
  async reconcile(): Promise<void> {
    for (const rec of this.store.all()) {
      if (rec.State.Status === 'removing') {
        await this.remove(rec.Id, { force: true }).catch((err) => this.d.log.warn('finishing removal failed', { id: rec.Id, err }));
        continue;
      }
      if (rec.StartPending && rec.State.Status !== 'running' && rec.State.Status !== 'paused' && rec.State.Status !== 'restarting') {
        await this.undoStart(rec);
        continue;
      }
      if (rec.State.Status !== 'running' && rec.State.Status !== 'paused' && rec.State.Status !== 'restarting') continue;
      const st = await this.d.runtime.state(rec.Id).catch(() => ({ status: 'unknown', pid: 0 }));
      // A commit's pause that the daemon did not live to undo: thaw the container (the user never paused it).
      if (rec.TransientPause && st.status === 'paused') {
        await this.d.runtime.resume(rec.Id).then(() => { st.status = 'running'; }).catch((err) => this.d.log.warn('cannot thaw a container paused for a commit', { id: rec.Id, err }));
      }
      if (rec.TransientPause && st.status !== 'paused') { delete rec.TransientPause; this.store.save(rec); }
      if (st.status === 'running' || st.status === 'paused') {
        if (st.status !== rec.State.Status) { rec.State.Status = st.status as Status; this.store.save(rec); }
        this.watchExit(rec.Id);
        this.health.start(rec); // health hook: monitors don't survive the daemon
        continue;
      }
      const exit = await this.d.runtime.exitStatus(rec.Id).catch(() => undefined);
      await this.onExit(rec.Id, exit ?? { exitCode: 255, oomKilled: false, finishedAt: new Date() }, { atBoot: true });
    }
    // Directories without a record are leftovers of a crash during create or rm.
    for (const name of readdirSync(this.d.root)) {
      if (name.startsWith('.removing-')) { rmSync(join(this.d.root, name), { recursive: true, force: true }); continue; }
      if (/^[a-f0-9]{64}$/.test(name) && !this.store.find(name)) {
        const rootfs = join(this.d.root, name, 'rootfs');
        if (this.d.rootfs.isMounted(rootfs)) await this.d.rootfs.unmount(rootfs).catch(() => undefined);
        rmSync(join(this.d.root, name), { recursive: true, force: true });
        this.d.log.info('removed leftover container directory', { id: name });
      }
    }
  }

  /**
   * A start the daemon died in the middle of (between the runtime's create and the record saying
   * `running`): the user was told nothing, the record still says created/exited, yet a process may
   * run and the runtime knows the id (a later start would fail with "already exists"). Undo it, as a
   * failed start does: the container is as it was before the start.
   */
  private async undoStart(rec: ContainerRecord): Promise<void> {
    this.d.log.info('undoing a start cut short by a daemon crash', { id: rec.Id.slice(0, 12) });
    await this.d.runtime.kill(rec.Id, 9, { all: true }).catch(() => undefined);
    await this.d.runtime.delete(rec.Id, { force: true }).catch((err) => this.d.log.warn('cannot delete a half-started container', { id: rec.Id, err }));
    await this.d.runtime.cleanup(rec.Id).catch(() => undefined);
    await this.d.network.teardown(rec.Id).catch(() => undefined);
    const rootfs = join(this.dir(rec.Id), 'rootfs');
    if (this.d.rootfs.isMounted(rootfs)) await this.d.rootfs.unmount(rootfs).catch(() => undefined);
    await this.unmountShm(rec.Id);
    delete rec.StartPending;
    this.store.save(rec);
  }

  /**
   * dockerd's restore: once the daemon is up, a container whose restart policy
   * says so is started again — `always` even after a `docker stop`,
   * `unless-stopped` unless the user stopped it, `on-failure` when it last
   * failed. Containers that never ran stay as they are.
   */
  async restartAtBoot(): Promise<void> {
    for (const rec of this.store.all()) {
      if (rec.State.Status !== 'exited' || rec.State.StartedAt.startsWith('0001') || rec.HostConfig.AutoRemove) continue;
      const p = rec.HostConfig.RestartPolicy ?? {};
      const want = p.Name === 'always' || (p.Name === 'unless-stopped' && !rec.ManualStop) ||
        (p.Name === 'on-failure' && rec.State.ExitCode !== 0 && Number(p.MaximumRetryCount ?? 0) >= 0);
      if (!want) continue;
      await this.start(rec.Id).catch((err) => this.d.log.warn('restart at boot failed', { id: rec.Id, err }));
    }
  }

  imageInUse(imageId: string): string | undefined {
    const rec = this.store.all().find((r) => r.ImageId === imageId)?.Id;
    if (rec) return rec;
    for (const [id, image] of this.creating) if (image.id === imageId) return id;
    return undefined;
  }

  /** Images containers are being created from right now: their layers are in use though no record says so yet (rmi -f). */
  imagesInFlight(): ImageInfo[] {
    return [...this.creating.values()];
  }
}

// ---------------------------------------------------------------- helpers

/** dockerd's words for a name another container has (the same as the store's at insert). */
function nameConflict(name: string, id: string): string {
  return `Conflict. The container name "/${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`;
}

export function mergeEnv(base: string[], extra: string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...base, ...extra]) {
    const k = e.split('=')[0]!;
    out.set(k, e);
  }
  return [...out.values()];
}

function mergeConfig(config: Record<string, any>, ic: Record<string, any>, id: string): Record<string, any> {
  const c = { ...config };
  const userEntrypoint = c.Entrypoint !== undefined && c.Entrypoint !== null;
  if (typeof c.Entrypoint === 'string') c.Entrypoint = [c.Entrypoint];
  if (typeof c.Cmd === 'string') c.Cmd = [c.Cmd];
  if (!userEntrypoint) c.Entrypoint = ic.Entrypoint ?? null;
  else if (Array.isArray(c.Entrypoint) && c.Entrypoint.length === 1 && c.Entrypoint[0] === '') c.Entrypoint = null;
  if (!c.Cmd || c.Cmd.length === 0) c.Cmd = userEntrypoint ? c.Cmd ?? null : ic.Cmd ?? null;
  let env = mergeEnv(ic.Env ?? [], c.Env ?? []);
  if (!env.some((e) => e.startsWith('PATH='))) env = [DEFAULT_PATH, ...env];
  c.Env = env;
  c.WorkingDir = c.WorkingDir || ic.WorkingDir || '';
  c.User = c.User || ic.User || '';
  c.Labels = { ...(ic.Labels ?? {}), ...(c.Labels ?? {}) };
  c.ExposedPorts = { ...(ic.ExposedPorts ?? {}), ...(c.ExposedPorts ?? {}) };
  if (Object.keys(c.ExposedPorts).length === 0) delete c.ExposedPorts;
  c.Volumes = { ...(ic.Volumes ?? {}), ...(c.Volumes ?? {}) };
  if (Object.keys(c.Volumes).length === 0) c.Volumes = null;
  c.StopSignal = c.StopSignal || ic.StopSignal || undefined;
  c.Healthcheck = mergeHealthcheck(c.Healthcheck, ic.Healthcheck);
  if (!c.Healthcheck) delete c.Healthcheck;
  c.Hostname = c.Hostname || id.slice(0, 12);
  c.Domainname = c.Domainname ?? '';
  c.AttachStdin = !!c.AttachStdin;
  c.AttachStdout = !!c.AttachStdout;
  c.AttachStderr = !!c.AttachStderr;
  c.Tty = !!c.Tty;
  c.OpenStdin = !!c.OpenStdin;
  c.StdinOnce = !!c.StdinOnce;
  c.OnBuild = c.OnBuild ?? null;
  return c;
}

/** HostPort "0" asks for an ephemeral port, like an empty one (moby's port parsing: 0 means any). */
function zeroPortIsEphemeral(pb: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(pb)) {
    out[k] = Array.isArray(v) ? v.map((b) => (b && String(b.HostPort ?? '').trim() === '0' ? { ...b, HostPort: '' } : b)) : v;
  }
  return out;
}

function networkMode(hc: Record<string, any>): string {
  const m = hc.NetworkMode;
  return !m || m === 'default' ? 'bridge' : m;
}

function normalizeHostConfig(hc: Record<string, any>): Record<string, any> {
  const out = { ...hc };
  out.NetworkMode = networkMode(hc);
  out.RestartPolicy = hc.RestartPolicy ?? { Name: 'no', MaximumRetryCount: 0 };
  // Inspect always shows both fields (docker-py may send only a Name).
  out.RestartPolicy = { Name: out.RestartPolicy.Name || 'no', MaximumRetryCount: Number(out.RestartPolicy.MaximumRetryCount ?? 0) || 0 };
  // dockerd stores a default swap limit of twice the memory limit, and inspect shows it.
  if (out.Memory > 0 && !out.MemorySwap) out.MemorySwap = out.Memory * 2;
  out.LogConfig = hc.LogConfig?.Type ? hc.LogConfig : { Type: 'json-file', Config: hc.LogConfig?.Config ?? {} };
  return out;
}

const LIMIT = 2 ** 53;

function validateHostConfig(hc: Record<string, any>): void {
  const nonNeg = ['Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuShares', 'CpuQuota', 'CpuPeriod', 'ShmSize', 'BlkioWeight'];
  for (const k of nonNeg) {
    const v = hc[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v > LIMIT) throw invalidArgument(`invalid value for ${k}: ${v}`);
    if (v < 0 && !(k === 'MemorySwap' && v === -1) && !(k === 'CpuQuota' && v === -1)) throw invalidArgument(`invalid value for ${k}: ${v}`);
  }
  if (hc.Memory && hc.Memory > 0 && hc.Memory < 6 * 1024 * 1024) throw invalidArgument('Minimum memory limit allowed is 6MB');
  if (hc.MemorySwap && hc.MemorySwap > 0 && hc.Memory && hc.MemorySwap < hc.Memory) {
    throw invalidArgument('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (hc.NanoCpus && hc.CpuQuota) throw invalidArgument('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (hc.NanoCpus) {
    const cpus = availableCpus() || 1;
    if (hc.NanoCpus < 1e7 || hc.NanoCpus > cpus * 1e9) {
      throw invalidArgument(`range of CPUs is from 0.01 to ${cpus}.00, as there are only ${cpus} CPUs available`);
    }
  }
  if (hc.LogConfig?.Type && !['json-file', 'k8s-file', 'local', 'none'].includes(hc.LogConfig.Type)) {
    throw invalidArgument(`failed to create task for container: logger: no log driver named '${hc.LogConfig.Type}' is registered`);
  }
  logLimits(hc);
  if (hc.PidsLimit !== undefined && hc.PidsLimit !== null && typeof hc.PidsLimit !== 'number') throw invalidArgument('invalid PidsLimit');
  const rp = hc.RestartPolicy?.Name;
  if (rp && !['no', 'always', 'unless-stopped', 'on-failure', ''].includes(rp)) throw invalidArgument(`invalid restart policy '${rp}'`);
  // dockerd's ValidateRestartPolicy.
  const max = Number(hc.RestartPolicy?.MaximumRetryCount ?? 0) || 0;
  if (rp === 'on-failure' && max < 0) throw invalidArgument('invalid restart policy: maximum retry count cannot be negative');
  if (rp && rp !== 'on-failure' && max !== 0) {
    throw invalidArgument(`invalid restart policy: maximum retry count can only be used with 'on-failure'${max < 0 ? ' and cannot be negative' : ''}`);
  }
  const ipc = hc.IpcMode;
  if (ipc && !['host', 'private', 'shareable', 'none'].includes(ipc) && !/^container:.+/.test(ipc)) throw invalidArgument(`invalid IPC mode: ${ipc}`);
  checkCpuset(hc.CpusetCpus);
  if (hc.Isolation && hc.Isolation !== 'default') throw invalidArgument(`invalid isolation '${hc.Isolation}' on linux`);
  if (hc.StorageOpt && Object.keys(hc.StorageOpt).length) {
    throw invalidArgument("--storage-opt is supported only for overlay over xfs with 'pquota' mount option");
  }
  if (hc.AutoRemove && rp && rp !== 'no' && rp !== '') throw invalidArgument("can't create 'AutoRemove' container with restart policy");
}

/** `--cpuset-cpus 0-3,7`: every CPU named must exist here (dockerd's wording). */
function checkCpuset(spec: unknown): void {
  if (typeof spec !== 'string' || !spec) return;
  const n = availableCpus();
  const want: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw invalidArgument(`Invalid value ${spec} for cpuset cpus`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw invalidArgument(`Invalid value ${spec} for cpuset cpus`);
    for (let i = a; i <= b && i <= a + 4096; i++) want.push(i);
  }
  if (want.some((c) => c >= n)) throw invalidArgument(`Requested CPUs are not available - requested ${spec}, available: ${n > 1 ? `0-${n - 1}` : '0'}`);
}

/** Docker's wording for a process that could not be started; clients match on it (127/126). */
function startError(err: unknown, path: string, code: number): Error {
  const raw = (err as Error).message;
  if ((err as { kind?: string }).kind && (err as { kind?: string }).kind !== 'Internal') return err as Error;
  if (code === 127) return invalidArgument(`failed to create task for container: OCI runtime create failed: unable to start container process: error during container init: exec: "${path}": executable file not found in $PATH: unknown`, err);
  if (code === 126) return invalidArgument(`failed to create task for container: OCI runtime create failed: unable to start container process: error during container init: exec: "${path}": permission denied: unknown`, err);
  return new Error(raw.startsWith('OCI runtime') ? `failed to create task for container: ${raw}` : raw, { cause: err });
}

function logLimits(hc: Record<string, any>): { maxSize?: number; maxFile: number } {
  const cfg = hc.LogConfig?.Config ?? {};
  const maxSize = parseSize(cfg['max-size']);
  const maxFile = cfg['max-file'] ? Number(cfg['max-file']) : 1;
  if (!Number.isInteger(maxFile) || maxFile < 1) throw invalidArgument(`invalid value for max-file: ${cfg['max-file']}`);
  return { maxSize, maxFile };
}

export function parseSize(s: unknown): number | undefined {
  if (typeof s !== 'string' || !s) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)b?$/i.exec(s.trim());
  if (!m) throw invalidArgument(`invalid size: '${s}'`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}

const availableCpus = () => availableCpusList().length;
