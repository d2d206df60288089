import type { ContentSource, SpoolBackend } from '../backend/spool-backend.js';
import { type FanoutError, isFanoutError } from '../errors/fanout-error.js';
import { names } from '../names/protocol-names.js';
import { lockContent } from './lock-file.js';
import { type LeafOp, type Machine, type Op, type Settled, settle } from './ops.js';
import { variantOf } from './protocol-variant.js';
import { sharedRead } from './shared-read.js';
import { DEFAULT_STALL_TIMEOUT_MS, guardStall, StallWatch } from './stall-guard.js';
import { applyTransform, type TransformSubject } from './transform-stage.js';
import {
  DEFAULT_COPY_WINDOW,
  messageFailure,
  type MessageFailure,
  type PlannedDestination,
  type TransactionPlan,
} from './transaction-plan.js';

// C2 of an attempt (docs/PROTOCOL.md): every message copied to every destination, a window at a time, each copy
// streamed from the message's taken name through the destination's transform, under a stall guard; seed locks each
// window first. What it learns (failures, the names it made, calls still in the air) is the attempt's CopyState.

const utf8 = new TextEncoder();

/** Whether `spool` can give a file a second name ({@link SpoolBackend.link}): linked seed locks. */
function canLink(spool: SpoolBackend): boolean {
  return spool.link !== undefined;
}

function toChunks(content: ContentSource): AsyncIterable<Uint8Array> {
  if (content instanceof Uint8Array) {
    return (async function* () {
      yield content;
    })();
  }
  return content;
}

/**
 * The content of the message as it should land in `dest`: streamed from
 * `raw`, transformed if asked. When `raw`'s chunks are `shared` with the
 * other destinations, a transform gets its own copy of each (it may modify
 * them). A transform's failure is the message's (`ETRANSFORM`, naming `subject`),
 * counted towards the message's attempts (docs/PROTOCOL.md, "Poison messages").
 */
function contentFor(
  raw: () => AsyncIterable<Uint8Array>,
  shared: boolean,
  id: string,
  dest: PlannedDestination,
  subject: TransformSubject,
): () => ContentSource {
  return () => {
    if (!dest.transform) return raw();
    return (
      applyTransform(
        dest.transform,
        { id, destination: dest.spool.backend.location },
        () => (shared ? copied(raw()) : raw()),
        subject,
      ) ?? raw()
    );
  };
}

async function* copied(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) yield Uint8Array.prototype.slice.call(chunk);
}

/** The name this attempt's copy of `id` has in a destination until it is made visible. */
export function copyName(plan: TransactionPlan, id: string): string {
  return variantOf(plan.protocol).copyName(id, plan.tx);
}

/**
 * Per destination, a message this attempt has locked there with a file of its
 * own, whose lock later locks link to; `undefined` until there is one, and
 * always in a destination without hard links.
 */
export type LockAnchors = (string | undefined)[];

/**
 * C2 (seed): lock each message of `ids` in every destination. The first lock
 * in a destination is a file; where the destination has hard links the others
 * are links to it, since only the name `l<id>` matters and a link costs no new
 * inode (docs/DESIGN.md §3, as the batch's marker record).
 */
function lockOps(plan: TransactionPlan, ids: readonly string[], anchors: LockAnchors): LeafOp[] {
  return ids.flatMap((id) =>
    plan.destinations.map((d, k): LeafOp => {
      const spool = d.spool.backend;
      const anchor = anchors[k];
      if (anchor !== undefined)
        return { type: 'link', step: 'C2', spool, from: names.lock(anchor), to: names.lock(id) };
      // The lock's name is the lock (made durable by C3's directory sync); its content names the attempt, synced
      // (once per attempt and destination: the other locks link to this one) so that a leftover lock can be told
      // from a live one even after a crash.
      const stall = new StallWatch(plan.stallMs ?? DEFAULT_STALL_TIMEOUT_MS, {
        spool: spool.location,
        file: names.lock(id),
      });
      return {
        type: 'create',
        step: 'C2',
        spool,
        name: names.lock(id),
        content: () => utf8.encode(lockContent(plan.tx)),
        whole: true,
        stall,
      };
    }),
  );
}

/** What C2 learns as it goes, for the next windows and for a rollback. */
export interface CopyState {
  /** The attempt's failures (the same list as the attempt's). */
  readonly failed: MessageFailure[];
  /** Messages that failed a lock or a copy somewhere: rolled back after C3. */
  readonly copyFailed: Set<string>;
  /** Names this attempt made, or may have made, per destination ({@link madeKey}): only these are ever rolled back. */
  readonly made: Set<string>;
  /** Seed: the lock each destination's later locks link to. */
  readonly anchors: LockAnchors;
  /**
   * Messages whose copy failed because of the message itself (`ETRANSFORM`), with that error: counted in the back-out.
   */
  readonly poison: Map<string, FanoutError>;
  /**
   * Messages with a copy or lock call still in the air after its stall bound gave up (see `StallWatch`), and those
   * calls.
   */
  readonly hung: Map<string, Promise<void>[]>;
}

/** Note the calls among `ops` (with their outcomes) that a stall bound gave up on while they were still in the air. */
function noteHung(state: CopyState, ids: readonly string[], ops: readonly Op[], perId: number): void {
  ops.forEach((op, k) => {
    if (op.type !== 'create' || op.stall?.hung === undefined) return;
    const id = ids[Math.floor(k / perId)]!;
    state.hung.set(id, [...(state.hung.get(id) ?? []), op.stall.hung]);
  });
}

/** How {@link CopyState.made} names `name` in the destination at index `destination` of the plan. */
export function madeKey(destination: number, name: string): string {
  return `${destination}/${name}`;
}

/**
 * Record the outcome of a create or link of `name` in destination `k`: an
 * `EEXIST` means the name was somebody else's (a stray lock, an earlier
 * delivery of the same id) and must survive a rollback; any other outcome may
 * have left our file there.
 */
function noteMade(state: CopyState, k: number, name: string, r: Settled): void {
  if (r.ok || !isFanoutError(r.error, 'EEXIST')) state.made.add(madeKey(k, name));
}

/**
 * The messages of `ids` locked in every destination, from the outcomes of
 * their {@link lockOps}; the others are failed and left to the rollback of
 * `copyFailed`. Records the first lock file made in each destination that can
 * link to it.
 */
function lockedOf(
  plan: TransactionPlan,
  ids: readonly string[],
  locks: readonly Settled[],
  state: CopyState,
): string[] {
  const n = plan.destinations.length;
  ids.forEach((id, g) => {
    for (let k = 0; k < n; k++) {
      const r = locks[g * n + k]!;
      noteMade(state, k, names.lock(id), r);
      // A lock file stays until this attempt's rollback or unlock, both after C2: a safe link source meanwhile.
      if (state.anchors[k] === undefined && r.ok && canLink(plan.destinations[k]!.spool.backend)) state.anchors[k] = id;
    }
  });
  return ids.filter((id, g) => !failedSomewhere(plan, state, id, locks.slice(g * n, g * n + n), names.lock(id)));
}

/**
 * Whether message `id` failed in some destination, given one outcome per
 * destination; the first failure is reported and the message set aside for
 * the rollback.
 */
function failedSomewhere(
  plan: TransactionPlan,
  state: CopyState,
  id: string,
  outcomes: readonly Settled[],
  name: string,
): boolean {
  const k = outcomes.findIndex((r) => !r.ok);
  const r = outcomes[k];
  if (r === undefined || r.ok) return false;
  if (!state.copyFailed.has(id))
    state.failed.push(messageFailure(id, r.error, false, plan.destinations[k]!.spool.backend, name));
  state.copyFailed.add(id);
  return true;
}

/** C2: the copy of `id` to each destination, reading the source once when it is shared. */
function copyOps(plan: TransactionPlan, id: string): LeafOp[] {
  const shared = plan.destinations.length > 1;
  // The message is read under the name this attempt took it by.
  const open = () => plan.source.backend.read(names.taken(id, plan.tx));
  const raw = shared ? sharedRead(open) : open;
  return plan.destinations.map((d) => {
    const where = { spool: plan.source.backend.location, file: names.source(id) };
    const content = contentFor(raw, shared, id, d, where);
    const stallMs = plan.stallMs ?? DEFAULT_STALL_TIMEOUT_MS;
    const watch = new StallWatch(stallMs, where);
    return {
      type: 'create',
      step: 'C2',
      spool: d.spool.backend,
      name: copyName(plan, id),
      content: () => guardStall(toChunks(content()), stallMs, where, watch),
      stall: watch,
    } as const;
  });
}

/**
 * C2: copy every message of `live` to every destination, a window of
 * messages at a time. Seed locks each window first (a `d<id>` never appears
 * unlocked): the first window on its own, each later one while the window
 * before it is being copied.
 * @returns the bytes written per message (failures are in `state`).
 */
export function* copyAll(
  plan: TransactionPlan,
  live: readonly string[],
  state: CopyState,
): Machine<Map<string, number>> {
  const bytesOf = new Map<string, number>();
  const { locks: locking } = variantOf(plan.protocol);
  const n = plan.destinations.length;
  const perWindow = Math.max(1, Math.floor(plan.copyWindow ?? DEFAULT_COPY_WINDOW));
  // Seed on destinations with hard links: the first message alone, so that the next window's locks can link to its own.
  const first = locking && live.length > 0 && plan.destinations.some((d) => canLink(d.spool.backend)) ? 1 : 0;
  const windows: string[][] = first ? [live.slice(0, 1)] : [];
  for (let at = first; at < live.length; at += perWindow) windows.push(live.slice(at, at + perWindow));
  let ready = windows[0] ?? [];
  if (locking && ready.length > 0) {
    const locks = lockOps(plan, ready, state.anchors);
    const outcomes = yield* settle('C2', locks);
    noteHung(state, ready, locks, n);
    ready = lockedOf(plan, ready, outcomes, state);
  }
  for (let w = 0; w < windows.length; w++) {
    const group = ready;
    const next = windows[w + 1];
    const copies = group.flatMap((id) => copyOps(plan, id));
    const locks = locking && next ? lockOps(plan, next, state.anchors) : [];
    const results = yield* settle('C2', [...copies, ...locks]);
    noteHung(state, group, copies, n);
    if (next) noteHung(state, next, locks, n);
    group.forEach((id, g) => {
      const outcomes = results.slice(g * n, g * n + n);
      outcomes.forEach((r, k) => {
        noteMade(state, k, copyName(plan, id), r);
        if (!r.ok && isFanoutError(r.error, 'ETRANSFORM') && !state.poison.has(id)) state.poison.set(id, r.error);
      });
      failedSomewhere(plan, state, id, outcomes, copyName(plan, id));
      bytesOf.set(
        id,
        outcomes.reduce((sum, r) => sum + (r.ok && typeof r.value === 'number' ? r.value : 0), 0),
      );
    });
    if (next) ready = locking ? lockedOf(plan, next, results.slice(copies.length), state) : next;
  }
  return bytesOf;
}
