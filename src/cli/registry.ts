// The command tree. Only names, groups and one-line descriptions live here so that the startup
// path stays tiny: a command's module (flags, code) is imported when it runs.

import type { Command } from './command.js';

type Loader = () => Promise<Command>;

export interface Entry {
  short: string;
  group?: 'common' | 'management' | 'other';
  load?: Loader;
  sub?: Record<string, Entry>;
  hidden?: boolean;
}

const L = (m: () => Promise<unknown>, name: string): Loader => () => m().then((x) => (x as Record<string, Command>)[name]!);

const ps = () => import('./commands/ps.js');
const run = () => import('./commands/run.js');
const start = () => import('./commands/start.js');
const life = () => import('./commands/lifecycle.js');
const logs = () => import('./commands/logs.js');
const exec = () => import('./commands/exec.js');
const inspect = () => import('./commands/inspect.js');
const stats = () => import('./commands/stats.js');
const images = () => import('./commands/images.js');
const xfer = () => import('./commands/transfer.js');
const login = () => import('./commands/login.js');
const build = () => import('./commands/build.js');
const volume = () => import('./commands/volume.js');
const network = () => import('./commands/network.js');
const system = () => import('./commands/system.js');
const completion = () => import('./commands/completion.js');
const cp = () => import('./commands/cp.js');
const commitMod = () => import('./commands/commit.js');
const fs = () => import('./commands/fs.js');
const updateMod = () => import('./commands/update.js');

const e = (short: string, load: Loader, group?: Entry['group']): Entry => ({ short, load, group });

const containerCommands: Record<string, Entry> = {
  attach: e('Attach local standard input, output, and error streams to a running container', L(start, 'attach')),
  commit: e("Create a new image from a container's changes", L(commitMod, 'commit')),
  cp: e('Copy files/folders between a container and the local filesystem', L(cp, 'cp')),
  create: e('Create a new container', L(run, 'create')),
  diff: e("Inspect changes to files or directories on a container's filesystem", L(fs, 'diff')),
  exec: e('Execute a command in a running container', L(exec, 'exec')),
  export: e("Export a container's filesystem as a tar archive", L(fs, 'exportCmd')),
  inspect: e('Display detailed information on one or more containers', L(inspect, 'containerInspect')),
  kill: e('Kill one or more running containers', L(life, 'kill')),
  logs: e('Fetch the logs of a container', L(logs, 'logs')),
  ls: e('List containers', L(ps, 'ps')),
  pause: e('Pause all processes within one or more containers', L(life, 'pause')),
  port: e('List port mappings or a specific mapping for the container', L(life, 'port')),
  prune: e('Remove all stopped containers', L(life, 'containerPrune')),
  rename: e('Rename a container', L(life, 'rename')),
  restart: e('Restart one or more containers', L(life, 'restart')),
  rm: e('Remove one or more containers', L(life, 'rm')),
  run: e('Create and run a new container from an image', L(run, 'run')),
  start: e('Start one or more stopped containers', L(start, 'start')),
  stats: e('Display a live stream of container(s) resource usage statistics', L(stats, 'stats')),
  stop: e('Stop one or more running containers', L(life, 'stop')),
  top: e('Display the running processes of a container', L(life, 'top')),
  unpause: e('Unpause all processes within one or more containers', L(life, 'unpause')),
  update: e('Update configuration of one or more containers', L(updateMod, 'update')),
  wait: e('Block until one or more containers stop, then print their exit codes', L(life, 'wait')),
};
const containerAliases: Record<string, Entry> = {
  list: { ...containerCommands.ls!, hidden: true },
  ps: { ...containerCommands.ls!, hidden: true },
  remove: { ...containerCommands.rm!, hidden: true },
};

const imageCommands: Record<string, Entry> = {
  build: e('Build an image from a Dockerfile', L(build, 'build')),
  history: e('Show the history of an image', L(images, 'history')),
  import: e('Import the contents from a tarball to create a filesystem image', L(xfer, 'importCmd')),
  inspect: e('Display detailed information on one or more images', L(inspect, 'imageInspect')),
  load: e('Load an image from a tar archive or STDIN', L(xfer, 'load')),
  ls: e('List images', L(images, 'images')),
  prune: e('Remove unused images', L(images, 'imagePrune')),
  pull: e('Download an image from a registry', L(xfer, 'pull')),
  push: e('Upload an image to a registry', L(xfer, 'push')),
  rm: e('Remove one or more images', L(images, 'rmi')),
  save: e('Save one or more images to a tar archive (streamed to STDOUT by default)', L(xfer, 'save')),
  tag: e('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', L(images, 'tag')),
};
const imageAliases: Record<string, Entry> = {
  list: { ...imageCommands.ls!, hidden: true },
  remove: { ...imageCommands.rm!, hidden: true },
};

export const COMMANDS: Record<string, Entry> = {
  // Common commands
  run: { ...containerCommands.run!, group: 'common' },
  exec: { ...containerCommands.exec!, group: 'common' },
  ps: { ...containerCommands.ls!, group: 'common' },
  build: { ...imageCommands.build!, group: 'common' },
  pull: { ...imageCommands.pull!, group: 'common' },
  push: { ...imageCommands.push!, group: 'common' },
  images: { ...imageCommands.ls!, group: 'common' },
  login: e('Authenticate to a registry', L(login, 'login'), 'common'),
  logout: e('Log out from a registry', L(login, 'logout'), 'common'),
  version: e('Show the berth version information', L(system, 'version'), 'common'),
  info: e('Display system-wide information', L(system, 'info'), 'common'),
  // Management commands
  container: { short: 'Manage containers', group: 'management', sub: { ...containerCommands, ...containerAliases } },
  image: { short: 'Manage images', group: 'management', sub: { ...imageCommands, ...imageAliases } },
  network: {
    short: 'Manage networks',
    group: 'management',
    sub: {
      connect: e('Connect a container to a network', L(network, 'connect')),
      create: e('Create a network', L(network, 'create')),
      disconnect: e('Disconnect a container from a network', L(network, 'disconnect')),
      inspect: e('Display detailed information on one or more networks', L(network, 'inspect')),
      ls: e('List networks', L(network, 'ls')),
      list: { ...e('List networks', L(network, 'ls')), hidden: true },
      prune: e('Remove all unused networks', L(network, 'prune')),
      rm: e('Remove one or more networks', L(network, 'rm')),
      remove: { ...e('Remove one or more networks', L(network, 'rm')), hidden: true },
    },
  },
  system: {
    short: 'Manage berth',
    group: 'management',
    sub: {
      df: e('Show berth disk usage', L(system, 'df')),
      events: e('Get real time events from the server', L(system, 'events')),
      info: e('Display system-wide information', L(system, 'info')),
      prune: e('Remove unused data', L(system, 'prune')),
    },
  },
  volume: {
    short: 'Manage volumes',
    group: 'management',
    sub: {
      create: e('Create a volume', L(volume, 'create')),
      inspect: e('Display detailed information on one or more volumes', L(volume, 'inspect')),
      ls: e('List volumes', L(volume, 'ls')),
      list: { ...e('List volumes', L(volume, 'ls')), hidden: true },
      prune: e('Remove unused local volumes', L(volume, 'prune')),
      rm: e('Remove one or more volumes', L(volume, 'rm')),
      remove: { ...e('Remove one or more volumes', L(volume, 'rm')), hidden: true },
    },
  },
  // Other commands
  attach: { ...containerCommands.attach!, group: 'other' },
  completion: e('Generate the autocompletion script for the specified shell', L(completion, 'completion'), 'other'),
  cp: { ...containerCommands.cp!, group: 'other' },
  commit: { ...containerCommands.commit!, group: 'other' },
  create: { ...containerCommands.create!, group: 'other' },
  diff: { ...containerCommands.diff!, group: 'other' },
  events: e('Get real time events from the server', L(system, 'events'), 'other'),
  export: { ...containerCommands.export!, group: 'other' },
  history: { ...imageCommands.history!, group: 'other' },
  import: { ...imageCommands.import!, group: 'other' },
  inspect: e('Return low-level information on berth objects', L(inspect, 'inspect'), 'other'),
  kill: { ...containerCommands.kill!, group: 'other' },
  load: { ...imageCommands.load!, group: 'other' },
  logs: { ...containerCommands.logs!, group: 'other' },
  pause: { ...containerCommands.pause!, group: 'other' },
  port: { ...containerCommands.port!, group: 'other' },
  rename: { ...containerCommands.rename!, group: 'other' },
  restart: { ...containerCommands.restart!, group: 'other' },
  rm: { ...containerCommands.rm!, group: 'other' },
  rmi: { ...imageCommands.rm!, group: 'other' },
  save: { ...imageCommands.save!, group: 'other' },
  start: { ...containerCommands.start!, group: 'other' },
  stats: { ...containerCommands.stats!, group: 'other' },
  stop: { ...containerCommands.stop!, group: 'other' },
  tag: { ...imageCommands.tag!, group: 'other' },
  top: { ...containerCommands.top!, group: 'other' },
  unpause: { ...containerCommands.unpause!, group: 'other' },
  update: { ...containerCommands.update!, group: 'other' },
  wait: { ...containerCommands.wait!, group: 'other' },
};
