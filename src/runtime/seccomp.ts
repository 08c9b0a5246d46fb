// Docker's seccomp profile format → the runtime-spec's linux.seccomp.
// The profile (a copy of moby/profiles seccomp/default.json, shipped beside
// this file as seccomp-default.json) has rules with includes/excludes on
// capabilities, architectures and kernel versions; each container gets the
// rules that apply to its capability set on this machine (as moby's
// profiles/seccomp/seccomp_linux.go does).
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { invalidArgument } from '../util/index.js';
import type { OciSeccomp, OciSeccompSyscall, OciSeccompArg } from './oci.js';

interface Filter { caps?: string[]; arches?: string[]; minKernel?: string }

/** A seccomp profile as Docker takes it (`--security-opt seccomp=profile.json`). */
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures: string[] | null }[];
  flags?: string[];
  listenerPath?: string;
  syscalls?: {
    name?: string;
    names?: string[];
    action: string;
    errnoRet?: number;
    args?: OciSeccompArg[] | null;
    comment?: string;
    includes?: Filter;
    excludes?: Filter;
  }[];
}

// Go arch name → the libseccomp name of the native architecture.
const SCMP_ARCH: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64', '386': 'SCMP_ARCH_X86', arm64: 'SCMP_ARCH_AARCH64', arm: 'SCMP_ARCH_ARM',
  ppc64le: 'SCMP_ARCH_PPC64LE', s390x: 'SCMP_ARCH_S390X', riscv64: 'SCMP_ARCH_RISCV64',
  loong64: 'SCMP_ARCH_LOONGARCH64', mips64: 'SCMP_ARCH_MIPS64', mips64le: 'SCMP_ARCH_MIPSEL64',
};

// The JSON is data, not code: tsc does not copy it to dist/, so look for it
// next to this file (running from src/) and in src/runtime/ from dist/src/runtime/.
const here = dirname(fileURLToPath(import.meta.url));
const PROFILE_CANDIDATES = [join(here, 'seccomp-default.json'), join(here, '../../../src/runtime/seccomp-default.json')];

/** Docker's default profile, parsed (a fresh copy each call). */
export function loadDefaultProfile(): SeccompProfile {
  const path = PROFILE_CANDIDATES.find((p) => existsSync(p));
  if (!path) throw new Error(`seccomp default profile not found (looked in ${PROFILE_CANDIDATES.join(', ')})`);
  return JSON.parse(readFileSync(path, 'utf8')) as SeccompProfile;
}

const kernelAtLeast = (kernel: [number, number], min: string): boolean => {
  const [maj, mi] = min.split('.').map(Number) as [number, number];
  return kernel[0] > maj || (kernel[0] === maj && kernel[1] >= (mi ?? 0));
};

/**
 * Filter a Docker-format profile for one container: `caps` are its bounding
 * capabilities, `arch` the Go arch name, `kernel` [major, minor].
 */
export function resolveSeccomp(profile: SeccompProfile, ctx: { caps: readonly string[]; arch: string; kernel: [number, number] }): OciSeccomp {
  if (!profile || typeof profile.defaultAction !== 'string') throw invalidArgument('seccomp profile has no defaultAction');
  if (profile.architectures?.length && profile.archMap?.length) {
    throw invalidArgument("'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'");
  }
  const caps = new Set(ctx.caps);
  const native = SCMP_ARCH[ctx.arch];
  let architectures = profile.architectures ?? [];
  for (const a of profile.archMap ?? []) {
    if (a.architecture === native) architectures = [a.architecture, ...(a.subArchitectures ?? [])];
  }
  const syscalls: OciSeccompSyscall[] = [];
  for (const call of profile.syscalls ?? []) {
    const inc = call.includes ?? {}, exc = call.excludes ?? {};
    if (exc.arches?.includes(ctx.arch)) continue;
    if (exc.caps?.some((c) => caps.has(c))) continue;
    if (exc.minKernel && kernelAtLeast(ctx.kernel, exc.minKernel)) continue;
    if (inc.arches?.length && !inc.arches.includes(ctx.arch)) continue;
    if (inc.caps?.length && !inc.caps.every((c) => caps.has(c))) continue;
    if (inc.minKernel && !kernelAtLeast(ctx.kernel, inc.minKernel)) continue;
    const names = call.names ?? (call.name ? [call.name] : []);
    const out: OciSeccompSyscall = { names, action: call.action };
    if (call.errnoRet !== undefined) out.errnoRet = call.errnoRet;
    if (call.args?.length) out.args = call.args.map((a) => ({ ...a }));
    syscalls.push(out);
  }
  const spec: OciSeccomp = { defaultAction: profile.defaultAction, architectures, syscalls };
  if (profile.defaultErrnoRet !== undefined) spec.defaultErrnoRet = profile.defaultErrnoRet;
  if (profile.flags?.length) spec.flags = [...profile.flags];
  if (profile.listenerPath) spec.listenerPath = profile.listenerPath;
  return spec;
}

/**
 * Resolves the default profile with a cache: most containers share a
 * capability set, and the default profile filtered for it is ~30 KB of JSON
 * that need not be rebuilt per container. Callers own the cache (no module state).
 */
export class SeccompCache {
  private profile?: SeccompProfile;
  private readonly byKey = new Map<string, OciSeccomp>();

  defaultFor(ctx: { caps: readonly string[]; arch: string; kernel: [number, number] }): OciSeccomp {
    const key = `${ctx.arch}|${ctx.kernel.join('.')}|${[...ctx.caps].sort().join(',')}`;
    let spec = this.byKey.get(key);
    if (!spec) {
      this.profile ??= loadDefaultProfile();
      spec = resolveSeccomp(this.profile, ctx);
      this.byKey.set(key, spec);
    }
    // Specs are mutable data; hand out a copy so one container's edits never leak.
    return structuredClone(spec);
  }
}
