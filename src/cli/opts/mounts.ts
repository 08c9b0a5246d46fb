// --mount type=bind|volume|tmpfs,source=…,target=…,… (CSV, as the docker CLI reads it).

import { resolve as resolvePath } from 'node:path';
import { ramInBytes } from '../format/units.js';
import { FlagError } from '../flags.js';

class RunOptionError extends FlagError {}

export interface MountSpec {
  Type: string;
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; Subpath?: string; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

function csv(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (const ch of s) {
    if (ch === '"') q = !q;
    else if (ch === ',' && !q) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function boolValue(key: string, v: string | undefined, spec: string): boolean {
  if (v === undefined) return true;
  const l = v.toLowerCase();
  if (['1', 'true', 't'].includes(l)) return true;
  if (['0', 'false', 'f'].includes(l)) return false;
  throw new RunOptionError(`invalid argument "${spec}" for "--mount" flag: invalid value for ${key}: ${v}`);
}

export function parseMount(spec: string): MountSpec {
  const m: MountSpec = { Type: 'volume', Target: '' };
  const fields = csv(spec);
  const typeField = fields.find((f) => f.toLowerCase().startsWith('type='));
  if (typeField) m.Type = typeField.slice(5).toLowerCase();
  const bind = () => (m.BindOptions ??= {});
  const vol = () => (m.VolumeOptions ??= {});
  const tmp = () => (m.TmpfsOptions ??= {});
  for (const f of fields) {
    const eq = f.indexOf('=');
    const key = (eq >= 0 ? f.slice(0, eq) : f).trim().toLowerCase();
    const val = eq >= 0 ? f.slice(eq + 1) : undefined;
    const need = () => {
      if (val === undefined) throw new RunOptionError(`invalid argument "${spec}" for "--mount" flag: invalid field '${f}' must be a key=value pair`);
      return val;
    };
    switch (key) {
      case 'type':
        break;
      case 'source':
      case 'src':
        m.Source = need();
        if (m.Type === 'bind' && m.Source.startsWith('.')) m.Source = resolvePath(m.Source);
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.Target = need();
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = boolValue(key, val, spec);
        break;
      case 'consistency':
        m.Consistency = need();
        break;
      case 'bind-propagation':
        bind().Propagation = need();
        break;
      case 'bind-nonrecursive':
        bind().NonRecursive = boolValue(key, val, spec);
        break;
      case 'bind-create-mountpoint':
        bind().CreateMountpoint = boolValue(key, val, spec);
        break;
      case 'volume-nocopy':
        vol().NoCopy = boolValue(key, val, spec);
        break;
      case 'volume-subpath':
        vol().Subpath = need();
        break;
      case 'volume-label': {
        const [k, ...v] = need().split('=');
        vol().Labels = { ...vol().Labels, [k!]: v.join('=') };
        break;
      }
      case 'volume-driver':
        vol().DriverConfig = { ...vol().DriverConfig, Name: need() };
        break;
      case 'volume-opt': {
        const [k, ...v] = need().split('=');
        const dc = (vol().DriverConfig ??= {});
        dc.Options = { ...dc.Options, [k!]: v.join('=') };
        break;
      }
      case 'tmpfs-size':
        try {
          tmp().SizeBytes = ramInBytes(need());
        } catch {
          throw new RunOptionError(`invalid argument "${spec}" for "--mount" flag: invalid value for ${key}: ${val}`);
        }
        break;
      case 'tmpfs-mode': {
        const n = parseInt(need(), 8);
        if (Number.isNaN(n)) throw new RunOptionError(`invalid argument "${spec}" for "--mount" flag: invalid value for ${key}: ${val}`);
        tmp().Mode = n;
        break;
      }
      default:
        throw new RunOptionError(`invalid argument "${spec}" for "--mount" flag: unexpected key '${key}' in '${f}'`);
    }
  }
  if (!m.Target) throw new RunOptionError(`invalid argument "${spec}" for "--mount" flag: target is required`);
  if (m.BindOptions && m.Type !== 'bind') throw new RunOptionError(`invalid argument "${spec}" for "--mount" flag: cannot mix 'bind-*' options with mount type '${m.Type}'`);
  if (m.VolumeOptions && m.Type !== 'volume') throw new RunOptionError(`invalid argument "${spec}" for "--mount" flag: cannot mix 'volume-*' options with mount type '${m.Type}'`);
  if (m.TmpfsOptions && m.Type !== 'tmpfs') throw new RunOptionError(`invalid argument "${spec}" for "--mount" flag: cannot mix 'tmpfs-*' options with mount type '${m.Type}'`);
  return m;
}
