import type { ContentSource, EntryStat, SpoolBackend } from '../backend/spool-backend.js';
import type { TwinKind } from '../spool/twins.js';
import type { StallWatch } from './stall-guard.js';

/**
 * The protocol's steps, named after the seed post (C1–C6, R1–R7) plus our
 * own publish step P and the lock steps of the seed protocol. Every yielded
 * operation says which step it belongs to, so traces read like the post.
 */
export type StepName =
  | 'C1' // intent: write the attempt's record m<tx>, then take each message s<id> -> p<id>.<tx>
  | 'C2' // copy the message to each destination
  | 'C3' // sync the copies and their directories
  | 'C5' // commit: p<id>.<tx> -> k<id>.<tx> (the fence: a takeover renames the same name)
  | 'P' // publish w<id>.<tx> -> d<id> (staged only)
  | 'U' // unlock the copies (seed only)
  | 'C6' // forget: unlink k<id>.<tx>, then the record m<tx>
  | 'B' // back out (roll back) an attempt: p -> b, remove its copies, b -> s
  | 'A' // attempts: count a failed attempt of a message (a<id>.0/1), hold it after too many (b -> h<id>.s)
  | 'Q' // queue commands: hold (s -> h), release (h -> s), delete (-> z, removed), discard a quarantined record
  | 'R1' // recovery: claim a stale attempt (next generation r<tx>.<g>)
  | 'R2' // recovery: roll back (the fence p -> b won, or b found)
  | 'R3' // recovery: roll forward (k<id>.<tx> found)
  | 'R4' // recovery: retire the record (m<tx> -> x<tx>, check, remove)
  | 'R6' // recovery: delete dead writers' temp files
  | 'L' // lease renewal: the owner's next claim generation r<tx>.<g>, and their removal when the attempt is over
  | 'CL' // consumer: claim d<id> -> c<id>.<who>, then drop the claim's crash twins
  | 'CA' // consumer: acknowledge (remove c<id>.<who>, sync)
  | 'CR' // consumer: give a claim back (c<id>.<who> -> d<id>, or -> h<id>.d when its count is full)
  | 'E'; // enqueue s<id>, or set a spool up (.fanout-spool): a temp published without clobbering

/**
 * One backend operation a machine asks its executor to perform. A machine
 * never does I/O itself (sans-IO); the executor performs the operation and
 * resumes the machine with the result, or throws the error into it.
 */
export type Op =
  /** Create `name` exclusively; a copy carries its `stall` watch, which bounds the whole call (see `StallWatch`). */
  | {
      readonly type: 'create';
      readonly step: StepName;
      readonly spool: SpoolBackend;
      readonly name: string;
      readonly content: () => ContentSource;
      readonly syncData?: false;
      readonly whole?: true;
      readonly stall?: StallWatch;
    }
  | {
      readonly type: 'publish';
      readonly step: StepName;
      readonly spool: SpoolBackend;
      readonly from: string;
      readonly to: string;
    }
  /** Hard-link `from` as `to` ({@link SpoolBackend.link}); only on backends that have it. */
  | {
      readonly type: 'link';
      readonly step: StepName;
      readonly spool: SpoolBackend;
      readonly from: string;
      readonly to: string;
    }
  /** Atomic rename ({@link SpoolBackend.rename}): the fence. */
  | {
      readonly type: 'rename';
      readonly step: StepName;
      readonly spool: SpoolBackend;
      readonly from: string;
      readonly to: string;
    }
  | { readonly type: 'remove'; readonly step: StepName; readonly spool: SpoolBackend; readonly name: string }
  | { readonly type: 'stat'; readonly step: StepName; readonly spool: SpoolBackend; readonly name: string }
  | { readonly type: 'syncDir'; readonly step: StepName; readonly spool: SpoolBackend }
  /** Read a small file (a seed lock's attempt id); resumes with its text, or `undefined` if it is gone. */
  | {
      readonly type: 'readSmall';
      readonly step: StepName;
      readonly spool: SpoolBackend;
      readonly name: string;
      readonly maxBytes: number;
    }
  /** The other names of message `id` in `spool` that are the file `fileId` (see `findTwins`); reads only. */
  | {
      readonly type: 'twins';
      readonly step: StepName;
      readonly spool: SpoolBackend;
      readonly id: string;
      readonly fileId: string;
      readonly kinds: readonly TwinKind[];
      readonly except: string;
    }
  /** Perform several operations concurrently; resumes with one {@link Settled} per operation. */
  | { readonly type: 'all'; readonly step: StepName; readonly ops: readonly Op[] };

/** The outcome of one operation inside an `all`, its value typed as what that operation resumes with. */
export type SettledAs<V> = { readonly ok: true; readonly value: V } | { readonly ok: false; readonly error: unknown };

/** The outcome of one operation inside an `all`. */
export type Settled = SettledAs<unknown>;

/** Any operation but `all`: what {@link perform} and {@link settle} take. */
export type LeafOp = Exclude<Op, { readonly type: 'all' }>;

/** What each operation resumes the machine with. */
export interface OpResults {
  create: number;
  publish: void;
  link: void;
  rename: void;
  remove: boolean;
  stat: EntryStat | undefined;
  syncDir: void;
  twins: string[];
  readSmall: string | undefined;
  all: Settled[];
}

/** A protocol machine: yields operations, returns its outcome. */
export type Machine<T> = Generator<Op, T, unknown>;

/**
 * Yield one operation and resume with what it gives, typed by its kind ({@link OpResults}); its failure is thrown
 * into the caller. The one place a machine's resumption value is cast: the executor answers each kind so.
 *
 * @example
 * ```ts
 * const st = yield* perform({ type: 'stat', step: 'C1', spool, name: 'mT1' }); // EntryStat | undefined
 * ```
 */
export function* perform<O extends LeafOp>(op: O): Machine<OpResults[O['type']]> {
  return (yield op) as OpResults[O['type']];
}

/**
 * Perform `ops` at once (one `all`); one outcome per operation, in order, never thrown. No operation: nothing is
 * yielded.
 */
export function* settle<O extends LeafOp>(
  step: StepName,
  ops: readonly O[],
): Machine<SettledAs<OpResults[O['type']]>[]> {
  if (ops.length === 0) return [];
  return (yield { type: 'all', step, ops }) as SettledAs<OpResults[O['type']]>[];
}

/**
 * Sync each spool once, at once; a failed sync leaves durability unknown, so it is thrown: recovery decides from what
 * is on disk.
 */
export function* syncAll(step: StepName, spools: Iterable<SpoolBackend>): Machine<void> {
  const results = yield* settle(
    step,
    [...new Set(spools)].map((spool) => ({ type: 'syncDir', step, spool }) as const),
  );
  const bad = results.find((r) => !r.ok);
  if (bad && !bad.ok) throw bad.error;
}

/** One line of a trace: `C5 remove /spool/S sX`. */
export function describeOp(op: Op): string {
  switch (op.type) {
    case 'create':
      return `${op.step} create ${op.spool.location} ${op.name}`;
    case 'publish':
      return `${op.step} publish ${op.spool.location} ${op.from} -> ${op.to}`;
    case 'link':
      return `${op.step} link ${op.spool.location} ${op.from} -> ${op.to}`;
    case 'rename':
      return `${op.step} rename ${op.spool.location} ${op.from} -> ${op.to}`;
    case 'remove':
      return `${op.step} remove ${op.spool.location} ${op.name}`;
    case 'stat':
      return `${op.step} stat ${op.spool.location} ${op.name}`;
    case 'syncDir':
      return `${op.step} sync-dir ${op.spool.location}`;
    case 'readSmall':
      return `${op.step} read ${op.spool.location} ${op.name}`;
    case 'twins':
      return `${op.step} twins ${op.spool.location} ${op.except}`;
    case 'all':
      return `${op.step} all [${op.ops.map(describeOp).join('; ')}]`;
  }
}
