/**
 * The owner-probes family: with the core's one rule no consumer in another
 * PID namespace or on a host whose name shares its first 24 characters has
 * its claim released while it lives (consumed twice on the old code), and a
 * dead consumer's claim, pid gone or reused, is released (stuck forever on
 * the old code). The old pid-only rule is run too, to show the family sees it.
 */
import { describe, expect, it } from 'vitest';
import { formatFamilyViolation } from './family.js';
import { ownerProbeScenarios, runOwnerProbes, withOldProbe } from './owner-probes.js';

describe('owner probes over PID namespaces and colliding host names', () => {
  it.each(ownerProbeScenarios().map((s) => [`${s.case} dests=${s.dests} msgs=${s.messages}`, s] as const))(
    'consume each message exactly once with the one rule (%s)',
    async (_name, s) => {
      const r = await runOwnerProbes(s);
      expect(r.violations.map((v) => formatFamilyViolation(v))).toEqual([]);
    },
  );

  // (Colliding host names are told apart before any probe is asked: releaseStaleClaims compares the full host's hash.)
  it.each(['other-pid-namespace', 'dead-pid-reused'] as const)('catch the old pid-only rule (%s)', async (c) => {
    const s = ownerProbeScenarios({ quick: true }).find((x) => x.case === c)!;
    const r = await runOwnerProbes(withOldProbe(s));
    expect(r.violations.length).toBe(1);
  });
});
