import { type ParsedOwnerTag, parseOwnerTag } from '../owner/owner-tag.js';

/**
 * The protocol's file names (docs/PROTOCOL.md, "Names"). Every file the
 * protocol creates is named by a one-letter prefix and an ID, so its role is
 * known without reading it — the seed post's key idea. A name is the
 * protocol's only if it parses *exactly* as the protocol writes it; anything
 * else (`report.pdf`, `todo.txt`, `run.sh`) is unknown and never touched.
 */

/** The identity file of a spool. */
export const SPOOL_IDENTITY_FILE = '.fanout-spool';

/** What an ID (message, attempt, consumer) may look like. */
export const ID_PATTERN = /^[0-9A-Za-z_-]{1,128}$/;

/**
 * True when `id` is a valid fanout ID.
 *
 * @example
 * ```ts
 * import { isValidId } from '@fanout/core';
 *
 * console.log(isValidId('01J9ZQ4C3W'), isValidId('../etc')); // true false
 * ```
 */
export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/**
 * What an attempt id (TX) looks like: a ULID exactly as `newId()` writes it,
 * 26 Crockford base32 characters, the first at most 7 (48 bits of time).
 * Attempt ids are only ever made by fanout, never by a user, so the names
 * that carry one (`p`, `k`, `b`, `w`, `m`, `x`, `r`) can be this strict: an
 * operator's `photo.jpg`, `kernel.log`, `backup.tar` or `mail` is not an
 * attempt's name and is never renamed or removed.
 */
export const TX_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** True when `tx` is an attempt id as fanout writes it ({@link TX_PATTERN}). */
export function isValidTx(tx: string): boolean {
  return TX_PATTERN.test(tx);
}

/** A name parsed into its protocol role. */
export type ParsedName =
  /** `s<ID>`: a message waiting in a source spool. */
  | { kind: 'source'; id: string }
  /** `p<ID>.<TX>`: message ID taken by attempt TX (in flight, not committed). */
  | { kind: 'taken'; id: string; tx: string }
  /** `k<ID>.<TX>`: message ID committed by attempt TX, its copies being published. */
  | { kind: 'committed'; id: string; tx: string }
  /** `b<ID>.<TX>`: attempt TX of message ID is being rolled back (backed out). */
  | { kind: 'backout'; id: string; tx: string }
  /** `t<ULID>.<owner tag>`: a temporary file still being written by `writer`; never valid. */
  | { kind: 'temp'; token: string; writer: ParsedOwnerTag }
  /** `m<TX>`: the record of attempt TX (its messages, destinations, owner, lease). */
  | { kind: 'record'; tx: string }
  /** `x<TX>`: the record of attempt TX while a recoverer retires it. */
  | { kind: 'retiring'; tx: string }
  /** `w<ID>.<TX>`: a staged copy of attempt TX, invisible to consumers. */
  | { kind: 'staged'; id: string; tx: string }
  /** `d<ID>`: a delivered message, complete and committed. */
  | { kind: 'delivered'; id: string }
  /** `r<TX>.<g>`: generation g of a claim on attempt TX (lease renewal or takeover). */
  | { kind: 'claim'; tx: string; generation: number }
  /** `c<ID>.<who>`: a delivered message claimed by consumer `who`. */
  | { kind: 'claimed'; id: string; who: string }
  /** `l<ID>`: the seed protocol's lock file on `d<ID>`. */
  | { kind: 'lock'; id: string }
  /**
   * `h<ID>.s` / `h<ID>.d`: message ID **held** (by an operator, or after too many failed attempts):
   * no worker or consumer lists it; the suffix is the name it gets back on release (`s<ID>` or `d<ID>`).
   */
  | { kind: 'held'; id: string; from: HeldFrom }
  /**
   * `a<ID>.0` / `a<ID>.1`: the two slots of message ID's attempt count and last error (the higher count is current).
   */
  | { kind: 'attempts'; id: string; slot: AttemptSlot }
  /**
   * `z<ID>`: message ID being deleted by an operator (`fanout delete`); never offered, finished by the next delete of
   * it.
   */
  | { kind: 'deleting'; id: string }
  /** `.fanout-spool`: the spool's identity. */
  | { kind: 'identity' }
  /** Anything else: reported, never touched. */
  | { kind: 'unknown' };

/**
 * The waiting name a held message returns to: `s` (a source's waiting message) or `d` (a destination's delivered one).
 */
export type HeldFrom = 's' | 'd';
/** The two slots of an attempt count. */
export type AttemptSlot = 0 | 1;

const HELD = /^([0-9A-Za-z_-]{1,128})\.([sd])$/;
const ATTEMPTS = /^([0-9A-Za-z_-]{1,128})\.([01])$/;
/** `<ID>.<TX>`: a message id and the attempt id that acts on it. */
const ID_TX = /^([0-9A-Za-z_-]{1,128})\.([0-7][0-9A-HJKMNP-TV-Z]{25})$/;
/** `<ID>.<who>`: a message id and the consumer that claimed it. */
const ID_WHO = /^([0-9A-Za-z_-]{1,128})\.([0-9A-Za-z_-]{1,128})$/;
const CLAIM = /^([0-7][0-9A-HJKMNP-TV-Z]{25})\.([1-9][0-9]{0,8})$/;
/** A ULID as `newId()` writes it: 26 Crockford base32 characters, the first at most 7 (48 bits of time). */
const ULID = TX_PATTERN;

/**
 * The parts of a temp token `<ULID>.<owner tag>` (see `tempName()`), or
 * `undefined` for anything not exactly in that shape: such a `t…` name is not
 * ours, and nothing ever removes it.
 */
export function parseTempToken(token: string): { id: string; writer: ParsedOwnerTag } | undefined {
  const dot = token.indexOf('.');
  if (dot !== 26) return undefined;
  const id = token.slice(0, dot);
  const writer = parseOwnerTag(token.slice(dot + 1));
  return ULID.test(id) && writer !== undefined ? { id, writer } : undefined;
}

/**
 * The Linux NFS client's "silly rename" of a file unlinked while still open
 * (`.nfs` + 16 hex digits of the file id + 8 of a counter). The client removes
 * it when the last holder closes the file: not ours, not an operator's, and
 * expected on NFS, so it is counted, not reported as unknown on every pass.
 */
const NFS_SILLY = /^\.nfs[0-9a-f]{24}$/;

/** True for a name the Linux NFS client gives a file unlinked while open (see {@link NFS_SILLY}). */
export function isNfsSillyName(name: string): boolean {
  return NFS_SILLY.test(name);
}

/** Classify a spool entry name. Pure: reads nothing. */
export function parseProtocolName(name: string): ParsedName {
  if (name === SPOOL_IDENTITY_FILE) return { kind: 'identity' };
  const prefix = name[0];
  const rest = name.slice(1);
  switch (prefix) {
    case 's':
    case 'd':
    case 'l':
      if (!isValidId(rest)) return { kind: 'unknown' };
      return prefix === 's'
        ? { kind: 'source', id: rest }
        : prefix === 'd'
          ? { kind: 'delivered', id: rest }
          : { kind: 'lock', id: rest };
    case 'm':
    case 'x':
      if (!isValidTx(rest)) return { kind: 'unknown' };
      return prefix === 'm' ? { kind: 'record', tx: rest } : { kind: 'retiring', tx: rest };
    case 't': {
      const temp = parseTempToken(rest);
      return temp ? { kind: 'temp', token: rest, writer: temp.writer } : { kind: 'unknown' };
    }
    case 'h': {
      const m = HELD.exec(rest);
      return m ? { kind: 'held', id: m[1]!, from: m[2] as HeldFrom } : { kind: 'unknown' };
    }
    case 'a': {
      const m = ATTEMPTS.exec(rest);
      return m ? { kind: 'attempts', id: m[1]!, slot: Number(m[2]) as AttemptSlot } : { kind: 'unknown' };
    }
    case 'z':
      return isValidId(rest) ? { kind: 'deleting', id: rest } : { kind: 'unknown' };
    case 'r': {
      const m = CLAIM.exec(rest);
      return m ? { kind: 'claim', tx: m[1]!, generation: Number(m[2]) } : { kind: 'unknown' };
    }
    case 'c': {
      const m = ID_WHO.exec(rest);
      return m ? { kind: 'claimed', id: m[1]!, who: m[2]! } : { kind: 'unknown' };
    }
    case 'p':
    case 'k':
    case 'b':
    case 'w': {
      const m = ID_TX.exec(rest);
      if (!m) return { kind: 'unknown' };
      const kind = prefix === 'p' ? 'taken' : prefix === 'k' ? 'committed' : prefix === 'b' ? 'backout' : 'staged';
      return { kind, id: m[1]!, tx: m[2]! };
    }
    default:
      return { kind: 'unknown' };
  }
}

/** The name builders, one per role. */
export const names = {
  source: (id: string) => `s${id}`,
  taken: (id: string, tx: string) => `p${id}.${tx}`,
  committed: (id: string, tx: string) => `k${id}.${tx}`,
  backout: (id: string, tx: string) => `b${id}.${tx}`,
  record: (tx: string) => `m${tx}`,
  retiring: (tx: string) => `x${tx}`,
  staged: (id: string, tx: string) => `w${id}.${tx}`,
  delivered: (id: string) => `d${id}`,
  claimed: (id: string, who: string) => `c${id}.${who}`,
  claim: (tx: string, generation: number) => `r${tx}.${generation}`,
  lock: (id: string) => `l${id}`,
  temp: (token: string) => `t${token}`,
  held: (id: string, from: HeldFrom) => `h${id}.${from}`,
  attempts: (id: string, slot: AttemptSlot) => `a${id}.${slot}`,
  deleting: (id: string) => `z${id}`,
} as const;
