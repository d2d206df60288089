/**
 * A seed copy `d<id>` is visible to consumers once its lock `l<id>` is gone.
 * Rolling an uncommitted seed attempt back must therefore remove each copy
 * before its lock, in recovery (R2) and in a worker's own rollback (C3): found
 * by the interleaving mode when a dead worker stopped between its first copy
 * and the commit.
 */
import { fanOut, recover } from '@fanout/core';
import { type Op } from '@fanout/core/internal';
import { describe, expect, it } from 'vitest';
import { checkVisibleCopies } from './invariants.js';
import { messagesOf } from './scenario.js';
import { cloneMachine, setUpMachine, spoolsOn } from './world.js';

const deadOwner = { host: 'crashed-host', bootId: '', pidNamespace: '', pid: 999_999, startTime: '' };
const messages = messagesOf({ messages: 2, transform: false });

describe('rolling back a seed attempt', () => {
  it('never shows an unlocked, uncommitted copy while recovery removes copies and locks', async () => {
    const start = await setUpMachine('posix', 2, messages);
    const sim = cloneMachine(start);
    const sp = spoolsOn(sim, 'posix', 2);
    let copies = 0;
    // A worker that dies after its first message's copies, as it starts the second's (locks and d-files in place).
    await fanOut({
      source: sp.source,
      destinations: sp.dests.map((spool) => ({ spool })),
      protocol: 'seed',
      recoverFirst: false,
      owner: deadOwner,
      leaseMs: 1,
      now: () => 0,
      hooks: {
        beforeOp: (op: Op) => {
          if (op.type === 'create' && op.name.startsWith('d') && copies++ === 2) throw new Error('worker died');
        },
      },
    }).catch(() => undefined);
    expect(
      sim
        .list('/D0')
        .filter((n) => n.startsWith('d') || n.startsWith('l'))
        .sort(),
    ).toEqual([`d${messages[0]!.id}`, `l${messages[0]!.id}`, `l${messages[1]!.id}`]);

    const seen: string[] = [];
    const r = await recover({
      spool: sp.source,
      open: sp.open,
      ownerProbe: async () => 'dead',
      hooks: {
        // Removals that run side by side may finish in any order: let every d-file removal lose the race.
        beforeOp: async (op: Op) => {
          if (op.type === 'remove' && op.name.startsWith('d')) await new Promise((r) => setTimeout(r, 5));
        },
        afterOp: () => void seen.push(checkVisibleCopies(sim, 2, messages, 'seed') ?? 'ok'),
      },
    });
    expect(r.rolledBack).toBe(2);
    expect(seen.length).toBeGreaterThan(4);
    expect(seen.filter((s) => s !== 'ok')).toEqual([]);
    expect(sim.list('/D0').filter((n) => n.startsWith('d') || n.startsWith('l'))).toEqual([]);
  });
});
