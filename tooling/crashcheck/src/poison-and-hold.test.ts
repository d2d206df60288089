/**
 * The poison-and-hold family's quick slice: attempt counts, holds, releases
 * and deletes crashed at every step (every third in this slice), with a
 * worker, a recoverer and consumers, lose and duplicate nothing, keep what
 * each returned command promised, and never deliver a poison message. The
 * two sabotaged variants show that the queue commands' syncs and release's
 * order (count removed before the rename) are what it checks.
 */
import { describe, expect, it } from 'vitest';
import { formatFamilyViolation } from './family.js';
import { poisonScenarios } from './matrix.js';
import { runPoisonAndHold } from './poison-and-hold.js';

describe('poison messages, holds, releases and deletes', () => {
  it.each(poisonScenarios({ quick: true }).map((s) => [`${s.protocol} ${s.workload}`, s] as const))(
    'crash at any step loses and duplicates nothing (%s)',
    async (_name, s) => {
      const r = await runPoisonAndHold(s);
      expect(r.name).toContain('poison-and-hold');
      expect(r.states).toBeGreaterThan(0);
      expect(r.violations.map((v) => formatFamilyViolation(v))).toEqual([]);
    },
  );

  it('sees a hold undone by a crash when the queue commands do not sync', async () => {
    const [s] = poisonScenarios({ quick: true, dropSync: 'Q' }).filter(
      (x) => x.protocol === 'staged' && x.workload === 'race-hold',
    );
    const r = await runPoisonAndHold(s!);
    expect(r.violations.map((v) => v.invariant).join('\n')).toMatch(
      /hold M0 returned, but after the crash M0 is not held/,
    );
  });

  it('sees a released message wait with its old count when release renames before it removes the count', async () => {
    const [s] = poisonScenarios({ dropOrder: true }).filter(
      (x) => x.protocol === 'staged' && x.backend === 'posix' && x.workload === 'poison',
    );
    const r = await runPoisonAndHold({ ...s!, maxStates: 4 });
    expect(r.violations.map((v) => v.invariant).join('\n')).toMatch(/M0 waits as sM0 with 2 counted failures/);
  });
});
