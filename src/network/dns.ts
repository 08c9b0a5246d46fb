// Name resolution on user-defined networks through aardvark-dns (Podman's DNS
// server). One aardvark process serves one config directory: a file per
// network, named after it, whose first line lists the addresses to listen on
// (the network's gateway) and whose other lines are
// `<container id> <ipv4s> <ipv6s> <names>`. The process daemonizes itself,
// writes aardvark.pid into the directory and re-reads everything on SIGHUP.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { hasCode, type Logger } from '../util/index.js';

export interface DnsEntry {
  containerId: string;
  ip: string;
  names: string[];
  /** Upstream servers for this container's other queries (its --dns); default: the host's. */
  servers?: string[];
}

export interface DnsNetwork {
  name: string;
  gateway: string;
  entries: DnsEntry[];
}

const PID_FILE = 'aardvark.pid';

export class Aardvark {
  constructor(
    private readonly dir: string,
    private readonly binary: string,
    private readonly log: Logger,
  ) {}

  /** Make the config directory say exactly `networks` and the server follow it. */
  async sync(networks: DnsNetwork[]): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const want = new Map<string, string>();
    for (const n of networks) {
      if (n.entries.length === 0) continue;
      const lines = [n.gateway];
      for (const e of n.entries) {
        const line = `${e.containerId} ${e.ip}  ${[...new Set(e.names)].join(',')}`;
        lines.push(e.servers?.length ? `${line} ${e.servers.join(',')}` : line);
      }
      want.set(n.name, lines.join('\n') + '\n');
    }
    let changed = false;
    for (const f of readdirSync(this.dir)) {
      if (f === PID_FILE || f.startsWith('.') || want.has(f)) continue;
      rmSync(join(this.dir, f), { force: true });
      changed = true;
    }
    for (const [name, text] of want) {
      const path = join(this.dir, name);
      if (readOr(path) === text) continue;
      // aardvark may read at any moment (SIGHUP from a concurrent change): rename, never a half file.
      const tmp = join(this.dir, `.${name}.tmp`);
      writeFileSync(tmp, text);
      renameSync(tmp, path);
      changed = true;
    }
    const pid = this.pid();
    if (want.size === 0) {
      if (pid) this.signal(pid, 'SIGTERM');
      rmSync(join(this.dir, PID_FILE), { force: true });
      return;
    }
    if (!pid) {
      await this.start();
    } else if (changed) {
      this.log.debug('aardvark-dns reload', { pid });
      this.signal(pid, 'SIGHUP');
    }
  }

  /** The running server's pid, if the pid file names a live aardvark-dns. */
  pid(): number | undefined {
    const text = readOr(join(this.dir, PID_FILE));
    const pid = Number(text?.trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    const cmdline = readOr(`/proc/${pid}/cmdline`);
    if (!cmdline || !cmdline.includes('aardvark-dns') || !cmdline.includes(this.dir)) return undefined;
    return pid;
  }

  private async start(): Promise<void> {
    // `run` forks the server and exits once it listens. The server must not
    // hold pipes of ours (nor be in our process group), hence ignore + detached.
    const code = await new Promise<number>((resolve) => {
      const child = spawn(this.binary, ['--config', this.dir, '-p', '53', 'run'], { stdio: 'ignore', detached: true });
      child.once('error', (err) => {
        this.log.warn('aardvark-dns failed to start', { err });
        resolve(-1);
      });
      child.once('exit', (c) => resolve(c ?? -1));
    });
    if (code !== 0 || !this.pid()) this.log.warn('aardvark-dns failed to start', { code, dir: this.dir });
  }

  private signal(pid: number, sig: NodeJS.Signals): void {
    try {
      process.kill(pid, sig);
    } catch (err) {
      if (!hasCode(err, 'ESRCH')) throw err;
    }
  }
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return undefined;
    throw err;
  }
}
