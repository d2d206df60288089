export * from './posix-harness.js';
