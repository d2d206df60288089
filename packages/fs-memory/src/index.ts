export * from './memfs-posix-fs.js';
export * from './memory-backend.js';
export * from './memory-spools.js';
export * from './memory-implementation.js';
