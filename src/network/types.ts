// Wire shapes of the Engine API (swagger 1.50) that the network folder produces.

export interface IPAMConfig {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

export interface IPAM {
  Driver: string;
  Config: IPAMConfig[];
  Options: Record<string, string> | null;
}

export interface NetworkContainer {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
}

export interface NetworkResource {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: string;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: IPAM;
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, NetworkContainer>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export interface EndpointSettings {
  IPAMConfig: { IPv4Address?: string } | null;
  Links: string[] | null;
  MacAddress: string;
  Aliases: string[] | null;
  DriverOpts: Record<string, string> | null;
  GwPriority: number;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DNSNames: string[] | null;
}

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

/** `{ "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "32768" }] }` */
export type PortMap = Record<string, PortBinding[] | null>;

export interface PortSpec {
  hostIp?: string;
  /** '' (or absent) picks a free ephemeral port. */
  hostPort?: string;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

/** POST /networks/create body (the fields berth reads). */
export interface NetworkCreateBody {
  Name?: unknown;
  Driver?: unknown;
  Scope?: unknown;
  Internal?: unknown;
  Attachable?: unknown;
  Ingress?: unknown;
  ConfigOnly?: unknown;
  ConfigFrom?: unknown;
  EnableIPv4?: unknown;
  EnableIPv6?: unknown;
  CheckDuplicate?: unknown;
  Labels?: unknown;
  Options?: unknown;
  IPAM?: unknown;
}
