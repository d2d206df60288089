/**
 * Names of the temp files fs-nfs writes before linking them into place: the
 * core's `t<ULID>.<pid>.<host>` form. The ULID makes them unique without
 * `O_EXCL` (which NFS does not make reliable); pid and host tell an operator,
 * and recovery, whose file it is, so a dead writer's temp is removed.
 */
import { hostname } from 'node:os';
import { tempName } from '@fanout/core';

/** A fresh temp file name for a writer `pid` on `host`. */
export function newTempName(host: string = hostname(), pid: number = process.pid): string {
  return tempName(pid, host);
}
