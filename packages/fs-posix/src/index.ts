export * from "./posix-fs.js";
export * from './errno.js';
export * from './node-posix-fs.js';
export * from './write-new-file.js';
export * from './posix-backend.js';
export * from './open-posix-spool.js';
export * from './linux-owner.js';
export * from './posix-implementation.js';
