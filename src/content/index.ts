export {
  type BlobInfo,
  type Expected,
  type IngestOptions,
  type ContentProvider,
  type Ingester,
  type ContentManager,
  type ContentStore,
  isDigest,
  checkDigest,
  digestOf,
  pruneContent,
} from './content.js';
export { LocalContentStore } from './local.js';
