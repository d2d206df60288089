import { pipeline, Readable } from 'node:stream';
import type { ContentSource, SpoolBackend } from '../backend/spool-backend.js';
import { FanoutError, isFanoutError, toFanoutError } from '../errors/fanout-error.js';
import { encodeMarker, MAX_BATCH_RECORD_IDS, type MarkerRecord } from '../marker/marker-codec.js';
import { names } from '../names/protocol-names.js';
import type { Machine, Op, Settled, StepName } from './ops.js';
import { sharedRead } from './shared-read.js';
import { DEFAULT_COPY_WINDOW, type MessageFailure, type PlannedDestination, type TransactionOutcome, type TransactionPlan } from './transaction-plan.js';

const utf8 = new TextEncoder();

function all(step: StepName, ops: Op[]): Op {
  return { type: 'all', step, ops };
}

function* settle(step: StepName, ops: Op[]): Machine<Settled[]> {
  if (ops.length === 0) return [];
  return (yield all(step, ops)) as Settled[];
}

function* syncAll(step: StepName, spools: Iterable<SpoolBackend>): Machine<void> {
  const unique = [...new Set(spools)];
  const results = yield* settle(step, unique.map((spool) => ({ type: 'syncDir', step, spool }) as const));
  const bad = results.find((r) => !r.ok);
  // A sync that fails leaves durability unknown: stop here, recovery decides from what is on disk.
  if (bad && !bad.ok) throw bad.error;
}

/** The marker record of message `id` in this attempt. */
export function markerFor(plan: TransactionPlan, id: string): MarkerRecord {
  const now = plan.now();
  return {
    id,
    tx: plan.tx,
    protocol: plan.protocol,
    source: { uuid: plan.source.identity.uuid, location: plan.source.backend.location },
    destinations: plan.destinations.map((d) => ({ uuid: d.spool.identity.uuid, location: d.spool.backend.location })),
    owner: plan.owner,
    createdMs: now,
    leaseUntilMs: now + plan.leaseMs,
  };
}

/**
 * The content of `s<id>` as it should land in `dest`: streamed from `raw`,
 * transformed if asked. When `raw`'s chunks are `shared` with the other
 * destinations, a transform gets its own copy of each (it may modify them).
 */
function contentFor(raw: () => AsyncIterable<Uint8Array>, shared: boolean, id: string, dest: PlannedDestination): () => ContentSource {
  return () => {
    const transform = dest.transform?.({ id, destination: dest.spool.backend.location });
    if (!transform) return raw();
    // pipeline() propagates a failure of either side into the stream we return.
    return pipeline(Readable.from(shared ? copied(raw()) : raw(), { objectMode: false }), transform, () => undefined) as unknown as AsyncIterable<Uint8Array>;
  };
}

async function* copied(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) yield Uint8Array.prototype.slice.call(chunk);
}

function failure(id: string, err: unknown, committed: boolean, spool: SpoolBackend, file: string): MessageFailure {
  return { id, error: toFanoutError(err, 'EIO', { spool: spool.location, file }), committed };
}

/** Whether `spool` can give a file a second name ({@link SpoolBackend.link}): batch marker records, linked seed locks. */
function canLink(spool: SpoolBackend): boolean {
  return spool.capabilities.hardLinks && spool.link !== undefined;
}

/** Sort each publish or link outcome of C1: owned, owned by another worker (skipped), or failed. */
function sortClaims(ids: readonly string[], results: readonly Settled[], S: SpoolBackend, failed: MessageFailure[], skipped: string[]): string[] {
  const owned: string[] = [];
  results.forEach((r, k) => {
    const id = ids[k]!;
    if (r.ok) owned.push(id);
    else if (isFanoutError(r.error, 'EEXIST')) skipped.push(id);
    else failed.push(failure(id, r.error, false, S, names.marker(id)));
  });
  return owned;
}

/** C1, one record per message: each written to a temp, then published as `m<id>` without clobbering. */
function* claimOneByOne(plan: TransactionPlan, failed: MessageFailure[], skipped: string[]): Machine<string[]> {
  const S = plan.source.backend;
  const temps = plan.ids.map(() => plan.tempName());
  const created = yield* settle(
    'C1',
    plan.ids.map((id, i) => ({ type: 'create', step: 'C1', spool: S, name: temps[i]!, content: () => utf8.encode(encodeMarker(markerFor(plan, id))) }) as const),
  );
  const written: number[] = [];
  created.forEach((r, i) => {
    if (r.ok) written.push(i);
    else failed.push(failure(plan.ids[i]!, r.error, false, S, temps[i]!));
  });
  const published = yield* settle(
    'C1',
    written.map((i) => ({ type: 'publish', step: 'C1', spool: S, from: temps[i]!, to: names.marker(plan.ids[i]!) }) as const),
  );
  const owned = sortClaims(written.map((i) => plan.ids[i]!), published, S, failed, skipped);
  const leftoverTemps = written.filter((_, k) => !published[k]!.ok).map((i) => temps[i]!);
  yield* settle('C1', leftoverTemps.map((name) => ({ type: 'remove', step: 'C1', spool: S, name }) as const));
  return owned;
}

/**
 * C1, one record per batch (DESIGN.md §3): the record lists the batch's ids,
 * is written and fsynced once, and hard-linked as each `m<id>` without
 * clobbering: one file fsync for the batch instead of one per message.
 */
function* claimByLinks(plan: TransactionPlan, failed: MessageFailure[], skipped: string[]): Machine<string[]> {
  const S = plan.source.backend;
  const owned: string[] = [];
  for (let at = 0; at < plan.ids.length; at += MAX_BATCH_RECORD_IDS) {
    const group = plan.ids.slice(at, at + MAX_BATCH_RECORD_IDS);
    const temp = plan.tempName();
    const record: MarkerRecord = { ...markerFor(plan, group[0]!), batch: group };
    const [created] = yield* settle('C1', [{ type: 'create', step: 'C1', spool: S, name: temp, content: () => utf8.encode(encodeMarker(record)) }]);
    if (!created!.ok) {
      for (const id of group) failed.push(failure(id, created!.error, false, S, temp));
      continue;
    }
    const linked = yield* settle('C1', group.map((id) => ({ type: 'link', step: 'C1', spool: S, from: temp, to: names.marker(id) }) as const));
    owned.push(...sortClaims(group, linked, S, failed, skipped));
    // The record lives on under its m<id> names; a crash before this removal leaves a dead writer's temp for R6.
    yield* settle('C1', [{ type: 'remove', step: 'C1', spool: S, name: temp }]);
  }
  return owned;
}

/**
 * C1 for a batch: make each message's marker `m<id>` (an existing marker
 * means another worker owns the message), make the names durable, and
 * confirm `s<id>` still exists. Returns the ids this attempt now owns.
 */
function* claim(plan: TransactionPlan, failed: MessageFailure[], skipped: string[]): Machine<string[]> {
  const S = plan.source.backend;
  const shareRecord = plan.ids.length > 1 && canLink(S);
  const owned = shareRecord ? yield* claimByLinks(plan, failed, skipped) : yield* claimOneByOne(plan, failed, skipped);
  if (owned.length === 0) return owned;
  // C1: the markers' names are durable before any copy exists, so a crash after a copy always finds the marker (no orphan copies, no unrecoverable seed d-files).
  yield* syncAll('C1', [S]);
  // The message may have been finished by another worker between our listing and our claim.
  const present = yield* settle('C1', owned.map((id) => ({ type: 'stat', step: 'C1', spool: S, name: names.source(id) }) as const));
  const live: string[] = [];
  const release: string[] = [];
  present.forEach((r, k) => {
    const id = owned[k]!;
    const file = names.source(id);
    if (r.ok && r.value !== undefined && (r.value as { kind: string }).kind === 'file') return void live.push(id);
    release.push(id);
    if (r.ok && r.value === undefined) skipped.push(id);
    else if (r.ok) failed.push({ id, error: new FanoutError('EBADENTRY', 'not a regular file; left alone', { spool: S.location, file }), committed: false });
    else failed.push(failure(id, r.error, false, S, file));
  });
  // Nothing was copied for these: their markers can go; recovery would remove them the same way.
  yield* settle('C1', release.map((id) => ({ type: 'remove', step: 'C1', spool: S, name: names.marker(id) }) as const));
  return live;
}

/** Names a copy of `id` has in a destination under each protocol. */
function copyName(plan: TransactionPlan, id: string): string {
  return plan.protocol === 'staged' ? names.staged(id, plan.tx) : names.delivered(id);
}

/**
 * Per destination, a message this attempt has locked there with a file of its
 * own, whose lock later locks link to; `undefined` until there is one, and
 * always in a destination without hard links.
 */
type LockAnchors = (string | undefined)[];

/**
 * C2 (seed): lock each message of `ids` in every destination. The first lock
 * in a destination is a file; where the destination has hard links the others
 * are links to it, since only the name `l<id>` matters and a link costs no new
 * inode (DESIGN.md §3, as the batch's marker record).
 */
function lockOps(plan: TransactionPlan, ids: readonly string[], anchors: LockAnchors): Op[] {
  return ids.flatMap((id) =>
    plan.destinations.map((d, k): Op => {
      const spool = d.spool.backend;
      const anchor = anchors[k];
      if (anchor !== undefined) return { type: 'link', step: 'C2', spool, from: names.lock(anchor), to: names.lock(id) };
      // The lock's name is the lock (made durable by C3's directory sync); its content needs no data sync.
      return { type: 'create', step: 'C2', spool, name: names.lock(id), content: () => utf8.encode(`${plan.tx}\n`), syncData: false };
    }),
  );
}

/** What C2 learns as it goes, for the next windows and for a rollback. */
interface CopyState {
  readonly failed: MessageFailure[];
  /** Messages that failed a lock or a copy somewhere: rolled back after C3. */
  readonly copyFailed: Set<string>;
  /** Names this attempt made, or may have made, per destination ({@link madeKey}): only these are ever rolled back. */
  readonly made: Set<string>;
  readonly anchors: LockAnchors;
}

function madeKey(destination: number, name: string): string {
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
function lockedOf(plan: TransactionPlan, ids: readonly string[], locks: readonly Settled[], state: CopyState): string[] {
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
function failedSomewhere(plan: TransactionPlan, state: CopyState, id: string, outcomes: readonly Settled[], name: string): boolean {
  const k = outcomes.findIndex((r) => !r.ok);
  const r = outcomes[k];
  if (r === undefined || r.ok) return false;
  if (!state.copyFailed.has(id)) state.failed.push(failure(id, r.error, false, plan.destinations[k]!.spool.backend, name));
  state.copyFailed.add(id);
  return true;
}

/** C2: the copy of `id` to each destination, reading the source once when it is shared. */
function copyOps(plan: TransactionPlan, id: string): Op[] {
  const shared = plan.destinations.length > 1;
  const open = () => plan.source.backend.read(names.source(id));
  const raw = shared ? sharedRead(open) : open;
  return plan.destinations.map((d) => ({ type: 'create', step: 'C2', spool: d.spool.backend, name: copyName(plan, id), content: contentFor(raw, shared, id, d) }) as const);
}

/**
 * C2: copy every message of `live` to every destination, a window of
 * messages at a time. Seed locks each window first (a `d<id>` never appears
 * unlocked): the first window on its own, each later one while the window
 * before it is being copied.
 * @returns the bytes written per message (failures are in `state`).
 */
function* copyAll(plan: TransactionPlan, live: readonly string[], state: CopyState): Machine<Map<string, number>> {
  const bytesOf = new Map<string, number>();
  const seed = plan.protocol === 'seed';
  const n = plan.destinations.length;
  const perWindow = Math.max(1, Math.floor(plan.copyWindow ?? DEFAULT_COPY_WINDOW));
  // Seed on destinations with hard links: the first message alone, so that the next window's locks can link to its own.
  const first = seed && live.length > 0 && plan.destinations.some((d) => canLink(d.spool.backend)) ? 1 : 0;
  const windows: string[][] = first ? [live.slice(0, 1)] : [];
  for (let at = first; at < live.length; at += perWindow) windows.push(live.slice(at, at + perWindow));
  let ready = windows[0] ?? [];
  if (seed && ready.length > 0) ready = lockedOf(plan, ready, yield* settle('C2', lockOps(plan, ready, state.anchors)), state);
  for (let w = 0; w < windows.length; w++) {
    const group = ready;
    const next = windows[w + 1];
    const copies = group.flatMap((id) => copyOps(plan, id));
    const results = yield* settle('C2', [...copies, ...(seed && next ? lockOps(plan, next, state.anchors) : [])]);
    group.forEach((id, g) => {
      const outcomes = results.slice(g * n, g * n + n);
      outcomes.forEach((r, k) => noteMade(state, k, copyName(plan, id), r));
      failedSomewhere(plan, state, id, outcomes, copyName(plan, id));
      bytesOf.set(id, outcomes.reduce((sum, r) => sum + (r.ok ? (r.value as number) : 0), 0));
    });
    if (next) ready = seed ? lockedOf(plan, next, results.slice(copies.length), state) : next;
  }
  return bytesOf;
}

/**
 * Undo the copies of `ids` (C3's failure case): remove the copies (and seed
 * locks) this attempt made, make that durable, then drop their markers.
 */
function* rollBack(plan: TransactionPlan, ids: string[], made: ReadonlySet<string>): Machine<void> {
  if (ids.length === 0) return;
  const removals = (name: (id: string) => string): Op[] =>
    plan.destinations.flatMap((d, k) =>
      ids.filter((id) => made.has(madeKey(k, name(id)))).map((id) => ({ type: 'remove', step: 'C3', spool: d.spool.backend, name: name(id) }) as const),
    );
  yield* settle('C3', removals((id) => copyName(plan, id)));
  // Seed: the copies go before their locks; the other order shows consumers unlocked, uncommitted d<id>s.
  if (plan.protocol === 'seed') yield* settle('C3', removals(names.lock));
  // Removals of copies are durable before the markers go: otherwise a crash could leave copies no marker points at.
  yield* syncAll('C3', plan.destinations.map((d) => d.spool.backend));
  yield* settle('C3', ids.map((id) => ({ type: 'remove', step: 'C3', spool: plan.source.backend, name: names.marker(id) }) as const));
}

/**
 * One attempt of the chosen protocol over `plan.ids` (DESIGN.md §3), as a
 * machine that yields backend operations.
 *
 * staged: C1 markers → C2 copies as `w<id>.<tx>` → C3 sync → C5 unlink
 * `s<id>` (commit) → P publish `w` → `d<id>` → C6 unlink `m<id>`.
 *
 * seed: C1 markers → C2 lock (`l<id>`) and copy as `d<id>` → C3 sync → C5
 * commit → U unlock → C6.
 */
export function* transaction(plan: TransactionPlan): Machine<TransactionOutcome> {
  const S = plan.source.backend;
  const failed: MessageFailure[] = [];
  const skipped: string[] = [];
  const startedMs = plan.now();
  const live = yield* claim(plan, failed, skipped);
  for (const id of live) plan.lease?.owned.add(id);
  const state: CopyState = { failed, copyFailed: new Set(), made: new Set(), anchors: plan.destinations.map(() => undefined) };
  const { copyFailed, made } = state;
  const bytesOf = yield* copyAll(plan, live, state);
  plan.onCopied?.();
  const copied = live.filter((id) => !copyFailed.has(id));
  if (live.length > 0) {
    // C3: every copy's name is durable before the commit; else a crash after C5 could lose a copy that only the cache held.
    try {
      yield* syncAll('C3', plan.destinations.map((d) => d.spool.backend));
    } catch (err) {
      for (const id of copied) failed.push(failure(id, err, false, plan.destinations[0]!.spool.backend, copyName(plan, id)));
      yield* rollBack(plan, live, made);
      return { committed: [], skipped, failed, bytes: 0 };
    }
  }
  yield* rollBack(plan, [...copyFailed], made);

  // Pair the timeouts (qmail: DEATH 24 h < OSSIFIED 36 h): an owner past 2/3 of its lease never commits,
  // since a recoverer on another host may take the marker over once the lease ends and roll it back.
  const leaseFrom = Math.max(startedMs, plan.lease?.renewedMs ?? startedMs);
  if (copied.length > 0 && (plan.lease?.lost === true || plan.now() > leaseFrom + (plan.leaseMs * 2) / 3)) {
    for (const id of copied) {
      failed.push({ id, error: new FanoutError('EABORTED', 'lease ran out before the commit; rolled back (use a longer lease for slow destinations)', { spool: S.location, file: names.marker(id) }), committed: false });
    }
    yield* rollBack(plan, copied, made);
    return { committed: [], skipped, failed, bytes: 0 };
  }

  // C5: commit each message by unlinking s<id>; per message, so a crash inside C5 commits some and leaves the rest to roll back.
  const commits = yield* settle('C5', copied.map((id) => ({ type: 'remove', step: 'C5', spool: S, name: names.source(id) }) as const));
  const committed: string[] = [];
  const uncommitted: string[] = [];
  commits.forEach((r, k) => {
    const id = copied[k]!;
    // s<id> already gone: removed outside the protocol, or a second attempt committed it; never publish twice.
    if (r.ok && r.value === true) committed.push(id);
    else if (r.ok) {
      uncommitted.push(id);
      failed.push({ id, error: new FanoutError('ENOENT', 'the message vanished from the source during its transaction; rolled back', { spool: S.location, file: names.source(id) }), committed: false });
    } else {
      uncommitted.push(id);
      failed.push(failure(id, r.error, false, S, names.source(id)));
    }
  });
  if (committed.length > 0) {
    // C5: the commit is durable before any copy becomes visible (staged) and before any marker goes (else a re-fan: duplicate).
    yield* syncAll('C5', [S]);
  }
  yield* rollBack(plan, uncommitted, made);

  const stuck = new Set<string>();
  if (committed.length > 0) {
    if (plan.protocol === 'staged') {
      // P: publish the staged copies; a consumer never sees an uncommitted one.
      const pubs: { id: string; dest: PlannedDestination }[] = [];
      for (const d of plan.destinations) for (const id of committed) pubs.push({ id, dest: d });
      const results = yield* settle(
        'P',
        pubs.map(({ id, dest }) => ({ type: 'publish', step: 'P', spool: dest.spool.backend, from: names.staged(id, plan.tx), to: names.delivered(id) }) as const),
      );
      results.forEach((r, k) => {
        const { id, dest } = pubs[k]!;
        if (!r.ok && !stuck.has(id)) {
          stuck.add(id);
          failed.push(failure(id, r.error, true, dest.spool.backend, names.delivered(id)));
        }
      });
      // P: the d-names are durable before the markers go; else a crash could leave w-files that nobody publishes (loss).
      yield* syncAll('P', plan.destinations.map((d) => d.spool.backend));
    } else {
      yield* settle(
        'U',
        plan.destinations.flatMap((d) => committed.map((id) => ({ type: 'remove', step: 'U', spool: d.spool.backend, name: names.lock(id) }) as const)),
      );
      // U: the unlocks are durable before the markers go; else a crash leaves locks that no recovery will find.
      yield* syncAll('U', plan.destinations.map((d) => d.spool.backend));
    }
  }

  // C6: forget. No sync needed: a marker that reappears after a crash names a committed message, and recovery only completes it again (idempotent).
  const done = committed.filter((id) => !stuck.has(id));
  yield* settle('C6', done.map((id) => ({ type: 'remove', step: 'C6', spool: S, name: names.marker(id) }) as const));
  const bytes = done.reduce((sum, id) => sum + (bytesOf.get(id) ?? 0), 0);
  return { committed: done, skipped, failed, bytes };
}
