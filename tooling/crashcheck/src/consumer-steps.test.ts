/**
 * The consumer-steps family's quick slice, and the two steps it shows necessary: a claim that
 * removes its crash twins (without it, a consumer takes `d<id>` whose staged twin `w<id>.<tx>`
 * recovery then publishes again), and the acknowledgement's directory sync (without it, a crash
 * brings the acknowledged claim back and it is put back and consumed again) — see
 * FOUND-ON-OLD-CODE.md.
 */
import { describe, expect, it } from 'vitest';
import { runConsumerSteps } from './consumer-steps.js';
import { formatFamilyViolation } from './family.js';
import { consumerStepsScenarios } from './matrix.js';

describe('consumer, clean-up and renewal steps driven as machines', () => {
  it.each(consumerStepsScenarios({ quick: true }).map((s) => [`${s.protocol} ${s.workload}`, s] as const))(
    'deliver each message exactly once (%s)',
    async (_name, s) => {
      const r = await runConsumerSteps(s);
      expect(r.name).toContain('consumer-steps');
      expect(r.states).toBeGreaterThan(10);
      expect(r.violations.map((v) => formatFamilyViolation(v))).toEqual([]);
    },
    120_000,
  );

  it('finds the duplicate when the claim does not remove a crash twin', async () => {
    // Only the switch points i = 0, j = 0 (the consumer first, then recovery), after every crash point of the fan-out.
    const r = await runConsumerSteps({
      protocol: 'staged',
      backend: 'posix',
      dests: 2,
      messages: 1,
      workload: 'interleaved',
      maxStates: 3,
      crashStates: 1,
      scheduleStride: 1000,
      dropTwins: true,
    });
    expect(r.violations[0]?.invariant).toBe('duplicate or loss: M0 consumed 2 times from /D0');
  }, 120_000);

  it('finds the duplicate when the acknowledgement is not synced', async () => {
    const r = await runConsumerSteps({
      protocol: 'staged',
      backend: 'posix',
      dests: 2,
      messages: 1,
      workload: 'crash-inside',
      maxStates: 2,
      crashStates: 2,
      dropSync: 'CA',
    });
    expect(r.violations[0]?.invariant).toBe('duplicate or loss: M0 consumed 2 times from /D0');
  }, 120_000);
});
