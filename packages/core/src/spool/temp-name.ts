import { hostname } from 'node:os';
import { newId } from '../ids/ids.js';
import { hostTag } from '../owner/owner.js';
import { names } from '../names/protocol-names.js';

/**
 * A fresh temp name `t<ULID>.<pid>.<host>`: unique, and telling recovery which
 * writer made it so that only dead writers' temps are removed.
 */
export function tempName(pid: number = process.pid, host: string = hostname()): string {
  return names.temp(`${newId()}.${pid}.${hostTag(host)}`);
}

/** The writer recorded in a temp token, if it has the `<ULID>.<pid>.<host>` form. */
export function tempWriter(token: string): { pid: number; hostTag: string } | undefined {
  const m = /^[0-9A-Za-z]+\.(\d+)\.([0-9A-Za-z]+)$/.exec(token);
  return m ? { pid: Number(m[1]), hostTag: m[2]! } : undefined;
}
