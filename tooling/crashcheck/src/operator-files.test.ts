/**
 * The operator-files family's quick slice: files an operator keeps in the spools survive every
 * crash, recovery, temp clean-up, consumer pass and claim release. On the code before the exact
 * names (issue 14, defect 5) recovery deleted `rnotes.1`-style files at once, `todo.txt`, `tags`
 * and `test.log` as dead temps, removed `kernel.log` as a committed orphan and turned `photo.jpg`
 * into a message — see FOUND-ON-OLD-CODE.md.
 */
import { describe, expect, it } from 'vitest';
import { formatFamilyViolation } from './family.js';
import { operatorFilesScenarios } from './matrix.js';
import { runOperatorFiles } from './operator-files.js';

describe("an operator's files in the spools", () => {
  it.each(operatorFilesScenarios({ quick: true }).map((s) => [`${s.protocol} ${s.backend}`, s] as const))(
    'are never touched (%s)',
    async (_name, s) => {
      const r = await runOperatorFiles(s);
      expect(r.name).toContain('operator-files');
      expect(r.states).toBeGreaterThan(5);
      expect(r.violations.map((v) => formatFamilyViolation(v))).toEqual([]);
    },
  );
});
