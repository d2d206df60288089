/**
 * How C2 keeps the disk busy: a window of messages copied at once, the seed
 * protocol's locks linked to one file per destination (and made while the
 * window before is copied), and transactions that have finished copying
 * leaving their slot to the next while they commit.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fanOut, overrideBackend, parseProtocolName, type FanoutEvent, type Op, type SpoolBackend } from '@fanout/core';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInvariants, posixWorld, type PosixWorld } from './harness.js';

let world: PosixWorld | undefined;
afterEach(() => world?.dispose());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The destination's name of an op, and which destination (index) it is in. */
function where(w: PosixWorld, op: Op): { dest: number; name: string } | undefined {
  if (op.type === 'all' || op.type === 'syncDir') return undefined;
  const dest = w.dests.findIndex((d) => d.location === op.spool.location);
  if (dest < 0) return undefined;
  return { dest, name: op.type === 'link' || op.type === 'publish' ? op.to : op.name };
}

describe('seed locks', () => {
  it('are one file per destination, linked as every l<id>, and each lands before its d<id> is created', async () => {
    world = await posixWorld(2, 6);
    const w = world;
    const ids = [...w.messages.keys()];
    const lockOps: { dest: number; type: string }[] = [];
    const lockedAt = new Map<string, number>();
    const violations: string[] = [];
    const inodes: Set<number>[] = [new Set(), new Set()];
    let seq = 0;
    let sampled = false;
    await fanOut({
      source: w.source,
      destinations: w.dests.map((spool) => ({ spool })),
      protocol: 'seed',
      batchSize: 6,
      recoverFirst: false,
      hooks: {
        beforeOp: (op) => {
          const at = where(w, op);
          if (!at || op.step !== 'C2') {
            // At C3 every lock exists: sample their inodes once.
            if (op.step === 'C3' && !sampled) {
              sampled = true;
              w.dests.forEach((_, d) => ids.forEach((id) => inodes[d]!.add(statSync(join(w.root, `D${d}`, `l${id}`)).ino)));
            }
            return;
          }
          const parsed = parseProtocolName(at.name);
          if (parsed.kind === 'lock') lockOps.push({ dest: at.dest, type: op.type });
          if (parsed.kind === 'delivered' && !lockedAt.has(`${at.dest}/${parsed.id}`)) violations.push(`d${parsed.id} in D${at.dest} before its lock`);
        },
        afterOp: (op, outcome) => {
          const at = where(w, op);
          const parsed = at && parseProtocolName(at.name);
          if (at && parsed?.kind === 'lock' && outcome.ok) lockedAt.set(`${at.dest}/${parsed.id}`, seq++);
        },
      },
    });
    expect(violations).toEqual([]);
    for (const d of [0, 1]) {
      expect(lockOps.filter((o) => o.dest === d).map((o) => o.type)).toEqual(['create', 'link', 'link', 'link', 'link', 'link']);
      expect(inodes[d]!.size).toBe(1);
    }
    expect([...inodes[0]!][0]).not.toBe([...inodes[1]!][0]);
    expect(w.list('D0').filter((n) => n.startsWith('l'))).toEqual([]);
    expect(checkInvariants(w, 2)).toEqual({ inSource: 0, delivered: 6 });
  });

  it('are files of their own in a destination without hard links', async () => {
    world = await posixWorld(2, 5);
    const w = world;
    const noLinks = (d: SpoolBackend) => overrideBackend(d, { capabilities: { ...d.capabilities, hardLinks: false } });
    const types: string[] = [];
    await fanOut({
      source: w.source,
      destinations: [{ spool: noLinks(w.dests[0]!) }, { spool: w.dests[1]! }],
      protocol: 'seed',
      batchSize: 5,
      recoverFirst: false,
      hooks: {
        beforeOp: (op) => {
          const at = where(w, op);
          if (at?.dest === 0 && op.step === 'C2' && parseProtocolName(at.name).kind === 'lock') types.push(op.type);
        },
      },
    });
    expect(types).toEqual(['create', 'create', 'create', 'create', 'create']);
    expect(checkInvariants(w, 2)).toEqual({ inSource: 0, delivered: 5 });
  });

  it('of a message that could not be locked everywhere are rolled back with it, and the others still commit', async () => {
    world = await posixWorld(2, 4);
    const w = world;
    const ids = [...w.messages.keys()].sort();
    // A stray lock of the third message in D1 (a consumer's or an old one): that message must wait.
    writeFileSync(join(w.root, 'D1', `l${ids[2]}`), 'stray\n');
    const s = await fanOut({ source: w.source, destinations: w.dests.map((spool) => ({ spool })), protocol: 'seed', batchSize: 4, recoverFirst: false });
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
    const s = await fanOut({ source: w.source, destinations: w.dests.map((spool) => ({ spool })), protocol: 'seed', batchSize: 2, recoverFirst: false });
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
    await fanOut({ source: w.source, destinations: w.dests.map((d) => ({ spool: slow(d) })), batchSize: 8, concurrency: 1, recoverFirst: false, ...(copyWindow ? { copyWindow } : {}) });
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
  it('start copying when another has finished copying, at most `concurrency` copying and twice that in flight', async () => {
    world = await posixWorld(2, 8);
    const w = world;
    const slowSync = (d: SpoolBackend) => overrideBackend(d, { syncDir: async () => void (await sleep(20), await d.syncDir()) });
    const txOfId = new Map<string, string>();
    const open = new Map<string, number>(); // tx -> messages not yet reported
    let peakOpen = 0;
    const copying = new Map<string, number>(); // tx -> C2 creates in flight
    let peakCopying = 0;
    let overlapped = false;
    const finishing = new Set<string>(); // txs past C2, not yet reported
    await fanOut({
      source: slowSync(w.source),
      destinations: w.dests.map((d) => ({ spool: slowSync(d) })),
      batchSize: 2,
      concurrency: 1,
      recoverFirst: false,
      onEvent: (e: FanoutEvent) => {
        if (e.type === 'message-started') {
          txOfId.set(e.id, e.tx);
          open.set(e.tx, (open.get(e.tx) ?? 0) + 1);
          peakOpen = Math.max(peakOpen, open.size);
        } else if (e.type === 'message-committed') {
          const left = open.get(e.tx)! - 1;
          if (left === 0) {
            open.delete(e.tx);
            finishing.delete(e.tx);
          } else open.set(e.tx, left);
        }
      },
      hooks: {
        beforeOp: (op) => {
          if (op.type !== 'create' || op.step !== 'C2') {
            if (op.type !== 'all' && ['C3', 'C5', 'P', 'C6'].includes(op.step) && 'name' in op) {
              const parsed = parseProtocolName(op.name);
              if ('id' in parsed && txOfId.has(parsed.id)) finishing.add(txOfId.get(parsed.id)!);
            }
            return;
          }
          const parsed = parseProtocolName(op.name);
          if (parsed.kind !== 'staged') return;
          copying.set(parsed.tx, (copying.get(parsed.tx) ?? 0) + 1);
          peakCopying = Math.max(peakCopying, copying.size);
          if ([...finishing].some((tx) => tx !== parsed.tx)) overlapped = true;
        },
        afterOp: (op) => {
          if (op.type !== 'create' || op.step !== 'C2') return;
          const parsed = parseProtocolName(op.name);
          if (parsed.kind !== 'staged') return;
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
