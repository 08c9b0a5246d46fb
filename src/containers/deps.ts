// What the container service needs from the layers below, as narrow roles.
// daemon/wire.ts adapts the concrete stores and drivers to these.
import type { Readable, Writable } from 'node:stream';

export interface ImageInfo {
  id: string;
  config: Record<string, any>;
  layers: { digest: string; diffId: string; mediaType: string; size: number }[];
  repoTags: string[];
}

export interface ImageLookup {
  get(ref: string): ImageInfo;
}

export interface RootfsProvider {
  /** Unpack the image's layers (once) and return their directories, bottom first. */
  layerDirs(image: ImageInfo): Promise<string[]>;
  prepare(containerDir: string): Promise<{ upperDir: string; workDir: string }>;
  mount(opts: { lowerDirs: string[]; upperDir: string; workDir: string; target: string }): Promise<void>;
  unmount(target: string): Promise<void>;
  isMounted(target: string): boolean;
  /** A tmpfs on the host (a shareable IPC container's /dev/shm); `data` as for mount(2). */
  mountTmpfs?(target: string, data: string): Promise<void>;
}

export interface AttachStreams {
  stdin?: Writable;
  /** Emits ('data', stream: 1|2, chunk) through onData; ends when the process's output closes. */
  onData(fn: (stream: 1 | 2, chunk: Buffer) => void): void;
  onEnd(fn: () => void): void;
  close(): void;
}

export interface ExitStatus { exitCode: number; oomKilled: boolean; finishedAt: Date }

export interface RuntimeDriver {
  /** `runtime`: the container's HostConfig.Runtime (empty: the daemon's default). */
  create(id: string, opts: { bundleDir: string; spec: object; logPath: string; tty: boolean; openStdin: boolean; stdinOnce: boolean; logSizeMax?: number; runtime?: string }): Promise<{ pid: number }>;
  /** The effective runtime name for a container asking for `name`; throws for one the daemon does not have. */
  resolveRuntime?(name: string | undefined): string;
  start(id: string): Promise<void>;
  kill(id: string, signal: number | string, opts?: { all?: boolean }): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  delete(id: string, opts?: { force?: boolean }): Promise<void>;
  state(id: string): Promise<{ status: string; pid: number }>;
  exitStatus(id: string): Promise<ExitStatus | undefined>;
  waitExit(id: string): Promise<ExitStatus>;
  attach(id: string): Promise<AttachStreams>;
  resize(id: string, size: { height: number; width: number }): Promise<void>;
  /** Ask the monitor to reopen the log file after it was rotated. */
  reopenLog(id: string): Promise<void>;
  exec(id: string, opts: { process: any; tty: boolean; openStdin: boolean; detach?: boolean }): Promise<ExecHandle>;
  stats(id: string): Promise<unknown>;
  top(id: string): Promise<number[]>;
  cleanup(id: string): Promise<void>;
}

export interface ExecHandle {
  pid: number;
  attach(): Promise<AttachStreams>;
  start(): Promise<void>;
  resize(size: { height: number; width: number }): Promise<void>;
  wait(): Promise<number>;
}

export interface SpecInput {
  id: string;
  rootfs: string;
  readonlyRootfs: boolean;
  args: string[];
  env: string[];
  cwd: string;
  user: string;
  hostname: string;
  domainname: string;
  tty: boolean;
  consoleSize?: [number, number];
  hostConfig: Record<string, any>;
  mounts: { destination: string; type: string; source: string; options: string[] }[];
  netnsPath?: string;
  /** --pid / --ipc container:<x>: the other container's namespaces. */
  pidnsPath?: string;
  ipcnsPath?: string;
  networkMode: string;
  init: boolean;
}

export interface SpecBuilder {
  /** Resolve `User` against the image's /etc/passwd and /etc/group inside `rootfs`. */
  resolveUser(rootfs: string, user: string): { uid: number; gid: number; additionalGids: number[]; home?: string };
  build(input: SpecInput): object;
  /** What dockerd checks at create (capabilities, security options): fail before anything exists. */
  validate?(hostConfig: Record<string, any>): void;
}

export interface VolumePlumbing {
  /** Make sure a named volume exists (create it when missing); returns its host path. */
  ensure(name: string, opts: { anonymous: boolean; containerId: string; driverOpts?: Record<string, string>; labels?: Record<string, string> }): Promise<{ name: string; mountpoint: string; fresh: boolean }>;
  populate(name: string, fromDir: string): Promise<void>;
  release(name: string, containerId: string): void;
  remove(name: string): Promise<void>;
}

export interface NetworkPlumbing {
  prepare(containerId: string, mode: string): Promise<{ netnsPath?: string }>;
  attach(containerId: string, opts: {
    containerName: string; hostname: string; mode: string;
    endpoints: Record<string, { Aliases?: string[]; IPAMConfig?: { IPv4Address?: string }; MacAddress?: string; Links?: string[] }>;
    portBindings: Record<string, { HostIp?: string; HostPort?: string }[]>;
    exposedPorts: string[];
    publishAll: boolean;
  }): Promise<{ networks: Record<string, any>; ports: Record<string, { HostIp: string; HostPort: string }[] | null> }>;
  writeFiles(containerDir: string, opts: { hostname: string; domainname: string; extraHosts: string[]; dns: string[]; dnsSearch: string[]; dnsOptions: string[]; mode: string; containerId: string }): Promise<{ hostsPath: string; hostnamePath: string; resolvConfPath: string }>;
  ports(containerId: string): Record<string, { HostIp: string; HostPort: string }[] | null>;
  teardown(containerId: string): Promise<void>;
  release(containerId: string): Promise<void>;
  endpoints(containerId: string): Record<string, any>;
}

export type { Readable };
