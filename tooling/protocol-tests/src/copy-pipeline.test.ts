/**
 * How C2 keeps the disk busy: a window of messages copied at once, the seed
 * protocol's locks linked to one file per destination (and made while the
 * window before is copied), and transactions that have finished copying
 * leaving their slot to the next while they commit. A rollback removes only
 * what its attempt made.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  fanOut,
  FanoutError,
  overrideBackend,
  type FanoutEvent,
  type SpoolBackend,
  type SpoolEntry,
} from '@fanout/core';
import { parseProtocolName, type ExecutorHooks, type Op } from '@fanout/core/internal';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInvariants, posixWorld, type PosixWorld } from './harness.js';

let world: PosixWorld | undefined;
afterEach(() => world?.dispose());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The destination's name of an op, and which destination (index) it is in. */
function where(w: PosixWorld, op: Op): { dest: number; name: string } | undefined {
  if (op.type === 'all' || op.type === 'syncDir' || op.type === 'twins') return undefined;
  const dest = w.dests.findIndex((d) => d.location === op.spool.location);
  if (dest < 0) return undefined;
  return { dest, name: op.type === 'link' || op.type === 'publish' || op.type === 'rename' ? op.to : op.name };
}

/**
 * Watches the seed protocol's C2 in every destination: the type of each lock
 * operation (`create` or `link`), and any `d<id>` created before its own
 * `l<id>` existed there.
 */
function lockWatch(w: PosixWorld): { hooks: ExecutorHooks; lockOps: (dest: number) => string[]; violations: string[] } {
  const ops: { dest: number; type: string }[] = [];
  const locked = new Set<string>();
  const violations: string[] = [];
  return {
    lockOps: (dest) => ops.filter((o) => o.dest === dest).map((o) => o.type),
    violations,
    hooks: {
      beforeOp: (op) => {
        const at = where(w, op);
        if (!at || op.step !== 'C2') return;
        const parsed = parseProtocolName(at.name);
        if (parsed.kind === 'lock') ops.push({ dest: at.dest, type: op.type });
        if (parsed.kind === 'delivered' && !locked.has(`${at.dest}/${parsed.id}`))
          violations.push(`d${parsed.id} in D${at.dest} before its lock`);
      },
      afterOp: (op, outcome) => {
        const at = where(w, op);
        const parsed = at && parseProtocolName(at.name);
        if (at && parsed?.kind === 'lock' && outcome.ok) locked.add(`${at.dest}/${parsed.id}`);
      },
    },
  };
}

/** A view of `source` that lists its entries sorted by name, so that a test knows which message comes first. */
function sortedListing(source: SpoolBackend): SpoolBackend {
  return overrideBackend(source, {
    async *list() {
      const all: SpoolEntry[] = [];
      for await (const e of source.list()) all.push(e);
      yield* all.sort((a, b) => a.name.localeCompare(b.name));
    },
  });
}

describe('seed locks', () => {
  it('are one file per destination, linked as every l<id>, and each lands before its d<id> is created', async () => {
    world = await posixWorld(2, 6);
    const w = world;
    const ids = [...w.messages.keys()];
    const watch = lockWatch(w);
    const inodes: Set<number>[] = [new Set(), new Set()];
    let sampled = false;
    await fanOut({
      source: w.source,
      destinations: w.dests.map((spool) => ({ spool })),
      protocol: 'seed',
      batchSize: 6,
      recoverFirst: false,
      hooks: {
        beforeOp: (op) => {
          watch.hooks.beforeOp!(op);
          // At C3 every lock exists: sample their inodes once.
          if (op.step === 'C3' && !sampled) {
            sampled = true;
            w.dests.forEach((_, d) =>
              ids.forEach((id) => inodes[d]!.add(statSync(join(w.root, `D${d}`, `l${id}`)).ino)),
            );
          }
        },
        afterOp: watch.hooks.afterOp!,
      },
    });
    expect(watch.violations).toEqual([]);
    for (const d of [0, 1]) {
      expect(watch.lockOps(d)).toEqual(['create', 'link', 'link', 'link', 'link', 'link']);
      expect(inodes[d]!.size).toBe(1);
    }
    expect([...inodes[0]!][0]).not.toBe([...inodes[1]!][0]);
    expect([...w.list('D0'), ...w.list('D1')].filter((n) => n.startsWith('l'))).toEqual([]);
    expect(checkInvariants(w, 2)).toEqual({ inSource: 0, delivered: 6 });
  });

  it('are files of their own in a destination without hard links, and links in the one beside it', async () => {
    world = await posixWorld(2, 5);
    const w = world;
    // A backend without hard links is one without link(); an override cannot remove a method, a Proxy can.
    const noLinks = (d: SpoolBackend): SpoolBackend => {
      const view = overrideBackend(d, {});
      return new Proxy(view, {
        get: (t, p) => (p === 'link' ? undefined : Reflect.get(t, p)),
        has: (t, p) => p !== 'link' && Reflect.has(t, p),
      });
    };
    const watch = lockWatch(w);
    await fanOut({
      source: w.source,
      destinations: [{ spool: noLinks(w.dests[0]!) }, { spool: w.dests[1]! }],
      protocol: 'seed',
      batchSize: 5,
      recoverFirst: false,
      hooks: watch.hooks,
    });
    expect(watch.violations).toEqual([]);
    expect(watch.lockOps(0)).toEqual(['create', 'create', 'create', 'create', 'create']);
    expect(watch.lockOps(1)).toEqual(['create', 'link', 'link', 'link', 'link']);
    expect(checkInvariants(w, 2)).toEqual({ inSource: 0, delivered: 5 });
  });

  it('link to the first lock the attempt made: when the first message cannot be locked, to the next one', async () => {
    world = await posixWorld(2, 6);
    const w = world;
    const ids = [...w.messages.keys()].sort();
    writeFileSync(join(w.root, 'D1', `l${ids[0]}`), 'stray\n');
    const watch = lockWatch(w);
    const s = await fanOut({
      source: sortedListing(w.source),
      destinations: w.dests.map((spool) => ({ spool })),
      protocol: 'seed',
      batchSize: 6,
      recoverFirst: false,
      hooks: watch.hooks,
    });
    expect(s.committed).toBe(5);
    expect(watch.violations).toEqual([]);
    // Windows [0], [1 2 3 4], [5]: in D1 the first message's lock is somebody else's, so the next window's locks are
    // files until one of them is ours, and the last window links to that one.
    expect(watch.lockOps(0)).toEqual(['create', 'link', 'link', 'link', 'link', 'link']);
    expect(watch.lockOps(1)).toEqual(['create', 'create', 'create', 'create', 'create', 'link']);
    expect(w.list('D1').filter((n) => n.startsWith('l'))).toEqual([`l${ids[0]}`]);
  });

  it('of a message that could not be locked everywhere are rolled back with it, and the others still commit', async () => {
    world = await posixWorld(2, 4);
    const w = world;
    const ids = [...w.messages.keys()].sort();
    // A stray lock of the third message in D1 (a consumer's or an old one): that message must wait.
    writeFileSync(join(w.root, 'D1', `l${ids[2]}`), 'stray\n');
    const s = await fanOut({
      source: w.source,
      destinations: w.dests.map((spool) => ({ spool })),
      protocol: 'seed',
      batchSize: 4,
      recoverFirst: false,
    });
    expect(s.committed).toBe(3);
    expect(s.failed.map((f) => [f.id, f.error.code, f.committed])).toEqual([[ids[2], 'EEXIST', false]]);
    expect(w.list('S')).toContain(`s${ids[2]}`);
    expect(w.list('D0').filter((n) => n.startsWith('l') || n === `d${ids[2]}`)).toEqual([]);
    // The stray lock is not this attempt's: the rollback leaves it.
    expect(w.list('D1').filter((n) => n.startsWith('l'))).toEqual([`l${ids[2]}`]);
    expect(readFileSync(join(w.root, 'D1', `l${ids[2]}`), 'utf8')).toBe('stray\n');
  });

  it('never remove a d<id> that was there before (an earlier delivery of the same id)', async () => {
    world = await posixWorld(2, 2);
    const w = world;
    const ids = [...w.messages.keys()].sort();
    writeFileSync(join(w.root, 'D1', `d${ids[1]}`), 'delivered earlier\n');
    const s = await fanOut({
      source: w.source,
      destinations: w.dests.map((spool) => ({ spool })),
      protocol: 'seed',
      batchSize: 2,
      recoverFirst: false,
    });
    expect(s.committed).toBe(1);
    expect(s.failed.map((f) => [f.id, f.error.code, f.committed])).toEqual([[ids[1], 'EEXIST', false]]);
    expect(readFileSync(join(w.root, 'D1', `d${ids[1]}`), 'utf8')).toBe('delivered earlier\n');
    expect(w.list('D0')).not.toContain(`d${ids[1]}`);
    expect(w.list('S')).toContain(`s${ids[1]}`);
    expect([...w.list('D0'), ...w.list('D1')].filter((n) => n.startsWith('l'))).toEqual([]);
  });
});

describe('the copy window', () => {
  async function peakCopies(copyWindow: number | undefined): Promise<number> {
    world = await posixWorld(2, 8);
    const w = world;
    let inFlight = 0;
    let peak = 0;
    const slow = (d: SpoolBackend) =>
      overrideBackend(d, {
        async createExclusive(name, content, options) {
          inFlight++;
          peak = Math.max(peak, inFlight);
          try {
            await sleep(15);
            return await d.createExclusive(name, content, options);
          } finally {
            inFlight--;
          }
        },
      });
    await fanOut({
      source: w.source,
      destinations: w.dests.map((d) => ({ spool: slow(d) })),
      batchSize: 8,
      concurrency: 1,
      recoverFirst: false,
      ...(copyWindow ? { copyWindow } : {}),
    });
    expect(checkInvariants(w, 2)).toEqual({ inSource: 0, delivered: 8 });
    world.dispose();
    world = undefined;
    return peak;
  }

  it('copies 4 messages of a batch at once by default, and 1 when told', async () => {
    expect(await peakCopies(undefined)).toBe(8);
    expect(await peakCopies(1)).toBe(2);
    expect(await peakCopies(3)).toBe(6);
  });
});

describe('transactions in flight', () => {
  it('start copying when another has finished copying: at most `concurrency` copying, twice that in flight', async () => {
    world = await posixWorld(2, 8);
    const w = world;
    const slowSync = (d: SpoolBackend) =>
      overrideBackend(d, { syncDir: async () => void (await sleep(10), await d.syncDir()) });
    const open = new Map<string, number>(); // tx -> its messages not yet reported committed
    let peakOpen = 0;
    const copying = new Map<string, number>(); // tx -> its C2 creates in flight
    let peakCopying = 0;
    let overlapped = false;
    await fanOut({
      source: slowSync(w.source),
      destinations: w.dests.map((d) => ({ spool: slowSync(d) })),
      batchSize: 2,
      concurrency: 1,
      recoverFirst: false,
      onEvent: (e: FanoutEvent) => {
        if (e.type === 'message-started') {
          open.set(e.tx, (open.get(e.tx) ?? 0) + 1);
          peakOpen = Math.max(peakOpen, open.size);
        } else if (e.type === 'message-committed') {
          const left = open.get(e.tx)! - 1;
          if (left === 0) open.delete(e.tx);
          else open.set(e.tx, left);
        }
      },
      hooks: {
        beforeOp: (op) => {
          const parsed = op.type === 'create' && op.step === 'C2' ? parseProtocolName(op.name) : undefined;
          if (parsed?.kind !== 'staged') return;
          copying.set(parsed.tx, (copying.get(parsed.tx) ?? 0) + 1);
          peakCopying = Math.max(peakCopying, copying.size);
          // Another attempt has started and not yet committed: this one copies while it finishes.
          if ([...open.keys()].some((tx) => tx !== parsed.tx)) overlapped = true;
        },
        afterOp: (op) => {
          const parsed = op.type === 'create' && op.step === 'C2' ? parseProtocolName(op.name) : undefined;
          if (parsed?.kind !== 'staged') return;
          const left = copying.get(parsed.tx)! - 1;
          if (left === 0) copying.delete(parsed.tx);
          else copying.set(parsed.tx, left);
        },
      },
    });
    expect(peakCopying).toBe(1);
    expect(peakOpen).toBe(2);
    expect(overlapped).toBe(true);
    expect(checkInvariants(w, 2)).toEqual({ inSource: 0, delivered: 8 });
  });
});

describe('a run stopped by its own event sink', () => {
  it('lets the transactions in flight finish before it rejects', async () => {
    world = await posixWorld(2, 4);
    const w = world;
    const slowSync = (d: SpoolBackend) =>
      overrideBackend(d, { syncDir: async () => void (await sleep(15), await d.syncDir()) });
    const txs = new Set<string>();
    const run = fanOut({
      source: slowSync(w.source),
      destinations: w.dests.map((d) => ({ spool: slowSync(d) })),
      batchSize: 1,
      concurrency: 1,
      recoverFirst: false,
      onEvent: (e: FanoutEvent) => {
        if (e.type !== 'message-started') return;
        txs.add(e.tx);
        // The second transaction starts while the first commits: the sink fails there.
        if (txs.size === 2) throw new Error('event sink broke');
      },
    });
    await expect(run).rejects.toThrow('event sink broke');
    // Nothing half-done when the promise settles: no marker, no staged copy; the first message is delivered.
    expect(w.list('S').filter((n) => n.startsWith('m') || n.startsWith('t'))).toEqual([]);
    for (const d of ['D0', 'D1']) expect(w.list(d).filter((n) => n.startsWith('w'))).toEqual([]);
    expect(checkInvariants(w, 2)).toEqual({ inSource: 3, delivered: 1 });
  });
});

describe('a rollback', () => {
  it('removes a copy whose create failed after writing it (the outcome is unknown, so it may be ours)', async () => {
    world = await posixWorld(2, 3);
    const w = world;
    const ids = [...w.messages.keys()].sort();
    const d1 = w.dests[1]!;
    const failing = overrideBackend(d1, {
      async createExclusive(name, content, options) {
        const written = await d1.createExclusive(name, content, options);
        if (name.startsWith(`w${ids[1]}.`))
          throw new FanoutError('EIO', 'the reply was lost', { spool: d1.location, file: name });
        return written;
      },
    });
    const s = await fanOut({
      source: w.source,
      destinations: [{ spool: w.dests[0]! }, { spool: failing }],
      batchSize: 3,
      recoverFirst: false,
    });
    expect(s.committed).toBe(2);
    expect(s.failed.map((f) => [f.id, f.error.code])).toEqual([[ids[1], 'EIO']]);
    expect(w.list('S')).toContain(`s${ids[1]}`);
    expect(w.list('D1').filter((n) => n.startsWith('w') || n === `d${ids[1]}`)).toEqual([]);
    expect(w.list('S').filter((n) => n.startsWith('m'))).toEqual([]);
  });
});
