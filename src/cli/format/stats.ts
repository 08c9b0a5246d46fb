// `stats` columns from the Engine API's stats objects, computed as the docker CLI does.

import type { StatsResponse } from '../../client/index.js';
import { context } from './template.js';
import { bytesSize, humanSize } from './units.js';
import type { ListFormat } from './output.js';

export const STATS_FORMAT: ListFormat = {
  table: '{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}',
  headers: {
    Container: 'CONTAINER', ID: 'CONTAINER ID', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %',
    NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS',
  },
};

export interface StatsRow {
  container: string;
  id: string;
  name: string;
  cpu: number;
  mem: number;
  memLimit: number;
  memPerc: number;
  rx: number;
  tx: number;
  blkRead: number;
  blkWrite: number;
  pids: number;
}

export function computeStats(container: string, s: StatsResponse): StatsRow {
  const cpu = s.cpu_stats?.cpu_usage?.total_usage ?? 0;
  const pre = s.precpu_stats?.cpu_usage?.total_usage ?? 0;
  const sys = s.cpu_stats?.system_cpu_usage ?? 0;
  const preSys = s.precpu_stats?.system_cpu_usage ?? 0;
  const online = s.cpu_stats?.online_cpus || s.cpu_stats?.cpu_usage?.percpu_usage?.length || 1;
  const cpuDelta = cpu - pre;
  const sysDelta = sys - preSys;
  const cpuPerc = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * online * 100 : 0;
  const m = s.memory_stats ?? {};
  let mem = m.usage ?? 0;
  const st = m.stats ?? {};
  // Page cache is not "used" memory: cgroup v1 reports total_inactive_file, v2 inactive_file.
  const cache = st.total_inactive_file ?? st.inactive_file;
  if (cache !== undefined && cache < mem) mem -= cache;
  const limit = m.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  let blkRead = 0;
  let blkWrite = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = e.op.toLowerCase();
    if (op === 'read') blkRead += e.value;
    else if (op === 'write') blkWrite += e.value;
  }
  return {
    container, id: s.id ?? '', name: (s.name ?? '').replace(/^\//, ''), cpu: cpuPerc, mem, memLimit: limit,
    memPerc: limit > 0 ? (mem / limit) * 100 : 0, rx, tx, blkRead, blkWrite, pids: s.pids_stats?.current ?? 0,
  };
}

export function statsContext(r: StatsRow, trunc = true) {
  return context({
    Container: () => r.container,
    ID: () => (trunc ? r.id.slice(0, 12) : r.id),
    Name: () => r.name || '--',
    CPUPerc: () => `${r.cpu.toFixed(2)}%`,
    MemUsage: () => `${bytesSize(r.mem)} / ${bytesSize(r.memLimit)}`,
    MemPerc: () => `${r.memPerc.toFixed(2)}%`,
    NetIO: () => `${humanSize(r.rx)} / ${humanSize(r.tx)}`,
    BlockIO: () => `${humanSize(r.blkRead)} / ${humanSize(r.blkWrite)}`,
    PIDs: () => String(r.pids),
  });
}
