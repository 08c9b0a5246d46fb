import type { Command } from '../command.js';
import { StatusError } from '../command.js';
import { renderList } from '../format/output.js';
import { context } from '../format/template.js';
import { goTimeString, truncateId } from '../format/ids.js';
import { filtersJSON } from '../opts/filters.js';
import { FORMAT_HELP, confirm, errText } from './common.js';
import { networkInspect } from './inspect.js';

function kv(items: string[]): Record<string, string> {
  return Object.fromEntries(items.map((i) => (i.includes('=') ? [i.slice(0, i.indexOf('=')), i.slice(i.indexOf('=') + 1)] : [i, ''])));
}

export const create: Command = {
  use: 'create [OPTIONS] NETWORK',
  short: 'Create a network',
  args: { exact: 1 },
  flags: [
    { name: 'attachable', kind: 'bool', desc: 'Enable manual container attachment' },
    { name: 'aux-address', kind: 'list', type: 'map', desc: 'Auxiliary IPv4 or IPv6 addresses used by Network driver' },
    { name: 'driver', short: 'd', kind: 'string', desc: 'Driver to manage the Network', def: 'bridge' },
    { name: 'gateway', kind: 'list', type: 'strings', desc: 'IPv4 or IPv6 Gateway for the master subnet' },
    { name: 'internal', kind: 'bool', desc: 'Restrict external access to the network' },
    { name: 'ip-range', kind: 'list', type: 'strings', desc: 'Allocate container ip from a sub-range' },
    { name: 'ipam-driver', kind: 'string', desc: 'IP Address Management Driver', def: 'default' },
    { name: 'ipv4', kind: 'bool', desc: 'Enable or disable IPv4 address assignment', def: true },
    { name: 'ipv6', kind: 'bool', desc: 'Enable or disable IPv6 address assignment' },
    { name: 'label', kind: 'list', desc: 'Set metadata on a network' },
    { name: 'opt', short: 'o', kind: 'list', type: 'map', desc: 'Set driver specific options' },
    { name: 'subnet', kind: 'list', type: 'strings', desc: 'Subnet in CIDR format that represents a network segment' },
  ],
  async run(cli, { flags, args, changed }) {
    const subnets = flags.subnet as string[];
    const gateways = flags.gateway as string[];
    const ranges = flags['ip-range'] as string[];
    if (gateways.length > subnets.length) throw new StatusError(1, 'every ip-range or gateway must have a corresponding subnet');
    const config = subnets.map((s, i) => ({ Subnet: s, ...(ranges[i] ? { IPRange: ranges[i] } : {}), ...(gateways[i] ? { Gateway: gateways[i] } : {}) }));
    const r = await cli.api().networkCreate({
      Name: args[0],
      Driver: flags.driver,
      Scope: '',
      ...(changed.has('ipv4') ? { EnableIPv4: flags.ipv4 } : {}),
      ...(changed.has('ipv6') ? { EnableIPv6: flags.ipv6 } : {}),
      IPAM: { Driver: flags['ipam-driver'], Config: config, Options: {} },
      Internal: flags.internal,
      Attachable: flags.attachable,
      Ingress: false,
      ConfigOnly: false,
      Options: kv(flags.opt as string[]),
      Labels: kv(flags.label as string[]),
    });
    if (r.Warning) cli.err(`${r.Warning}\n`);
    cli.out(`${r.Id}\n`);
  },
};

export const ls: Command = {
  use: 'ls [OPTIONS]',
  short: 'List networks',
  aliases: ['network ls', 'network list'],
  args: { max: 0 },
  flags: [
    { name: 'filter', short: 'f', kind: 'list', type: 'filter', desc: 'Provide filter values (e.g. "driver=bridge")' },
    { name: 'format', kind: 'string', desc: FORMAT_HELP },
    { name: 'no-trunc', kind: 'bool', desc: 'Do not truncate the output' },
    { name: 'quiet', short: 'q', kind: 'bool', desc: 'Only display network IDs' },
  ],
  async run(cli, { flags }) {
    const list = await cli.api().networkList({ filters: filtersJSON(flags.filter as string[]) });
    list.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    const trunc = !flags['no-trunc'];
    const items = list.map((n) =>
      context({
        ID: () => (trunc ? truncateId(n.Id) : n.Id),
        Name: () => n.Name,
        Driver: () => n.Driver,
        Scope: () => n.Scope,
        IPv4: () => String((n as { EnableIPv4?: boolean }).EnableIPv4 ?? true),
        IPv6: () => String(n.EnableIPv6),
        Internal: () => String(n.Internal),
        Labels: () => Object.entries(n.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
        Label: (k: string) => (n.Labels ?? {})[k] ?? '',
        CreatedAt: () => goTimeString(new Date(n.Created)),
      }),
    );
    cli.out(
      renderList(items, flags.format as string, flags.quiet as boolean, {
        table: '{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}',
        headers: { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv4: 'IPV4', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED' },
      }),
    );
  },
};

export const rm: Command = {
  use: 'rm NETWORK [NETWORK...]',
  short: 'Remove one or more networks',
  aliases: ['network rm', 'network remove'],
  args: { min: 1 },
  flags: [{ name: 'force', short: 'f', kind: 'bool', desc: 'Do not error if the network does not exist' }],
  async run(cli, { flags, args }) {
    // Unlike container rm, the docker CLI prints each failure as it happens and then ends with a
    // bare status error, which it prints as "exit status 1".
    let failed = false;
    for (const n of args) {
      try {
        await cli.api().networkRemove(n);
        cli.out(`${n}\n`);
      } catch (err) {
        if ((err as Error)?.name === 'ConnectError') throw err;
        if (flags.force && (err as { status?: number }).status === 404) continue;
        cli.err(`${errText(err)}\n`);
        failed = true;
      }
    }
    if (failed) throw new StatusError(1, 'exit status 1');
  },
};

export const prune: Command = {
  use: 'prune [OPTIONS]',
  short: 'Remove all unused networks',
  args: { max: 0 },
  flags: [
    { name: 'filter', kind: 'list', type: 'filter', desc: 'Provide filter values (e.g. "until=<timestamp>")' },
    { name: 'force', short: 'f', kind: 'bool', desc: 'Do not prompt for confirmation' },
  ],
  async run(cli, { flags }) {
    if (!flags.force && !(await confirm(cli, 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?'))) return;
    const r = await cli.api().networkPrune(filtersJSON(flags.filter as string[]));
    if (r.NetworksDeleted?.length) cli.out(`Deleted Networks:\n${r.NetworksDeleted.join('\n')}\n`);
  },
};

export const connect: Command = {
  use: 'connect [OPTIONS] NETWORK CONTAINER',
  short: 'Connect a container to a network',
  args: { exact: 2 },
  flags: [
    { name: 'alias', kind: 'list', type: 'strings', desc: 'Add network-scoped alias for the container' },
    { name: 'driver-opt', kind: 'list', type: 'strings', desc: 'driver options for the network' },
    { name: 'ip', kind: 'string', desc: 'IPv4 address (e.g., "172.30.100.104")' },
    { name: 'ip6', kind: 'string', desc: 'IPv6 address (e.g., "2001:db8::33")' },
    { name: 'link', kind: 'list', desc: 'Add link to another container' },
    { name: 'link-local-ip', kind: 'list', type: 'strings', desc: 'Add a link-local address for the container' },
  ],
  async run(cli, { flags, args }) {
    const ipam: Record<string, unknown> = {};
    if (flags.ip) ipam.IPv4Address = flags.ip;
    if (flags.ip6) ipam.IPv6Address = flags.ip6;
    if ((flags['link-local-ip'] as string[]).length) ipam.LinkLocalIPs = flags['link-local-ip'];
    await cli.api().networkConnect(args[0]!, {
      Container: args[1],
      EndpointConfig: {
        IPAMConfig: Object.keys(ipam).length ? ipam : null, Links: (flags.link as string[]).length ? flags.link : null,
        Aliases: (flags.alias as string[]).length ? flags.alias : null, DriverOpts: (flags['driver-opt'] as string[]).length ? kv(flags['driver-opt'] as string[]) : null,
      },
    });
  },
};

export const disconnect: Command = {
  use: 'disconnect [OPTIONS] NETWORK CONTAINER',
  short: 'Disconnect a container from a network',
  args: { exact: 2 },
  flags: [{ name: 'force', short: 'f', kind: 'bool', desc: 'Force the container to disconnect from a network' }],
  async run(cli, { flags, args }) {
    await cli.api().networkDisconnect(args[0]!, { Container: args[1], Force: flags.force });
  },
};

export const inspect = networkInspect;
