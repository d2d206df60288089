/**
 * The crash simulator: a `PosixFs` with its own durability model that can
 * produce every state a crash may leave, plus fault injection. See README.md.
 */
export { CrashSimulator, SIMULATED_CONSTANTS } from './crash-simulator.js';
export type { CrashSimulatorOptions, CrashState, CrashStates } from './crash-simulator.js';
export type { CrashSpace, CrashStateOptions } from './crash-model.js';
export { SimulatedCrash, isSimulatedCrash, errnoError } from './errno-error.js';
export type { ErrnoCode, ErrnoError } from './errno-error.js';
export type { FaultRule, FsCall, ArmedFault } from './fault-injection.js';
export { contentHash } from './canonical-tree.js';
export type { TreeEntry } from './canonical-tree.js';
export type { LoggedOp, LoggedKind } from './op-log.js';
export type { MicroOp, InodeKind } from './fs-state.js';
