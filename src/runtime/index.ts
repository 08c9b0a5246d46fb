// runtime/: OCI spec generation (pure data), runtime selection, the conmon
// driver that runs containers through crun/runc, and cgroup stats.
export * from './oci.js';
export { ALL_CAPS, DEFAULT_CAPS, normalizeCap, tweakCapabilities, capsFromMask } from './caps.js';
export { readHostInfo, parseProcLimits, listDevices, statDevice, INIT_CANDIDATES, type HostInfo } from './host.js';
export { loadDefaultProfile, resolveSeccomp, SeccompCache, type SeccompProfile } from './seccomp.js';
export { precompiledSeccomp, SECCOMP_BPF_ANNOTATION } from './seccomp-bpf.js';
export { resolveUser, parsePasswd, parseGroup, type ResolvedUser } from './user.js';
export {
  generateSpec, defaultSpec, defaultMounts, dockerEnv, toOciMount, mergeTmpfsOptions, parseDeviceCgroupRule,
  defaultSpecContext, SPEC_OPTS, DEFAULT_PATH_ENV, DEFAULT_SHM_SIZE, DEFAULT_CGROUP_PARENT, INIT_PATH_IN_CONTAINER,
  DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, DEFAULT_DEVICE_RULES,
  type SpecOptions, type SpecMount, type SpecOpt, type SpecContext, type NamespaceMode, type DeviceMapping, type ResourceOptions, type BlkioRate,
} from './spec.js';
export { selectRuntime, probeRuntime, findExecutable, RUNTIME_CANDIDATES, type RuntimeInfo } from './select.js';
export {
  detectCgroups, cgroupVersion, prepareHost, cgroupDirs, cgroupPids, readCgroupStats, cgroupOomKilled, toDockerStats, parseProcStat,
  type CgroupMode, type CgroupLayout, type CgroupStats, type DockerStats, type BlkioEntry,
} from './cgroups.js';
export { openAttach, type AttachStreams, type OutputChunk } from './attach.js';
export {
  ConmonDriver, toSignalNumber, exitCodeForStartError, runtimeErrorText,
  type ConmonDriverOptions, type CreateOptions, type ExecOptions, type ExecHandle, type ExitStatus, type RuntimeStatus,
} from './conmon.js';
export {
  loadRuntimes, RuntimeTable, RuntimeDispatcher, STOCK_RUNTIME, RUNC_SHIM_ALIAS,
  type RuntimeConfig, type RuntimeEntry,
} from './runtimes.js';
