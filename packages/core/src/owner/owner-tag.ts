/**
 * The owner tag: who wrote a file, in its name (temp files `t<ULID>.<tag>`,
 * consumer claims `c<id>.<tag>`). It is exact where a name can be exact and
 * hashed where a value does not fit in a name:
 *
 *     <host>-<boot>-<pidns>-<pid>-<start>
 *
 * - `host`: 16 characters of base32 (`0-9a-v`) of the SHA-256 of the FULL host
 *   name (80 bits): two hosts never share a tag because their names share a
 *   prefix.
 * - `boot`: the same hash of the boot id, or `0` when unknown.
 * - `pidns`: the pid namespace (on Linux the inode of `/proc/self/ns/pid`,
 *   decimal), or `0` when unknown.
 * - `pid`: the process id, decimal.
 * - `start`: the process's start time (Linux: clock ticks since boot,
 *   decimal) or the core's per-process nonce (`n` + 16 base32 characters), or
 *   `0` when unknown.
 *
 * Only `[0-9a-z]` and `-`: no `.` (it separates the parts of a protocol name)
 * and no `_`; at most 86 characters. A value that cannot be written exactly
 * (a start time in another form, a pid namespace that is not a number) is
 * written as unknown (`0`), which can only ever make a liveness verdict
 * 'unknown', never a wrong 'dead' or 'alive'. A start time of exactly 0 is
 * indistinguishable from unknown, for the same reason harmlessly so.
 */
import { createHash } from 'node:crypto';
import type { OwnerInfo } from './owner.js';

/** An owner tag read back: what a file name says about its writer. */
export interface ParsedOwnerTag {
  /** The tag as found. */
  readonly tag: string;
  /** {@link hostHash} of the writer's host name. */
  readonly hostHash: string;
  /** {@link bootHash} of the writer's boot id, '' when unknown. */
  readonly bootHash: string;
  /** The writer's pid namespace, '' when unknown. */
  readonly pidNamespace: string;
  readonly pid: number;
  /** The writer's start time (or nonce), '' when unknown. */
  readonly startTime: string;
}

/** An owner as recorded in full (a marker) or as a file name tells it (a tag). */
export type OwnerRef = OwnerInfo | ParsedOwnerTag;

/** The longest tag {@link encodeOwnerTag} writes. */
export const MAX_OWNER_TAG_LENGTH = 86;

const BASE32 = '0123456789abcdefghijklmnopqrstuv';
const HASH = '[0-9a-v]{16}';
const NUMBER = '[1-9][0-9]{0,19}';
const PID = '[1-9][0-9]{0,9}';
/** The core's per-process nonce, used as the start time when the real one is unknown (see `defaultOwner`). */
export const NONCE_PATTERN = /^n[0-9a-v]{16}$/;
const START = `${NUMBER}|n[0-9a-v]{16}`;
const TAG = new RegExp(`^(${HASH})-(${HASH}|0)-(${NUMBER}|0)-(${PID})-(${START}|0)$`);

/**
 * Hashes already made, by domain and text. A process names a temp file with its own host and boot hashes for every
 * file it writes: two SHA-256 digests per file otherwise. Only a few distinct texts ever come (this host, this boot,
 * the owners a recoverer reads), and the map is emptied if it ever holds more than {@link HASHES_KEPT}.
 */
const hashesMade = new Map<string, string>();
const HASHES_KEPT = 256;

/** 16 base32 characters (80 bits) of the SHA-256 of `text`. */
function hash16(domain: string, text: string): string {
  const key = `${domain}\0${text}`;
  const made = hashesMade.get(key);
  if (made !== undefined) return made;
  const hash = computeHash16(domain, text);
  if (hashesMade.size >= HASHES_KEPT) hashesMade.clear();
  hashesMade.set(key, hash);
  return hash;
}

function computeHash16(domain: string, text: string): string {
  const digest = createHash('sha256').update(`fanout-${domain}\0${text}`, 'utf8').digest();
  let out = '';
  // 80 bits = 10 bytes = 16 groups of 5 bits.
  let acc = 0n;
  for (let i = 0; i < 10; i++) acc = (acc << 8n) | BigInt(digest[i]!);
  for (let i = 15; i >= 0; i--) out += BASE32[Number((acc >> BigInt(i * 5)) & 31n)];
  return out;
}

/** The hash of a FULL host name, as tags carry it. */
export function hostHash(host: string): string {
  return hash16('host', host);
}

/** The hash of a boot id, as tags carry it; '' for an unknown ('') boot id. */
export function bootHash(bootId: string): string {
  return bootId === '' ? '' : hash16('boot', bootId);
}

function exactOr0(value: string, pattern: RegExp): string {
  return pattern.test(value) ? value : '0';
}

const NUMBER_EXACT = new RegExp(`^${NUMBER}$`);
const START_EXACT = new RegExp(`^(?:${START})$`);

/**
 * The tag of `owner`.
 * @throws RangeError when `owner.pid` is not a positive whole number below 10^10.
 */
export function encodeOwnerTag(owner: OwnerInfo): string {
  if (!Number.isSafeInteger(owner.pid) || owner.pid <= 0 || owner.pid >= 1e10)
    throw new RangeError(`an owner tag needs a positive pid, not ${owner.pid}`);
  const boot = owner.bootId === '' ? '0' : bootHash(owner.bootId);
  return [
    hostHash(owner.host),
    boot,
    exactOr0(owner.pidNamespace, NUMBER_EXACT),
    String(owner.pid),
    exactOr0(owner.startTime, START_EXACT),
  ].join('-');
}

/** What `tag` says, or `undefined` for anything that is not exactly a tag as {@link encodeOwnerTag} writes it. */
export function parseOwnerTag(tag: string): ParsedOwnerTag | undefined {
  const m = TAG.exec(tag);
  if (!m) return undefined;
  const unknown0 = (s: string) => (s === '0' ? '' : s);
  return {
    tag,
    hostHash: m[1]!,
    bootHash: unknown0(m[2]!),
    pidNamespace: unknown0(m[3]!),
    pid: Number(m[4]),
    startTime: unknown0(m[5]!),
  };
}

/** True for a parsed tag, false for a full {@link OwnerInfo}. */
export function isParsedOwnerTag(owner: OwnerRef): owner is ParsedOwnerTag {
  return 'hostHash' in owner;
}

/** An owner in the form the liveness rule compares: host and boot hashed, unknowns as ''. */
export interface ComparableOwner {
  readonly hostHash: string;
  readonly bootHash: string;
  readonly pidNamespace: string;
  readonly pid: number;
  readonly startTime: string;
}

/** `owner` as the liveness rule compares it. */
export function comparableOwner(owner: OwnerRef): ComparableOwner {
  if (isParsedOwnerTag(owner)) return owner;
  return {
    hostHash: hostHash(owner.host),
    bootHash: bootHash(owner.bootId),
    pidNamespace: owner.pidNamespace,
    pid: owner.pid,
    startTime: owner.startTime,
  };
}

/** Whether `a` and `b` ran on one host (full host names, or their hashes when a tag is involved). */
export function sameHost(a: OwnerRef, b: OwnerRef): boolean {
  if (!isParsedOwnerTag(a) && !isParsedOwnerTag(b)) return a.host === b.host;
  return comparableOwner(a).hostHash === comparableOwner(b).hostHash;
}

/**
 * Whether `a` and `b` ran in the same boot of a host: 'unknown' when either boot id is unknown. Hosts are not compared.
 */
export function bootRelation(a: OwnerRef, b: OwnerRef): 'same' | 'different' | 'unknown' {
  if (!isParsedOwnerTag(a) && !isParsedOwnerTag(b)) {
    if (a.bootId === '' || b.bootId === '') return 'unknown';
    return a.bootId === b.bootId ? 'same' : 'different';
  }
  const x = comparableOwner(a).bootHash;
  const y = comparableOwner(b).bootHash;
  if (x === '' || y === '') return 'unknown';
  return x === y ? 'same' : 'different';
}
