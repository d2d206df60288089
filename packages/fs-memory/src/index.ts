export const placeholder = true;
export * from './crashfs/index.js';
