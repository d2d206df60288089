import { type ParsedOwnerTag, parseOwnerTag } from '../owner/owner-tag.js';

/**
 * The protocol's file names (DESIGN.md §2). Every file the protocol creates is
 * named by a one-letter prefix and an ID, so its role is known without reading
 * it — the seed post's key idea.
 */

/** The identity file of a spool. */
export const SPOOL_IDENTITY_FILE = '.fanout-spool';

/** What an ID (message, attempt, consumer) may look like. */
export const ID_PATTERN = /^[0-9A-Za-z_-]{1,128}$/;

/** True when `id` is a valid fanout ID. */
export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** A name parsed into its protocol role. */
export type ParsedName =
  /** `s<ID>`: a message waiting in a source spool. */
  | { kind: 'source'; id: string }
  /** `t<ULID>.<owner tag>`: a temporary file still being written by `writer`; never valid. */
  | { kind: 'temp'; token: string; writer: ParsedOwnerTag }
  /** `m<ID>`: the transaction marker of message ID. */
  | { kind: 'marker'; id: string }
  /** `w<ID>.<TX>`: a staged copy of attempt TX, invisible to consumers. */
  | { kind: 'staged'; id: string; tx: string }
  /** `d<ID>`: a delivered message, complete and committed. */
  | { kind: 'delivered'; id: string }
  /** `r<ID>.<token>`: a stale marker taken over by recoverer `token` (multi-worker takeover). */
  | { kind: 'recovering'; id: string; token: string }
  /** `c<ID>.<who>`: a delivered message claimed by consumer `who`. */
  | { kind: 'claimed'; id: string; who: string }
  /** `l<ID>`: the seed protocol's lock file on `d<ID>`. */
  | { kind: 'lock'; id: string }
  /** `.fanout-spool`: the spool's identity. */
  | { kind: 'identity' }
  /** Anything else: reported, never touched. */
  | { kind: 'unknown' };

const TWO_PART = /^([0-9A-Za-z_-]{1,128})\.([0-9A-Za-z_-]{1,128})$/;
/** A ULID as `newId()` writes it: 26 Crockford base32 characters, the first at most 7 (48 bits of time). */
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

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

/** Classify a spool entry name. Pure: reads nothing. */
export function parseProtocolName(name: string): ParsedName {
  if (name === SPOOL_IDENTITY_FILE) return { kind: 'identity' };
  const prefix = name[0];
  const rest = name.slice(1);
  switch (prefix) {
    case 's':
    case 'm':
    case 'd':
    case 'l':
      if (!isValidId(rest)) return { kind: 'unknown' };
      return prefix === 's'
        ? { kind: 'source', id: rest }
        : prefix === 'm'
          ? { kind: 'marker', id: rest }
          : prefix === 'd'
            ? { kind: 'delivered', id: rest }
            : { kind: 'lock', id: rest };
    case 't': {
      const temp = parseTempToken(rest);
      return temp ? { kind: 'temp', token: rest, writer: temp.writer } : { kind: 'unknown' };
    }
    case 'w':
    case 'c':
    case 'r': {
      const m = TWO_PART.exec(rest);
      if (!m) return { kind: 'unknown' };
      return prefix === 'w'
        ? { kind: 'staged', id: m[1]!, tx: m[2]! }
        : prefix === 'c'
          ? { kind: 'claimed', id: m[1]!, who: m[2]! }
          : { kind: 'recovering', id: m[1]!, token: m[2]! };
    }
    default:
      return { kind: 'unknown' };
  }
}

/** The name builders, one per role. */
export const names = {
  source: (id: string) => `s${id}`,
  marker: (id: string) => `m${id}`,
  staged: (id: string, tx: string) => `w${id}.${tx}`,
  delivered: (id: string) => `d${id}`,
  claimed: (id: string, who: string) => `c${id}.${who}`,
  recovering: (id: string, token: string) => `r${id}.${token}`,
  lock: (id: string) => `l${id}`,
  temp: (token: string) => `t${token}`,
} as const;
