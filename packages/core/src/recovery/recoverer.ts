import { hostname } from 'node:os';
import type { SpoolBackend } from '../backend/spool-backend.js';
import { isFanoutError } from '../errors/fanout-error.js';
import { isValidId, names } from '../names/protocol-names.js';
import { hostTag, type OwnerProbe } from '../owner/owner.js';
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
  return new TextEncoder().encode(`${JSON.stringify({ fanout: 'recoverer', ...c })}\n`);
}

/** Read a claim; `undefined` if it is gone; a claim that does not parse counts as a dead recoverer's. */
export async function readClaim(spool: SpoolBackend, file: string): Promise<RecovererClaim | 'corrupt' | undefined> {
  try {
    const c = JSON.parse(await readSmall(spool, file, 4096)) as Partial<RecovererClaim>;
    if (typeof c.host !== 'string' || typeof c.pid !== 'number' || typeof c.claimedMs !== 'number') return 'corrupt';
    return { host: c.host, pid: c.pid, claimedMs: c.claimedMs, ...(typeof c.leaseMs === 'number' ? { leaseMs: c.leaseMs } : {}) };
  } catch (err) {
    if (isFanoutError(err, 'ENOENT')) return undefined;
    return 'corrupt';
  }
}

/**
 * The holder of a claim (a recoverer, or an owner renewing its lease) is dead
 * when the probe proves it (this host, pid gone), or when nobody can tell and
 * its claim is older than its lease (the claim's own `leaseMs`, else
 * `leaseMs`). Holders give up well before: owners at 2/3 of their lease.
 */
export async function isRecovererDead(c: RecovererClaim | 'corrupt', probe: OwnerProbe, now: number, leaseMs: number): Promise<boolean> {
  if (c === 'corrupt') return true;
  if (hostTag(c.host) === hostTag(hostname())) {
    const liveness = await probe({ host: c.host, bootId: '', pid: c.pid, startTime: '' });
    if (liveness !== 'unknown') return liveness === 'dead';
  }
  return now > c.claimedMs + (c.leaseMs ?? leaseMs);
}
