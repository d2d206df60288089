import { readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fanOut, FanoutError, overrideBackend, recover, type SpoolBackend } from '@fanout/core';
import { encodeClaim } from '@fanout/core/internal';
import { checkInvariants, names, plantAttempt, posixWorld, type PosixWorld, simTx } from './harness.js';

let world: PosixWorld | undefined;
afterEach(() => world?.dispose());

/** Where a machine stops: `reached` resolves once it stopped there (`stop()`), `open()` lets it go on. */
function stopPoint() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  let reach!: () => void;
  const reached = new Promise<void>((r) => (reach = r));
  return {
    reached,
    open,
    stop: async () => {
      reach();
      await opened;
    },
  };
}

/** A world with one message whose attempt `tx` crashed after staging copies in both destinations. */
async function crashedAttempt(tx = simTx('TX1'), ownerPid = 999_999) {
  const w = await posixWorld(2, 1);
  world = w;
  const planted = await plantAttempt(w, {
    tx,
    owner: { host: hostname(), bootId: '', pidNamespace: '', pid: ownerPid, startTime: '' },
  });
  return { w, ...planted };
}

const claimBy = (pid: number) =>
  encodeClaim({
    owner: { host: hostname(), bootId: '', pidNamespace: '', pid, startTime: '' },
    claimedMs: Date.now(),
    leaseMs: 60_000,
  });

describe('takeover of stale attempts by several recoverers', () => {
  it('lets exactly one of two concurrent recoverers act on a stale attempt', async () => {
    const { w } = await crashedAttempt();
    // The crashed owner is dead; both recoverers run in this (live) process.
    const probe = async (o: { pid: number }) => (o.pid === process.pid ? ('alive' as const) : ('dead' as const));
    const [a, b] = await Promise.all([
      recover({ spool: w.source, open: w.open, ownerProbe: probe }),
      recover({ spool: w.source, open: w.open, ownerProbe: probe }),
    ]);
    expect(a.rolledBack + b.rolledBack).toBe(1);
    expect(checkInvariants(w, 2)).toEqual({ inSource: 1, delivered: 0 });
  });

  it('takes over from a recoverer that died mid-recovery: the next claim generation, then all claims removed', async () => {
    const { w, tx } = await crashedAttempt();
    writeFileSync(join(w.root, 'S', `r${tx}.1`), claimBy(999_998));
    const summary = await recover({
      spool: w.source,
      open: w.open,
      ownerProbe: async (o) => (o.pid === process.pid ? 'alive' : 'dead'),
    });
    expect(summary.rolledBack).toBe(1);
    expect(checkInvariants(w, 2)).toEqual({ inSource: 1, delivered: 0 });
  });

  it("removes a dead recoverer's leftover claim whose attempt is over, and never a file that only looks like a claim", async () => {
    world = await posixWorld(1, 0);
    writeFileSync(join(world.root, 'S', `r${simTx('TX7')}.1`), claimBy(999_998));
    for (const operator of ['report.pdf', 'run.sh', 'readme.txt', 'results.csv', `r${simTx('TX8')}.1`])
      writeFileSync(join(world.root, 'S', operator), 'the operator’s');
    await recover({ spool: world.source, open: world.open, ownerProbe: async () => 'dead' });
    expect(readdirSync(join(world.root, 'S')).sort()).toEqual(
      ['.fanout-spool', `r${simTx('TX8')}.1`, 'readme.txt', 'report.pdf', 'results.csv', 'run.sh'].sort(),
    );
  });

  it('leaves alone an attempt that a live recoverer has taken over', async () => {
    const { w, id, tx } = await crashedAttempt();
    writeFileSync(join(w.root, 'S', `r${tx}.1`), claimBy(process.pid));
    const summary = await recover({
      spool: w.source,
      open: w.open,
      ownerProbe: async (o) => (o.pid === process.pid ? 'alive' : 'dead'),
    });
    expect(summary).toMatchObject({ rolledBack: 0, rolledForward: 0, inFlight: 1 });
    expect(readdirSync(join(w.root, 'D0'))).toContain(`w${id}.${tx}`);
  });

  it('never disturbs a newer attempt: a late recoverer of a finished attempt backs off and deletes nothing', async () => {
    const { w, id } = await crashedAttempt(simTx('TX1'));
    const atClaim = stopPoint();
    // Recoverer A has read and verified m<TX1> and is about to claim it…
    const late = recover({
      spool: w.source,
      open: w.open,
      ownerProbe: async () => 'dead',
      hooks: {
        beforeOp: async (op) => {
          if (op.step === 'R1') await atClaim.stop();
        },
      },
    });
    await atClaim.reached;
    // …meanwhile recoverer B rolls TX1 back and a new, live attempt TX2 takes the same message.
    await recover({ spool: w.source, open: w.open, ownerProbe: async () => 'dead' });
    expect(readdirSync(join(w.root, 'S'))).not.toContain(`m${simTx('TX1')}`);
    await plantAttempt(w, {
      tx: simTx('TX2'),
      owner: { host: hostname(), bootId: '', pidNamespace: '', pid: process.pid, startTime: '' },
    });
    atClaim.open();
    const summary = await late;
    expect(summary.rolledBack + summary.rolledForward).toBe(0);
    expect(readdirSync(join(w.root, 'S')).sort()).toEqual(
      ['.fanout-spool', `m${simTx('TX2')}`, `p${id}.${simTx('TX2')}`].sort(),
    );
    for (const d of [0, 1]) expect(readdirSync(join(w.root, `D${d}`))).toContain(`w${id}.${simTx('TX2')}`);
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

  it('a slow destination on which 32 messages cannot be copied within the lease makes progress in smaller batches instead of rolling back forever (issue 15: found on real NFS)', async () => {
    world = await posixWorld(2, 40);
    const w = world;
    // A clock that moves 3 s per staged copy: 64 copies of a 32-message batch take 192 s, past 2/3 of a 60 s lease; 4
    // messages take 24 s.
    let t = 1_000_000;
    const slow = (inner: SpoolBackend) =>
      overrideBackend(inner, {
        async createExclusive(name, content, options) {
          if (name.startsWith('w')) t += 3_000;
          return inner.createExclusive(name, content, options);
        },
      });
    const summary = await fanOut({
      source: w.source,
      destinations: w.dests.map((spool) => ({ spool: slow(spool) })),
      leaseMs: 60_000,
      concurrency: 1,
      now: () => t,
    });
    expect(summary.failed).toEqual([]);
    expect(summary.committed).toBe(40);
    expect(checkInvariants(w, 2)).toEqual({ inSource: 0, delivered: 40 });
  });

  it('a renewal whose publish happened although it reported a failure (a lost reply on NFS) is known for its own: the next renewal does not take it for a takeover (issue 15)', async () => {
    world = await posixWorld(2, 1);
    const w = world;
    const real = w.dests[1]!;
    const slow = overrideBackend(real, {
      async createExclusive(name, content) {
        if (name.startsWith('w')) await new Promise((r) => setTimeout(r, 900));
        return real.createExclusive(name, content);
      },
    });
    let lostReplies = 0;
    const source = overrideBackend(w.source, {
      async publish(from, to) {
        await w.source.publish(from, to);
        if (to.startsWith('r') && lostReplies++ === 0)
          throw new FanoutError('EIO', 'injected: reply lost after the claim was published', {
            spool: w.source.location,
            file: to,
          });
      },
    });
    const summary = await fanOut({
      source,
      destinations: [{ spool: w.dests[0]! }, { spool: slow }],
      leaseMs: 600,
      ownerProbe: async () => 'unknown' as const,
    });
    expect(lostReplies).toBeGreaterThan(1);
    expect(summary.failed).toEqual([]);
    expect(summary.committed).toBe(1);
    expect(checkInvariants(w, 2)).toEqual({ inSource: 0, delivered: 1 });
    expect(readdirSync(join(w.root, 'S')).filter((n) => n.startsWith('r'))).toEqual([]);
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
    const run = fanOut({
      source: w.source,
      destinations: [{ spool: w.dests[0]! }, { spool: slow }],
      leaseMs: 300,
      ownerProbe: unknown,
    });
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

describe('the record of an owner that cannot be proven dead', () => {
  /** A stale attempt of an owner on another host (nobody can tell if it lives), its lease run out a minute ago. */
  async function pausedOwnersAttempt() {
    const w = await posixWorld(2, 1);
    world = w;
    const planted = await plantAttempt(w, {
      owner: { host: 'another-host', bootId: '', pidNamespace: '', pid: 4242, startTime: '' },
      leaseUntilMs: Date.now() - 60_000,
    });
    return { w, ...planted };
  }
  const cannotTell = async () => 'unknown' as const;

  it('stays after its takeover, so that a copy the owner makes afterwards is removed by the next recovery', async () => {
    const { w, id, tx } = await pausedOwnersAttempt();
    const first = await recover({ spool: w.source, open: w.open, ownerProbe: cannotTell });
    expect(first).toMatchObject({ rolledBack: 1, awaitingOwner: 1 });
    expect(names(w, 'S').sort()).toEqual([`m${tx}`, `s${id}`]);
    expect([names(w, 'D0'), names(w, 'D1')]).toEqual([[], []]);
    // The owner was only cut off: its create, sent before the takeover, lands now; then it is killed.
    writeFileSync(join(w.root, 'D1', `w${id}.${tx}`), w.messages.get(id)!);
    const second = await recover({ spool: w.source, open: w.open, ownerProbe: cannotTell });
    expect(second).toMatchObject({ rolledBack: 0, awaitingOwner: 1 });
    expect([names(w, 'D0'), names(w, 'D1')]).toEqual([[], []]);
    expect(names(w, 'S').sort()).toEqual([`m${tx}`, `s${id}`]);
    // Once the owner is proven dead the record goes (and its claims with it).
    const last = await recover({ spool: w.source, open: w.open, ownerProbe: async () => 'dead' });
    expect(last).toMatchObject({ awaitingOwner: 0, failed: [], refused: [] });
    expect(names(w, 'S')).toEqual([`s${id}`]);
    expect(checkInvariants(w, 2)).toEqual({ inSource: 1, delivered: 0 });
  });

  it('goes once its lease ran out longer ago than the age after which recovery presumes a writer dead', async () => {
    const { w, id } = await pausedOwnersAttempt();
    await recover({ spool: w.source, open: w.open, ownerProbe: cannotTell, staleTempMs: 30_000 });
    expect(names(w, 'S')).toEqual([`s${id}`]);
  });

  it('is retired by its owner when it carries on, finds it lost the fence and removes its own copies', async () => {
    const w = await posixWorld(2, 1);
    world = w;
    // The owner stops before its commit, past its lease; a recoverer on another host takes the attempt over meanwhile.
    const atCommit = stopPoint();
    const owner = fanOut({
      source: w.source,
      destinations: w.dests.map((spool) => ({ spool })),
      recoverFirst: false,
      leaseMs: 60_000,
      ownerProbe: cannotTell,
      hooks: {
        beforeOp: async (op) => {
          if (op.type === 'rename' && op.step === 'C5') await atCommit.stop();
        },
      },
    });
    await atCommit.reached;
    const later = Date.now() + 120_000;
    const r = await recover({ spool: w.source, open: w.open, ownerProbe: cannotTell, now: () => later });
    expect(r).toMatchObject({ rolledBack: 1, awaitingOwner: 1 });
    expect(names(w, 'S').filter((n) => n.startsWith('m'))).toHaveLength(1);
    atCommit.open();
    const outcome = await owner;
    expect(outcome.committed).toBe(0);
    // It removed the copies it made and, the recoverer being done with the message, the record.
    expect([names(w, 'D0'), names(w, 'D1')]).toEqual([[], []]);
    expect(names(w, 'S')).toEqual([...w.messages.keys()].map((m) => `s${m}`));
  });
});

describe("a live worker's own unfinished attempt", () => {
  it('is recovered by the same process once it no longer runs there, although the probe says its owner is alive', async () => {
    const w = await posixWorld(2, 1);
    world = w;
    const [id] = [...w.messages.keys()];
    // The publish into D1 fails once: the message is committed, its commit and record stay for recovery.
    let failures = 0;
    const flaky = overrideBackend(w.dests[1]!, {
      rename(from: string, to: string) {
        if (from.startsWith('w') && failures++ === 0)
          return Promise.reject(new FanoutError('EIO', 'scripted: the publish failed', { file: from }));
        return w.dests[1]!.rename(from, to);
      },
    });
    const selfAlive = async (o: { pid: number }) => (o.pid === process.pid ? ('alive' as const) : ('dead' as const));
    const first = await fanOut({
      source: w.source,
      destinations: [{ spool: w.dests[0]! }, { spool: flaky }],
      ownerProbe: selfAlive,
    });
    expect(first.failed.map((f) => [f.id, f.committed])).toEqual([[id, true]]);
    expect(names(w, 'S').some((n) => n.startsWith('m'))).toBe(true);
    // The next pass of the same (live) worker finishes it: nobody else would while this process lives.
    const second = await fanOut({
      source: w.source,
      destinations: [{ spool: w.dests[0]! }, { spool: w.dests[1]! }],
      ownerProbe: selfAlive,
    });
    expect(second.recovery).toMatchObject({ rolledForward: 1, inFlight: 0 });
    expect(checkInvariants(w, 2)).toEqual({ inSource: 0, delivered: 1 });
    expect(names(w, 'S')).toEqual([]);
  });
});
