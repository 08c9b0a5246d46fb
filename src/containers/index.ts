export { ContainerService, mergeEnv, parseSize } from './service.js';
export type { ContainerServiceDeps, AttachSession, ExecRecord } from './service.js';
export type * from './deps.js';
export type { ContainerRecord, ContainerState, MountPoint, Status } from './types.js';
export { inspectView, listView, humanStatus, humanDuration, portList, mountView } from './view.js';
export { signalNumber } from './signals.js';
export { collectMounts, parseBind, parseApiMount } from './mounts.js';
export { ContainerArchive, View, changes, goFileMode, statPath } from './archive.js';
export type { ArchiveServiceDeps, Change, ContainerFilesystem, FilesystemProvider, FsMount, PathStat } from './archive.js';
