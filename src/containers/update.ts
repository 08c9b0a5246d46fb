// POST /containers/{id}/update: what `docker update` may change on an
// existing container (resources and the restart policy), checked and merged
// the way dockerd does it, field by field: a zero/absent field keeps the
// current value (moby container.UpdateHostConfig).
import { invalidArgument, conflict } from '../util/index.js';
import type { ContainerRecord } from './types.js';

/** The resource fields an update may carry, as named in HostConfig. */
export const UPDATABLE_RESOURCES = [
  'BlkioWeight', 'CpuShares', 'CpuPeriod', 'CpuQuota', 'CpusetCpus', 'CpusetMems', 'Memory', 'MemorySwap',
  'MemoryReservation', 'NanoCpus', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'KernelMemory',
] as const;

/** Live limits for a running container, in the runtime's (OCI) terms. */
export interface LiveResources {
  memory?: number; memorySwap?: number; memoryReservation?: number;
  cpuShares?: number; cpuQuota?: number; cpuPeriod?: number; cpusetCpus?: string; cpusetMems?: string;
  pidsLimit?: number; blkioWeight?: number;
}

const num = (body: Record<string, any>, k: string): number | undefined => {
  const v = body[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidArgument(`invalid value for ${k}: ${String(v)}`);
  return v;
};

/**
 * Merge an update body into a copy of the container's HostConfig.
 * Throws Docker's errors for the combinations dockerd refuses.
 */
export function mergeUpdate(rec: ContainerRecord, body: Record<string, any>): { hostConfig: Record<string, any>; warnings: string[] } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidArgument('invalid update config');
  if (rec.State.Status === 'removing' || rec.State.Status === 'dead') {
    throw conflict(`Container ${rec.Id} is marked for removal and cannot be "update"`);
  }
  const hc: Record<string, any> = { ...rec.HostConfig };
  const memory = num(body, 'Memory');
  const swap = num(body, 'MemorySwap');
  if (memory !== undefined && memory !== 0 && memory < 6 * 1024 * 1024) throw invalidArgument('Minimum memory limit allowed is 6MB');
  if (swap !== undefined && swap > 0 && (memory || hc.Memory) && swap < (memory || hc.Memory)) {
    throw invalidArgument('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  // A bigger memory limit than the swap limit already set needs both at once.
  if (memory && !swap && hc.MemorySwap > 0 && memory > hc.MemorySwap) {
    throw invalidArgument('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
  }
  const nano = num(body, 'NanoCpus');
  if (nano && (num(body, 'CpuQuota') || num(body, 'CpuPeriod'))) throw invalidArgument('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nano && (hc.CpuQuota || hc.CpuPeriod) && !num(body, 'CpuQuota')) {
    throw invalidArgument('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');
  }
  for (const k of UPDATABLE_RESOURCES) {
    const v = k === 'CpusetCpus' || k === 'CpusetMems' ? body[k] : num(body, k);
    if (v === undefined || v === null || v === 0 || v === '') continue;
    if (typeof v === 'number' && v < 0 && !((k === 'MemorySwap' || k === 'CpuQuota') && v === -1)) throw invalidArgument(`invalid value for ${k}: ${v}`);
    hc[k] = v;
  }
  // PidsLimit: 0 or -1 mean "unlimited" and are applied too (Docker stores 0 as unlimited).
  const pids = num(body, 'PidsLimit');
  if (pids !== undefined) hc.PidsLimit = pids <= 0 ? 0 : pids;
  const rp = body.RestartPolicy;
  if (rp && typeof rp === 'object' && rp.Name) {
    if (!['no', 'always', 'unless-stopped', 'on-failure'].includes(rp.Name)) throw invalidArgument(`invalid restart policy '${rp.Name}'`);
    const max = Number(rp.MaximumRetryCount ?? 0);
    if (!Number.isInteger(max) || max < 0) throw invalidArgument('invalid restart policy: maximum retry count cannot be negative');
    if (max && rp.Name !== 'on-failure') throw invalidArgument(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
    if (hc.AutoRemove && rp.Name !== 'no') throw invalidArgument('Restart policy cannot be updated because AutoRemove is enabled for the container');
    hc.RestartPolicy = { Name: rp.Name, MaximumRetryCount: max };
  }
  return { hostConfig: hc, warnings: [] };
}

/** The limits a running container gets after an update, as its create would have set them. */
export function liveResources(hc: Record<string, any>): LiveResources {
  const r: LiveResources = {};
  if (hc.Memory > 0) {
    r.memory = hc.Memory;
    // As at create: without a swap limit the total is twice the memory limit.
    r.memorySwap = hc.MemorySwap === -1 ? -1 : hc.MemorySwap > 0 ? hc.MemorySwap : hc.Memory * 2;
  }
  if (hc.MemoryReservation > 0) r.memoryReservation = hc.MemoryReservation;
  if (hc.CpuShares > 0) r.cpuShares = hc.CpuShares;
  if (hc.NanoCpus > 0) {
    r.cpuPeriod = 100_000;
    r.cpuQuota = Math.floor((hc.NanoCpus * 100_000) / 1e9);
  } else {
    if (hc.CpuPeriod > 0) r.cpuPeriod = hc.CpuPeriod;
    if (hc.CpuQuota) r.cpuQuota = hc.CpuQuota;
  }
  if (hc.CpusetCpus) r.cpusetCpus = hc.CpusetCpus;
  if (hc.CpusetMems) r.cpusetMems = hc.CpusetMems;
  if (typeof hc.PidsLimit === 'number') r.pidsLimit = hc.PidsLimit > 0 ? hc.PidsLimit : -1;
  if (hc.BlkioWeight > 0) r.blkioWeight = hc.BlkioWeight;
  return r;
}
