/**
 * Names of the temp files fs-nfs writes before linking them into place:
 * `t<random>.<host>.<pid>`. The random part makes them unique without
 * `O_EXCL` (which NFS does not make reliable); host and pid tell an operator,
 * and recovery, whose file it is.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { names } from '@fanout/core';

/** A host name reduced to what a temp token may hold (`[0-9A-Za-z_-]`), at most 63 characters. */
export function tempHostPart(host: string): string {
  return host.replace(/[^0-9A-Za-z-]/g, '_').slice(0, 63) || 'unknown';
}

/** A fresh temp file name: `t` + `<16 random base64url chars>.<host>.<pid>`. */
export function newTempName(host: string = hostname(), pid: number = process.pid): string {
  return names.temp(`${randomBytes(12).toString('base64url')}.${tempHostPart(host)}.${pid}`);
}
