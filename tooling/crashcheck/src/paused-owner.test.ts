/**
 * The paused-owner family's quick slice. It asserts what must hold once the
 * core fences a paused owner; on the code of 2025 these fail (an owner paused
 * after its lease check commits after a recoverer rolled its attempt back:
 * loss; a seed owner's late rollback deletes the newer attempt's `d<id>`) —
 * see FOUND-ON-OLD-CODE.md.
 */
import { describe, expect, it } from 'vitest';
import { formatFamilyViolation } from './family.js';
import { pausedOwnerScenarios } from './matrix.js';
import { runPausedOwner } from './paused-owner.js';

describe('an owner paused past its lease', () => {
  it.each(pausedOwnerScenarios({ quick: true }).map((s) => [`${s.protocol} msgs=${s.messages} batch=${s.batch} stall ${s.stall}`, s] as const))('loses and duplicates nothing (%s)', async (_name, s) => {
    const r = await runPausedOwner(s);
    expect(r.name).toContain('paused-owner');
    expect(r.runs).toBeGreaterThan(0);
    expect(r.violations.map((v) => formatFamilyViolation(v))).toEqual([]);
  });
});
