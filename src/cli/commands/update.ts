// `berth update`: change a container's resource limits or restart policy (POST /containers/{id}/update),
// with the docker CLI's flags, body and output (the names, one per line).

import type { Command } from '../command.js';
import { StatusError } from '../command.js';
import type { FlagSpec } from '../flags.js';
import { errText } from './common.js';
import { ramInBytes } from '../format/units.js';
import { restartPolicy, badValue } from '../opts/run.js';

const str = (name: string, desc: string, short?: string, type = 'string'): FlagSpec => ({ name, short, kind: 'string', type, desc });
const int = (name: string, desc: string, short?: string): FlagSpec => ({ name, short, kind: 'int', type: 'int', desc });

const FLAGS: FlagSpec[] = [
  int('blkio-weight', 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)'),
  int('cpu-period', 'Limit CPU CFS (Completely Fair Scheduler) period'),
  int('cpu-quota', 'Limit CPU CFS (Completely Fair Scheduler) quota'),
  int('cpu-rt-period', 'Limit the CPU real-time period in microseconds'),
  int('cpu-rt-runtime', 'Limit the CPU real-time runtime in microseconds'),
  int('cpu-shares', 'CPU shares (relative weight)', 'c'),
  str('cpus', 'Number of CPUs', undefined, 'decimal'),
  str('cpuset-cpus', 'CPUs in which to allow execution (0-3, 0,1)'),
  str('cpuset-mems', 'MEMs in which to allow execution (0-3, 0,1)'),
  str('memory', 'Memory limit', 'm', 'bytes'),
  str('memory-reservation', 'Memory soft limit', undefined, 'bytes'),
  str('memory-swap', "Swap limit equal to memory plus swap: -1 to enable unlimited swap", undefined, 'bytes'),
  int('pids-limit', 'Tune container pids limit (set -1 for unlimited)'),
  str('restart', 'Restart policy to apply when a container exits'),
];

function bytes(name: string, v: string): number {
  if (name === 'memory-swap' && v === '-1') return -1;
  try {
    return ramInBytes(v);
  } catch {
    throw badValue(name, v, `invalid size: '${v}'`);
  }
}

export const update: Command = {
  use: 'update [OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Update configuration of one or more containers',
  aliases: ['container update', 'update'],
  args: { min: 1 },
  flags: FLAGS,
  async run(cli, { flags, changed, args }) {
    // As the docker CLI: only the flags given go into the body.
    const body: Record<string, unknown> = {};
    const n = (flag: string, field: string) => { if (changed.has(flag)) body[field] = flags[flag] as number; };
    n('blkio-weight', 'BlkioWeight');
    n('cpu-period', 'CpuPeriod');
    n('cpu-quota', 'CpuQuota');
    n('cpu-rt-period', 'CpuRealtimePeriod');
    n('cpu-rt-runtime', 'CpuRealtimeRuntime');
    n('cpu-shares', 'CpuShares');
    n('pids-limit', 'PidsLimit');
    if (changed.has('cpus')) {
      const v = Number(flags.cpus as string);
      if (Number.isNaN(v)) throw badValue('cpus', flags.cpus as string, `failed to parse ${flags.cpus as string} as a rational number`);
      body.NanoCpus = Math.round(v * 1e9);
    }
    if (changed.has('cpuset-cpus')) body.CpusetCpus = flags['cpuset-cpus'];
    if (changed.has('cpuset-mems')) body.CpusetMems = flags['cpuset-mems'];
    if (changed.has('memory')) body.Memory = bytes('memory', flags.memory as string);
    if (changed.has('memory-reservation')) body.MemoryReservation = bytes('memory-reservation', flags['memory-reservation'] as string);
    if (changed.has('memory-swap')) body.MemorySwap = bytes('memory-swap', flags['memory-swap'] as string);
    if (changed.has('restart')) body.RestartPolicy = restartPolicy(flags.restart as string);
    if (!Object.keys(body).length) throw new StatusError(1, 'you must provide one or more flags when using this command');
    const errors: string[] = [];
    for (const name of args) {
      try {
        const r = await cli.api().containerUpdate(name, body);
        for (const w of r?.Warnings ?? []) cli.err(`${w}\n`);
        cli.out(`${name}\n`);
      } catch (err) {
        if ((err as Error)?.name === 'ConnectError') throw err;
        errors.push(errText(err));
      }
    }
    if (errors.length) throw new StatusError(1, errors.join('\n'));
  },
};
