// Unpacked image layers and container root filesystems (overlayfs).
export { applyLayer, cleanEntryName, OPAQUE_XATTR, type ApplyOptions, type ApplyResult } from './apply.js';
export { chainId, chainIds } from './chain.js';
export { detectCompression, type Compression } from './decompress.js';
export { paxXattrs } from './pax.js';
export { diff, type DiffOptions, addEntry as tarAddEntry, addFile as tarAddFile, xattrsOf as tarXattrs } from './diff.js';
export { isMounted, unmount } from './overlay.js';
export {
  Snapshotter,
  type EnsureResult,
  type LayerInfo,
  type MountRootfsOptions,
  type SnapshotterOptions,
} from './snapshotter.js';
