export { Unpacker } from './unpack.js';
export { pullImage, distributionInspect, type DistributionInspect } from './pull.js';
export { pushImage } from './push.js';
