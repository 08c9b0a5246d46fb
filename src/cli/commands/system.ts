// version, info, system df, system prune, events.

import type { Command, Cli } from '../command.js';
import { StatusError } from '../command.js';
import { CLIENT_API_VERSION, textLines, isConnectError, type ImageSummary, type ContainerSummary, type Volume } from '../../client/index.js';
import { renderOne, renderList } from '../format/output.js';
import { context, Template, unescapeFormat } from '../format/template.js';
import { humanSize, bytesSize } from '../format/units.js';
import { confirm } from './common.js';
import { filtersJSON } from '../opts/filters.js';
import { timestampArg } from './logs.js';

const VERSION = '0.1.0';

function clientInfo(cli: Cli) {
  return {
    Platform: { Name: '' },
    Version: VERSION,
    ApiVersion: CLIENT_API_VERSION,
    DefaultAPIVersion: CLIENT_API_VERSION,
    GitCommit: 'berth',
    GoVersion: process.version,
    Os: process.platform,
    Arch: process.arch === 'x64' ? 'amd64' : process.arch,
    BuildTime: '',
    Context: 'default',
    Host: cli.host,
  };
}

/** RFC 3339 → Go's time.ANSIC ("Mon Jan _2 15:04:05 2006") in the time's own offset; else unchanged. */
export function ansicDate(v: string): string {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(v);
  if (!m) return v;
  const [, y, mo, d, h, mi, se] = m.map(Number) as number[];
  const day = new Date(Date.UTC(y!, mo! - 1, d!)).getUTCDay();
  const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[day]} ${MONTHS[mo! - 1]} ${String(d).padStart(2)} ${p(h!)}:${p(mi!)}:${p(se!)} ${y}`;
}

export const version: Command = {
  use: 'version [OPTIONS]',
  short: 'Show the berth version information',
  args: { max: 0 },
  templateError: { status: 64, name: 'version' },
  flags: [{ name: 'format', short: 'f', kind: 'string', desc: "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template." }],
  async run(cli, { flags }) {
    const client = clientInfo(cli);
    let server: Record<string, unknown> | undefined;
    let serverErr: unknown;
    try {
      server = await cli.api().version();
    } catch (err) {
      serverErr = err;
    }
    const format = flags.format as string;
    if (format) {
      // Templates name Go's fields: ApiVersion on the wire is APIVersion there (hidden from {{json}}).
      for (const o of [client, server]) if (o) Object.defineProperty(o, 'APIVersion', { value: o.ApiVersion, enumerable: false });
      cli.out(renderOne(format, { Client: client, Server: server ?? null }));
    } else {
      const l = (k: string, v: unknown, ind = ' ') => `${ind}${(k + ':').padEnd(ind.length === 1 ? 19 : 18)}${v}\n`;
      let out = 'Client:\n';
      out += l('Version', client.Version) + l('API version', client.ApiVersion) + l('Node version', client.GoVersion);
      out += l('Git commit', client.GitCommit) + l('OS/Arch', `${client.Os}/${client.Arch}`) + l('Context', client.Context);
      if (server) {
        const s = server as Record<string, any>;
        out += `\nServer: ${s.Platform?.Name ?? ''}\n`;
        const comps: { Name: string; Version: string; Details?: Record<string, string> }[] = s.Components ?? [
          { Name: 'Engine', Version: s.Version, Details: { ApiVersion: s.ApiVersion, MinAPIVersion: s.MinAPIVersion, GitCommit: s.GitCommit, GoVersion: s.GoVersion, Os: s.Os, Arch: s.Arch, KernelVersion: s.KernelVersion } },
        ];
        for (const c of comps) {
          out += ` ${c.Name}:\n`;
          if (c.Name === 'Engine') {
            const d = c.Details ?? {};
            out += l('Version', c.Version, '  ');
            out += l('API version', `${d.ApiVersion ?? s.ApiVersion} (minimum version ${d.MinAPIVersion ?? s.MinAPIVersion})`, '  ');
            out += l('Go version', d.GoVersion ?? s.GoVersion ?? '', '  ');
            out += l('Git commit', d.GitCommit ?? s.GitCommit ?? '', '  ');
            out += l('Built', ansicDate(d.BuildTime ?? s.BuildTime ?? ''), '  ');
            out += l('OS/Arch', `${d.Os ?? s.Os}/${d.Arch ?? s.Arch}`, '  ');
            out += l('Experimental', d.Experimental ?? s.Experimental ?? false, '  ');
          } else {
            out += l('Version', c.Version, '  ');
            for (const [k, v] of Object.entries(c.Details ?? {})) out += l(k, v, '  ');
          }
        }
      }
      cli.out(out);
    }
    if (serverErr) {
      if (isConnectError(serverErr)) throw serverErr;
      throw serverErr;
    }
  },
};

export const info: Command = {
  use: 'info [OPTIONS]',
  short: 'Display system-wide information',
  aliases: ['system info', 'info'],
  args: { max: 0 },
  templateError: { status: 64 },
  flags: [{ name: 'format', short: 'f', kind: 'string', desc: "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template." }],
  async run(cli, { flags }) {
    const format = flags.format as string;
    const i = (await cli.api().info()) as Record<string, any>;
    if (format) {
      cli.out(renderOne(format, format === 'json' ? { ...i, ClientInfo: clientInfo(cli) } : i));
      return;
    }
    let o = 'Client:\n';
    o += ` Version:    ${VERSION}\n Context:    default\n Debug Mode: false\n\nServer:\n`;
    o += ` Containers: ${i.Containers ?? 0}\n  Running: ${i.ContainersRunning ?? 0}\n  Paused: ${i.ContainersPaused ?? 0}\n  Stopped: ${i.ContainersStopped ?? 0}\n`;
    o += ` Images: ${i.Images ?? 0}\n Server Version: ${i.ServerVersion ?? ''}\n Storage Driver: ${i.Driver ?? ''}\n`;
    for (const [k, v] of (i.DriverStatus ?? []) as [string, string][]) o += `  ${k}: ${v}\n`;
    o += ` Logging Driver: ${i.LoggingDriver ?? ''}\n Cgroup Driver: ${i.CgroupDriver ?? ''}\n Cgroup Version: ${i.CgroupVersion ?? ''}\n`;
    const pl = i.Plugins ?? {};
    o += ` Plugins:\n  Volume: ${(pl.Volume ?? []).join(' ')}\n  Network: ${(pl.Network ?? []).join(' ')}\n`;
    if (pl.Authorization?.length) o += `  Authorization: ${pl.Authorization.join(' ')}\n`;
    o += `  Log: ${(pl.Log ?? []).join(' ')}\n`;
    if (i.CDISpecDirs?.length) o += ` CDI spec directories:\n${i.CDISpecDirs.map((d: string) => `  ${d}\n`).join('')}`;
    o += ` Swarm: ${i.Swarm?.LocalNodeState ?? ''}\n`;
    if (i.Runtimes && Object.keys(i.Runtimes).length) o += ` Runtimes: ${Object.keys(i.Runtimes).sort().join(' ')}\n Default Runtime: ${i.DefaultRuntime ?? ''}\n`;
    if (i.OSType === 'linux') {
      o += ` Init Binary: ${i.InitBinary ?? ''}\n`;
      for (const [n, c] of [['containerd', i.ContainerdCommit], ['runc', i.RuncCommit], ['init', i.InitCommit]] as [string, { ID?: string; Expected?: string } | undefined][]) {
        o += ` ${n} version: ${c?.ID ?? ''}`;
        if (c?.Expected !== undefined && c.Expected !== c.ID) o += ` (expected: ${c.Expected})`;
        o += '\n';
      }
    }
    if (i.SecurityOptions?.length) {
      // "name=seccomp,profile=builtin" → "  seccomp" and "   Profile: builtin".
      o += ' Security Options:\n';
      for (const s of i.SecurityOptions as string[]) {
        const kv = Object.fromEntries(s.split(',').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
        o += `  ${kv.name ?? s}\n`;
        if (kv.profile !== undefined) o += `   Profile: ${kv.profile}\n`;
      }
    }
    o += ` Kernel Version: ${i.KernelVersion ?? ''}\n Operating System: ${i.OperatingSystem ?? ''}\n OSType: ${i.OSType ?? ''}\n Architecture: ${i.Architecture ?? ''}\n`;
    o += ` CPUs: ${i.NCPU ?? 0}\n Total Memory: ${bytesSize(i.MemTotal ?? 0)}\n Name: ${i.Name ?? ''}\n ID: ${i.ID ?? ''}\n`;
    o += ` Docker Root Dir: ${i.DockerRootDir ?? ''}\n Debug Mode: ${i.Debug ?? false}\n Experimental: ${i.ExperimentalBuild ?? false}\n`;
    const insecure = i.RegistryConfig?.InsecureRegistryCIDRs ?? [];
    const indexes = Object.keys(i.RegistryConfig?.IndexConfigs ?? {}).filter((k) => i.RegistryConfig.IndexConfigs[k].Secure === false);
    if (insecure.length || indexes.length) o += ` Insecure Registries:\n${[...indexes, ...insecure].map((x: string) => `  ${x}\n`).join('')}`;
    o += ` Live Restore Enabled: ${i.LiveRestoreEnabled ?? false}\n`;
    if (i.ProductLicense) o += ` Product License: ${i.ProductLicense}\n`;
    o += '\n';
    cli.out(o);
    for (const w of (i.Warnings ?? []) as string[]) cli.err(`${w}\n`);
  },
};

export const df: Command = {
  use: 'df [OPTIONS]',
  short: 'Show berth disk usage',
  args: { max: 0 },
  flags: [
    { name: 'format', kind: 'string', desc: "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template." },
    { name: 'verbose', short: 'v', kind: 'bool', desc: 'Show detailed information on space usage' },
  ],
  async run(cli, { flags }) {
    const d = (await cli.api().systemDf()) as { LayersSize?: number; Images?: ImageSummary[]; Containers?: ContainerSummary[]; Volumes?: Volume[]; BuildCache?: { Size: number; InUse: boolean; Shared: boolean }[] };
    const imgs = d.Images ?? [];
    const ctrs = d.Containers ?? [];
    const vols = d.Volumes ?? [];
    const cache = d.BuildCache ?? [];
    const pct = (r: number, t: number) => (t > 0 ? ` (${Math.trunc((r * 100) / t)}%)` : '');
    const imgSize = d.LayersSize ?? imgs.reduce((s, i) => s + (i.Size ?? 0), 0);
    const activeImgs = imgs.filter((i) => (i.Containers ?? 0) > 0);
    // As the docker CLI: an image whose shared size is unknown (-1) counts as reclaimable.
    const usedImg = activeImgs.reduce((s, i) => (i.Size === -1 || i.SharedSize === -1 ? s : s + (i.Size ?? 0) - (i.SharedSize ?? 0)), 0);
    const ctrSize = ctrs.reduce((s, c) => s + (c.SizeRw ?? 0), 0);
    const runningCtrs = ctrs.filter((c) => c.State === 'running' || c.State === 'paused' || c.State === 'restarting');
    const ctrReclaim = ctrs.filter((c) => !runningCtrs.includes(c)).reduce((s, c) => s + (c.SizeRw ?? 0), 0);
    const volSize = vols.reduce((s, v) => s + Math.max(0, v.UsageData?.Size ?? 0), 0);
    const activeVols = vols.filter((v) => (v.UsageData?.RefCount ?? 0) > 0);
    const volReclaim = vols.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((s, v) => s + Math.max(0, v.UsageData?.Size ?? 0), 0);
    const cacheSize = cache.reduce((s, b) => s + (b.Shared ? 0 : b.Size), 0);
    const cacheReclaim = cache.filter((b) => !b.InUse && !b.Shared).reduce((s, b) => s + b.Size, 0);
    const row = (type: string, total: number, active: number, size: number, reclaim: number, showPct: boolean) =>
      context({
        Type: () => type, TotalCount: () => String(total), Active: () => String(active), Size: () => humanSize(size),
        Reclaimable: () => `${humanSize(reclaim)}${showPct ? pct(reclaim, size) : ''}`,
      });
    const rows = [
      row('Images', imgs.length, activeImgs.length, imgSize, imgSize - usedImg, true),
      row('Containers', ctrs.length, runningCtrs.length, ctrSize, ctrReclaim, true),
      row('Local Volumes', vols.length, activeVols.length, volSize, volReclaim, true),
      row('Build Cache', cache.length, cache.filter((b) => b.InUse).length, cacheSize, cacheReclaim, false),
    ];
    cli.out(
      renderList(rows, flags.format as string, false, {
        table: '{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}',
        headers: { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' },
      }),
    );
  },
};

export const prune: Command = {
  use: 'prune [OPTIONS]',
  short: 'Remove unused data',
  args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', desc: 'Remove all unused images not just dangling ones' },
    { name: 'filter', kind: 'list', type: 'filter', desc: 'Provide filter values (e.g. "label=<key>=<value>")' },
    { name: 'force', short: 'f', kind: 'bool', desc: 'Do not prompt for confirmation' },
    { name: 'volumes', kind: 'bool', desc: 'Prune anonymous volumes' },
  ],
  async run(cli, { flags }) {
    const all = flags.all as boolean;
    const items = ['all stopped containers', 'all networks not used by at least one container'];
    if (flags.volumes) items.push('all anonymous volumes not used by at least one container');
    items.push(all ? 'all images without at least one container associated to them' : 'all dangling images');
    items.push(all ? 'all build cache' : 'unused build cache');
    const warning = `WARNING! This will remove:\n${items.map((x) => `  - ${x}\n`).join('')}`;
    if (!flags.force && !(await confirm(cli, `${warning}\nAre you sure you want to continue?`))) return;
    const filters = flags.filter as string[];
    const api = cli.api();
    let space = 0;
    const c = await api.containerPrune(filtersJSON(filters));
    if (c.ContainersDeleted?.length) cli.out(`Deleted Containers:\n${c.ContainersDeleted.join('\n')}\n\n`);
    space += c.SpaceReclaimed ?? 0;
    const n = await api.networkPrune(filtersJSON(filters));
    if (n.NetworksDeleted?.length) cli.out(`Deleted Networks:\n${n.NetworksDeleted.join('\n')}\n\n`);
    if (flags.volumes) {
      const v = await api.volumePrune(filtersJSON(filters));
      if (v.VolumesDeleted?.length) cli.out(`Deleted Volumes:\n${v.VolumesDeleted.join('\n')}\n\n`);
      space += v.SpaceReclaimed ?? 0;
    }
    const i = await api.imagePrune(filtersJSON(filters, { dangling: [all ? 'false' : 'true'] }));
    if (i.ImagesDeleted?.length) {
      cli.out('Deleted Images:\n');
      for (const d of i.ImagesDeleted) cli.out(d.Untagged ? `untagged: ${d.Untagged}\n` : `deleted: ${d.Deleted}\n`);
      cli.out('\n');
    }
    space += i.SpaceReclaimed ?? 0;
    try {
      const b = await api.post<{ SpaceReclaimed?: number }>('/build/prune', { all: all || undefined });
      space += b?.SpaceReclaimed ?? 0;
    } catch (err) {
      if ((err as { status?: number }).status !== 404 && (err as { status?: number }).status !== 501) throw err;
    }
    cli.out(`Total reclaimed space: ${humanSize(space)}\n`);
  },
};

/** RFC3339 with nanoseconds, fixed width, in local time (the docker CLI's event time format). */
function eventTime(timeNano: string | undefined, time: number | undefined): string {
  const ns = timeNano ? BigInt(timeNano) : BigInt(Math.trunc(time ?? 0)) * 1000000000n;
  const ms = Number(ns / 1000000n);
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const tz = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${p(Math.trunc(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  const nanos = String(ns % 1000000000n).padStart(9, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${nanos}${tz}`;
}

export const events: Command = {
  use: 'events [OPTIONS]',
  short: 'Get real time events from the server',
  aliases: ['system events', 'events'],
  args: { max: 0 },
  templateError: { status: 64, prefix: 'Error parsing format: ' },
  flags: [
    { name: 'filter', short: 'f', kind: 'list', type: 'filter', desc: 'Filter output based on conditions provided' },
    { name: 'format', kind: 'string', desc: "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template." },
    { name: 'since', kind: 'string', desc: 'Show all events created since timestamp' },
    { name: 'until', kind: 'string', desc: 'Stream events until this timestamp' },
  ],
  async run(cli, { flags }) {
    const format = flags.format as string;
    const t = format ? new Template(format === 'json' ? '{{json .}}' : unescapeFormat(format)) : undefined;
    let res;
    try {
      res = await cli.api().events({ since: timestampArg(flags.since as string) || undefined, until: timestampArg(flags.until as string) || undefined, filters: filtersJSON(flags.filter as string[]) });
    } catch (err) {
      if ((err as Error).message?.startsWith('invalid value')) throw new StatusError(1, (err as Error).message);
      throw err;
    }
    for await (const line of textLines(res)) {
      const e = JSON.parse(line) as Record<string, any>;
      // timeNano does not fit a double: keep the digits the daemon sent.
      const nano = /"timeNano":(\d+)/.exec(line)?.[1];
      if (t) {
        // Templates see Go's events.Message (field names), {{json .}} its wire form.
        const msg = {
          Status: e.status ?? '', ID: e.id ?? '', From: e.from ?? '', Type: e.Type ?? '', Action: e.Action ?? '',
          Actor: e.Actor ?? { ID: '', Attributes: null }, Scope: e.scope ?? '', Time: e.time ?? 0, TimeNano: e.timeNano ?? 0,
          // Go writes a map's keys sorted.
          toJSON: () => (e.Actor?.Attributes ? { ...e, Actor: { ...e.Actor, Attributes: Object.fromEntries(Object.entries(e.Actor.Attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) } } : e),
        };
        cli.out(t.execute(msg) + '\n');
        continue;
      }
      const attrs = Object.entries((e.Actor?.Attributes ?? {}) as Record<string, string>)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => `${k}=${v}`);
      cli.out(`${eventTime(nano, e.time)} ${e.Type} ${e.Action} ${e.Actor?.ID ?? ''}${attrs.length ? ` (${attrs.join(', ')})` : ''}\n`);
    }
  },
};
