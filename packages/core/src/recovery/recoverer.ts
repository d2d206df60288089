import type { SpoolBackend } from '../backend/spool-backend.js';
import { isFanoutError } from '../errors/fanout-error.js';
import { names } from '../names/protocol-names.js';
import type { OwnerInfo, OwnerProbe } from '../owner/owner.js';
import { type ExecutorHooks, runMachine } from '../protocol/executor.js';
import { type Machine, perform } from '../protocol/ops.js';

/** How long a claim holder that nobody can see (another host, another PID namespace) is presumed alive. */
export const RECOVERY_LEASE_MS = 10 * 60 * 1000;

/**
 * The content of a claim `r<tx>.<g>` on attempt `tx`: who holds generation
 * `g` (the attempt's owner renewing its lease, or a recoverer taking the
 * attempt over) and until when. Claims are created exclusively, so of several
 * claimants exactly one holds a generation; a later one may only create the
 * next generation once the holder is dead or its lease has run out.
 */
export interface RecovererClaim {
  readonly owner: OwnerInfo;
  readonly claimedMs: number;
  /** How long the holder may be presumed alive after `claimedMs`. */
  readonly leaseMs: number;
}

const MAGIC = 'fanout-claim';

/** The claim file name of generation `g` of attempt `tx`. */
export function claimName(tx: string, generation: number): string {
  return names.claim(tx, generation);
}

export function encodeClaim(c: RecovererClaim): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify({ fanout: MAGIC, ...c })}\n`);
}

/**
 * Read a claim: `undefined` if it is gone; `'foreign'` if the file is not a
 * claim this code wrote (an operator's file that happens to have a claim's
 * name): such a file is never deleted, and never counted as a live holder.
 */
export function* readClaimStep(spool: SpoolBackend, file: string): Machine<RecovererClaim | 'foreign' | undefined> {
  let text: string | undefined;
  try {
    text = yield* perform({ type: 'readSmall', step: 'R1', spool, name: file, maxBytes: 4096 });
  } catch (err) {
    // Only a file that cannot be a claim we wrote (not a regular file, too big, unreadable to us) is foreign.
    // Any other failure (EIO, a server gone) says nothing about the file: taking it for foreign would skip
    // to the next generation, and a failure that persists would make the search for a free one endless.
    if (isFanoutError(err, 'EBADENTRY') || isFanoutError(err, 'ECORRUPT') || isFanoutError(err, 'EACCES'))
      return 'foreign';
    throw err;
  }
  return text === undefined ? undefined : decodeClaim(text);
}

/** {@link readClaimStep}, performed at once. */
export async function readClaim(
  spool: SpoolBackend,
  file: string,
  hooks?: ExecutorHooks,
): Promise<RecovererClaim | 'foreign' | undefined> {
  return runMachine(readClaimStep(spool, file), hooks);
}

/** A claim's content, or `'foreign'` when it is not one this code wrote. */
function decodeClaim(text: string): RecovererClaim | 'foreign' {
  try {
    const c = JSON.parse(text) as {
      fanout?: unknown;
      owner?: Partial<OwnerInfo>;
      claimedMs?: unknown;
      leaseMs?: unknown;
    };
    const o = c.owner;
    if (c.fanout !== MAGIC || typeof c.claimedMs !== 'number' || typeof c.leaseMs !== 'number' || !o) return 'foreign';
    if (
      typeof o.host !== 'string' ||
      typeof o.pid !== 'number' ||
      typeof o.bootId !== 'string' ||
      typeof o.startTime !== 'string'
    )
      return 'foreign';
    const owner: OwnerInfo = {
      host: o.host,
      bootId: o.bootId,
      pid: o.pid,
      startTime: o.startTime,
      pidNamespace: typeof o.pidNamespace === 'string' ? o.pidNamespace : '',
    };
    return { owner, claimedMs: c.claimedMs, leaseMs: c.leaseMs };
  } catch {
    return 'foreign';
  }
}

/**
 * The holder of a claim is dead when the probe proves it, or when nobody can
 * tell and its claim is older than its lease. Holders give up well before:
 * owners at 2/3 of their lease (and the commit is fenced whatever the time).
 */
export async function isClaimHolderDead(c: RecovererClaim, probe: OwnerProbe, now: number): Promise<boolean> {
  const liveness = await probe(c.owner);
  if (liveness !== 'unknown') return liveness === 'dead';
  return now > c.claimedMs + c.leaseMs;
}
