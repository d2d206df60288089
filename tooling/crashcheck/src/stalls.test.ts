/**
 * The stalls family's quick slice: a copy that stalls in its transform, its source read or its
 * destination write ends the run with the message reported (ETIMEDOUT) and waiting again (or
 * held backed out while a destination's call is in the air), and a crash at points of that run
 * loses and duplicates nothing. Before the destination bound (`StallWatch`), a destination write
 * that never returned hung the run for good: every `destination-write` scenario failed.
 */
import { describe, expect, it } from 'vitest';
import { formatFamilyViolation } from './family.js';
import { stallsScenarios } from './matrix.js';
import { runStalls } from './stalls.js';

describe('a copy that stalls', () => {
  it.each(stallsScenarios({ quick: true }).map((s) => [`${s.protocol}, ${s.stall}, resumes ${s.resumes}`, s] as const))(
    'is bounded, reported and recovered (%s)',
    async (_name, s) => {
      const r = await runStalls(s);
      expect(r.name).toContain('stalls');
      expect(r.states).toBeGreaterThan(3);
      expect(r.violations.map((v) => formatFamilyViolation(v))).toEqual([]);
    },
    60_000,
  );
});
