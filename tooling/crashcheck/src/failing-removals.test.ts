/**
 * The failing-removals family's quick slice. It asserts what must hold once
 * a rollback keeps its marker while a removal failed; on the code of 2025 the
 * rollback cases fail (the marker goes although a copy could not be removed:
 * an orphan staged copy; seed: a `d<id>` left beside `s<id>` blocks the
 * message) — see FOUND-ON-OLD-CODE.md.
 */
import { describe, expect, it } from 'vitest';
import { runFailingRemovals } from './failing-removals.js';
import { formatFamilyViolation } from './family.js';
import { failingRemovalScenarios } from './matrix.js';

describe('removals that fail (EROFS, EPERM, EIO)', () => {
  it.each(failingRemovalScenarios({ quick: true }).map((s) => [`${s.protocol} during ${s.phase}`, s] as const))(
    'leave nothing a later recovery cannot find (%s)',
    async (_name, s) => {
      const r = await runFailingRemovals(s);
      expect(r.name).toContain('failing-removals');
      expect(r.runs).toBeGreaterThan(0);
      expect(r.violations.map((v) => formatFamilyViolation(v))).toEqual([]);
    },
  );
});
