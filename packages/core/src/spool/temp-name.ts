import { newId } from '../ids/ids.js';
import { type OwnerInfo, processOwner } from '../owner/owner.js';
import { encodeOwnerTag, type ParsedOwnerTag } from '../owner/owner-tag.js';
import { names, parseTempToken } from '../names/protocol-names.js';

/**
 * A fresh temp name `t<ULID>.<owner tag>`: unique, and telling recovery
 * exactly which process wrote it (host, boot, pid namespace, pid, start time;
 * see `encodeOwnerTag`), so that only a provably dead writer's temps are
 * removed. Every temp file of every backend is named by this function.
 *
 * @example
 * ```ts
 * import { tempName } from '@fanout/core';
 *
 * // In a backend or a tool that stages a file before publishing it without clobbering.
 * const temp = tempName(); // t<ULID>.<owner tag>: recovery removes it once this process is dead
 * console.log(temp);
 * ```
 */
export function tempName(writer: OwnerInfo = processOwner()): string {
  return names.temp(`${newId()}.${encodeOwnerTag(writer)}`);
}

/**
 * The writer recorded in a temp token (the name without its `t`), if the
 * token is exactly `<ULID>.<owner tag>`; `undefined` for anything else, which
 * is not a temp of ours and is never touched.
 */
export function tempWriter(token: string): ParsedOwnerTag | undefined {
  return parseTempToken(token)?.writer;
}
