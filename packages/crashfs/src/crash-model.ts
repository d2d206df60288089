/**
 * The persistence model: which states a crash after the first `k` logged
 * operations may leave. See README.md (next to this file) for the model in
 * words and where it is more pessimistic than ext4.
 *
 * In short: what was made durable by an fsync is always there; of the rest,
 * every directory's pending entry operations persist as a prefix (or, in
 * `subset` mode, as any subset), independently of other directories; every
 * file's pending data persists fully, not at all, or as zeros of the same
 * extent, independently of other files and of the names.
 */
import { canonicalKey } from './canonical-tree.js';
import type { FsState, MicroOp } from './fs-state.js';
import { chainOf, type LoggedOp } from './op-log.js';

/** Options for enumerating crash states. */
export interface CrashStateOptions {
  /** Crash after this many logged operations (default: all of them). */
  readonly after?: number;
  /**
   * How many states to build at most for this crash point (default 4096).
   * Below it the enumeration is exhaustive; above it, states are sampled
   * with a seeded PRNG (always including "everything lost" and "everything
   * persisted"), and {@link CrashSpace.exhaustive} says so.
   */
  readonly maxStates?: number;
  /** Seed of the sampling PRNG (default 1): the same seed gives the same states. */
  readonly seed?: number;
  /**
   * `prefix` (default): a directory's pending entry operations persist in
   * order (a later one implies the earlier ones), as with ext4's journal.
   * `subset`: any subset of them, more pessimistic than any real filesystem.
   */
  readonly entryOrder?: 'prefix' | 'subset';
  /** Skip states whose canonical key was already produced (default true). */
  readonly distinct?: boolean;
}

/** What the enumeration of one crash point covered; filled in while iterating. */
export interface CrashSpace {
  /** The crash point: operations `0..after-1` happened. */
  readonly after: number;
  /** Directories with entry operations not yet made durable. */
  readonly pendingDirs: number;
  /** Files with data not yet made durable (reachable or not). */
  readonly pendingFiles: number;
  /** An upper bound of the states the model allows at this point. */
  readonly upperBound: number;
  /** The `maxStates` bound used. */
  readonly bound: number;
  /** States built so far (including duplicates that `distinct` skipped). */
  built: number;
  /** Distinct states produced so far. */
  produced: number;
  /** True until some choice had to be sampled rather than enumerated. */
  exhaustive: boolean;
}

/** One state produced by {@link enumerateCrashStates}. */
export interface RawCrashState {
  /** The state after fsck: only what is reachable from `/`. */
  readonly state: FsState;
  readonly key: string;
  /** What did not persist (or persisted as zeros), one readable line each. */
  readonly lost: readonly string[];
}

interface ChainItem {
  readonly micro: MicroOp;
  readonly op: LoggedOp;
  readonly part: number;
}

interface Chain {
  readonly id: string;
  readonly items: ChainItem[];
  /** Items `0..durable-1` were made durable by an fsync of the chain. */
  durable: number;
}

type DataOutcome = 'full' | 'none' | 'zeros';
/** Index 0 is "lost" and the last "persisted", so all-zero vectors are the durable state. */
const DATA_OUTCOMES: readonly DataOutcome[] = ['none', 'zeros', 'full'];

/** Split the first `after` operations of `log` into chains with their durable prefixes. */
function chainsAt(log: readonly LoggedOp[], after: number): Map<string, Chain> {
  const chains = new Map<string, Chain>();
  const chain = (id: string): Chain => {
    let c = chains.get(id);
    if (c === undefined) chains.set(id, (c = { id, items: [], durable: 0 }));
    return c;
  };
  for (let i = 0; i < after; i++) {
    const op = log[i] as LoggedOp;
    op.micro.forEach((micro, part) => chain(chainOf(micro)).items.push({ micro, op, part }));
    // An fsync makes everything its chain received before it durable.
    if (op.syncs !== undefined) {
      const c = chain(op.syncs);
      c.durable = c.items.length;
    }
  }
  return chains;
}

/** A small seeded PRNG (mulberry32). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Mixed-radix vectors over `radices`: all of them when their product is at
 * most `budget`, else `budget` samples starting with all-zero and all-max.
 */
function* choiceVectors(
  radices: readonly number[],
  budget: number,
  random: () => number,
  space: CrashSpace,
): Generator<number[]> {
  const total = radices.reduce((a, r) => a * r, 1);
  if (total <= budget) {
    const v = radices.map(() => 0);
    for (let n = 0; n < total; n++) {
      yield [...v];
      for (let i = 0; i < v.length; i++) {
        v[i] = (v[i] as number) + 1;
        if ((v[i] as number) < (radices[i] as number)) break;
        v[i] = 0;
      }
    }
    return;
  }
  space.exhaustive = false;
  yield radices.map(() => 0);
  if (budget > 1) yield radices.map((r) => r - 1);
  for (let n = 2; n < budget; n++) yield radices.map((r) => Math.floor(random() * r));
}

function describePart(item: ChainItem): string {
  const m = item.micro;
  const [a = '', b = ''] = item.op.paths;
  const what = `#${item.op.seq} ${item.op.kind} ${a}${b ? ` -> ${b}` : ''}`;
  if (item.op.kind !== 'rename') return what;
  if (m.t === 'entry-set') return `${what} [new name]`;
  return item.part === 0 && item.op.micro.length === 3
    ? `${what} [old destination removed]`
    : `${what} [old name removed]`;
}

/**
 * Every state (or a seeded sample, see {@link CrashStateOptions.maxStates})
 * that a crash after `after` operations of `log`, started from `base`, may
 * leave. `space` is filled in as states are produced.
 */
export function enumerateCrashStates(
  base: FsState,
  log: readonly LoggedOp[],
  options: CrashStateOptions = {},
): { space: CrashSpace; states: Iterable<RawCrashState> } {
  const after = Math.max(0, Math.min(options.after ?? log.length, log.length));
  const bound = Math.max(1, options.maxStates ?? 4096);
  const subset = options.entryOrder === 'subset';
  const distinct = options.distinct ?? true;
  const chains = chainsAt(log, after);
  const dirChains = [...chains.values()].filter((c) => c.id.startsWith('d') && c.items.length > c.durable);
  const fileChains = [...chains.values()].filter((c) => c.id.startsWith('f') && c.items.length > c.durable);
  const radices = dirChains.map((c) => {
    const pending = c.items.length - c.durable;
    return subset ? 2 ** Math.min(pending, 30) : pending + 1;
  });
  const entryCombos = radices.reduce((a, r) => a * r, 1);
  const space: CrashSpace = {
    after,
    pendingDirs: dirChains.length,
    pendingFiles: fileChains.length,
    upperBound: entryCombos * 3 ** fileChains.length,
    bound,
    built: 0,
    produced: 0,
    exhaustive: true,
  };

  function* states(): Generator<RawCrashState> {
    const random = prng(options.seed ?? 1);
    const seen = new Set<string>();
    // Everything before the last fsync of its chain is in every crash state.
    const durable = new Set<MicroOp>();
    for (const c of chains.values()) for (let j = 0; j < c.durable; j++) durable.add((c.items[j] as ChainItem).micro);
    const dataBudget = entryCombos <= bound ? Math.max(1, Math.floor(bound / entryCombos)) : 1;
    let combo = 0;
    for (const vector of choiceVectors(radices, bound, random, space)) {
      const comboIndex = combo++;
      // Which pending entry operations persist in this combination.
      const kept = new Set<MicroOp>();
      const lost: string[] = [];
      dirChains.forEach((c, i) => {
        const choice = vector[i] as number;
        for (let j = c.durable; j < c.items.length; j++) {
          const n = j - c.durable;
          const persists = subset ? ((choice >>> n) & 1) === 1 : n < choice;
          const item = c.items[j] as ChainItem;
          if (persists) kept.add(item.micro);
          else lost.push(`not persisted: ${describePart(item)}`);
        }
      });
      const withNames = base.clone();
      for (let i = 0; i < after; i++) {
        const op = log[i] as LoggedOp;
        for (const m of op.micro) if (durable.has(m) || kept.has(m)) withNames.apply(m, op.time, false, true);
      }
      // Only files still reachable need their data choices enumerated.
      const live = withNames.reachable();
      const relevant = fileChains.filter((c) => live.has(Number(c.id.slice(1))));
      const dataRadices = relevant.map(() => DATA_OUTCOMES.length);
      // When names are sampled, each sample gets one data vector: the extremes go with the extremes.
      const dataVectors =
        entryCombos <= bound
          ? choiceVectors(dataRadices, dataBudget, random, space)
          : [dataRadices.map((r) => (comboIndex === 0 ? 0 : comboIndex === 1 ? r - 1 : Math.floor(random() * r)))];
      for (const dataVector of dataVectors) {
        const state = relevant.length > 0 ? withNames.clone() : withNames;
        const dataLost: string[] = [];
        relevant.forEach((c, i) => {
          const outcome = DATA_OUTCOMES[dataVector[i] as number] as DataOutcome;
          const pending = c.items.slice(c.durable);
          if (outcome !== 'none')
            for (const item of pending) state.apply(item.micro, item.op.time, outcome === 'zeros', true);
          if (outcome !== 'full') {
            const first = pending[0] as ChainItem;
            const last = pending[pending.length - 1] as ChainItem;
            const range = first.op.seq === last.op.seq ? `#${first.op.seq}` : `#${first.op.seq}..#${last.op.seq}`;
            dataLost.push(
              `data ${outcome === 'none' ? 'not persisted' : 'persisted as zeros'}` +
                `: ${range} ${first.op.paths[0] ?? ''} (${pending.length} unsynced)`,
            );
          }
        });
        const collected = state.collected();
        const key = canonicalKey(collected);
        space.built++;
        if (distinct) {
          if (seen.has(key)) continue;
          seen.add(key);
        }
        space.produced++;
        yield { state: collected, key, lost: [...lost, ...dataLost] };
      }
    }
  }

  return { space, states: { [Symbol.iterator]: states } };
}
