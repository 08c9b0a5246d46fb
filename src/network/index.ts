export { NetworkManager } from './manager.js';
export type { NetworkManagerOpts, NetworkConfig, AddressPool, NetworkMode, ConnectOpts } from './manager.js';
export type { ContainerFiles, ContainerFilesOpts } from './files.js';
export { hostsFile, resolvConfFile, parseResolvConf } from './files.js';
export type {
  EndpointSettings, IPAM, IPAMConfig, NetworkContainer, NetworkCreateBody, NetworkResource, PortBinding, PortMap, PortSpec,
} from './types.js';
export { containerPlumbing, portSpecs } from './plumbing.js';
export type { ContainerPlumbing, AttachOpts, FilesOpts } from './plumbing.js';
