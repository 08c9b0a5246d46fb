// Precompiled seccomp programs for crun.
//
// crun compiles the spec's seccomp section with libseccomp on every create and
// exec: for Docker's default profile that is ≈ 10 ms of CPU each time here,
// about a third of what `crun create` costs. crun also takes the finished
// program, base64, in the `run.oci.seccomp_bpf_data` annotation (crun(1)), so
// berthd compiles each distinct section once, with the same libseccomp and the
// same translation crun uses (src/sys/addon/seccomp.c; the tests check the
// program is byte-identical to crun's own), and caches it.
//
// runc ignores the annotation, so only the crun driver adds it. When the
// section cannot be compiled here (an action crun refuses, NOTIFY), nothing is
// added and crun compiles it, or reports the error, as it always would.
import { seccompCompile, type SeccompRule } from '../sys/index.js';
import type { OciSeccomp } from './oci.js';

export const SECCOMP_BPF_ANNOTATION = 'run.oci.seccomp_bpf_data';

const MAX_ENTRIES = 16;
const cache = new Map<string, string | null>();

/** The section's BPF program as base64, or undefined to let the runtime compile it. */
export function precompiledSeccomp(section: OciSeccomp): string | undefined {
  if (section.listenerPath) return undefined;
  const key = JSON.stringify(section);
  let hit = cache.get(key);
  if (hit === undefined) {
    hit = compile(section);
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
    cache.set(key, hit);
  }
  return hit ?? undefined;
}

function compile(s: OciSeccomp): string | null {
  try {
    const rules: SeccompRule[] = (s.syscalls ?? []).map((r) => [
      r.action, r.errnoRet ?? -1, r.names ?? [],
      (r.args ?? []).map((a) => [a.index, a.op, BigInt(a.value ?? 0), BigInt(a.valueTwo ?? 0)] as [number, string, bigint, bigint]),
    ]);
    return seccompCompile(s.defaultAction, s.defaultErrnoRet ?? -1, s.architectures ?? [], rules).toString('base64');
  } catch {
    return null;
  }
}
