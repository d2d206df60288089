/**
 * The paused-owner family's quick slice. staged: an owner paused past its
 * lease, at any step, while a recoverer on another host takes its attempt
 * over and another worker delivers the message, loses and duplicates
 * nothing (on the old code it lost the message: see FOUND-ON-OLD-CODE.md).
 * With `--drop-fence`-style unfenced commits the same family shows the loss,
 * so the fence is what it checks. An owner killed as soon as it resumed
 * leaves nothing either: recovery keeps the record of an owner it cannot
 * prove dead, and removes through it the copies the owner made after the
 * takeover (on the old code: leftovers in the destinations). seed: its copies are `d<id>` files, which
 * a paused owner can still make after a takeover; the family shows that
 * documented weakness.
 */
import { describe, expect, it } from 'vitest';
import { formatFamilyViolation } from './family.js';
import { pausedOwnerScenarios } from './matrix.js';
import { pausedOwnerName, runPausedOwner } from './paused-owner.js';

const quick = pausedOwnerScenarios({ quick: true });

describe('an owner paused past its lease', () => {
  it.each(
    quick
      .filter((s) => s.protocol === 'staged')
      .map((s) => [pausedOwnerName(s).replace('paused-owner ', ''), s] as const),
  )('loses and duplicates nothing (%s)', async (_name, s) => {
    const r = await runPausedOwner(s);
    expect(r.name).toContain('paused-owner');
    expect(r.runs).toBeGreaterThan(0);
    expect(r.violations.map((v) => formatFamilyViolation(v))).toEqual([]);
  });

  it('loses a message when the commit is not fenced (the checker sees what the fence prevents)', async () => {
    const unfenced = pausedOwnerScenarios({ quick: true, dropFence: true }).filter((s) => s.protocol === 'staged');
    const found = [];
    for (const s of unfenced) found.push(...(await runPausedOwner(s)).violations);
    expect(found.map((v) => v.invariant).join('\n')).toMatch(/never consumed/);
  });

  it('shows the seed protocol’s weakness: an owner paused past its lease still makes its copies', async () => {
    const seed = quick.filter((s) => s.protocol === 'seed');
    const found = [];
    for (const s of seed) found.push(...(await runPausedOwner(s)).violations);
    expect(found.length).toBeGreaterThan(0);
  });
});
