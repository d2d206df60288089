import type { SpoolBackend } from '../backend/spool-backend.js';
import { isFanoutError } from '../errors/fanout-error.js';
import { isValidId, names } from '../names/protocol-names.js';
import { type OwnerProbe, processOwner } from '../owner/owner.js';
import { encodeOwnerTag, hostHash, type OwnerRef, parseOwnerTag } from '../owner/owner-tag.js';
import { readSmall } from '../spool/read-small.js';

/** How long a recoverer on another host may hold a takeover claim before it is presumed dead. */
export const RECOVERY_LEASE_MS = 10 * 60 * 1000;

/**
 * Who took over attempt `tx` of a stale marker: the content of the claim file
 * `r<id>.<tx>_<generation>`. Claims are created exclusively, so of several
 * recoverers exactly one holds a generation; a later recoverer may only claim
 * the next generation once the holder is dead.
 */
export interface RecovererClaim {
  readonly host: string;
  readonly pid: number;
  readonly claimedMs: number;
  /** How long the holder may be presumed alive after `claimedMs` (an owner's lease renewal says its lease). */
  readonly leaseMs?: number;
  /**
   * The holder's owner tag (`encodeOwnerTag`): its exact identity, by which
   * {@link isRecovererDead} can prove it dead. {@link encodeClaim} records
   * this process's own ({@link processOwner}) when the claim names this
   * process and gives none.
   */
  readonly owner?: string;
}

/** The claim file name of generation `g` of the takeover of attempt `tx` of message `id`. */
export function claimName(id: string, tx: string, generation: number): string {
  return names.recovering(id, `${tx}_${generation}`);
}

/** `<tx>_<generation>` of a claim's token, if it has that form. */
export function parseClaimToken(token: string): { tx: string; generation: number } | undefined {
  const m = /^(.+)_(\d{1,6})$/.exec(token);
  return m && isValidId(m[1]!) ? { tx: m[1]!, generation: Number(m[2]) } : undefined;
}

export function encodeClaim(c: RecovererClaim): Uint8Array {
  const self = processOwner();
  const owner = c.owner ?? (c.host === self.host && c.pid === self.pid ? encodeOwnerTag(self) : undefined);
  return new TextEncoder().encode(`${JSON.stringify({ fanout: 'recoverer', ...c, ...(owner !== undefined ? { owner } : {}) })}\n`);
}

/** Read a claim; `undefined` if it is gone; a claim that does not parse counts as a dead recoverer's. */
export async function readClaim(spool: SpoolBackend, file: string): Promise<RecovererClaim | 'corrupt' | undefined> {
  try {
    const c = JSON.parse(await readSmall(spool, file, 4096)) as Partial<RecovererClaim>;
    if (typeof c.host !== 'string' || typeof c.pid !== 'number' || typeof c.claimedMs !== 'number') return 'corrupt';
    return {
      host: c.host,
      pid: c.pid,
      claimedMs: c.claimedMs,
      ...(typeof c.leaseMs === 'number' ? { leaseMs: c.leaseMs } : {}),
      ...(typeof c.owner === 'string' ? { owner: c.owner } : {}),
    };
  } catch (err) {
    if (isFanoutError(err, 'ENOENT')) return undefined;
    return 'corrupt';
  }
}

/**
 * The holder of a claim (a recoverer, or an owner renewing its lease) is dead
 * when the probe proves it — by the one rule (`ownerLiveness`) over the
 * holder's owner tag; a claim without one (host and pid only) can never be
 * proven dead that way — or when nobody can tell and its claim is older than
 * its lease (the claim's own `leaseMs`, else `leaseMs`). Holders give up well
 * before: owners at 2/3 of their lease.
 */
export async function isRecovererDead(c: RecovererClaim | 'corrupt', probe: OwnerProbe, now: number, leaseMs: number): Promise<boolean> {
  if (c === 'corrupt') return true;
  const liveness = await probe(claimHolder(c));
  if (liveness !== 'unknown') return liveness === 'dead';
  return now > c.claimedMs + (c.leaseMs ?? leaseMs);
}

/** Who holds claim `c`, for the probe: its owner tag when it has one (of the same host and pid), else host and pid only. */
export function claimHolder(c: RecovererClaim): OwnerRef {
  const tag = c.owner !== undefined ? parseOwnerTag(c.owner) : undefined;
  if (tag !== undefined && tag.pid === c.pid && tag.hostHash === hostHash(c.host)) return tag;
  return { host: c.host, bootId: '', pidNamespace: '', pid: c.pid, startTime: '' };
}
