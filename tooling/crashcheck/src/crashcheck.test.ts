import { describe, expect, it } from 'vitest';
import type { StepName } from '@fanout/core/internal';
import { runConsumerScenario } from './consumer-scenario.js';
import { scenarios } from './matrix.js';
import { runScenario, type Scenario } from './scenario.js';

const small = (over: Partial<Scenario>): Scenario => ({
  protocol: 'staged',
  backend: 'posix',
  dests: 2,
  messages: 2,
  batch: 1,
  transform: false,
  maxStates: 64,
  nestedMaxStates: 8,
  ...over,
});

describe('the crash checker', () => {
  it('finds no violation in the quick slice of the matrix (both protocols, posix and nfs, batches, transforms)', async () => {
    let states = 0;
    for (const s of scenarios({ quick: true })) {
      const r = await runScenario(s);
      expect(r.violations, r.name).toEqual([]);
      states += r.states;
    }
    expect(states).toBeGreaterThan(1000);
  });

  it.each<[string, StepName, Partial<Scenario>]>([
    ['C1: markers durable before any copy', 'C1', {}],
    ['C3: copies durable before the commit', 'C3', {}],
    ['C5: the commit durable before publishing', 'C5', {}],
    ['P: publications durable before the markers go', 'P', {}],
    ['U: seed unlocks durable before the markers go', 'U', { protocol: 'seed' }],
    ['R2: a rollback durable before its marker goes', 'R2', {}],
    ['R3: a roll-forward durable before its marker goes', 'R3', {}],
  ])('catches a protocol without the %s directory sync', async (_what, dropSync, over) => {
    const r = await runScenario(small({ dropSync, ...over }));
    expect(r.violations.length).toBeGreaterThan(0);
  });

  it('shows the seed protocol counterexample when a consumer ignores its locks, and none when it honours them', async () => {
    const ignoring = await runConsumerScenario({ protocol: 'seed', backend: 'posix', dests: 2, messages: 1, honourLock: false });
    expect(ignoring.violations.length).toBeGreaterThan(0);
    expect(ignoring.violations[0]!.invariant).toMatch(/consumed 2 times|before its commit/);
    const honouring = await runConsumerScenario({ protocol: 'seed', backend: 'posix', dests: 2, messages: 1, honourLock: true });
    expect(honouring.violations).toEqual([]);
    const staged = await runConsumerScenario({ protocol: 'staged', backend: 'posix', dests: 2, messages: 1, honourLock: false });
    expect(staged.violations).toEqual([]);
  });
});
