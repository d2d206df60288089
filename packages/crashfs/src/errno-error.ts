/**
 * Errors the simulated filesystem throws: Node-style errno errors (so backends
 * map them exactly as they map `node:fs` errors) and {@link SimulatedCrash},
 * which means "the machine is dead" rather than "the call failed".
 */

/** The errno codes the simulator produces or can inject. */
export type ErrnoCode =
  | 'EEXIST'
  | 'ENOENT'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'ELOOP'
  | 'ENOTEMPTY'
  | 'EBADF'
  | 'EINVAL'
  | 'EPERM'
  | 'EACCES'
  | 'EIO'
  | 'ESTALE'
  | 'ENOSPC'
  | 'EDQUOT'
  | 'EAGAIN'
  | 'ETIMEDOUT'
  | 'EXDEV';

const ERRNO: Record<ErrnoCode, number> = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  EEXIST: 17,
  EXDEV: 18,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENOSPC: 28,
  ELOOP: 40,
  ENOTEMPTY: 39,
  ETIMEDOUT: 110,
  ESTALE: 116,
  EDQUOT: 122,
};

/** A Node-style system error (`code`, `errno`, `syscall`, `path`), as `node:fs` rejects with. */
export interface ErrnoError extends Error {
  code: ErrnoCode;
  errno: number;
  syscall: string;
  path?: string;
  dest?: string;
}

/** Build the error `node:fs` would reject with for `code` in `syscall` on `path`. */
export function errnoError(code: ErrnoCode, syscall: string, path?: string, dest?: string): ErrnoError {
  const where = path === undefined ? '' : dest === undefined ? ` '${path}'` : ` '${path}' -> '${dest}'`;
  const err = new Error(`${code}: simulated, ${syscall}${where}`) as ErrnoError;
  err.code = code;
  err.errno = -ERRNO[code];
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  if (dest !== undefined) err.dest = dest;
  return err;
}

/**
 * Thrown by every call of a simulator whose armed crash point was reached
 * (see `CrashSimulator.crashAfter`): the process is dead, nothing more
 * happens. It is not an errno error; code that maps errors may wrap it, so
 * test for it with {@link isSimulatedCrash}, which follows `cause` chains.
 */
export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
  /** Marker code, so error mappers never mistake it for a real errno. */
  readonly code = 'ESIMULATEDCRASH';
  /** How many logged operations had taken effect when the machine died. */
  readonly afterOps: number;

  constructor(afterOps: number) {
    super(`simulated crash after ${afterOps} operations`);
    this.afterOps = afterOps;
  }
}

/** True when `err` is a {@link SimulatedCrash} or wraps one (through `cause`). */
export function isSimulatedCrash(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 16; depth++) {
    if (e instanceof SimulatedCrash) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
