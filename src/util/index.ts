export * from './errors.js';
export * from './atomic.js';
export * from './ids.js';
export * from './log.js';
export * from './db.js';
export * from './rooted-path.js';
export * from './events.js';
export * from './duration.js';
