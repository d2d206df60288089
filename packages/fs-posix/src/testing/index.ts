export * from './posix-harness.js';
export * from './counting-posix-fs.js';
