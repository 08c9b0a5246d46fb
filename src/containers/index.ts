export { ContainerService, mergeEnv, parseSize } from './service.js';
export type { ContainerServiceDeps, AttachSession, ExecRecord } from './service.js';
export type * from './deps.js';
export type { ContainerRecord, ContainerState, MountPoint, Status, HealthState, HealthStatus, HealthcheckResult } from './types.js';
export { inspectView, listView, humanStatus, humanDuration, portList, mountView } from './view.js';
export { signalNumber } from './signals.js';
export { HealthMonitor, healthFilterValue, HEALTH_FILTER_VALUES, validateHealthcheck, mergeHealthcheck } from './health.js';
export type { HealthConfig } from './health.js';
export { collectMounts, parseBind, parseApiMount } from './mounts.js';
