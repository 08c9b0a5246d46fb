// Platforms: parse "os/arch[/variant]", the host's platform, and matching.
import { arch as nodeArch } from 'node:process';
import { invalidArgument } from '../util/index.js';
import type { Platform } from './types.js';

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export function hostPlatform(): Platform {
  const architecture = GOARCH[nodeArch] ?? nodeArch;
  const p: Platform = { os: 'linux', architecture };
  if (architecture === 'arm64') p.variant = 'v8';
  return p;
}

/** "linux/amd64", "linux/arm/v7", "amd64" → Platform (normalized like containerd's platforms.Normalize). */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().toLowerCase().split('/');
  if (parts.length > 3 || parts.some((x) => x === '' || !/^[a-z0-9._-]+$/.test(x))) {
    throw invalidArgument(`"${s}": unknown operating system or architecture: invalid argument`);
  }
  let os = 'linux';
  let architecture: string;
  let variant: string | undefined;
  if (parts.length === 1) architecture = parts[0]!;
  else [os, architecture, variant] = parts as [string, string, string | undefined];
  ({ architecture, variant } = normalizeArch(architecture, variant));
  const p: Platform = { os, architecture };
  if (variant) p.variant = variant;
  return p;
}

function normalizeArch(arch: string, variant?: string): { architecture: string; variant?: string } {
  switch (arch) {
    case 'x86_64': case 'x86-64': case 'amd64':
      return { architecture: 'amd64', variant: variant === 'v1' ? undefined : variant };
    case 'aarch64': case 'arm64':
      return { architecture: 'arm64', variant: variant === undefined || variant === '8' ? 'v8' : variant };
    case 'armhf': return { architecture: 'arm', variant: 'v7' };
    case 'armel': return { architecture: 'arm', variant: 'v6' };
    case 'arm': return { architecture: 'arm', variant: variant ?? 'v7' };
    case 'i386': return { architecture: '386', variant };
    default: return { architecture: arch, variant };
  }
}

export const formatPlatform = (p: Platform): string => [p.os, p.architecture, p.variant].filter(Boolean).join('/');

/** True when an image for `have` runs on `want` (a missing variant on either side matches). */
export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  const h = normalizeArch(have.architecture, have.variant);
  const w = normalizeArch(want.architecture, want.variant);
  if (have.os !== want.os || h.architecture !== w.architecture) return false;
  return !w.variant || !h.variant || w.variant === h.variant;
}
