// The serialisable container record, kept apart from live handles (STYLE.md §c.8).
// Config/HostConfig/NetworkingConfig are stored as the Docker API sent them.

export type Status = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerState {
  Status: Status;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  OOMKilled: boolean;
  /** Only for containers with a healthcheck (see health.ts), as in Docker's inspect. */
  Health?: HealthState;
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';
export interface HealthcheckResult { Start: string; End: string; ExitCode: number; Output: string }
export interface HealthState { Status: HealthStatus; FailingStreak: number; Log: HealthcheckResult[] }

export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** Options for tmpfs, or bind flags, kept for the spec. */
  Options?: string[];
  /** Anonymous volumes are removed with `rm -v`. */
  Anonymous?: boolean;
}

export interface ContainerRecord {
  Id: string;
  Name: string; // without the leading '/'
  Created: string;
  Image: string; // as the user gave it
  ImageId: string;
  Config: Record<string, any>;
  HostConfig: Record<string, any>;
  NetworkingConfig: Record<string, any>;
  State: ContainerState;
  Path: string;
  Args: string[];
  RestartCount: number;
  Mounts: MountPoint[];
  LayerDirs: string[];
  /** Set by stop/kill from the user, so restart policies don't bring it back. */
  ManualStop: boolean;
  /**
   * Set (and saved) before the daemon pauses a container for its own work (commit), cleared when it
   * thaws it: a daemon killed in between thaws it at startup instead of leaving it frozen for good.
   */
  TransientPause?: boolean;
  /**
   * Saved just before the runtime creates the container, cleared by the save that records it running
   * (or by a failed start): a daemon killed in between finds a start it never recorded, whose process
   * may run under a record that says it does not. Startup undoes such a start.
   */
  StartPending?: boolean;
  HostnamePath: string;
  HostsPath: string;
  ResolvConfPath: string;
  LogPath: string;
  Ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
}

export const TERMINAL: Status[] = ['exited', 'dead', 'created'];
