// Wire shape of a volume, as the Engine API's `Volume` definition (swagger v1.50).

export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  /** RFC3339 with seconds, in the daemon's local zone, as Docker formats it. */
  CreatedAt: string;
  Status?: Record<string, unknown>;
  /** `null` when the volume was created without labels, as Docker reports it. */
  Labels: Record<string, string> | null;
  Scope: 'local';
  /** The driver options given at create; `null` when none were given. */
  Options: Record<string, string> | null;
  /** Only in `GET /system/df`. */
  UsageData?: { Size: number; RefCount: number } | null;
}

export interface VolumeCreateBody {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface VolumePruneReport {
  VolumesDeleted: string[];
  SpaceReclaimed: number;
}

/** Docker marks volumes created without a name with this label; prune only takes those by default. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';
