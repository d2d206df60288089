export * from './world.js';
export * from './invariants.js';
export * from './scenario.js';
export * from './consumer-scenario.js';
export * from './matrix.js';
export * from './memory-scenario.js';
export * from './interleaving.js';
