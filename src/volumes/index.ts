export { VolumeStore, checkVolumeName, type VolumeStoreOptions } from './store.js';
export { ANONYMOUS_LABEL, type Volume, type VolumeCreateBody, type VolumePruneReport } from './types.js';
export type { Filters as VolumeFilters } from './filters.js';
