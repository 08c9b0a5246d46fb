// Linux capabilities: Docker's default set and the CapAdd/CapDrop rules
// (moby oci/caps: names are normalised to CAP_*, "ALL" is special).
import { invalidArgument } from '../util/index.js';

/** Every capability the kernel knows, indexed by its number (linux/capability.h). */
export const ALL_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

/** Docker's 14 default capabilities, in moby's order. */
export const DEFAULT_CAPS: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** The names of the capabilities set in a hex mask as /proc/<pid>/status prints it (CapBnd). */
export function capsFromMask(hex: string): string[] {
  const mask = BigInt('0x' + hex.trim());
  return ALL_CAPS.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

/** "net_admin" / "NET_ADMIN" / "CAP_NET_ADMIN" → "CAP_NET_ADMIN"; "all" → "ALL". Unknown names are an error. */
export function normalizeCap(name: string): string {
  const up = name.trim().toUpperCase();
  if (up === 'ALL') return 'ALL';
  const full = up.startsWith('CAP_') ? up : `CAP_${up}`;
  if (!(ALL_CAPS as readonly string[]).includes(full)) throw invalidArgument(`unknown capability: "${full}"`);
  return full;
}

/**
 * The effective capability list for a container, as Docker computes it:
 * privileged → every capability the daemon holds; "ALL" in CapAdd → all but CapDrop;
 * "ALL" in CapDrop → only CapAdd; otherwise defaults − CapDrop + CapAdd.
 * `available` is the daemon's own bounding set: a runtime cannot grant more.
 */
export function tweakCapabilities(opts: { add?: string[]; drop?: string[]; privileged?: boolean; available: readonly string[] }): string[] {
  const available = new Set(opts.available);
  const keep = (caps: Iterable<string>) => [...new Set(caps)].filter((c) => available.has(c));
  if (opts.privileged) return keep(ALL_CAPS);
  const add = (opts.add ?? []).map(normalizeCap);
  const drop = (opts.drop ?? []).map(normalizeCap);
  if (add.includes('ALL')) return keep(ALL_CAPS.filter((c) => !drop.includes(c)));
  if (drop.includes('ALL')) return keep(add.filter((c) => c !== 'ALL'));
  return keep([...DEFAULT_CAPS.filter((c) => !drop.includes(c)), ...add]);
}
