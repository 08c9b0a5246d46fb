// berthd's configuration: flags over /etc/berth/daemon.json over defaults.
import { readFileSync, existsSync } from 'node:fs';
import { invalidArgument } from '../util/index.js';

export interface DaemonConfig {
  dataRoot: string;
  execRoot: string;
  hosts: string[];
  configFile: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  runtime?: string;
  /** daemon.json `runtimes`: name → { path, runtimeArgs } (checked when the daemon starts, in runtime/). */
  runtimes?: Record<string, { path?: string; runtimeArgs?: string[]; runtimeType?: string; options?: Record<string, unknown> }>;
  registryMirrors: string[];
  insecureRegistries: string[];
  maxConcurrentDownloads: number;
  maxConcurrentUploads: number;
  /** daemon.json `certs-dirs` (berth's own key): where <host:port>/ca.crt etc. are read; default /etc/docker/certs.d, /etc/berth/certs.d. */
  certsDirs?: string[];
  bip?: string;
  /** Name of the default bridge device (daemon.json `bridge`), default berth0. */
  bridge?: string;
  defaultAddressPools?: { base: string; size: number }[];
  defaultUlimits?: Record<string, { Name: string; Soft: number; Hard: number }>;
  logOpts: Record<string, string>;
}

const USAGE = `Usage:	berthd [OPTIONS]

A Docker-compatible container engine

Options:
      --config-file string     Daemon configuration file (default "/etc/berth/daemon.json")
      --data-root string       Root directory of persistent state (default "/var/lib/berth")
      --exec-root string       Root directory for execution state files (default "/run/berth")
  -H, --host list              Daemon socket to connect to (default unix:///run/berth/berth.sock)
  -l, --log-level string       Set the logging level ("debug"|"info"|"warn"|"error") (default "info")
      --runtime string         Default OCI runtime for containers: a name or a path (default: the first of crun, runc that works)
  -v, --version                Print version information and quit
  -h, --help                   Print usage
`;

export function parseArgs(argv: string[]): { config: DaemonConfig; help?: boolean; version?: boolean } {
  const flags: Record<string, string | string[]> = {};
  const hosts: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return { config: defaults(), help: true };
    if (a === '-v' || a === '--version') return { config: defaults(), version: true };
    const m = /^(--[a-z-]+|-[Hl])(?:=(.*))?$/.exec(a);
    if (!m) throw invalidArgument(`unknown argument: ${a}\n\n${USAGE}`);
    const name = m[1]!;
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw invalidArgument(`flag needs an argument: ${name}`);
    const key = name === '-H' ? '--host' : name === '-l' ? '--log-level' : name;
    if (!['--config-file', '--data-root', '--exec-root', '--host', '--log-level', '--runtime'].includes(key)) {
      throw invalidArgument(`unknown flag: ${name}`);
    }
    if (key === '--host') hosts.push(value);
    else flags[key] = value;
  }
  const configFile = (flags['--config-file'] as string) ?? '/etc/berth/daemon.json';
  const file = readConfigFile(configFile, flags['--config-file'] !== undefined);
  const cfg = defaults();
  cfg.configFile = configFile;
  if (file['data-root']) cfg.dataRoot = String(file['data-root']);
  if (file['exec-root']) cfg.execRoot = String(file['exec-root']);
  if (Array.isArray(file.hosts)) cfg.hosts = file.hosts.map(String);
  if (file['log-level']) cfg.logLevel = file['log-level'];
  if (file['default-runtime']) cfg.runtime = String(file['default-runtime']);
  if (file.runtimes !== undefined) {
    if (!file.runtimes || typeof file.runtimes !== 'object' || Array.isArray(file.runtimes)) throw invalidArgument('runtimes must be an object of name: {"path": ..., "runtimeArgs": [...]}');
    cfg.runtimes = file.runtimes;
  }
  if (Array.isArray(file['registry-mirrors'])) cfg.registryMirrors = file['registry-mirrors'].map(String);
  if (Array.isArray(file['insecure-registries'])) cfg.insecureRegistries = file['insecure-registries'].map(String);
  if (file['max-concurrent-downloads']) cfg.maxConcurrentDownloads = Number(file['max-concurrent-downloads']);
  if (file['max-concurrent-uploads']) cfg.maxConcurrentUploads = Number(file['max-concurrent-uploads']);
  if (file['certs-dirs'] !== undefined) {
    const v = file['certs-dirs'];
    if (!(typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string')))) throw invalidArgument('certs-dirs must be a path or a list of paths');
    cfg.certsDirs = typeof v === 'string' ? [v] : v;
  }
  if (file.bip) cfg.bip = String(file.bip);
  if (file.bridge) cfg.bridge = String(file.bridge);
  if (Array.isArray(file['default-address-pools'])) cfg.defaultAddressPools = file['default-address-pools'];
  if (file['default-ulimits']) cfg.defaultUlimits = file['default-ulimits'];
  if (file['log-opts']) cfg.logOpts = file['log-opts'];
  if (flags['--data-root']) cfg.dataRoot = flags['--data-root'] as string;
  if (flags['--exec-root']) cfg.execRoot = flags['--exec-root'] as string;
  if (flags['--log-level']) cfg.logLevel = flags['--log-level'] as DaemonConfig['logLevel'];
  if (flags['--runtime']) cfg.runtime = flags['--runtime'] as string;
  if (hosts.length) cfg.hosts = hosts;
  if (!['debug', 'info', 'warn', 'error'].includes(cfg.logLevel)) throw invalidArgument(`unable to parse logging level: ${cfg.logLevel}`);
  return { config: cfg };
}

function defaults(): DaemonConfig {
  return {
    dataRoot: '/var/lib/berth', execRoot: '/run/berth', hosts: ['unix:///run/berth/berth.sock'],
    configFile: '/etc/berth/daemon.json', logLevel: 'info', registryMirrors: [], insecureRegistries: [],
    maxConcurrentDownloads: 3, maxConcurrentUploads: 5, logOpts: {},
  };
}

function readConfigFile(path: string, explicit: boolean): Record<string, any> {
  if (!existsSync(path)) {
    if (explicit) throw invalidArgument(`unable to configure the berth daemon with file ${path}: open ${path}: no such file or directory`);
    return {};
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw invalidArgument(`unable to configure the berth daemon with file ${path}: ${(err as Error).message}`);
  }
}

export { USAGE };
