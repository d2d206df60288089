/**
 * The consumer-recovery family's quick slice. It asserts what must hold once
 * the core is fixed: on the code of 2025 these fail (the staged publish is
 * link + unlink, and a crash between them lets a consumer take `d<id>` that
 * recovery publishes again; a consumer's claim interrupted the same way lets
 * `releaseStaleClaims` put back a message another consumer already took) —
 * see FOUND-ON-OLD-CODE.md.
 */
import { describe, expect, it } from 'vitest';
import { runConsumerRecovery } from './consumer-recovery.js';
import { formatFamilyViolation } from './family.js';
import { consumerRecoveryScenarios } from './matrix.js';

describe('consumers across a crash and the recovery after it', () => {
  it.each(consumerRecoveryScenarios({ quick: true }).map((s) => [`${s.protocol} ${s.mode}`, s] as const))(
    'consumes each message exactly once (%s)',
    async (_name, s) => {
      const r = await runConsumerRecovery(s);
      expect(r.name).toContain('consumer-recovery');
      expect(r.runs).toBeGreaterThan(0);
      expect(r.violations.map((v) => formatFamilyViolation(v))).toEqual([]);
    },
  );
});
