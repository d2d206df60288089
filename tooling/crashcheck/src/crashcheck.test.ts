import { describe, expect, it } from 'vitest';
import type { StepName } from '@fanout/core/internal';
import { runConsumerScenario } from './consumer-scenario.js';
import { scenarios } from './matrix.js';
import { runScenario, type Scenario, scenarioName } from './scenario.js';

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
  // One test per scenario: each has its own timeout (the whole slice takes about two minutes on an idle machine).
  const quick = scenarios({ quick: true });
  it('has a quick slice with both protocols and both backends', () => {
    expect(new Set(quick.map((s) => s.protocol))).toEqual(new Set(['staged', 'seed']));
    expect(new Set(quick.map((s) => s.backend))).toEqual(new Set(['posix', 'nfs']));
  });
  it.each(quick.map((s) => [scenarioName(s), s] as const))(
    'finds no violation in the quick slice: %s',
    async (_name, s) => {
      const r = await runScenario(s);
      expect(r.violations, r.name).toEqual([]);
      expect(r.states).toBeGreaterThan(10);
    },
  );

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
    const ignoring = await runConsumerScenario({
      protocol: 'seed',
      backend: 'posix',
      dests: 2,
      messages: 1,
      honourLock: false,
    });
    expect(ignoring.violations.length).toBeGreaterThan(0);
    expect(ignoring.violations[0]!.invariant).toMatch(/consumed 2 times|before its commit/);
    const honouring = await runConsumerScenario({
      protocol: 'seed',
      backend: 'posix',
      dests: 2,
      messages: 1,
      honourLock: true,
    });
    expect(honouring.violations).toEqual([]);
    const staged = await runConsumerScenario({
      protocol: 'staged',
      backend: 'posix',
      dests: 2,
      messages: 1,
      honourLock: false,
    });
    expect(staged.violations).toEqual([]);
  });
});
