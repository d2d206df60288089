import { describe, expect, it } from 'vitest';
import type { SpoolBackend } from '../backend/spool-backend.js';
import type { Op } from '../protocol/ops.js';
import { budgetHooks, DescriptorBudget, descriptorsOf } from './descriptor-budget.js';

describe('a descriptor budget', () => {
  it('never lets more than its limit be held, and serves waiters in order (a copy is not starved by syncs)', async () => {
    const budget = new DescriptorBudget(3);
    const order: string[] = [];
    await budget.acquire(2);
    const two = budget.acquire(2).then(() => order.push('two'));
    const one = budget.acquire(1).then(() => order.push('one'));
    await Promise.resolve();
    expect(order).toEqual([]); // one free, but 'one' waits behind 'two'
    budget.release(2);
    await Promise.all([two, one]);
    expect(order).toEqual(['two', 'one']);
    expect(budget.inUse).toBe(3);
    expect(budget.peak).toBe(3);
  });

  it('refuses a limit a copy cannot fit in', () => {
    expect(() => new DescriptorBudget(1)).toThrow(RangeError);
  });
});

describe('descriptors of an operation', () => {
  const spool = {} as SpoolBackend;
  it('are 2 for a copy, 1 for other creates, syncs, small reads and twins listings, 0 for names', () => {
    expect(descriptorsOf({ type: 'create', step: 'C2', spool, name: 'wM.T', content: () => new Uint8Array() })).toBe(2);
    expect(
      descriptorsOf({ type: 'create', step: 'C2', spool, name: 'lM', content: () => new Uint8Array(), whole: true }),
    ).toBe(1);
    expect(descriptorsOf({ type: 'create', step: 'C1', spool, name: 't1', content: () => new Uint8Array() })).toBe(1);
    expect(descriptorsOf({ type: 'syncDir', step: 'C3', spool })).toBe(1);
    expect(descriptorsOf({ type: 'rename', step: 'C5', spool, from: 'a', to: 'b' })).toBe(0);
    expect(descriptorsOf({ type: 'all', step: 'C2', ops: [] })).toBe(0);
  });

  it('are held from before the operation until after it, inside the hooks given', async () => {
    const budget = new DescriptorBudget(2);
    const seen: number[] = [];
    const hooks = budgetHooks(budget, {
      beforeOp: () => void seen.push(budget.inUse),
      afterOp: () => void seen.push(budget.inUse),
    });
    const op: Op = { type: 'syncDir', step: 'C3', spool };
    await hooks.beforeOp!(op);
    expect(budget.inUse).toBe(1);
    hooks.afterOp!(op, { ok: true, value: undefined });
    expect(seen).toEqual([0, 0]);
  });

  it('are not taken when the inner hook stops the machine', async () => {
    const budget = new DescriptorBudget(2);
    const hooks = budgetHooks(budget, {
      beforeOp: () => {
        throw new Error('crash');
      },
    });
    await expect(hooks.beforeOp!({ type: 'syncDir', step: 'C3', spool })).rejects.toThrow('crash');
    expect(budget.inUse).toBe(0);
  });
});
