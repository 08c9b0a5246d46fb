export { Unpacker } from './unpack.js';
export { pullImage } from './pull.js';
export { pushImage } from './push.js';
