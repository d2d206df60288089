import type { SpoolBackend } from '../backend/spool-backend.js';
import { type FanoutError, isFanoutError, toFanoutError } from '../errors/fanout-error.js';
import { clearAttempts, countAttempt, DEFAULT_MAX_ATTEMPTS } from '../attempts/attempt-record.js';
import { type ExecutorHooks, MachineStopped, runMachine, unwrapStopped } from '../protocol/executor.js';
import { tempName } from '../spool/temp-name.js';
import { removeDeadTemps } from '../recovery/dead-temps.js';
import { STALE_TEMP_MS } from '../recovery/recover.js';
import { type EventSink, ignoreEvents } from '../events/events.js';
import { names, parseProtocolName } from '../names/protocol-names.js';
import { acknowledgeMachine, claimMachine, giveBackMachine } from './consume-machines.js';
import { defaultOwnerProbe, type OwnerInfo, type OwnerProbe, processOwner } from '../owner/owner.js';
import { encodeOwnerTag, parseOwnerTag, sameHost } from '../owner/owner-tag.js';

/** A claimed message handed to a consumer. */
export interface ClaimedMessage {
  readonly id: string;
  /** The claim's file name, `c<id>.<who>`. */
  readonly file: string;
  /** The content, streamed. */
  read(): AsyncIterable<Uint8Array>;
}

/**
 * A consumer's name: the owner tag of the consuming process (`encodeOwnerTag`;
 * default this process, {@link processOwner}), so that a claim `c<id>.<who>`
 * tells exactly which process holds it and {@link releaseStaleClaims} can
 * prove that process dead.
 *
 * @example
 * ```ts
 * import { consumerName } from '@fanout/core';
 *
 * console.log(consumerName()); // this process as it names its claims c<id>.<who>
 * ```
 */
export function consumerName(owner: OwnerInfo = processOwner()): string {
  return encodeOwnerTag(owner);
}

/**
 * Claim delivered message `id` for consumer `who` by renaming `d<id>` to
 * `c<id>.<who>` (atomic: of several consumers exactly one gets it).
 * Resolves `undefined` if someone else claimed it first or it is gone. In a
 * seed-protocol spool a message whose lock file `l<id>` exists is not
 * committed yet and is not claimed.
 *
 * A claimed file with a second name was left so by a crash (a publish whose
 * staged copy `w<id>.<tx>` kept its name, or a claim half-made): the other
 * names are removed, durably, before the message is handed out, so recovery
 * can never publish it again once it is consumed. The steps are
 * `claimMachine`'s.
 *
 * @example
 * ```ts
 * import { acknowledge, claim, release } from '@fanout/core';
 *
 * const message = await claim(inbox, id); // undefined: another consumer won, or it is locked
 * if (message) {
 *   try {
 *     for await (const chunk of message.read()) process.stdout.write(chunk);
 *     await acknowledge(inbox, message);
 *   } catch {
 *     await release(inbox, message);
 *   }
 * }
 * ```
 */
export async function claim(
  spool: SpoolBackend,
  id: string,
  who: string = consumerName(),
): Promise<ClaimedMessage | undefined> {
  return claimUnder(spool, id, who);
}

/** {@link claim}, its steps under executor `hooks` (checkers). Not public API. */
export async function claimUnder(
  spool: SpoolBackend,
  id: string,
  who: string,
  hooks?: ExecutorHooks,
): Promise<ClaimedMessage | undefined> {
  const file = await unwrapStopped(() => runMachine(claimMachine(spool, id, who), hooks));
  return file === undefined ? undefined : { id, file, read: () => spool.read(file) };
}

/**
 * Acknowledge a claimed message: delete it, durably (else it could come back after a crash and be consumed twice).
 *
 * @example
 * ```ts
 * import { acknowledge, claim } from '@fanout/core';
 *
 * const message = await claim(inbox, id);
 * if (message) await acknowledge(inbox, message); // c<id>.<who> removed, synced
 * ```
 */
export async function acknowledge(spool: SpoolBackend, message: ClaimedMessage): Promise<void> {
  await acknowledgeUnder(spool, message);
}

/** {@link acknowledge}, its steps under executor `hooks` (checkers). Not public API. */
export async function acknowledgeUnder(
  spool: SpoolBackend,
  message: Pick<ClaimedMessage, 'file'>,
  hooks?: ExecutorHooks,
): Promise<void> {
  await unwrapStopped(() => runMachine(acknowledgeMachine(spool, message.file), hooks));
}

/**
 * Give a claimed message back (`c<id>.<who>` → `d<id>`) for a later attempt.
 * A claim that has a second name (a crash left it so) is only dropped: the
 * other name carries the message.
 *
 * @example
 * ```ts
 * import { claim, release } from '@fanout/core';
 *
 * const message = await claim(inbox, id);
 * if (message) await release(inbox, message); // back to d<id> for a later attempt
 * ```
 */
export async function release(spool: SpoolBackend, message: Pick<ClaimedMessage, 'id' | 'file'>): Promise<void> {
  await releaseUnder(spool, message);
}

/** {@link release}, its steps under executor `hooks` (checkers). Not public API. */
export async function releaseUnder(
  spool: SpoolBackend,
  message: Pick<ClaimedMessage, 'id' | 'file'>,
  hooks?: ExecutorHooks,
): Promise<void> {
  await unwrapStopped(() =>
    runMachine(giveBackMachine(spool, message.id, message.file, names.delivered(message.id)), hooks),
  );
}

/**
 * A claimed message whose handler failed by itself, counted: its attempt
 * count in the destination goes up (the slots `a<id>.0`/`a<id>.1`, written
 * before the claim is given back, in the same spool), and after
 * `maxAttempts` the claim becomes `h<id>.d` (held: no consumer lists it)
 * instead of `d<id>`. Durable when it resolves.
 * @returns the new count and whether the message is now held.
 */
export async function releaseCounted(
  spool: SpoolBackend,
  message: Pick<ClaimedMessage, 'id' | 'file'>,
  error: FanoutError,
  maxAttempts: number = DEFAULT_MAX_ATTEMPTS,
  owner: OwnerInfo = processOwner(),
  hooks?: ExecutorHooks,
): Promise<{ count: number; held: boolean }> {
  let count = 0;
  try {
    // The temp names the consumer, so that a later consume (or recover) removes it once that consumer is dead.
    count = await runMachine(countAttempt('A', spool, message.id, error, Date.now(), tempName(owner)), hooks);
  } catch (err) {
    if (err instanceof MachineStopped) throw err.reason;
    // The count could not be written: the message is given back uncounted (one more attempt).
  }
  const held = count >= maxAttempts;
  const to = held ? names.held(message.id, 'd') : names.delivered(message.id);
  await unwrapStopped(() => runMachine(giveBackMachine(spool, message.id, message.file, to), hooks));
  return { count, held };
}

/** Options of {@link consume}. */
export interface ConsumeOptions {
  readonly spool: SpoolBackend;
  /** Handles one message; resolve to acknowledge it, throw to release it. */
  readonly handler: (message: ClaimedMessage) => Promise<void>;
  /** The consumer name claims are taken under; default {@link consumerName}(`owner`). */
  readonly who?: string;
  /**
   * The consuming process (default {@link processOwner}()): its consumer name, and whose host's claims may be released.
   */
  readonly owner?: OwnerInfo;
  /** Judges the holders of claims; default {@link defaultOwnerProbe}. */
  readonly ownerProbe?: OwnerProbe;
  readonly signal?: AbortSignal;
  readonly onEvent?: EventSink;
  /** See {@link ConsumePassOptions.maxAttempts}. */
  readonly maxAttempts?: number;
  /** See {@link ConsumePassOptions.counts}. */
  readonly counts?: (error: FanoutError) => boolean;
  /**
   * For checkers: stand between the consumer's machines (claims, acknowledgements, releases, temp clean-up) and the
   * spool. @internal
   */
  readonly hooks?: ExecutorHooks;
}

/** What {@link consume} did. */
export interface ConsumeSummary {
  readonly consumed: number;
  readonly failed: number;
  readonly released: number;
  /** Messages held after `maxAttempts` failures. */
  readonly held: number;
}

/** Options of {@link consumePass}. */
export interface ConsumePassOptions {
  /** The consumer name claims are taken under (`c<id>.<who>`); default {@link consumerName}(). */
  readonly who?: string;
  /**
   * Ids not to offer in this pass. The pass adds to it the id of every
   * message whose handler failed (and which it released), so a caller that
   * keeps the same set across passes does not offer a failing message again
   * until it clears the set. Default: a new, empty set.
   */
  readonly skip?: Set<string>;
  /** Stops the pass before the next entry; the message in hand is finished (acknowledged or released) first. */
  readonly signal?: AbortSignal;
  /** Receives `consumed`, `consume-failed` and `message-held` events. */
  readonly onEvent?: EventSink;
  /**
   * Count each handler failure in the destination and hold the message
   * (`h<id>.d`) once it failed this many times (see `releaseCounted`).
   * Default: no counting (a failing message is offered again forever).
   */
  readonly maxAttempts?: number;
  /** Which handler failures count (default: every one except `EABORTED`, an interruption). */
  readonly counts?: (error: FanoutError) => boolean;
  /** The consuming process, named in the temp files of its counts (default {@link processOwner}()). */
  readonly owner?: OwnerInfo;
  /** For checkers: stand between the consumer's machines and the spool. @internal */
  readonly hooks?: ExecutorHooks;
}

/** What one {@link consumePass} did. */
export interface ConsumePassResult {
  readonly consumed: number;
  readonly failed: number;
  /** Messages held in this pass after `maxAttempts` failures (each also counted in `failed`). */
  readonly held: number;
}

/**
 * One pass over a destination spool's listing: every delivered message
 * (`d<id>`, a file, not in `skip`) is claimed for `who` (see {@link claim}:
 * messages claimed by someone else, or still locked in a seed spool, are
 * passed over), handed to `handler`, then acknowledged if it resolves
 * (event `consumed`) or released if it throws (event `consume-failed`, its id
 * added to `skip`). Messages are handled one at a time. Claims of dead
 * consumers are not touched (see {@link releaseStaleClaims}). Errors of the
 * spool itself (claim, acknowledge, release, listing) are thrown.
 *
 * @example
 * ```ts
 * import { consumePass } from '@fanout/core';
 *
 * // One pass over what is delivered now, e.g. in a watch loop's tick.
 * const pass = await consumePass(inbox, async (message) => {
 *   for await (const chunk of message.read()) process.stdout.write(chunk);
 * });
 * console.log(pass);
 * ```
 */
export async function consumePass(
  spool: SpoolBackend,
  handler: (message: ClaimedMessage) => Promise<void>,
  options: ConsumePassOptions = {},
): Promise<ConsumePassResult> {
  const emit = options.onEvent ?? ignoreEvents;
  const who = options.who ?? consumerName();
  const skip = options.skip ?? new Set<string>();
  let consumed = 0;
  let failed = 0;
  let held = 0;
  const counts = options.counts ?? ((e: FanoutError) => e.code !== 'EABORTED');
  for await (const entry of spool.list()) {
    if (options.signal?.aborted) break;
    const parsed = parseProtocolName(entry.name);
    if (parsed.kind !== 'delivered' || entry.kind !== 'file' || skip.has(parsed.id)) continue;
    const message = await claimUnder(spool, parsed.id, who, options.hooks);
    if (!message) continue;
    try {
      await handler(message);
    } catch (err) {
      failed++;
      skip.add(parsed.id);
      const error = toFanoutError(err, 'EIO', { spool: spool.location, file: message.file });
      if (options.maxAttempts !== undefined && counts(error)) {
        const r = await releaseCounted(spool, message, error, options.maxAttempts, options.owner, options.hooks);
        emit({
          type: 'consume-failed',
          id: parsed.id,
          spool: spool.location,
          error,
          ...(r.count > 0 ? { attempts: r.count } : {}),
          ...(r.held ? { held: true as const } : {}),
        });
        if (r.held) {
          held++;
          emit({ type: 'message-held', id: parsed.id, spool: spool.location, attempts: r.count, error });
        }
        continue;
      }
      await releaseUnder(spool, message, options.hooks);
      emit({ type: 'consume-failed', id: parsed.id, spool: spool.location, error });
      continue;
    }
    // Its count (if it failed before) is of no use once it is acknowledged; it goes first, in the same spool, so
    // that no count outlives its message (a crash in between re-offers the message: consumption is at least once).
    if (options.maxAttempts !== undefined) {
      await runMachine(clearAttempts('A', spool, parsed.id), options.hooks).catch((err: unknown) => {
        if (err instanceof MachineStopped) throw err.reason;
        return false;
      });
    }
    await acknowledgeUnder(spool, message, options.hooks);
    consumed++;
    emit({ type: 'consumed', id: parsed.id, spool: spool.location });
  }
  return { consumed, failed, held };
}

/**
 * Hand every delivered message of a destination spool to `handler`, one at a
 * time: claim, handle, acknowledge on success, release on failure (it will be
 * offered again by a later call, not by this one). Claims of dead consumers on
 * this host are released first, and temps of dead writers removed. This is {@link releaseStaleClaims} and
 * `removeDeadTemps` followed by one {@link consumePass}.
 *
 * @example
 * ```ts
 * import { consume } from '@fanout/core';
 *
 * const summary = await consume({
 *   spool: inbox,
 *   handler: async (message) => {
 *     for await (const chunk of message.read()) process.stdout.write(chunk); // resolve: acknowledged; throw: released
 *   },
 * });
 * console.log(summary.consumed, 'consumed');
 * ```
 */
export async function consume(options: ConsumeOptions): Promise<ConsumeSummary> {
  return unwrapStopped(() => consumeUnwrapped(options));
}

async function consumeUnwrapped(options: ConsumeOptions): Promise<ConsumeSummary> {
  const { spool } = options;
  const probe = options.ownerProbe ?? defaultOwnerProbe;
  const released = await releaseStaleClaimsUnder(spool, probe, options.owner ?? processOwner(), options.hooks);
  // A consumer that crashed while it counted a failure left a temp; nobody else recovers a destination.
  await removeDeadTemps(spool, probe, STALE_TEMP_MS, Date.now(), ignoreEvents, options.hooks);
  const { consumed, failed, held } = await consumePass(spool, options.handler, {
    who: options.who ?? consumerName(options.owner),
    signal: options.signal,
    onEvent: options.onEvent,
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.counts !== undefined ? { counts: options.counts } : {}),
    ...(options.owner !== undefined ? { owner: options.owner } : {}),
    ...(options.hooks !== undefined ? { hooks: options.hooks } : {}),
  });
  return { consumed, failed, released, held };
}

/**
 * Put claims whose consumer is provably dead back as `d<id>`. A claim is
 * `c<id>.<who>` with `who` exactly an owner tag ({@link consumerName}); its
 * holder is judged by `probe` (the one rule, `ownerLiveness`) and the claim
 * released only on 'dead' — never on 'unknown', never for a `who` that is not
 * exactly a tag, and never for a holder on another host than `self` (nobody
 * here can tell whether it runs, whatever the probe says).
 *
 * Each release is `giveBackMachine`'s steps.
 *
 * @returns how many claims it released.
 *
 * @example
 * ```ts
 * import { releaseStaleClaims } from '@fanout/core';
 *
 * // Claims of consumers that died holding them go back to d<id>.
 * console.log(await releaseStaleClaims(inbox), 'claims released');
 * ```
 */
export async function releaseStaleClaims(
  spool: SpoolBackend,
  probe: OwnerProbe = defaultOwnerProbe,
  self: OwnerInfo = processOwner(),
): Promise<number> {
  return releaseStaleClaimsUnder(spool, probe, self);
}

/** {@link releaseStaleClaims}, each release under executor `hooks` (checkers). Not public API. */
export async function releaseStaleClaimsUnder(
  spool: SpoolBackend,
  probe: OwnerProbe,
  self: OwnerInfo,
  hooks?: ExecutorHooks,
): Promise<number> {
  let released = 0;
  for await (const entry of spool.list()) {
    const parsed = parseProtocolName(entry.name);
    if (parsed.kind !== 'claimed' || entry.kind !== 'file') continue;
    const holder = parseOwnerTag(parsed.who);
    if (holder === undefined || !sameHost(holder, self)) continue;
    if ((await probe(holder)) !== 'dead') continue;
    try {
      await releaseUnder(spool, { id: parsed.id, file: entry.name }, hooks);
      released++;
    } catch (err) {
      if (!isFanoutError(err, 'ENOENT', 'EEXIST')) throw err;
    }
  }
  return released;
}
