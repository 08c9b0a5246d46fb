// Docker's three ways to ask for mounts (Binds, Mounts, Tmpfs) plus the
// image's VOLUMEs, turned into one list of mount points.
import { posix } from 'node:path';
import { invalidArgument } from '../util/index.js';
import type { MountPoint } from './types.js';

const PROPAGATIONS = new Set(['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate']);

function checkDestination(dst: string, type: string): string {
  if (!dst.startsWith('/')) {
    throw invalidArgument(`invalid mount config for type "${type}": invalid mount path: '${dst}' mount path must be absolute`);
  }
  const clean = posix.normalize(dst);
  if (clean === '/') throw invalidArgument(`invalid mount config for type "${type}": invalid specification: destination can't be '/'`);
  return clean.replace(/\/+$/, '');
}

/** `-v src:dst[:opts]`, `-v /dst` (anonymous volume). */
export function parseBind(spec: string): MountPoint {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw invalidArgument(`invalid volume specification: '${spec}'`);
  let src = '';
  let dst: string;
  let mode = '';
  if (parts.length === 1) dst = parts[0]!;
  else if (parts.length === 2) {
    // `/dst:ro` is not valid; `src:dst` is.
    [src, dst] = parts as [string, string];
  } else [src, dst, mode] = parts as [string, string, string];
  if (!dst.startsWith('/')) throw invalidArgument(`invalid volume specification: '${spec}'`);
  dst = checkDestination(dst, src.startsWith('/') ? 'bind' : 'volume');
  let rw = true;
  let propagation = '';
  const options: string[] = [];
  for (const opt of mode ? mode.split(',') : []) {
    if (opt === 'ro') rw = false;
    else if (opt === 'rw') rw = true;
    else if (PROPAGATIONS.has(opt)) propagation = opt;
    else if (opt === 'z' || opt === 'Z' || opt === 'nocopy' || opt === 'consistent' || opt === 'cached' || opt === 'delegated') options.push(opt);
    else throw invalidArgument(`invalid mode: ${opt}`);
  }
  if (src.startsWith('/')) {
    return { Type: 'bind', Source: posix.normalize(src), Destination: dst, Mode: mode, RW: rw, Propagation: propagation || 'rprivate', Options: options };
  }
  if (src && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(src)) {
    throw invalidArgument(`create ${src}: "${src}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  }
  return { Type: 'volume', Name: src, Source: '', Destination: dst, Driver: 'local', Mode: mode || 'z', RW: rw, Propagation: '', Options: options, Anonymous: !src };
}

/** `--mount type=…` as the API's HostConfig.Mounts entries. */
export function parseApiMount(m: Record<string, any>): MountPoint {
  const type = m.Type ?? 'volume';
  const target = m.Target ?? m.Destination;
  if (!target) throw invalidArgument(`invalid mount config for type "${type}": field Target must not be empty`);
  const dst = checkDestination(String(target), type);
  const rw = !m.ReadOnly;
  switch (type) {
    case 'bind': {
      if (!m.Source) throw invalidArgument('invalid mount config for type "bind": field Source must not be empty');
      if (!String(m.Source).startsWith('/')) throw invalidArgument(`invalid mount config for type "bind": invalid mount path: '${m.Source}' mount path must be absolute`);
      const propagation = m.BindOptions?.Propagation || 'rprivate';
      return { Type: 'bind', Source: posix.normalize(m.Source), Destination: dst, Mode: '', RW: rw, Propagation: propagation, Options: m.BindOptions?.CreateMountpoint ? ['create'] : ['nocreate'] };
    }
    case 'volume': {
      const name = m.Source ?? '';
      if (name && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) {
        throw invalidArgument(`invalid mount config for type "volume": invalid volume name: "${name}"`);
      }
      const options = m.VolumeOptions?.NoCopy ? ['nocopy'] : [];
      return { Type: 'volume', Name: name, Source: '', Destination: dst, Driver: m.VolumeOptions?.DriverConfig?.Name || 'local', Mode: 'z', RW: rw, Propagation: '', Options: options, Anonymous: !name };
    }
    case 'tmpfs': {
      if (m.Source) throw invalidArgument('invalid mount config for type "tmpfs": field Source must be empty');
      const opts: string[] = [];
      if (m.TmpfsOptions?.SizeBytes) opts.push(`size=${m.TmpfsOptions.SizeBytes}`);
      if (m.TmpfsOptions?.Mode) opts.push(`mode=${Number(m.TmpfsOptions.Mode).toString(8)}`);
      return { Type: 'tmpfs', Source: '', Destination: dst, Mode: '', RW: rw, Propagation: '', Options: opts };
    }
    default:
      throw invalidArgument(`mount type unknown: ${type}`);
  }
}

/** One `--volumes-from` entry: `container[:mode]`, mode ro or rw (and SELinux z/Z, ignored). */
/**
 * `inherited`: the mount points of the --volumes-from containers (their volumes and binds, at the
 * same destinations). Binds, Mounts and Tmpfs of the new container win over them, as in Docker.
 */
export function collectMounts(
  config: Record<string, any>, hostConfig: Record<string, any>, imageVolumes: Record<string, unknown> | undefined,
  inherited: MountPoint[] = [],
): MountPoint[] {
  const out: MountPoint[] = [];
  const seen = new Set<string>();
  const add = (m: MountPoint) => {
    if (seen.has(m.Destination)) throw invalidArgument(`Duplicate mount point: ${m.Destination}`);
    seen.add(m.Destination);
    out.push(m);
  };
  for (const b of (hostConfig.Binds ?? []) as string[]) add(parseBind(b));
  for (const m of (hostConfig.Mounts ?? []) as Record<string, any>[]) add(parseApiMount(m));
  for (const [dst, opts] of Object.entries((hostConfig.Tmpfs ?? {}) as Record<string, string>)) {
    const clean = checkDestination(dst, 'tmpfs');
    add({ Type: 'tmpfs', Source: '', Destination: clean, Mode: String(opts ?? ''), RW: !/(^|,)ro(,|$)/.test(String(opts ?? '')), Propagation: '', Options: String(opts ?? '').split(',').filter((o) => o && o !== 'ro' && o !== 'rw') });
  }
  for (const m of inherited) {
    if (seen.has(m.Destination)) continue;
    seen.add(m.Destination);
    out.push(m);
  }
  // The image's and the config's VOLUMEs become anonymous volumes unless mounted otherwise.
  const vols = { ...(imageVolumes ?? {}), ...((config.Volumes ?? {}) as Record<string, unknown>) };
  for (const dst of Object.keys(vols)) {
    const clean = posix.normalize(dst).replace(/\/+$/, '');
    if (!clean.startsWith('/') || seen.has(clean)) continue;
    seen.add(clean);
    out.push({ Type: 'volume', Name: '', Source: '', Destination: clean, Driver: 'local', Mode: '', RW: true, Propagation: '', Options: [], Anonymous: true });
  }
  return out;
}
