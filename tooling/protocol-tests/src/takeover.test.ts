import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeClaim, encodeMarker, fanOut, overrideBackend, recover, type MarkerRecord } from '@fanout/core';
import { checkInvariants, posixWorld, type PosixWorld } from './harness.js';

let world: PosixWorld | undefined;
afterEach(() => world?.dispose());

const uuidOf = (w: PosixWorld, dir: string) => JSON.parse(readFileSync(join(w.root, dir, '.fanout-spool'), 'utf8')).uuid as string;

/** A world with one message whose attempt `tx` crashed after staging copies in both destinations. */
async function crashedAttempt(tx = 'TX1', ownerPid = 999_999): Promise<{ w: PosixWorld; id: string; marker: MarkerRecord }> {
  const w = await posixWorld(2, 1);
  world = w;
  const id = [...w.messages.keys()][0]!;
  const marker: MarkerRecord = {
    id,
    tx,
    protocol: 'staged',
    source: { uuid: uuidOf(w, 'S'), location: w.source.location },
    destinations: [0, 1].map((d) => ({ uuid: uuidOf(w, `D${d}`), location: w.dests[d]!.location })),
    owner: { host: hostname(), bootId: '', pidNamespace: '', pid: ownerPid, startTime: '' },
    createdMs: Date.now(),
    leaseUntilMs: Date.now() + 60_000,
  };
  writeFileSync(join(w.root, 'S', `m${id}`), encodeMarker(marker));
  for (const d of [0, 1]) writeFileSync(join(w.root, `D${d}`, `w${id}.${tx}`), w.messages.get(id)!);
  return { w, id, marker };
}

describe('takeover of stale markers by several recoverers', () => {
  it('lets exactly one of two concurrent recoverers act on a stale marker', async () => {
    const { w } = await crashedAttempt();
    // The crashed owner is dead; both recoverers run in this (live) process.
    const probe = async (o: { pid: number }) => (o.pid === process.pid ? ('alive' as const) : ('dead' as const));
    const [a, b] = await Promise.all([recover({ spool: w.source, open: w.open, ownerProbe: probe }), recover({ spool: w.source, open: w.open, ownerProbe: probe })]);
    expect(a.rolledBack + b.rolledBack).toBe(1);
    expect(checkInvariants(w, 2)).toEqual({ inSource: 1, delivered: 0 });
  });

  it('takes over from a recoverer that died mid-recovery: the next claim generation, then all claims removed', async () => {
    const { w, id } = await crashedAttempt();
    writeFileSync(join(w.root, 'S', `r${id}.TX1_1`), encodeClaim({ host: hostname(), pid: 999_998, claimedMs: Date.now() }));
    const summary = await recover({ spool: w.source, open: w.open, ownerProbe: async (o) => (o.pid === process.pid ? 'alive' : 'dead') });
    expect(summary.rolledBack).toBe(1);
    expect(checkInvariants(w, 2)).toEqual({ inSource: 1, delivered: 0 });
  });

  it("removes a dead recoverer's leftover claim whose marker is already gone", async () => {
    world = await posixWorld(1, 0);
    writeFileSync(join(world.root, 'S', 'rM9.TX7_1'), encodeClaim({ host: hostname(), pid: 999_998, claimedMs: Date.now() }));
    await recover({ spool: world.source, open: world.open, ownerProbe: async () => 'dead' });
    expect(readdirSync(join(world.root, 'S'))).toEqual(['.fanout-spool']);
  });

  it('leaves alone a marker that a live recoverer has taken over', async () => {
    const { w, id } = await crashedAttempt();
    writeFileSync(join(w.root, 'S', `r${id}.TX1_1`), encodeClaim({ host: hostname(), pid: process.pid, claimedMs: Date.now() }));
    const summary = await recover({ spool: w.source, open: w.open, ownerProbe: async (o) => (o.pid === process.pid ? 'alive' : 'dead') });
    expect(summary).toMatchObject({ rolledBack: 0, rolledForward: 0, inFlight: 1 });
    expect(readdirSync(join(w.root, 'D0'))).toContain(`w${id}.TX1`);
  });

  it('never disturbs a newer attempt: a late recoverer whose marker was finished and reused backs off and deletes nothing', async () => {
    const { w, id, marker } = await crashedAttempt('TX1');
    let release!: () => void;
    const paused = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const atClaim = new Promise<void>((r) => (reached = r));
    // Recoverer A has read and verified m<id> (TX1) and is about to claim it…
    const late = recover({
      spool: w.source,
      open: w.open,
      ownerProbe: async () => 'dead',
      hooks: {
        beforeOp: async (op) => {
          if (op.step === 'R1') {
            reached();
            await paused;
          }
        },
      },
    });
    await atClaim;
    // …meanwhile recoverer B rolls TX1 back and a new, live attempt TX2 starts on the same message.
    await recover({ spool: w.source, open: w.open, ownerProbe: async () => 'dead' });
    expect(readdirSync(join(w.root, 'S'))).not.toContain(`m${id}`);
    const newer = { ...marker, tx: 'TX2', owner: { ...marker.owner, pid: process.pid } };
    writeFileSync(join(w.root, 'S', `m${id}`), encodeMarker(newer));
    for (const d of [0, 1]) writeFileSync(join(w.root, `D${d}`, `w${id}.TX2`), 'copy of the newer attempt');
    release();
    const summary = await late;
    expect(summary.rolledBack + summary.rolledForward).toBe(0);
    expect(readFileSync(join(w.root, 'S', `m${id}`), 'utf8')).toContain('tx: TX2');
    for (const d of [0, 1]) expect(readdirSync(join(w.root, `D${d}`))).toContain(`w${id}.TX2`);
  });
});

describe('leases', () => {
  it('an owner past two thirds of its lease rolls back instead of committing, leaving the message in S', async () => {
    world = await posixWorld(2, 2);
    let t = 1_000_000;
    const summary = await fanOut({
      source: world.source,
      destinations: world.dests.map((spool) => ({ spool })),
      leaseMs: 60_000,
      now: () => (t += 25_000),
    });
    expect(summary.committed).toBe(0);
    expect(summary.failed.map((f) => f.error.code)).toEqual(['EABORTED', 'EABORTED']);
    expect(checkInvariants(world, 2)).toEqual({ inSource: 2, delivered: 0 });
  });

  it('renews the lease of a long transaction, so a recoverer that cannot probe the owner leaves it alone, and cleans its renewals up', async () => {
    world = await posixWorld(2, 1);
    const w = world;
    const real = w.dests[1]!;
    const slow = overrideBackend(real, {
      async createExclusive(name, content) {
        if (name.startsWith('w')) await new Promise((r) => setTimeout(r, 900));
        return real.createExclusive(name, content);
      },
    });
    const unknown = async () => 'unknown' as const;
    const run = fanOut({ source: w.source, destinations: [{ spool: w.dests[0]! }, { spool: slow }], leaseMs: 300, ownerProbe: unknown });
    await new Promise((r) => setTimeout(r, 600));
    // The marker's own lease (300 ms) has run out; only the renewals say the owner is alive.
    expect(readdirSync(join(w.root, 'S')).some((n) => n.startsWith('r'))).toBe(true);
    const during = await recover({ spool: w.source, open: w.open, ownerProbe: unknown });
    expect(during).toMatchObject({ inFlight: 1, rolledBack: 0, rolledForward: 0 });
    const summary = await run;
    expect(summary.committed).toBe(1);
    expect(checkInvariants(w, 2)).toEqual({ inSource: 0, delivered: 1 });
  });
});
