export * from './types.js';
export { hostPlatform, parsePlatform, formatPlatform, platformMatches } from './platform.js';
export { detectCompression, decompressor, openLayer, ingestLayer, computeDiffId, layerMediaType, type IngestedLayer } from './layer.js';
export { applyChanges } from './changes.js';
export { filterImages, globToRegExp, type Filters } from './filters.js';
export { ImageStore, validateConfig, MAX_JSON_BLOB, type CommitOptions, type DeleteItem, type InUse, type ImageUser } from './store.js';
export { type ImportOptions } from './import.js';
export { type LoadOptions } from './load.js';
export { toApiSummary, toApiInspect, toApiHistory, type ApiImageSummary, type ApiImageInspect, type ApiHistoryItem } from './api.js';
